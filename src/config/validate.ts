/**
 * Schema validation of a config value, with every mistake placed at its file:line:col.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { isDuration } from '../shared/duration';
import { ajvErrorsToProblems, describePath, instancePathToPath, type SourceDocument, type SourceProblem, type ValuePath } from '../shared/yaml-source';
import { CHECK_KEYWORD, ConfigFileSchema, type CheckName, type ConfigFile } from './schema';

/** Each check says what is wrong with a value, or nothing when it is fine. */
const CHECKS: Record<CheckName, (value: unknown) => string | undefined> = {
  duration: (value) => (isDuration(value) ? undefined : `${JSON.stringify(value)} is not a duration (use e.g. 500ms, 15s, 2m, 1h, 30d)`),
  timezone: (value) =>
    typeof value !== 'string'
      ? `must be an IANA time zone name such as Asia/Shanghai, got ${JSON.stringify(value)}`
      : canonicalTimeZone(value) === undefined
        ? `"${value}" is not an IANA time zone (e.g. Asia/Shanghai, Europe/Berlin, UTC)`
        : undefined,
  bridgeUrl: (value) =>
    typeof value === 'string' && /^(sim:\/\/|wss?:\/\/[^\s/]+(\/\S*)?)$/.test(value)
      ? undefined
      : `${JSON.stringify(value)} is not a bridge address (use sim:// for the embedded simulator, or e.g. ws://127.0.0.1:5599)`,
  apiUrl: (value) =>
    typeof value === 'string' && (value === 'auto' || /^https?:\/\/[^\s/]+(\/\S*)?$/.test(value))
      ? undefined
      : `${JSON.stringify(value)} is neither "auto" nor an https:// URL`,
  listen: (value) =>
    typeof value === 'string' && parseListen(value) !== undefined
      ? undefined
      : `${JSON.stringify(value)} is not a host:port to listen on (e.g. 127.0.0.1:9464)`,
  id: (value) => {
    if (typeof value === 'string' && /^[0-9]+$/.test(value)) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return undefined;
    // YAML reads a long id as a float and loses digits; a quoted id keeps them all.
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return `${value} is too large to be read exactly as a number: quote the id`;
    return `${JSON.stringify(value)} is not an id (a whole number such as 7237423)`;
  },
};

/** The canonical name of an IANA time zone, or undefined when Intl does not know it. */
export function canonicalTimeZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Splits `host:port` (the host may be a bracketed IPv6 address). */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

let compiled: ValidateFunction<ConfigFile> | undefined;

/** The schema's validator, compiled on first use: commands that never read a config skip the cost. */
function configValidator(): ValidateFunction<ConfigFile> {
  if (compiled === undefined) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true });
    ajv.addKeyword({
      keyword: CHECK_KEYWORD,
      schemaType: 'string',
      errors: false,
      validate: (check: CheckName, value: unknown) => CHECKS[check](value) === undefined,
    });
    compiled = ajv.compile<ConfigFile>(ConfigFileSchema);
  }
  return compiled;
}

export interface ValidationResult {
  /** The value when it has no problems. */
  config?: ConfigFile;
  problems: SourceProblem[];
}

/**
 * Validates the (already substituted) value of a config document against the schema.
 * @param skip Paths already reported (an unset variable): their values are not judged again.
 */
export function validateConfigValue(value: unknown, doc: SourceDocument, skip: readonly ValuePath[] = []): ValidationResult {
  const validateConfigFile = configValidator();
  if (validateConfigFile(value)) return { config: value, problems: [] };
  const skipped = new Set(skip.map((path) => JSON.stringify(path)));
  const errors = pruneUnionErrors(validateConfigFile.errors ?? []).filter(
    (error) => !skipped.has(JSON.stringify(instancePathToPath(error.instancePath))),
  );
  const problems: SourceProblem[] = [];
  const rest: ErrorObject[] = [];
  for (const error of errors) {
    if (error.keyword === CHECK_KEYWORD) {
      const path = instancePathToPath(error.instancePath);
      const { line, col } = doc.positionOf(path);
      const message = CHECKS[error.schema as CheckName](error.data) ?? 'is invalid';
      problems.push({ file: doc.file, line, col, code: 'SCHEMA', message: `${describePath(path)}: ${message}` });
    } else {
      rest.push(error);
    }
  }
  return { problems: [...problems, ...ajvErrorsToProblems(rest, doc)] };
}

/**
 * An `anyOf` that fails reports every branch's errors, most of them beside the point
 * (`http: { lisen: ... }` is not "must be false"). Keep only the errors of the branch
 * whose type the value has; when no branch has it, one error naming the choices.
 */
function pruneUnionErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const unions = errors.filter((error) => error.keyword === 'anyOf');
  if (unions.length === 0) return [...errors];
  const dropped = new Set<ErrorObject>();
  const replacements: ErrorObject[] = [];
  for (const union of unions) {
    dropped.add(union);
    const branches = union.schema as Array<{ type?: string; const?: unknown }>;
    const kind = jsonKind(union.data);
    const chosen = branches.findIndex((branch) => branchKind(branch) === kind);
    for (const error of errors) {
      const prefix = `${union.schemaPath}/`;
      if (!error.schemaPath.startsWith(prefix)) continue;
      const branch = Number(error.schemaPath.slice(prefix.length).split('/')[0]);
      if (branch !== chosen) dropped.add(error);
    }
    if (chosen < 0) {
      const choices = branches.map((branch) => ('const' in branch ? JSON.stringify(branch.const) : `${article(branch.type ?? 'value')}`));
      replacements.push({ ...union, keyword: 'oneOfChoices', message: `must be ${choices.join(' or ')}` });
    }
  }
  return [...errors.filter((error) => !dropped.has(error)), ...replacements];
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return 'number';
  return typeof value;
}

function branchKind(branch: { type?: string; const?: unknown }): string | undefined {
  if ('const' in branch) return jsonKind(branch.const);
  return branch.type === 'integer' ? 'number' : branch.type;
}

function article(type: string): string {
  const noun = type === 'object' ? 'map' : type === 'array' ? 'list' : type;
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}
