/**
 * Words ajv's errors for operators. ajv reports a union (`anyOf`) by listing every
 * branch's complaint plus "must match a schema in anyOf"; here a union is reported through
 * the one branch whose type the value has (an object written as an object gets its
 * unknown keys named), or, when no branch fits, as one line naming what was expected (the
 * union's `title`). Everything else goes through the shared ajvErrorsToProblems.
 */
import type { ErrorObject } from 'ajv';
import {
  ajvErrorsToProblems,
  describePath,
  didYouMean,
  instancePathToPath,
  type SourceDocument,
  type SourceProblem,
  type ValuePath,
} from '../shared/yaml-source';

interface SchemaLike {
  type?: string | string[];
  const?: unknown;
  title?: string;
  anyOf?: SchemaLike[];
}

/** Problems for ajv's errors on the value at `basePath` of a document. */
export function schemaProblems(errors: readonly ErrorObject[], doc: SourceDocument, basePath: ValuePath): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const passThrough: ErrorObject[] = [];
  for (const error of refineUnionErrors(errors)) {
    const worded = wordError(error, basePath);
    if (worded === undefined) {
      passThrough.push(error);
      continue;
    }
    const at = worded.atKey ? doc.keyPositionOf(worded.path) : doc.positionOf(worded.path);
    problems.push({ file: doc.file, line: at.line, col: at.col, code: 'SCHEMA', message: worded.message });
  }
  problems.push(...ajvErrorsToProblems(passThrough, doc, basePath));
  return dedupe(problems);
}

/** An error rewritten as one message, produced for union failures and a few keywords. */
interface TitledError extends ErrorObject {
  titled?: string;
}

/**
 * Keeps, for every failed union, only the errors of the branch the value was meant for,
 * or replaces them all with one error naming what the union accepts.
 */
function refineUnionErrors(errors: readonly ErrorObject[]): TitledError[] {
  let remaining: TitledError[] = [...errors];
  // Outer unions first: dropping a branch drops the unions nested inside it.
  const unions = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const union of unions) {
    if (!remaining.includes(union)) continue;
    const prefix = union.schemaPath.replace(/\/anyOf$/, '') + '/anyOf/';
    const branches = (union.schema as SchemaLike[] | undefined) ?? [];
    const parent = union.parentSchema as SchemaLike | undefined;
    const fitting = branches.map((branch, index) => (branchFits(branch, union.data) ? index : -1)).filter((index) => index >= 0);
    const inBranch = (e: ErrorObject, index?: number) =>
      e.schemaPath.startsWith(index === undefined ? prefix : `${prefix}${index}/`);
    const branchErrors = fitting.length === 1 ? remaining.filter((e) => inBranch(e, fitting[0])) : [];
    // The branch fits by type, and something inside the value is wrong: report that.
    const deeper = branchErrors.some((e) => e.instancePath !== union.instancePath || e.keyword === 'required' || e.keyword === 'additionalProperties');
    remaining = remaining.filter((e) => e !== union && !inBranch(e));
    if (fitting.length === 1 && (deeper || !parent?.title)) {
      remaining.push(...branchErrors);
    } else {
      remaining.push({ ...union, titled: expectation(parent, branches) });
    }
  }
  return remaining;
}

/** Whether a value has the JSON type a union branch accepts. */
function branchFits(branch: SchemaLike, data: unknown): boolean {
  if (branch.const !== undefined) return branch.const === data;
  if (branch.anyOf) return branch.anyOf.some((inner) => branchFits(inner, data));
  const types = branch.type === undefined ? [] : Array.isArray(branch.type) ? branch.type : [branch.type];
  if (types.length === 0) return true;
  return types.some((type) => jsonTypeMatches(type, data));
}

function jsonTypeMatches(type: string, data: unknown): boolean {
  switch (type) {
    case 'object':
      return data !== null && typeof data === 'object' && !Array.isArray(data);
    case 'array':
      return Array.isArray(data);
    case 'integer':
      return Number.isInteger(data);
    case 'number':
      return typeof data === 'number';
    case 'null':
      return data === null;
    default:
      return typeof data === type;
  }
}

/** "a duration such as ...", or the list of what the branches accept. */
function expectation(parent: SchemaLike | undefined, branches: SchemaLike[]): string {
  if (parent?.title) return parent.title;
  if (branches.length > 0 && branches.every((b) => b.const !== undefined)) {
    return `one of: ${branches.map((b) => JSON.stringify(b.const)).join(', ')}`;
  }
  const kinds = branches.map((b) => (b.title ? b.title : b.type ? `${article(String(b.type))} ${b.type}` : 'a value'));
  return [...new Set(kinds)].join(' or ');
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/** JSON Schema type names in the words of a YAML file. */
const TYPE_WORDS: Record<string, string> = {
  object: 'a map',
  array: 'a list',
  string: 'text',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  null: 'empty',
};

function wordError(error: TitledError, basePath: ValuePath): { path: ValuePath; message: string; atKey?: boolean } | undefined {
  const path = [...basePath, ...instancePathToPath(error.instancePath)];
  const where = describePath(path);
  if (error.titled !== undefined) return { path, message: `${where} must be ${error.titled}, got ${describeValue(error.data)}` };
  const schema = error.parentSchema as SchemaLike | undefined;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'pattern':
    case 'format':
      if (schema?.title) return { path, message: `${where} must be ${schema.title}, got ${describeValue(error.data)}` };
      return undefined;
    case 'minItems':
      return { path, message: `${where} must have at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { path, message: `${where} must have at most ${String(params.limit)} items` };
    case 'minProperties':
      return { path, message: `${where} must have at least ${String(params.limit)} key${params.limit === 1 ? '' : 's'}` };
    case 'minLength':
      return { path, message: `${where} must not be empty` };
    case 'minimum':
    case 'maximum':
      return { path, message: `${where} must be ${error.keyword === 'minimum' ? 'at least' : 'at most'} ${String(params.limit)}, got ${describeValue(error.data)}` };
    case 'uniqueItems':
      return { path, message: `${where} lists the same value twice (items ${String(params.j)} and ${String(params.i)})` };
    case 'required':
      if (path.length === 0) return { path, message: `the rule is missing required key "${String(params.missingProperty)}"` };
      return undefined;
    case 'type': {
      const expected = String(params.type)
        .split(',')
        .map((type) => TYPE_WORDS[type] ?? type)
        .join(' or ');
      return { path, message: `${where} must be ${expected}, got ${describeValue(error.data)}` };
    }
    case 'additionalProperties': {
      // The shared wording says "in (top level)"; a rule's own keys read better as "in the rule".
      if (path.length > 0) return undefined;
      const key = String(params.additionalProperty);
      const known = Object.keys((schema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {});
      const hint = didYouMean(key, known);
      return {
        path: [key],
        atKey: true,
        message: `unknown key "${key}" in the rule${hint ? ` (did you mean "${hint}"?)` : ` (expected one of: ${known.join(', ')})`}`,
      };
    }
    default:
      return undefined;
  }
}

/** A short description of a value for messages: `the string "abc"`, `a map`, `number 5`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function dedupe(problems: SourceProblem[]): SourceProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.col}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
