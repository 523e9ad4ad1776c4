/**
 * YAML files with positions. Rule and config files are parsed here so that every
 * problem found later (schema, semantics) can be reported as `file:line:col  message`.
 */
import { Composer, isMap, isScalar, isSeq, LineCounter, Parser, visit, type CST, type Document, type Node, type YAMLError } from 'yaml';
import type { ErrorObject } from 'ajv';
import { closest, distance } from 'fastest-levenshtein';

/** A path into a parsed value: object keys and array indexes. */
export type ValuePath = ReadonlyArray<string | number>;

/** One mistake in a source file. Lines and columns are 1-based. */
export interface SourceProblem {
  file: string;
  line: number;
  col: number;
  message: string;
  /** Stable code of the kind of mistake, e.g. YAML_SYNTAX, SCHEMA, RULE_DUPLICATE_ID. */
  code: string;
}

/** One YAML document of a file, with the means to locate any path in it. */
export interface SourceDocument {
  file: string;
  /** 0-based position of the document in its file. */
  index: number;
  /** The plain JS value of the document. */
  value: unknown;
  /** The text of the document, for content hashes. */
  text: string;
  /** Position of the value at `path`, or of its nearest existing ancestor. */
  positionOf(path: ValuePath): { line: number; col: number };
  /** Position of the key at `path` (its last segment), falling back to the value's position. */
  keyPositionOf(path: ValuePath): { line: number; col: number };
  /** The YAML node at `path`, if any (to inspect quoting and source forms). */
  nodeAt(path: ValuePath): Node | undefined;
}

export interface ParsedSource {
  documents: SourceDocument[];
  /** YAML syntax errors (documents with errors are left out of `documents`). */
  problems: SourceProblem[];
  /** The documents left out for syntax errors: 0-based position in the file, first line. */
  rejected: Array<{ index: number; line: number }>;
}

/**
 * Deepest nesting of lists and maps a file may have. Nothing real comes close (a rule
 * nests a few levels per action), and the yaml library composes recursively: a document
 * a thousand levels deep can exhaust the stack where V8 aborts the process instead of
 * throwing (while compiling a regex), so such a document never reaches the composer.
 */
export const MAX_NESTING_DEPTH = 100;

/** Alias expansions allowed per document: a few `*anchor` reuses are normal, a billion laughs is not. */
export const MAX_ALIAS_COUNT = 100;

/** Parses every YAML document of a file. Never throws: syntax errors become problems. */
export function parseYamlSource(file: string, text: string): ParsedSource {
  const documents: SourceDocument[] = [];
  const { problems, rejected } = visitYamlSource(file, text, (doc) => documents.push(doc));
  return { documents, problems, rejected };
}

/**
 * Parses the documents of a file one at a time, handing each one without syntax errors
 * to `onDocument` as soon as it is read: what parseYamlSource collects. A document it
 * does not keep is garbage when it returns, so a file of many documents never has them
 * all in memory at once, and their nodes die young instead of filling the old heap.
 */
export function visitYamlSource(file: string, text: string, onDocument: (doc: SourceDocument) => void): Omit<ParsedSource, 'documents'> {
  const lineCounter = new LineCounter();
  const problems: SourceProblem[] = [];
  const rejected: ParsedSource['rejected'] = [];
  // Documents left out for their depth are listed before the others, as they are found first.
  const tooDeep: SourceProblem[] = [];
  const tooDeepRejected: ParsedSource['rejected'] = [];
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;

  // What parseAllDocuments does, token by token: the CST parser is iterative, so nesting is
  // measured on its tokens, and a document nested too deep is reported and never composed.
  // logLevel 'error': the yaml library would otherwise print warnings (e.g. about a map used
  // as a key, which is how YAML reads an unquoted `{{ x }}`) to stderr; callers report them.
  const composer = new Composer({ prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const kept: number[] = [];
  let ordinal = -1;
  let composed = 0;
  const take = (doc: Document.Parsed): void => {
    const index = kept[composed++] ?? ordinal + 1;
    if (doc.errors.length > 0) {
      for (const err of doc.errors) problems.push(yamlProblem(file, lineCounter, err, text));
      rejected.push({ index, line: lineOf(doc.range[0]) });
      return;
    }
    // A stream that ends with `---` yields a trailing empty document: not a mistake.
    if (doc.contents === null) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      problems.push(toJsProblem(file, lineCounter, doc, err));
      rejected.push({ index, line: lineOf(doc.range[0]) });
      return;
    }
    onDocument(makeSourceDocument(file, index, text, doc, lineCounter, value));
  };

  let dropping = false;
  for (const token of new Parser(lineCounter.addNewLine).parse(text)) {
    if (token.type === 'document') {
      ordinal += 1;
      const deepAt = tooDeepAt(token);
      dropping = deepAt !== undefined;
      if (deepAt !== undefined) {
        tooDeep.push(tooDeepProblem(file, lineCounter, deepAt));
        tooDeepRejected.push({ index: ordinal, line: lineOf(token.offset) });
        continue;
      }
      kept.push(ordinal);
    } else if (token.type === 'directive') {
      dropping = false;
    } else if (dropping) {
      // A dropped document's trailing errors and `...` must not land on the one before it.
      continue;
    }
    // The composer hands a document over once the next one starts; an empty stream gives none.
    for (const doc of composer.next(token)) take(doc);
  }
  for (const doc of composer.end()) take(doc);
  return { problems: [...tooDeep, ...problems], rejected: [...tooDeepRejected, ...rejected] };
}

/** Offset of the first list or map nested deeper than MAX_NESTING_DEPTH, if any. Iterative on purpose. */
function tooDeepAt(doc: CST.Document): number | undefined {
  const stack: Array<{ token: CST.Token; depth: number }> = doc.value ? [{ token: doc.value, depth: 0 }] : [];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { token, depth } = next;
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth >= MAX_NESTING_DEPTH) return token.offset;
    for (const item of token.items) {
      if (item.key) stack.push({ token: item.key, depth: depth + 1 });
      if (item.value) stack.push({ token: item.value, depth: depth + 1 });
    }
  }
  return undefined;
}

function tooDeepProblem(file: string, lineCounter: LineCounter, offset: number): SourceProblem {
  const { line, col } = lineCounter.linePos(offset);
  const message = `YAML nested too deeply: lists and maps may nest at most ${MAX_NESTING_DEPTH} levels; this document is left out`;
  return { file, line, col, code: 'YAML_SYNTAX', message };
}

function yamlProblem(file: string, lineCounter: LineCounter, err: YAMLError, text: string): SourceProblem {
  // The library reports a stack overflow while composing as RESOURCE_EXHAUSTION.
  if (err.code === 'RESOURCE_EXHAUSTION') return tooDeepProblem(file, lineCounter, err.pos[0]);
  const { line, col } = lineCounter.linePos(err.pos[0]);
  // The yaml library's messages end with a source excerpt after a colon-newline; keep the first line.
  let message = `YAML syntax: ${err.message.split('\n')[0]}`;
  if (err.code === 'DUPLICATE_KEY') {
    // The library does not say which key; it points at the second one.
    const key = /^("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s:#,{}[\]][^:#\n]*?)\s*:/.exec(text.slice(err.pos[0], err.pos[0] + 1024))?.[1];
    if (key !== undefined) message += ` (${key.startsWith('"') || key.startsWith("'") ? key : `"${key}"`} appears twice)`;
  }
  return { file, line, col, code: 'YAML_SYNTAX', message };
}

/** A document whose value cannot be built (the library throws for an alias bomb), placed at its first alias. */
function toJsProblem(file: string, lineCounter: LineCounter, doc: Document.Parsed, err: unknown): SourceProblem {
  const reason = err instanceof Error ? err.message : String(err);
  let offset = doc.range[0];
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? offset;
      return visit.BREAK;
    },
  });
  const { line, col } = lineCounter.linePos(offset);
  const message = /excessive alias count/i.test(reason)
    ? `YAML aliases expand too far: more than ${MAX_ALIAS_COUNT} alias expansions in one document (a guard against "billion laughs" documents); this document is left out`
    : `YAML: cannot read this document: ${reason}`;
  return { file, line, col, code: 'YAML_SYNTAX', message };
}

function makeSourceDocument(file: string, index: number, text: string, doc: Document.Parsed, lineCounter: LineCounter, value: unknown): SourceDocument {
  const range = doc.range;
  const docText = text.slice(range[0], range[2]);
  const posOf = (offset: number) => lineCounter.linePos(offset);

  const walk = (path: ValuePath): { node: Node | undefined; keyNode: Node | undefined; found: number } => {
    let node: Node | undefined = (doc.contents ?? undefined) as Node | undefined;
    let keyNode: Node | undefined;
    let found = 0;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
        if (!pair) break;
        keyNode = pair.key as Node;
        node = (pair.value ?? undefined) as Node | undefined;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (!item) break;
        keyNode = undefined;
        node = item;
      } else {
        break;
      }
      found += 1;
    }
    return { node, keyNode, found };
  };

  const startOf = (node: Node | undefined) => {
    const offset = node?.range?.[0] ?? range[0];
    return posOf(offset);
  };

  return {
    file,
    index,
    value,
    text: docText,
    positionOf(path) {
      return startOf(walk(path).node);
    },
    keyPositionOf(path) {
      const { node, keyNode, found } = walk(path);
      if (found === path.length && keyNode) return startOf(keyNode);
      return startOf(node);
    },
    nodeAt(path) {
      const { node, found } = walk(path);
      return found === path.length ? node : undefined;
    },
  };
}

/** `file:line:col  message`, the one format every problem is printed in. */
export function formatProblem(problem: SourceProblem): string {
  return `${problem.file}:${problem.line}:${problem.col}  ${problem.message}`;
}

/** Orders problems by file, line, column. */
export function sortProblems(problems: SourceProblem[]): SourceProblem[] {
  return [...problems].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

/** Splits an ajv instancePath (`/actions/0/send`) into a ValuePath. */
export function instancePathToPath(instancePath: string): Array<string | number> {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

/** A dotted, readable form of a path: `actions[0].send.to`. */
export function describePath(path: ValuePath): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  return out === '' ? '(top level)' : out;
}

/** The closest known name to a misspelt one, when it is close enough to be a likely typo. */
export function didYouMean(name: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(name, known as string[]);
  const limit = Math.max(2, Math.floor(best.length / 3));
  return distance(name.toLowerCase(), best.toLowerCase()) <= limit ? best : undefined;
}

/**
 * Turns ajv errors (compiled with `allErrors: true, verbose: true`) into problems at the
 * right place, one per distinct mistake, with a did-you-mean for unknown keys.
 */
export function ajvErrorsToProblems(errors: readonly ErrorObject[], doc: SourceDocument, basePath: ValuePath = []): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const path = [...basePath, ...instancePathToPath(error.instancePath)];
    let at = doc.positionOf(path);
    let message: string;
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String((error.params as { additionalProperty: string }).additionalProperty);
        at = doc.keyPositionOf([...path, key]);
        const properties = Object.keys((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
        const hint = didYouMean(key, properties);
        message = `unknown key "${key}" in ${describePath(path)}${hint ? ` (did you mean "${hint}"?)` : properties.length > 0 ? ` (expected one of: ${properties.join(', ')})` : ''}`;
        break;
      }
      case 'required': {
        const missing = String((error.params as { missingProperty: string }).missingProperty);
        message = `${describePath(path)} is missing required key "${missing}"`;
        break;
      }
      case 'type':
        message = `${describePath(path)} must be ${String((error.params as { type: string }).type)}, got ${typeName(error.data)}`;
        break;
      case 'enum':
        message = `${describePath(path)} must be one of: ${((error.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'const':
        message = `${describePath(path)} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
        break;
      default:
        message = `${describePath(path)} ${error.message ?? 'is invalid'}`;
    }
    const key = `${at.line}:${at.col}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ file: doc.file, line: at.line, col: at.col, code: 'SCHEMA', message });
  }
  return problems;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}
