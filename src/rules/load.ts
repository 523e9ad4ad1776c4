/**
 * Reads rule files: every YAML document of every `*.yaml` / `*.yml` file is one rule.
 * Each document is checked on its own, so an invalid rule never hides the valid ones
 * beside it, in the same file or another; the problems of all of them come back at once.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';
import { sortProblems, visitYamlSource, type SourceProblem } from '../shared/yaml-source';
import { checkRuleDocument, RULE_PROBLEM_CODES } from './check';
import type { Rule } from './types';

/** The rules folder when none is given and no config names one. */
export const DEFAULT_RULES_DIR = 'rules';

const RULE_FILE_EXTENSIONS = new Set(['.yaml', '.yml']);

/**
 * A rule that passed every check. It keeps plain values only: the parsed YAML document
 * (nodes, positions, the file's text) is dropped once the document has been checked.
 */
export interface LoadedRule {
  /** Validated and normalised: schema defaults applied, every id a string. */
  rule: Rule;
  file: string;
  /** 0-based position of the rule's document in its file. */
  index: number;
  /** Line where the rule's document starts. */
  line: number;
  /** sha256 of the document's canonical JSON (keys sorted): recorded with each run. */
  hash: string;
  /** Where the rule's id is written, to name both places of a duplicate id. */
  idPosition: { line: number; col: number };
}

/** A document left out, and where. */
export interface InvalidRule {
  file: string;
  index: number;
  /** The rule's id, when it has a readable one. */
  id?: string;
  line: number;
}

export interface LoadResult {
  rules: LoadedRule[];
  /** Every problem of every file, in file, line, column order. */
  problems: SourceProblem[];
  /** The rule files read, in the order read. */
  files: string[];
  invalidRules: InvalidRule[];
}

export interface LoadOptions {
  /** Base for relative paths, and for the file names in problems. @default process.cwd() */
  cwd?: string;
}

/**
 * Loads rules from files and folders (folders are searched recursively, in name order).
 * Never throws for a mistake inside a file; an unreadable path is a problem too.
 */
export function loadRules(paths: readonly string[] = [DEFAULT_RULES_DIR], options: LoadOptions = {}): LoadResult {
  const cwd = options.cwd ?? process.cwd();
  const problems: SourceProblem[] = [];
  const files = collectRuleFiles(paths, cwd, problems);
  const rules: LoadedRule[] = [];
  const invalidRules: InvalidRule[] = [];

  for (const absolute of files) {
    const file = displayName(absolute, cwd);
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (err) {
      problems.push({ file, line: 1, col: 1, code: 'RULES_UNREADABLE', message: `cannot read the file: ${(err as Error).message}` });
      continue;
    }
    const loaded = loadRuleText(file, text);
    rules.push(...loaded.rules);
    problems.push(...loaded.problems);
    invalidRules.push(...loaded.invalidRules);
  }

  const kept = dropDuplicateIds(rules, problems, invalidRules);
  return { rules: kept, problems: sortProblems(problems), files: files.map((file) => displayName(file, cwd)), invalidRules };
}

/**
 * Loads the rules of one file's text, `file` naming it in problems. Duplicate ids across
 * files are loadRules's concern; within this text they are reported here.
 */
export function loadRuleText(file: string, text: string): Omit<LoadResult, 'files'> {
  const rules: LoadedRule[] = [];
  const problems: SourceProblem[] = [];
  const invalidRules: InvalidRule[] = [];
  // Split only when a problem needs a line's text: most files have none.
  let lines: string[] | undefined;
  const linesOf = (): string[] => (lines ??= text.split(/\r?\n/));
  const checkProblems: SourceProblem[] = [];
  const checkInvalid: InvalidRule[] = [];

  // Each document is checked as it is read and dropped after: a rule keeps plain values only.
  const parsed = visitYamlSource(file, text, (doc) => {
    const check = checkRuleDocument(doc, linesOf);
    const line = doc.positionOf([]).line;
    checkProblems.push(...check.problems);
    if (check.rule) {
      rules.push({ rule: check.rule, file, index: doc.index, line, hash: ruleHash(doc.value), idPosition: doc.positionOf(['id']) });
    } else {
      const id = (doc.value as { id?: unknown } | null)?.id;
      checkInvalid.push({ file, index: doc.index, line, ...(typeof id === 'string' || typeof id === 'number' ? { id: String(id) } : {}) });
    }
  });
  problems.push(...parsed.problems.map((problem) => withQuotingHint(problem, linesOf())), ...checkProblems);
  for (const { index, line } of parsed.rejected) invalidRules.push({ file, index, line });
  invalidRules.push(...checkInvalid);
  const kept = dropDuplicateIds(rules, problems, invalidRules);
  return { rules: kept, problems: sortProblems(problems), invalidRules };
}

/**
 * Two rules with one id would share history and state, so the id must be unique across
 * all files. The first in file order keeps it and stays loaded; each later one is left
 * out. Both places are reported, each naming the other.
 */
function dropDuplicateIds(rules: LoadedRule[], problems: SourceProblem[], invalidRules: InvalidRule[]): LoadedRule[] {
  const first = new Map<string, LoadedRule>();
  const kept: LoadedRule[] = [];
  for (const loaded of rules) {
    const earlier = first.get(loaded.rule.id);
    if (!earlier) {
      first.set(loaded.rule.id, loaded);
      kept.push(loaded);
      continue;
    }
    const here = loaded.idPosition;
    const there = earlier.idPosition;
    problems.push({
      file: loaded.file,
      ...here,
      code: RULE_PROBLEM_CODES.duplicateRuleId,
      message: `duplicate rule id "${loaded.rule.id}": also used at ${earlier.file}:${there.line}:${there.col} (this one is left out)`,
    });
    problems.push({
      file: earlier.file,
      ...there,
      code: RULE_PROBLEM_CODES.duplicateRuleId,
      message: `duplicate rule id "${loaded.rule.id}": also used at ${loaded.file}:${here.line}:${here.col}`,
    });
    invalidRules.push({ file: loaded.file, index: loaded.index, line: loaded.line, id: loaded.rule.id });
  }
  return kept;
}

/** Rule files under the given paths (absolute): sorted, recursive, without duplicates. */
function collectRuleFiles(paths: readonly string[], cwd: string, problems: SourceProblem[]): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    found.push(file);
  };
  const walk = (dir: string) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && RULE_FILE_EXTENSIONS.has(extname(entry.name))) add(full);
    }
  };
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    try {
      if (statSync(absolute).isDirectory()) walk(absolute);
      else add(absolute);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (err as Error).message;
      problems.push({ file: displayName(absolute, cwd), line: 1, col: 1, code: 'RULES_UNREADABLE', message: `cannot read rules: ${reason}` });
    }
  }
  return found;
}

/** Paths under the working folder are shown relative to it, as an editor would. */
function displayName(absolute: string, cwd: string): string {
  const rel = relative(cwd, absolute);
  return rel !== '' && !rel.startsWith('..') ? rel : absolute;
}

/**
 * `text: {{ x }} and more` is a YAML syntax error, not a map: the quoting mistake is
 * named when the reported line has an unquoted value that starts with `{{`.
 */
function withQuotingHint(problem: SourceProblem, lines: readonly string[]): SourceProblem {
  const line = lines[problem.line - 1] ?? '';
  if (!/(:|^\s*-|[[,])\s*\{\{/.test(line)) return problem;
  return { ...problem, message: `${problem.message} (a value that starts with {{ must be quoted)` };
}

/** sha256 of a value's canonical JSON: keys sorted at every level. */
export function ruleHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

// Built by concatenation with keys sorted by the default sort (UTF-16 code units, as `<`
// compares): no per-key entry arrays or comparator calls, the same text as ever.
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(record).sort()) {
    const child = record[key];
    if (child === undefined) continue;
    out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(child);
  }
  return `${out}}`;
}
