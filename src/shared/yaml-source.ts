/**
 * YAML files with positions. Rule and config files are parsed here so that every
 * problem found later (schema, semantics) can be reported as `file:line:col  message`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
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
}

/** Parses every YAML document of a file. Never throws: syntax errors become problems. */
export function parseYamlSource(file: string, text: string): ParsedSource {
  const lineCounter = new LineCounter();
  // logLevel 'error': the yaml library would otherwise print warnings (e.g. about a map used
  // as a key, which is how YAML reads an unquoted `{{ x }}`) to stderr; callers report them.
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const problems: SourceProblem[] = [];
  const documents: SourceDocument[] = [];
  // An empty stream parses to an EmptyStream object, which holds no document.
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) problems.push(yamlProblem(file, lineCounter, err.pos[0], err.message));
      return;
    }
    // A stream that ends with `---` yields a trailing empty document: not a mistake.
    if (doc.contents === null) return;
    documents.push(makeSourceDocument(file, index, text, doc, lineCounter));
  });
  return { documents, problems };
}

function yamlProblem(file: string, lineCounter: LineCounter, offset: number, message: string): SourceProblem {
  const { line, col } = lineCounter.linePos(offset);
  // The yaml library's messages end with a source excerpt after a colon-newline; keep the first line.
  return { file, line, col, code: 'YAML_SYNTAX', message: `YAML syntax: ${message.split('\n')[0]}` };
}

function makeSourceDocument(file: string, index: number, text: string, doc: Document.Parsed, lineCounter: LineCounter): SourceDocument {
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
    value: doc.toJS({ maxAliasCount: 100 }),
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
