/**
 * Conditions of rules (`when`) and actions (`if`, `choose.if`, audit rules): compiled once
 * per rule, evaluated per run into a result tree the run records, so "why didn't it
 * fire?" has an answer: each condition's path, kind, what it saw and whether it held.
 *
 * Evaluation short-circuits like boolean logic (`all` stops at the first false, `any` at
 * the first true); the conditions it did not need are in the tree with `evaluated: false`.
 * That matters for `rate`, which counts an event only when it is evaluated: under
 * `all: [match, rate]` it counts the matching messages only.
 */
import { RulebotError } from '../shared/errors';
import { parseDuration } from '../shared/duration';
import { compileRegex, type CompiledRegex } from '../rules/regex';
import { evaluateTemplate, parseTemplate, renderDeep, type TemplateContext } from '../rules/templates';
import { conditionKind, conditionList, type Condition, type ConditionKind, type ConditionOptions, type Conditions } from '../rules/types';
import type { ConditionRecord, JsonValue, StoredError } from '../store/types';
import { toStoredError } from '../store/json';
import { traceValue } from './trace-value';
import { minuteOfDay, weekdayName, zonedTime } from './zoned-time';

// === Results ===

/** The outcome of one condition, with its children for all / any / not. */
export interface ConditionResult {
  /** Location in the rule, e.g. `when/0/any/1`. */
  path: string;
  kind: ConditionKind;
  passed: boolean;
  /** False when short-circuiting made it unnecessary. */
  evaluated: boolean;
  /** What the condition saw: rendered inputs, the local time, the rate count... */
  detail?: { [key: string]: JsonValue };
  /** A condition that could not be evaluated (a template that failed to render). */
  error?: StoredError;
  children?: ConditionResult[];
}

/** The outcome of a list of conditions, all of which must hold. */
export interface ConditionsOutcome {
  passed: boolean;
  results: ConditionResult[];
  /** The deepest evaluated condition that made the list fail, for a one-line reason. */
  failed?: ConditionResult;
  /** Set when a condition could not be evaluated; `passed` is then false. */
  error?: StoredError;
}

// === Scope ===

/** What conditions are evaluated against. */
export interface ConditionScope {
  /** The template context of the run at this point. */
  context: TemplateContext;
  /** Epoch milliseconds, from the run's clock. */
  now: number;
  /** The rule's time zone (IANA). */
  timezone: string;
  /** Counters of `rate` conditions, kept between runs. */
  rates: RateTracker;
  /** Prefix that keeps one rule's rate keys apart from another's (the rule id). */
  rateScope: string;
}

// === Rate counting ===

export interface RateTrackerOptions {
  /** Keys remembered at most; the least recently used go first. @default 10000 */
  maxKeys?: number;
}

/**
 * Sliding-window event counts per key, in memory and bounded: each key keeps only the
 * times that can still matter (at most `count`), and the least recently used keys are
 * forgotten beyond `maxKeys`.
 */
export class RateTracker {
  readonly #maxKeys: number;
  readonly #events = new Map<string, number[]>();

  constructor(options: RateTrackerOptions = {}) {
    this.#maxKeys = Math.max(1, options.maxKeys ?? 10_000);
  }

  /** Counts one event of `key` at `now`; returns how many fell within the last `perMs`, this one included. */
  hit(key: string, count: number, perMs: number, now: number): number {
    const times = (this.#events.get(key) ?? []).filter((at) => at > now - perMs);
    times.push(now);
    // Only the latest `count` times can decide whether `count` fit in a window.
    while (times.length > count) times.shift();
    this.#events.delete(key);
    this.#events.set(key, times);
    if (this.#events.size > this.#maxKeys) {
      const oldest = this.#events.keys().next().value;
      if (oldest !== undefined) this.#events.delete(oldest);
    }
    return times.length;
  }

  get size(): number {
    return this.#events.size;
  }
}

/** The tracker used when a caller gives none: one per process, like the daemon's. */
export const processRateTracker = new RateTracker();

// === Errors ===

/** A condition whose inputs could not be worked out (a template that failed to render, a bad value). */
export class ConditionError extends RulebotError {
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('CONDITION_ERROR', `${path}: ${message}`, { path }, options);
  }
}

// === Compiling ===

/** One compiled condition: its place in the rule, its children, and how to evaluate it. */
interface ConditionNode {
  readonly path: string;
  readonly kind: ConditionKind;
  readonly children: readonly ConditionNode[];
  evaluate(scope: ConditionScope): ConditionResult;
}

/** Conditions compiled once: regexes built, templates parsed, durations read. */
export interface CompiledConditions {
  /** How many conditions the list has at its top level (0: always true). */
  readonly size: number;
  evaluate(scope: ConditionScope): ConditionsOutcome;
}

/**
 * Compiles `when` / `if` conditions found at `basePath` (e.g. `when`, `actions/2/if`).
 * Throws RegexError, TemplateError or DurationError for what the loader should already
 * have refused.
 */
export function compileConditions(conditions: Conditions | undefined, basePath: string): CompiledConditions {
  const list = conditionList(conditions);
  // A lone condition (not a list) sits at the base path itself.
  const single = conditions !== undefined && !Array.isArray(conditions);
  const nodes = list.map((condition, i) => compileCondition(condition, single ? basePath : `${basePath}/${i}`));
  return {
    size: nodes.length,
    evaluate: (scope) => outcomeOf(evaluateAll(nodes, scope)),
  };
}

/** Evaluates in order until one fails; the rest are recorded unevaluated. */
function evaluateAll(nodes: readonly ConditionNode[], scope: ConditionScope): ConditionResult[] {
  const results: ConditionResult[] = [];
  let decided = false;
  for (const node of nodes) {
    if (decided) {
      results.push(skeleton(node));
      continue;
    }
    const result = node.evaluate(scope);
    results.push(result);
    if (!result.passed) decided = true;
  }
  return results;
}

function outcomeOf(results: ConditionResult[]): ConditionsOutcome {
  const outcome: ConditionsOutcome = { passed: results.every((r) => r.passed), results };
  const first = results.find((r) => r.evaluated && !r.passed);
  if (first) {
    outcome.failed = deepestFailure(first);
    const error = findError(first);
    if (error) outcome.error = error;
  }
  return outcome;
}

/**
 * The result of a condition that short-circuiting skipped. Its tree is kept so the trace
 * shows every condition; evaluating it anyway is not an option (a rate would count).
 */
function skeleton(node: ConditionNode): ConditionResult {
  const result: ConditionResult = { path: node.path, kind: node.kind, passed: false, evaluated: false };
  if (node.children.length > 0) result.children = node.children.map(skeleton);
  return result;
}

function compileCondition(condition: Condition, path: string): ConditionNode {
  const kind = conditionKind(condition);
  switch (kind) {
    case 'all':
    case 'any': {
      const list = options(condition, kind) as Condition[];
      const children = list.map((child, i) => compileCondition(child, `${path}/${kind}/${i}`));
      return { path, kind, children, evaluate: kind === 'all' ? evaluateAllOf(children, path) : evaluateAnyOf(children, path) };
    }
    case 'not': {
      const child = compileCondition(options(condition, 'not') as Condition, `${path}/not`);
      return { path, kind, children: [child], evaluate: evaluateNot(child, path) };
    }
    default:
      return { path, kind, children: [], evaluate: compileLeaf(condition, kind, path) };
  }
}

function compileLeaf(condition: Condition, kind: Exclude<ConditionKind, 'all' | 'any' | 'not'>, path: string): Evaluator {
  switch (kind) {
    case 'time':
      return compileTime(options(condition, 'time'), path);
    case 'compare':
      return compileCompare(options(condition, 'compare'), path);
    case 'match':
      return compileMatch(options(condition, 'match'), path);
    case 'rate':
      return compileRate(options(condition, 'rate'), path);
    case 'accountYoungerThan':
      return compileAccountAge(options(condition, 'accountYoungerThan'), path);
    case 'uidIn':
      return compileUidIn(options(condition, 'uidIn'), path);
  }
}

type Evaluator = (scope: ConditionScope) => ConditionResult;

function options<K extends ConditionKind>(condition: Condition, kind: K): ConditionOptions<K> {
  return (condition as unknown as Record<K, ConditionOptions<K>>)[kind];
}

// === Kinds ===

function evaluateAllOf(children: readonly ConditionNode[], path: string): Evaluator {
  return (scope) => {
    const results = evaluateAll(children, scope);
    const result: ConditionResult = { path, kind: 'all', passed: results.every((r) => r.passed), evaluated: true, children: results };
    const error = results.map(findError).find((e) => e !== undefined);
    if (error) result.error = error;
    return result;
  };
}

function evaluateAnyOf(children: readonly ConditionNode[], path: string): Evaluator {
  return (scope) => {
    const results: ConditionResult[] = [];
    let passed = false;
    let error: StoredError | undefined;
    for (const child of children) {
      if (passed || error) {
        results.push(skeleton(child));
        continue;
      }
      const result = child.evaluate(scope);
      results.push(result);
      if (result.error) error = result.error;
      else if (result.passed) passed = true;
    }
    const result: ConditionResult = { path, kind: 'any', passed: passed && !error, evaluated: true, children: results };
    if (error) result.error = error;
    return result;
  };
}

function evaluateNot(child: ConditionNode, path: string): Evaluator {
  return (scope) => {
    const inner = child.evaluate(scope);
    const result: ConditionResult = { path, kind: 'not', passed: !inner.error && !inner.passed, evaluated: true, children: [inner] };
    if (inner.error) result.error = inner.error;
    return result;
  };
}

function compileTime(spec: ConditionOptions<'time'>, path: string): Evaluator {
  const after = spec.after !== undefined ? minuteOfDay(spec.after) : undefined;
  const before = spec.before !== undefined ? minuteOfDay(spec.before) : undefined;
  const weekdays = spec.weekdays ? new Set<string>(spec.weekdays) : undefined;
  return (scope) => {
    const local = zonedTime(scope.now, scope.timezone);
    const minutes = local.minuteOfDay;
    let inside: boolean;
    // The day the window opened: a window that crosses midnight and is past it opened yesterday.
    let openedOn = local.weekday;
    if (after !== undefined && before !== undefined) {
      if (after < before) {
        inside = minutes >= after && minutes < before;
      } else if (minutes >= after) {
        inside = true;
      } else if (minutes < before) {
        inside = true;
        openedOn = (local.weekday + 6) % 7;
      } else {
        inside = false;
      }
    } else if (after !== undefined) {
      inside = minutes >= after;
    } else if (before !== undefined) {
      inside = minutes < before;
    } else {
      inside = true;
    }
    const dayOk = weekdays === undefined || weekdays.has(weekdayName(openedOn));
    const detail: { [key: string]: JsonValue } = {
      at: `${weekdayName(local.weekday)} ${local.date} ${local.time}`,
      timezone: scope.timezone,
      inWindow: inside,
    };
    if (spec.after !== undefined) detail.after = spec.after;
    if (spec.before !== undefined) detail.before = spec.before;
    if (weekdays) {
      detail.weekdays = [...weekdays];
      detail.openedOn = weekdayName(openedOn);
    }
    return { path, kind: 'time', passed: inside && dayOk, evaluated: true, detail };
  };
}

function compileCompare(spec: ConditionOptions<'compare'>, path: string): Evaluator {
  const value = parseTemplate(spec.value);
  return (scope) =>
    guarded(path, 'compare', (): Omit<ConditionResult, 'path' | 'kind' | 'evaluated'> => {
      const left = evaluateTemplate(value, scope.context, { timezone: scope.timezone });
      const right = renderDeep(spec.to, scope.context, { timezone: scope.timezone });
      const passed = compareValues(left, spec.op, right);
      return { passed, detail: { value: traceValue(left, SHORT), op: spec.op, to: traceValue(right, SHORT) } };
    });
}

function compileMatch(spec: ConditionOptions<'match'>, path: string): Evaluator {
  const value = parseTemplate(spec.value);
  // Compiled here, once per rule: never per event.
  const regex: CompiledRegex = compileRegex(spec.regex, spec.flags ?? '');
  return (scope) =>
    guarded(path, 'match', () => {
      const text = stringOf(evaluateTemplate(value, scope.context, { timezone: scope.timezone }));
      const groups = regex.exec(text);
      const detail: { [key: string]: JsonValue } = { value: traceValue(text, SHORT), regex: spec.regex };
      if (spec.flags) detail.flags = spec.flags;
      if (groups) detail.matched = groups[0] ?? '';
      return { passed: groups !== null, detail };
    });
}

function compileRate(spec: ConditionOptions<'rate'>, path: string): Evaluator {
  const key = parseTemplate(spec.key);
  const perMs = parseDuration(spec.per);
  return (scope) =>
    guarded(path, 'rate', () => {
      const rendered = stringOf(evaluateTemplate(key, scope.context, { timezone: scope.timezone }));
      const seen = scope.rates.hit(`${scope.rateScope}\u0000${path}\u0000${rendered}`, spec.count, perMs, scope.now);
      return {
        passed: seen >= spec.count,
        detail: { key: traceValue(rendered, SHORT), seen, count: spec.count, per: String(spec.per) },
      };
    });
}

function compileAccountAge(spec: ConditionOptions<'accountYoungerThan'>, path: string): Evaluator {
  const limitMs = parseDuration(spec);
  return (scope): ConditionResult => {
    const subject = subjectOf(scope.context);
    const created = epochMsOf(subject?.createTime);
    if (created === undefined) {
      return {
        path,
        kind: 'accountYoungerThan',
        passed: false,
        evaluated: true,
        detail: { youngerThan: String(spec), reason: 'no account creation time in request, item or message' },
      };
    }
    const ageMs = scope.now - created;
    return {
      path,
      kind: 'accountYoungerThan',
      passed: ageMs < limitMs,
      evaluated: true,
      detail: { youngerThan: String(spec), createdAt: new Date(created).toISOString(), ageDays: Math.floor(ageMs / 86_400_000) },
    };
  };
}

function compileUidIn(spec: ConditionOptions<'uidIn'>, path: string): Evaluator {
  const templates = spec.map((id) => parseTemplate(String(id)));
  return (scope) =>
    guarded(path, 'uidIn', () => {
      const uids = templates.map((t) => stringOf(evaluateTemplate(t, scope.context, { timezone: scope.timezone })).trim());
      const subject = subjectOf(scope.context);
      const uid = subject?.uid !== undefined ? String(subject.uid) : undefined;
      const detail: { [key: string]: JsonValue } = { uid: uid ?? null, uids: traceValue(uids, SHORT) };
      return { passed: uid !== undefined && uids.includes(uid), detail };
    });
}

// === Helpers ===

const SHORT = { maxString: 200, maxItems: 20, maxDepth: 3 };

/** Runs a leaf evaluation; a throw becomes a failed result carrying the error. */
function guarded(path: string, kind: ConditionKind, run: () => Omit<ConditionResult, 'path' | 'kind' | 'evaluated'>): ConditionResult {
  try {
    return { path, kind, evaluated: true, ...run() };
  } catch (err) {
    const error = toStoredError(new ConditionError(path, err instanceof Error ? err.message : String(err), { cause: err }));
    return { path, kind, passed: false, evaluated: true, error };
  }
}

function findError(result: ConditionResult): StoredError | undefined {
  if (result.error) return result.error;
  for (const child of result.children ?? []) {
    const error = findError(child);
    if (error) return error;
  }
  return undefined;
}

/** Walks into a failed composite to the leaf that explains it best. */
function deepestFailure(result: ConditionResult): ConditionResult {
  if (result.kind === 'all' && result.children) {
    const child = result.children.find((c) => c.evaluated && !c.passed);
    if (child) return deepestFailure(child);
  }
  return result;
}

/** Who a request- or member-level condition is about: the friend request, the watched item, the message's sender. */
function subjectOf(context: TemplateContext): { uid?: unknown; createTime?: unknown } | undefined {
  for (const root of ['request', 'item'] as const) {
    const value = context[root];
    if (value !== null && typeof value === 'object' && 'uid' in value) return value as { uid?: unknown; createTime?: unknown };
  }
  const message = context.message;
  if (message !== null && typeof message === 'object' && 'senderId' in message) {
    return { uid: (message as { senderId: unknown }).senderId };
  }
  return undefined;
}

/** Account creation times come as epoch ms or seconds, numbers or strings of digits. */
function epochMsOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) return undefined;
  // Below 10^12 an epoch time can only be in seconds (ms would be before 2001-09-09).
  return n < 1e12 ? n * 1000 : n;
}

function stringOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/** Equality that reads numbers in strings as numbers (ids arrive as both) and compares the rest as text. */
function looselyEqual(a: unknown, b: unknown): boolean {
  const x = numberOf(a);
  const y = numberOf(b);
  if (x !== undefined && y !== undefined) return x === y;
  if (typeof a === 'boolean' || typeof b === 'boolean') return String(a) === String(b);
  return stringOf(a) === stringOf(b);
}

/** Applies a compare `op`. Ordering compares numbers when both sides are numbers, else text. */
export function compareValues(left: unknown, op: ConditionOptions<'compare'>['op'], right: unknown): boolean {
  switch (op) {
    case 'eq':
      return looselyEqual(left, right);
    case 'ne':
      return !looselyEqual(left, right);
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge': {
      const x = numberOf(left);
      const y = numberOf(right);
      const order = x !== undefined && y !== undefined ? Math.sign(x - y) : Math.sign(stringOf(left).localeCompare(stringOf(right)));
      return op === 'lt' ? order < 0 : op === 'le' ? order <= 0 : op === 'gt' ? order > 0 : order >= 0;
    }
    case 'contains':
      return Array.isArray(left) ? left.some((item) => looselyEqual(item, right)) : stringOf(left).includes(stringOf(right));
    case 'in':
      return Array.isArray(right) ? right.some((item) => looselyEqual(left, item)) : stringOf(right).includes(stringOf(left));
    case 'startsWith':
      return stringOf(left).startsWith(stringOf(right));
    case 'endsWith':
      return stringOf(left).endsWith(stringOf(right));
  }
}

// === Reading results ===

/** The tree as flat records in evaluation order (parents before children), as the store keeps them. */
export function flattenConditionResults(results: readonly ConditionResult[]): ConditionRecord[] {
  const records: ConditionRecord[] = [];
  const walk = (result: ConditionResult): void => {
    const record: ConditionRecord = { path: result.path, kind: result.kind, passed: result.passed };
    const detail: { [key: string]: JsonValue } = { ...result.detail };
    if (!result.evaluated) detail.evaluated = false;
    if (result.error) detail.error = { code: result.error.code, message: result.error.message };
    if (Object.keys(detail).length > 0) record.detail = detail;
    records.push(record);
    for (const child of result.children ?? []) walk(child);
  };
  for (const result of results) walk(result);
  return records;
}

/** One line saying why a list of conditions did not hold, e.g. `when/0 (match) did not hold: value "hi" ...`. */
export function describeConditionFailure(outcome: ConditionsOutcome): string {
  const failed = outcome.failed;
  if (!failed) return 'the conditions held';
  if (outcome.error) return `${failed.path} (${failed.kind}) could not be evaluated: ${outcome.error.message}`;
  const detail = describeDetail(failed);
  return `${failed.path} (${failed.kind}) did not hold${detail ? ` (${detail})` : ''}`;
}

function describeDetail(result: ConditionResult): string {
  const d = result.detail ?? {};
  switch (result.kind) {
    case 'time':
      return `at ${String(d.at)} ${String(d.timezone)}${d.weekdays ? `, window opened on ${String(d.openedOn)}` : ''}`;
    case 'compare':
      return `${JSON.stringify(d.value)} ${String(d.op)} ${JSON.stringify(d.to)}`;
    case 'match':
      return `${JSON.stringify(d.value)} !~ /${String(d.regex)}/`;
    case 'rate':
      return `${String(d.seen)} of ${String(d.count)} within ${String(d.per)} for key ${JSON.stringify(d.key)}`;
    case 'any':
      return `none of its ${result.children?.length ?? 0} conditions held`;
    case 'not':
      return 'its condition held';
    default:
      return Object.entries(d)
        .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
        .join(', ');
  }
}
