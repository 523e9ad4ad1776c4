/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for tests: every line
 * must be a `# HELP`, a `# TYPE` or a sample, and anything the format does not allow —
 * an unknown escape, a repeated label, a sample before its TYPE, interleaved families, a
 * duplicate series, a histogram whose buckets are not cumulative — throws, naming the line.
 */

export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  line: number;
}

export interface ParsedFamily {
  name: string;
  help: string | undefined;
  type: FamilyType | undefined;
  samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
/** Go's ParseFloat forms a sample value may take. */
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|NaN)$/;

/** Parses `text`; throws on the first thing the format does not allow. */
export function parseExposition(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  if (text === '') return families;
  if (!text.endsWith('\n')) throw new Error('the text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const seenSeries = new Set<string>();
  let current: ParsedFamily | undefined;
  const closed = new Set<string>();

  const family = (name: string, lineNo: number): ParsedFamily => {
    if (current?.name === name) return current;
    if (closed.has(name) || families.has(name)) throw new Error(`line ${lineNo}: family ${name} is interleaved with another`);
    if (current !== undefined) closed.add(current.name);
    current = { name, help: undefined, type: undefined, samples: [] };
    families.set(name, current);
    return current;
  };

  lines.forEach((line, i) => {
    const lineNo = i + 1;
    if (line === '') throw new Error(`line ${lineNo}: empty line`);
    if (line.startsWith('#')) {
      const match = /^# (HELP|TYPE) ([^ ]+) ?(.*)$/.exec(line);
      if (!match) throw new Error(`line ${lineNo}: a comment other than HELP or TYPE: ${line}`);
      const [, keyword, name, rest] = match as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`line ${lineNo}: bad metric name ${name}`);
      const fam = family(name, lineNo);
      if (keyword === 'HELP') {
        if (fam.help !== undefined) throw new Error(`line ${lineNo}: second HELP for ${name}`);
        fam.help = unescape(rest, false, lineNo);
      } else {
        if (fam.type !== undefined) throw new Error(`line ${lineNo}: second TYPE for ${name}`);
        if (fam.samples.length > 0) throw new Error(`line ${lineNo}: TYPE after samples of ${name}`);
        if (!TYPES.includes(rest)) throw new Error(`line ${lineNo}: unknown type ${rest}`);
        fam.type = rest as FamilyType;
      }
      return;
    }
    const sample = parseSample(line, lineNo);
    const fam = family(familyOf(sample.name, current), lineNo);
    if (fam.type === undefined) throw new Error(`line ${lineNo}: sample of ${fam.name} before its TYPE`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seenSeries.has(key)) throw new Error(`line ${lineNo}: duplicate series ${sample.name}`);
    seenSeries.add(key);
    fam.samples.push(sample);
  });

  for (const fam of families.values()) if (fam.type === 'histogram') checkHistogram(fam);
  return families;
}

/** The family a sample belongs to: a histogram's `_bucket` / `_sum` / `_count` join the current family. */
function familyOf(name: string, current: ParsedFamily | undefined): string {
  if (current !== undefined && (current.type === 'histogram' || current.type === 'summary')) {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (name === `${current.name}${suffix}`) return current.name;
    }
  }
  return name;
}

function parseSample(line: string, lineNo: number): ParsedSample {
  let pos = 0;
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`line ${lineNo}: no metric name: ${line}`);
  const name = nameMatch[0];
  pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos += 1;
    while (line[pos] !== '}') {
      const labelMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(pos));
      if (!labelMatch || !LABEL_NAME.test(labelMatch[0])) throw new Error(`line ${lineNo}: bad label name at column ${pos + 1}`);
      const label = labelMatch[0];
      pos += label.length;
      if (line.slice(pos, pos + 2) !== '="') throw new Error(`line ${lineNo}: expected =" after ${label}`);
      pos += 2;
      let raw = '';
      for (;;) {
        const ch = line[pos];
        if (ch === undefined) throw new Error(`line ${lineNo}: unterminated value of ${label}`);
        if (ch === '\\') {
          raw += line.slice(pos, pos + 2);
          pos += 2;
          continue;
        }
        if (ch === '"') break;
        raw += ch;
        pos += 1;
      }
      pos += 1;
      if (Object.hasOwn(labels, label)) throw new Error(`line ${lineNo}: label ${label} repeated`);
      labels[label] = unescape(raw, true, lineNo);
      if (line[pos] === ',') pos += 1;
      else if (line[pos] !== '}') throw new Error(`line ${lineNo}: expected , or } at column ${pos + 1}`);
    }
    pos += 1;
  }
  const rest = line.slice(pos);
  const parts = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?$/.exec(rest);
  if (!parts) throw new Error(`line ${lineNo}: bad value part: ${JSON.stringify(rest)}`);
  const text = parts[1]!;
  if (!FLOAT.test(text)) throw new Error(`line ${lineNo}: ${text} is not a float`);
  const value = /Inf$/.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : text.endsWith('NaN') ? NaN : Number(text);
  return { name, labels, value, line: lineNo };
}

/** Reverses the format's escapes; any escape it does not define is an error. */
function unescape(text: string, quoted: boolean, lineNo: number): string {
  return text.replace(/\\(.?)/g, (_all, ch: string) => {
    if (ch === '\\') return '\\';
    if (ch === 'n') return '\n';
    if (ch === '"' && quoted) return '"';
    throw new Error(`line ${lineNo}: invalid escape \\${ch}`);
  });
}

/** Per label set: `le` strictly increasing, counts cumulative, `+Inf` last and equal to `_count`, a `_sum`. */
function checkHistogram(fam: ParsedFamily): void {
  const groups = new Map<string, { buckets: Array<{ le: number; count: number }>; sum?: number; count?: number }>();
  for (const s of fam.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name === `${fam.name}_bucket`) {
      if (le === undefined) throw new Error(`line ${s.line}: bucket without le`);
      if (le !== '+Inf' && !FLOAT.test(le)) throw new Error(`line ${s.line}: le ${le} is not a float`);
      group.buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: s.value });
    } else if (le !== undefined) throw new Error(`line ${s.line}: le on ${s.name}`);
    else if (s.name === `${fam.name}_sum`) group.sum = s.value;
    else if (s.name === `${fam.name}_count`) group.count = s.value;
    else throw new Error(`line ${s.line}: ${s.name} in histogram ${fam.name}`);
  }
  for (const [key, g] of groups) {
    if (g.buckets.length === 0 || g.sum === undefined || g.count === undefined) throw new Error(`histogram ${fam.name}${key}: missing buckets, _sum or _count`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]!.le > g.buckets[i - 1]!.le)) throw new Error(`histogram ${fam.name}${key}: le not increasing`);
      if (g.buckets[i]!.count < g.buckets[i - 1]!.count) throw new Error(`histogram ${fam.name}${key}: buckets not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1]!;
    if (last.le !== Infinity) throw new Error(`histogram ${fam.name}${key}: no +Inf bucket`);
    if (last.count !== g.count) throw new Error(`histogram ${fam.name}${key}: +Inf bucket ${last.count} != _count ${g.count}`);
  }
}

/** The value of the one sample of `name` with exactly `labels`. */
export function sampleValue(families: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const fam of families.values()) {
    for (const s of fam.samples) {
      if (s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want) return s.value;
    }
  }
  return undefined;
}
