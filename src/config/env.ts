/**
 * `${NAME}` in config values, taken from the environment. Substitution happens on the
 * parsed values, not on the text, so a value that holds `:` or `#` cannot change the
 * YAML structure, and a problem is still reported where the reference was written.
 */
import { isScalar, Scalar } from 'yaml';
import { describePath, type SourceDocument, type SourceProblem, type ValuePath } from '../shared/yaml-source';

/** `$${` (a literal `${`) or a `${...}` reference. */
const REFERENCE_RE = /\$\$\{|\$\{([^}]*)\}/g;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A value that is one whole reference: `${NAME}`. */
const WHOLE_REFERENCE_RE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

export interface SubstitutionResult {
  value: unknown;
  problems: SourceProblem[];
  /** Paths of the values left unsubstituted because of a problem, so they are not judged again. */
  unresolved: ValuePath[];
}

/**
 * Replaces every `${NAME}` in the string values of `doc` with the variable's value;
 * `$${` stands for a literal `${`. An unset variable is a problem at the reference.
 *
 * An unquoted value that is exactly one reference takes the variable's value as if it
 * had been written there, so `port: ${PORT}` with PORT=5599 gives a number and
 * `act: ${ACT}` with ACT=true a boolean; anything else gives a string.
 *
 * @param text The whole file, to place problems at the reference itself.
 */
export function substituteEnv(doc: SourceDocument, text: string, env: NodeJS.ProcessEnv): SubstitutionResult {
  const problems: SourceProblem[] = [];
  const unresolved: ValuePath[] = [];

  const problemAt = (path: ValuePath, needle: string, message: string): void => {
    if (unresolved.at(-1) !== path) unresolved.push(path);
    const { line, col } = referencePosition(doc, text, path, needle);
    problems.push({ file: doc.file, line, col, code: 'CONFIG_ENV', message: `${describePath(path)}: ${message}` });
  };

  const substituteString = (raw: string, path: ValuePath): unknown => {
    if (!raw.includes('${')) return raw;
    const whole = WHOLE_REFERENCE_RE.exec(raw);
    if (whole && isPlainScalar(doc, path)) {
      const name = whole[1]!;
      const value = env[name];
      if (value === undefined) {
        problemAt(path, raw, `environment variable ${name} is not set`);
        return raw;
      }
      return asWrittenScalar(value);
    }
    const replaced = raw.replace(REFERENCE_RE, (match: string, name: string | undefined) => {
      if (match === '$${') return '${';
      if (name === undefined || !NAME_RE.test(name)) {
        problemAt(path, match, `"${match}" is not a variable reference (write \${NAME}, or $\${ for a literal \${)`);
        return match;
      }
      const value = env[name];
      if (value === undefined) {
        problemAt(path, match, `environment variable ${name} is not set`);
        return match;
      }
      return value;
    });
    // A `${` with no closing brace escapes the pattern above: almost surely a typo.
    const unterminatedAt = raw.replace(REFERENCE_RE, (match) => ' '.repeat(match.length)).indexOf('${');
    if (unterminatedAt >= 0) {
      problemAt(path, raw.slice(unterminatedAt), `"\${" without a closing "}" (write $\${ for a literal \${)`);
    }
    return replaced;
  };

  const walk = (value: unknown, path: ValuePath): unknown => {
    if (typeof value === 'string') return substituteString(value, path);
    if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = walk(item, [...path, key]);
      return out;
    }
    return value;
  };

  return { value: walk(doc.value, []), problems, unresolved };
}

/** The value an environment variable gives when it stands for a whole unquoted value. */
function asWrittenScalar(value: string): string | number | boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return value;
}

function isPlainScalar(doc: SourceDocument, path: ValuePath): boolean {
  const node = doc.nodeAt(path);
  return isScalar(node) && (node.type === Scalar.PLAIN || node.type === undefined);
}

/**
 * Line and column of `needle` inside the source of the value at `path`; the value's
 * own position when the source does not show it verbatim (an escaped quoted string).
 */
function referencePosition(doc: SourceDocument, text: string, path: ValuePath, needle: string): { line: number; col: number } {
  const range = doc.nodeAt(path)?.range;
  if (range) {
    const index = text.slice(range[0], range[1]).indexOf(needle);
    if (index >= 0) return lineColAt(text, range[0] + index);
  }
  return doc.positionOf(path);
}

function lineColAt(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, col: offset - before.lastIndexOf('\n') };
}
