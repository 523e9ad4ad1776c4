/**
 * Judges one rule document: its shape against schema.ts, kind by kind, and the meaning
 * JSON Schema cannot check (cron expressions, time zones, regexes, templates, references
 * between actions). Every mistake is collected, none stops the others from being found,
 * and each is placed at the file, line and column it is about.
 *
 * Shape is checked one node at a time: the kind key of each trigger, condition and action
 * picks the schema of that kind, whose nested conditions and actions are left open and
 * checked in turn. So an error names the fields of the kind the operator meant, and an
 * unknown kind gets a did-you-mean over the known ones.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { compileSchedule } from '../schedule/next-fire';
import { isMap, isScalar, isSeq, Scalar, type Node } from 'yaml';
import { parseDuration } from '../shared/duration';
import {
  describePath,
  didYouMean,
  instancePathToPath,
  type SourceDocument,
  type SourceProblem,
  type ValuePath,
} from '../shared/yaml-source';
import { API_TABLE, isApiName } from '../protocol/wire';
import { compileRegex, RegexError } from './regex';
import {
  ChatId,
  MAX_MEMBER_MUTE,
  RuleShellSchema,
  SHALLOW_ACTION_SCHEMAS,
  SHALLOW_CONDITION_SCHEMAS,
  TRIGGER_SCHEMAS,
  VARIABLE_NAME_PATTERN,
} from './schema';
import { describeValue, schemaProblems } from './schema-errors';
import { isTemplateText, parseTemplate, TEMPLATE_ROOTS, TemplateError, templateReferences, type ParsedTemplate } from './templates';
import {
  ACTION_KINDS,
  BRIDGE_ACTION_KINDS,
  COMMON_ACTION_OPTION_NAMES,
  CONDITION_KINDS,
  TRIGGER_KINDS,
  WORLD_CHANGING_ACTION_KINDS,
  type ActionKind,
  type ConditionKind,
  type Rule,
  type TriggerKind,
} from './types';

/** Problem codes of rule files (docs/rules.md lists them with examples). */
export const RULE_PROBLEM_CODES = {
  yamlSyntax: 'YAML_SYNTAX',
  schema: 'SCHEMA',
  unknownKind: 'RULE_UNKNOWN_KIND',
  duplicateRuleId: 'RULE_DUPLICATE_ID',
  duplicateActionId: 'ACTION_DUPLICATE_ID',
  unknownStep: 'STEP_UNKNOWN',
  cron: 'CRON_INVALID',
  timezone: 'TIMEZONE_INVALID',
  regex: 'REGEX_INVALID',
  template: 'TEMPLATE_INVALID',
  unquotedTemplate: 'TEMPLATE_UNQUOTED',
  templateName: 'TEMPLATE_UNKNOWN_NAME',
  duration: 'DURATION_INVALID',
  invalid: 'RULE_INVALID',
} as const;
export type RuleProblemCode = (typeof RULE_PROBLEM_CODES)[keyof typeof RULE_PROBLEM_CODES];

/** The outcome for one document: the normalised rule when it has no problem. */
export interface RuleCheck {
  rule?: Rule;
  problems: SourceProblem[];
}

/**
 * Checks one YAML document as a rule. `lines` (the file's text split in lines, or a
 * function that gives them, called only when a problem needs them) lets a mistake inside
 * a block-scalar template be placed on its own line.
 */
export function checkRuleDocument(doc: SourceDocument, lines?: readonly string[] | (() => readonly string[])): RuleCheck {
  // Checked and normalised in a copy: the document keeps what the file says (for its hash),
  // and the rule kept owns its strings instead of slices that hold the whole file's text.
  const value = structuredClone(doc.value);
  const ctx = new CheckContext(doc, lines);
  ctx.findUnquotedTemplates();
  if (!isPlainObject(value)) {
    ctx.report([], `a rule must be a map with id, trigger and actions; got ${describeValue(value)}`, RULE_PROBLEM_CODES.schema);
    return { problems: ctx.problems };
  }
  ctx.validateNode('rule', RuleShellSchema, value, []);
  ctx.triggerKind = checkTrigger(ctx, value.trigger);
  ctx.watchList = ctx.triggerKind === 'watch' && isPlainObject(value.trigger) && isPlainObject(value.trigger.watch) ? value.trigger.watch.list : undefined;
  ctx.variableNames = collectVariableNames(value);
  if (typeof value.timezone === 'string') checkTimezone(ctx, value.timezone, ['timezone']);
  const scope: Scope = { locals: new Set(), targets: false };
  if (value.when !== undefined) checkConditions(ctx, value.when, ['when'], scope);
  if (isPlainObject(value.vars)) {
    for (const [name, initial] of Object.entries(value.vars)) {
      if (!VARIABLE_NAME.test(name)) ctx.reportKey(['vars', name], `"${name}" is not a variable name: use letters, digits and "_", not starting with a digit`);
      checkTemplatesIn(ctx, initial, ['vars', name], scope);
    }
  }
  if (Array.isArray(value.actions)) checkActionList(ctx, value.actions, ['actions'], scope);
  return ctx.problems.length === 0 ? { rule: value as unknown as Rule, problems: [] } : { problems: ctx.problems };
}

// === Context ===

interface Scope {
  /** Names bound by enclosing forEach actions. */
  locals: ReadonlySet<string>;
  /** Inside an action that works through targets, where `target` is set. */
  targets: boolean;
}

const VARIABLE_NAME = new RegExp(VARIABLE_NAME_PATTERN);

// optimize: false skips ajv's clean-up pass over the generated source: compiling takes a
// third of the time (it is paid at every start), and the validators check the same.
const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: true, strictTypes: false, strictRequired: false, code: { optimize: false } });
const validators = new Map<string, ValidateFunction>();

function validatorFor(key: string, schema: TSchema): ValidateFunction {
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(key, validate);
  }
  return validate;
}

/** Most distinct inputs a verdict cache holds before it starts over: bounds a long-lived daemon. */
const VERDICT_CACHE_SIZE = 20_000;

/**
 * The verdict on an input that depends on nothing else: a problem's message, or null when
 * there is none. Rules repeat schedules and patterns, and each check costs a parse (a
 * cron expression, an RE2 program).
 */
function cachedVerdict(cache: Map<string, string | null>, key: string, judge: () => string | null): string | null {
  const known = cache.get(key);
  if (known !== undefined) return known;
  const verdict = judge();
  if (cache.size >= VERDICT_CACHE_SIZE) cache.clear();
  cache.set(key, verdict);
  return verdict;
}

class CheckContext {
  readonly problems: SourceProblem[] = [];
  /** Action ids met so far, in pipeline order, with the line of each. */
  readonly stepIds = new Map<string, number>();
  triggerKind: TriggerKind | undefined;
  watchList: unknown;
  variableNames: ReadonlySet<string> = new Set();
  /** Values YAML read as maps because a `{{` was not quoted: reported once, then left alone. */
  readonly #unquoted: ValuePath[] = [];

  constructor(
    readonly doc: SourceDocument,
    readonly lines: readonly string[] | (() => readonly string[]) | undefined,
  ) {}

  report(path: ValuePath, message: string, code: RuleProblemCode = RULE_PROBLEM_CODES.invalid, at = this.doc.positionOf(path)): void {
    this.problems.push({ file: this.doc.file, line: at.line, col: at.col, code, message });
  }

  /** Reports at the key of `path` (its last segment), e.g. an unknown kind key. */
  reportKey(path: ValuePath, message: string, code: RuleProblemCode = RULE_PROBLEM_CODES.invalid): void {
    this.report(path, message, code, this.doc.keyPositionOf(path));
  }

  isUnquotedTemplate(path: ValuePath): boolean {
    return this.#unquoted.some((bad) => bad.length <= path.length && bad.every((segment, i) => String(segment) === String(path[i])));
  }

  /** Validates one node against its shallow schema; normalises its ids when it passes. */
  validateNode(key: string, schema: TSchema, value: unknown, path: ValuePath): boolean {
    const validate = validatorFor(key, schema);
    if (validate(value)) {
      normaliseIds(this, schema, value, path);
      return true;
    }
    const errors = (validate.errors ?? []).filter((e) => !this.isUnquotedTemplate([...path, ...instancePathToPath(e.instancePath)]));
    this.problems.push(...schemaProblems(errors, this.doc, path));
    return false;
  }

  /**
   * YAML reads `text: {{ name }}` as a map with a map for its key. Nobody means that in a
   * rule file, so each such value is reported once, as the quoting mistake it is.
   */
  findUnquotedTemplates(): void {
    // Every node of every rule is visited: one path is grown and shrunk in place, and
    // copied only for the rare value that is reported.
    const path: Array<string | number> = [];
    const walk = (node: Node | null | undefined): void => {
      if (isMap(node)) {
        const first = node.items[0];
        if (node.flow && node.items.length === 1 && first && isMap(first.key) && first.key.flow && first.value === null) {
          const at = [...path];
          this.#unquoted.push(at);
          this.report(at, 'a value that starts with {{ must be quoted: YAML reads {{ ... }} as a map; put the whole value in quotes', RULE_PROBLEM_CODES.unquotedTemplate);
          return;
        }
        for (const pair of node.items) {
          if (!isScalar(pair.key)) continue;
          path.push(String(pair.key.value));
          walk(pair.value as Node | null);
          path.pop();
        }
      } else if (isSeq(node)) {
        for (let index = 0; index < node.items.length; index++) {
          path.push(index);
          walk(node.items[index] as Node);
          path.pop();
        }
      }
    };
    walk(this.doc.nodeAt([]));
  }

  /**
   * Where line `line`, column `col` of the template at `path` is in the file: exact for
   * one-line values and literal blocks (`|`), the value's start otherwise.
   */
  positionInValue(path: ValuePath, line: number, col: number): { line: number; col: number } {
    const start = this.doc.positionOf(path);
    const node = this.doc.nodeAt(path);
    if (!isScalar(node)) return start;
    switch (node.type) {
      case Scalar.PLAIN:
        return line === 1 ? { line: start.line, col: start.col + col - 1 } : start;
      case Scalar.QUOTE_DOUBLE:
      case Scalar.QUOTE_SINGLE:
        return line === 1 ? { line: start.line, col: start.col + col } : start;
      case Scalar.BLOCK_LITERAL: {
        const fileLine = start.line + line;
        const text = (typeof this.lines === 'function' ? this.lines() : this.lines)?.[fileLine - 1];
        if (text === undefined) return start;
        return { line: fileLine, col: text.length - text.trimStart().length + col };
      }
      default:
        return start;
    }
  }
}

// === Kinds ===

/**
 * The kind key of a trigger, condition or action map, or undefined (after reporting) when
 * there is none, more than one, or an unknown one.
 */
function detectKind<K extends string>(
  ctx: CheckContext,
  value: unknown,
  path: ValuePath,
  family: 'trigger' | 'condition' | 'action',
  kinds: readonly K[],
  otherKeys: readonly string[] = [],
): K | undefined {
  if (ctx.isUnquotedTemplate(path)) return undefined;
  const where = describePath(path);
  if (!isPlainObject(value)) {
    const asKey = typeof value === 'string' && (kinds as readonly string[]).includes(value) ? ` (write "${value}:" with its options, e.g. "${value}: {}")` : '';
    ctx.report(path, `${where} must be ${article(family)} ${family}: a map whose key names its kind; got ${describeValue(value)}${asKey}`, RULE_PROBLEM_CODES.schema);
    return undefined;
  }
  const keys = Object.keys(value);
  const kindKeys = keys.filter((key): key is K => (kinds as readonly string[]).includes(key));
  if (kindKeys.length === 1) return kindKeys[0];
  if (kindKeys.length > 1) {
    ctx.reportKey([...path, kindKeys[1] as string], `${where} names two ${family} kinds, ${kindKeys.map((k) => `"${k}"`).join(' and ')}: one ${family} has one kind`, RULE_PROBLEM_CODES.unknownKind);
    return undefined;
  }
  const unknown = keys.filter((key) => !otherKeys.includes(key));
  if (unknown.length === 0) {
    ctx.report(path, `${where} has no ${family} kind: add one of ${kinds.join(', ')}`, RULE_PROBLEM_CODES.unknownKind);
    return undefined;
  }
  for (const key of unknown) {
    const hint = didYouMean(key, kinds);
    ctx.reportKey(
      [...path, key],
      `unknown ${family} kind "${key}"${hint ? ` (did you mean "${hint}"?)` : ` (known kinds: ${kinds.join(', ')})`}`,
      RULE_PROBLEM_CODES.unknownKind,
    );
  }
  return undefined;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

// === Triggers ===

function checkTrigger(ctx: CheckContext, trigger: unknown): TriggerKind | undefined {
  if (trigger === undefined) return undefined; // the rule's schema reports the missing key
  const path: ValuePath = ['trigger'];
  const kind = detectKind(ctx, trigger, path, 'trigger', TRIGGER_KINDS);
  if (!kind || !ctx.validateNode(`trigger:${kind}`, TRIGGER_SCHEMAS[kind], trigger, path)) return kind;
  const options = (trigger as Record<string, unknown>)[kind];
  const at: ValuePath = [...path, kind];
  switch (kind) {
    case 'cron': {
      const spec = typeof options === 'string' ? { expr: options } : (options as { expr: string; timezone?: string });
      const exprPath = typeof options === 'string' ? at : [...at, 'expr'];
      if (spec.timezone !== undefined) checkTimezone(ctx, spec.timezone, [...at, 'timezone']);
      checkCron(ctx, spec.expr, exprPath);
      break;
    }
    case 'every': {
      const spec = isPlainObject(options) ? (options as { interval: string | number; offset?: string | number }) : { interval: options as string | number };
      const intervalPath = isPlainObject(options) ? [...at, 'interval'] : at;
      const interval = parseDuration(spec.interval);
      if (interval < 1000) ctx.report(intervalPath, `an every trigger's interval must be at least 1s`, RULE_PROBLEM_CODES.duration);
      if (spec.offset !== undefined && parseDuration(spec.offset) >= interval) ctx.report([...at, 'offset'], `offset must be shorter than the interval`, RULE_PROBLEM_CODES.duration);
      break;
    }
    case 'window': {
      const spec = options as { start: string; end: string };
      if (spec.start === spec.end) ctx.report([...at, 'end'], `a window's start and end must differ (a window of no time never opens)`);
      break;
    }
    case 'watch': {
      const spec = options as { list: string; group?: string; every: string | number };
      if (spec.list === 'members' && spec.group === undefined) ctx.report(at, `watching members needs the group whose members to watch (group: <id>)`);
      if (spec.list !== 'members' && spec.group !== undefined) ctx.reportKey([...at, 'group'], `group applies only to list: members`);
      if (parseDuration(spec.every) < 1000) ctx.report([...at, 'every'], `a watch polls at most once a second (every: 1s or more)`, RULE_PROBLEM_CODES.duration);
      break;
    }
    case 'message': {
      const spec = options as { chat?: string; groups?: unknown; friends?: unknown; text?: string };
      if (spec.text !== undefined) checkRegex(ctx, spec.text, '', [...at, 'text']);
      if (spec.chat === 'group' && spec.friends !== undefined) ctx.reportKey([...at, 'friends'], `friends never match with chat: group`);
      if (spec.chat === 'friend' && spec.groups !== undefined) ctx.reportKey([...at, 'groups'], `groups never match with chat: friend`);
      break;
    }
    default:
      break;
  }
  return kind;
}

const cronVerdicts = new Map<string, string | null>();

function checkCron(ctx: CheckContext, expr: string, path: ValuePath): void {
  const problem = cachedVerdict(cronVerdicts, expr, () => cronProblem(expr));
  if (problem !== null) ctx.report(path, problem, RULE_PROBLEM_CODES.cron);
}

function cronProblem(expr: string): string | null {
  const fields = expr.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    return `cron expression "${expr}" has ${fields} field${fields === 1 ? '' : 's'}: use 5 (minute hour day month weekday) or 6 (second first)`;
  }
  // The scheduler's own parser, so validation accepts exactly what the daemon can arm
  // (it refuses `H` and `@daily`-style aliases, which cron-parser alone would take).
  try {
    compileSchedule({ cron: expr, timezone: 'UTC' });
    return null;
  } catch (err) {
    // The scheduler's messages already name the expression: `cron "…" is not valid: …`.
    return err instanceof Error ? err.message : `cron expression "${expr}": ${String(err)}`;
  }
}

/** Zone names Intl accepted: building a formatter to ask costs a tenth of a millisecond. */
const knownTimezones = new Set<string>();

/** Whether Intl knows an IANA time zone name. */
export function isValidTimezone(name: string): boolean {
  if (knownTimezones.has(name)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
  } catch {
    return false;
  }
  // Only valid names are kept, so the set stays as small as the zone database.
  knownTimezones.add(name);
  return true;
}

function checkTimezone(ctx: CheckContext, name: string, path: ValuePath): void {
  if (!isValidTimezone(name)) ctx.report(path, `unknown time zone "${name}" (use an IANA name such as Asia/Shanghai or UTC)`, RULE_PROBLEM_CODES.timezone);
}

const regexVerdicts = new Map<string, string | null>();

function checkRegex(ctx: CheckContext, pattern: string, flags: string, path: ValuePath): void {
  const problem = cachedVerdict(regexVerdicts, `${flags.length}:${flags}/${pattern}`, () => {
    try {
      compileRegex(pattern, flags);
      return null;
    } catch (err) {
      if (!(err instanceof RegexError)) throw err;
      return err.message;
    }
  });
  if (problem !== null) ctx.report(path, problem, RULE_PROBLEM_CODES.regex);
}

// === Conditions ===

function checkConditions(ctx: CheckContext, value: unknown, path: ValuePath, scope: Scope): void {
  if (Array.isArray(value)) value.forEach((condition, index) => checkCondition(ctx, condition, [...path, index], scope));
  else checkCondition(ctx, value, path, scope);
}

function checkCondition(ctx: CheckContext, value: unknown, path: ValuePath, scope: Scope): void {
  const kind: ConditionKind | undefined = detectKind(ctx, value, path, 'condition', CONDITION_KINDS);
  if (!kind) return;
  const passed = ctx.validateNode(`condition:${kind}`, SHALLOW_CONDITION_SCHEMAS[kind], value, path);
  const options = (value as Record<string, unknown>)[kind];
  const at: ValuePath = [...path, kind];
  if (kind === 'all' || kind === 'any') {
    if (Array.isArray(options)) options.forEach((inner, index) => checkCondition(ctx, inner, [...at, index], scope));
    return;
  }
  if (kind === 'not') {
    checkCondition(ctx, options, at, scope);
    return;
  }
  // Templates are checked whatever else is wrong with the condition.
  if (isPlainObject(options)) {
    for (const [key, child] of Object.entries(options)) if (key !== 'regex' && key !== 'flags') checkTemplatesIn(ctx, child, [...at, key], scope);
  }
  if (!passed) return;
  switch (kind) {
    case 'time': {
      const spec = options as { after?: string; before?: string };
      if (spec.after !== undefined && spec.after === spec.before) ctx.report([...at, 'before'], `after and before are the same time: the condition would never hold`);
      break;
    }
    case 'compare': {
      const spec = options as { op: string; to: unknown };
      if (spec.op === 'in' && !Array.isArray(spec.to) && !(typeof spec.to === 'string' && isTemplateText(spec.to))) {
        ctx.report([...at, 'to'], `op "in" needs a list (or a template giving one) in to`);
      }
      break;
    }
    case 'match': {
      const spec = options as { value: string; regex: string; flags?: string };
      checkRegex(ctx, spec.regex, spec.flags ?? '', [...at, 'regex']);
      break;
    }
    case 'rate': {
      const spec = options as { key: string; per: string | number };
      if (parseDuration(spec.per) <= 0) ctx.report([...at, 'per'], `per must be longer than 0`, RULE_PROBLEM_CODES.duration);
      break;
    }
    default:
      break;
  }
}

// === Actions ===

function checkActionList(ctx: CheckContext, list: unknown[], path: ValuePath, scope: Scope): void {
  list.forEach((action, index) => checkAction(ctx, action, [...path, index], scope));
}

const TARGET_ACTION_KINDS: ReadonlySet<ActionKind> = new Set<ActionKind>(['send', 'groupMute', 'setNotice', 'rotateNotice']);

function checkAction(ctx: CheckContext, value: unknown, path: ValuePath, scope: Scope): void {
  const kind: ActionKind | undefined = detectKind(ctx, value, path, 'action', ACTION_KINDS, COMMON_ACTION_OPTION_NAMES);
  if (!kind) {
    if (isPlainObject(value)) registerStepId(ctx, value.id, path);
    return;
  }
  const action = value as Record<string, unknown>;
  const passed = ctx.validateNode(`action:${kind}`, SHALLOW_ACTION_SCHEMAS[kind], action, path);
  if (action.if !== undefined) checkConditions(ctx, action.if, [...path, 'if'], scope);
  const options = action[kind];
  const at: ValuePath = [...path, kind];
  const inner: Scope = { ...scope, targets: TARGET_ACTION_KINDS.has(kind) };

  // Nested conditions and actions, checked whatever the action's own shape.
  if (isPlainObject(options)) {
    if (kind === 'choose') {
      if (options.if !== undefined) checkConditions(ctx, options.if, [...at, 'if'], scope);
      if (Array.isArray(options.then)) checkActionList(ctx, options.then, [...at, 'then'], scope);
      if (Array.isArray(options.else)) checkActionList(ctx, options.else, [...at, 'else'], scope);
    } else if (kind === 'forEach') {
      const name = typeof options.as === 'string' ? options.as : 'item';
      if ((TEMPLATE_ROOTS as readonly string[]).includes(name) && name !== 'item') {
        ctx.report([...at, 'as'], `as: "${name}" would hide the template name ${name}; pick another name`);
      }
      if (Array.isArray(options.do)) checkActionList(ctx, options.do, [...at, 'do'], { ...scope, locals: new Set([...scope.locals, name]) });
    } else if (kind === 'audit' && Array.isArray(options.rules)) {
      options.rules.forEach((rule, index) => {
        if (isPlainObject(rule) && rule.when !== undefined) checkConditions(ctx, rule.when, [...at, 'rules', index, 'when'], scope);
      });
    }
  }

  // Templates are checked whatever else is wrong with the action.
  if (isPlainObject(options)) {
    const skip = new Set(NOT_TEMPLATES[kind] ?? []);
    for (const [key, child] of Object.entries(options)) if (!skip.has(key)) checkTemplatesIn(ctx, child, [...at, key], inner);
  }
  if (passed) {
    checkActionOptions(ctx, kind, action, path);
    checkRetry(ctx, kind, action, path);
  }
  registerStepId(ctx, action.id, path);
}

function registerStepId(ctx: CheckContext, id: unknown, path: ValuePath): void {
  if (typeof id !== 'string') return;
  const first = ctx.stepIds.get(id);
  if (first !== undefined) {
    ctx.report([...path, 'id'], `duplicate action id "${id}" (first used at line ${first}): action ids name results and must be unique in a rule`, RULE_PROBLEM_CODES.duplicateActionId);
    return;
  }
  ctx.stepIds.set(id, ctx.doc.positionOf([...path, 'id']).line);
}

/** Options that are not templates: regexes, and the nested parts checked on their own. */
const NOT_TEMPLATES: Partial<Record<ActionKind, readonly string[]>> = {
  choose: ['if', 'then', 'else'],
  forEach: ['do', 'as'],
  audit: ['rules'],
  request: ['api', 'path'],
  read: ['from'],
};

/** Checks of each kind beyond its schema; run only on options that passed the schema. */
function checkActionOptions(ctx: CheckContext, kind: ActionKind, action: Record<string, unknown>, path: ValuePath): void {
  const options = action[kind];
  const spec = (isPlainObject(options) ? options : {}) as Record<string, unknown>;
  const at: ValuePath = [...path, kind];

  switch (kind) {
    case 'send': {
      const hasText = spec.text !== undefined;
      const hasFile = spec.file !== undefined;
      if (hasText === hasFile) ctx.report(at, hasText ? `send takes text or file, not both` : `send needs text or file`);
      checkTargets(ctx, spec.to, [...at, 'to'], true);
      break;
    }
    case 'groupMute':
    case 'setNotice':
    case 'rotateNotice': {
      checkTargets(ctx, spec.groups, [...at, 'groups'], false);
      if (kind === 'groupMute') expectBooleanOrTemplate(ctx, spec.muted, [...at, 'muted']);
      if (kind === 'rotateNotice' && Array.isArray(spec.notices)) {
        spec.notices.forEach((notice, index) => {
          if (typeof notice === 'string' && notice.trim() === '') ctx.report([...at, 'notices', index], `a notice must not be empty`);
        });
      }
      break;
    }
    case 'muteMember': {
      const millis = parseDuration(spec.for as string | number);
      const max = parseDuration(MAX_MEMBER_MUTE);
      if (millis < 1000) ctx.report([...at, 'for'], `a member mute lasts at least 1s`, RULE_PROBLEM_CODES.duration);
      if (millis > max) ctx.report([...at, 'for'], `a member mute lasts at most ${MAX_MEMBER_MUTE}; got ${String(spec.for)}`, RULE_PROBLEM_CODES.duration);
      break;
    }
    case 'answerFriendRequest':
      expectBooleanOrTemplate(ctx, spec.accept, [...at, 'accept']);
      break;
    case 'request': {
      const api = spec.api as string;
      if (!isApiName(api) && spec.path === undefined) {
        const hint = didYouMean(api, Object.keys(API_TABLE));
        ctx.report([...at, 'api'], `unknown ApiName "${api}"${hint ? ` (did you mean "${hint}"?)` : ''}: give its path to call an ApiName rulebot does not know`);
      }
      break;
    }
    case 'read':
      checkRead(ctx, spec, at);
      if (action.id === undefined) ctx.report(path, `a read needs an id: its result is read back as steps.<id>`);
      break;
    case 'forEach':
      if (typeof spec.items === 'string' && !isTemplateText(spec.items)) ctx.report([...at, 'items'], `items must be a list, or a template that gives one`);
      break;
    case 'set':
      for (const name of Object.keys(spec)) {
        if (!VARIABLE_NAME.test(name)) ctx.reportKey([...at, name], `"${name}" is not a variable name: use letters, digits and "_", not starting with a digit`);
      }
      break;
    case 'audit':
      checkAudit(ctx, spec, at);
      break;
    default:
      break;
  }
}

/** What each read needs; a read's result is only reachable through its id. */
const READ_PARAMETERS: Record<string, { needs: readonly string[]; takes: readonly string[] }> = {
  groups: { needs: [], takes: [] },
  groupDetail: { needs: ['group'], takes: ['group'] },
  members: { needs: ['group'], takes: ['group'] },
  contacts: { needs: [], takes: [] },
  contactDetail: { needs: ['uid'], takes: ['uid'] },
  onlineStatus: { needs: ['group', 'uids'], takes: ['group', 'uids'] },
  userInfo: { needs: [], takes: [] },
  friendRequests: { needs: [], takes: [] },
};

function checkRead(ctx: CheckContext, spec: Record<string, unknown>, at: ValuePath): void {
  const from = spec.from as string;
  const params = READ_PARAMETERS[from];
  if (!params) return;
  for (const needed of params.needs) if (spec[needed] === undefined) ctx.report(at, `read from ${from} needs ${needed}`);
  for (const given of ['group', 'uid', 'uids']) {
    if (spec[given] !== undefined && !params.takes.includes(given)) ctx.reportKey([...at, given], `read from ${from} takes no ${given}`);
  }
}

function checkAudit(ctx: CheckContext, spec: Record<string, unknown>, at: ValuePath): void {
  if (ctx.triggerKind !== 'watch' || ctx.watchList !== 'friendRequests') {
    ctx.report(at, `audit decides friend requests: the rule's trigger must be watch: { list: friendRequests, ... }`);
  }
  const rules = Array.isArray(spec.rules) ? (spec.rules as Array<Record<string, unknown>>) : [];
  const catchAll = rules.findIndex((rule) => rule.when === undefined);
  if (catchAll >= 0 && catchAll < rules.length - 1) {
    ctx.report([...at, 'rules', catchAll + 1], `never reached: the audit rule before it has no when, so it decides every request`);
  }
}

/** `retry` is for reads and transient errors; a world-changing frame is never resent blindly. */
function checkRetry(ctx: CheckContext, kind: ActionKind, action: Record<string, unknown>, path: ValuePath): void {
  const retry = action.retry as { unsafe?: boolean } | undefined;
  if (retry === undefined) return;
  if (!BRIDGE_ACTION_KINDS.has(kind)) {
    ctx.reportKey([...path, 'retry'], `retry applies to actions that call the bridge; ${kind} does not`);
    return;
  }
  const options = action[kind] as Record<string, unknown>;
  const writes = WORLD_CHANGING_ACTION_KINDS.has(kind) || (kind === 'request' && !(isApiName(String(options.api)) && !API_TABLE[options.api as keyof typeof API_TABLE].writes));
  if (writes && retry.unsafe !== true) {
    ctx.reportKey(
      [...path, 'retry'],
      `retry on ${kind === 'request' ? `request ${String(options.api)}` : kind} could repeat a change the bridge already made (a timeout does not prove it did nothing); add unsafe: true to retry anyway`,
    );
  }
}

function expectBooleanOrTemplate(ctx: CheckContext, value: unknown, path: ValuePath): void {
  if (typeof value === 'string' && !isTemplateText(value)) ctx.report(path, `${describePath(path)} must be true, false, or a template that gives one, got ${describeValue(value)}`);
}

function checkTargets(ctx: CheckContext, targets: unknown, path: ValuePath, friendsAllowed: boolean): void {
  if (!isPlainObject(targets)) return; // a list of ids
  const selectors = ['group', 'groups', 'groupsMatching', 'allGroups', ...(friendsAllowed ? ['friend', 'friends', 'admins'] : [])];
  if (!selectors.some((key) => targets[key] !== undefined)) {
    ctx.report(path, `${describePath(path)} selects nothing: give at least one of ${selectors.join(', ')}`);
  }
  if (typeof targets.groupsMatching === 'string') checkRegex(ctx, targets.groupsMatching, '', [...path, 'groupsMatching']);
}

// === Templates ===

/** Checks every template string inside a value (maps and lists walked). */
function checkTemplatesIn(ctx: CheckContext, value: unknown, path: ValuePath, scope: Scope): void {
  if (ctx.isUnquotedTemplate(path)) return;
  if (typeof value === 'string') checkTemplate(ctx, value, path, scope);
  else if (Array.isArray(value)) value.forEach((item, index) => checkTemplatesIn(ctx, item, [...path, index], scope));
  else if (isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      // Regexes are not templates.
      if (key === 'groupsMatching') continue;
      checkTemplatesIn(ctx, child, [...path, key], scope);
    }
  }
}

function checkTemplate(ctx: CheckContext, text: string, path: ValuePath, scope: Scope): void {
  if (!isTemplateText(text)) return;
  let parsed;
  try {
    parsed = parseTemplate(text);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    const at = err.line !== undefined && err.col !== undefined ? ctx.positionInValue(path, err.line, err.col) : ctx.doc.positionOf(path);
    ctx.report(path, `template: ${err.message}`, RULE_PROBLEM_CODES.template, at);
    return;
  }
  for (const segments of referencesOf(parsed)) checkTemplateName(ctx, text, segments, path, scope);
}

/**
 * The names a parsed template reads, worked out once per parse: liquid's static analysis
 * costs more than the parse, and rules repeat the same templates. Keyed by the cached
 * parse, so an entry goes when the parse cache lets go of its template.
 */
const templateNames = new WeakMap<ParsedTemplate, ReadonlyArray<ReadonlyArray<string | number>>>();

function referencesOf(parsed: ParsedTemplate): ReadonlyArray<ReadonlyArray<string | number>> {
  let references = templateNames.get(parsed);
  if (!references) {
    references = templateReferences(parsed);
    templateNames.set(parsed, references);
  }
  return references;
}

/** Names a template may start from, and the trigger each comes with. */
const TRIGGER_ROOTS: Partial<Record<string, (ctx: CheckContext) => string | undefined>> = {
  message: (ctx) => (ctx.triggerKind === 'message' ? undefined : 'message triggers'),
  window: (ctx) => (ctx.triggerKind === 'window' ? undefined : 'window triggers'),
  item: (ctx) => (ctx.triggerKind === 'watch' ? undefined : 'watch triggers and inside forEach'),
  request: (ctx) => (ctx.triggerKind === 'watch' && ctx.watchList === 'friendRequests' ? undefined : 'watch: { list: friendRequests } triggers'),
};

function checkTemplateName(ctx: CheckContext, text: string, segments: ReadonlyArray<string | number>, path: ValuePath, scope: Scope): void {
  const root = String(segments[0]);
  const at = () => locateInTemplate(ctx, text, root === 'steps' ? `steps.${String(segments[1])}` : root, path);
  if (scope.locals.has(root)) return;
  if (root === 'steps') {
    const id = segments[1];
    if (typeof id !== 'string' || ctx.stepIds.has(id)) return;
    const hint = didYouMean(id, [...ctx.stepIds.keys()]);
    ctx.report(path, `steps.${id} refers to no action id defined before this point${hint ? ` (did you mean "${hint}"?)` : ''}`, RULE_PROBLEM_CODES.unknownStep, at());
    return;
  }
  if (!(TEMPLATE_ROOTS as readonly string[]).includes(root)) {
    const hint = ctx.variableNames.has(root) ? `vars.${root}` : didYouMean(root, [...TEMPLATE_ROOTS, ...scope.locals]);
    ctx.report(
      path,
      `unknown name "${root}" in template${hint ? ` (did you mean "${hint}"?)` : ''}: names start from ${TEMPLATE_ROOTS.join(', ')}`,
      RULE_PROBLEM_CODES.templateName,
      at(),
    );
    return;
  }
  if (root === 'target' && !scope.targets) {
    ctx.report(path, `"target" is set only inside send, groupMute, setNotice and rotateNotice, for each target in turn`, RULE_PROBLEM_CODES.templateName, at());
    return;
  }
  const unavailable = TRIGGER_ROOTS[root]?.(ctx);
  if (unavailable && ctx.triggerKind !== undefined) {
    ctx.report(path, `"${root}" is not set for a ${ctx.triggerKind} trigger: it comes with ${unavailable}`, RULE_PROBLEM_CODES.templateName, at());
  }
}

/** The file position of the first occurrence of `needle` in a template's text. */
function locateInTemplate(ctx: CheckContext, text: string, needle: string, path: ValuePath): { line: number; col: number } {
  const offset = text.indexOf(needle);
  if (offset < 0) return ctx.doc.positionOf(path);
  const before = text.slice(0, offset).split('\n');
  return ctx.positionInValue(path, before.length, (before.at(-1) as string).length + 1);
}

function collectVariableNames(rule: Record<string, unknown>): ReadonlySet<string> {
  const names = new Set<string>(isPlainObject(rule.vars) ? Object.keys(rule.vars) : []);
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (isPlainObject(value)) {
      if (isPlainObject(value.set)) for (const name of Object.keys(value.set)) names.add(name);
      Object.values(value).forEach(walk);
    }
  };
  walk(rule.actions);
  return names;
}

// === Ids ===

interface SchemaNode {
  title?: string;
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
}

const CHAT_ID_TITLE = (ChatId as SchemaNode).title;
const DIGITS = /^\d+$/;

/**
 * Turns every id the schema marks as one (ChatId) into a string, in place, and reports
 * a string id that is neither digits nor a template. Ids beyond 2^53 keep their digits:
 * they are read from the YAML source rather than from the rounded number.
 */
function normaliseIds(ctx: CheckContext, schema: SchemaNode, value: unknown, path: ValuePath): unknown {
  if (!holdsIds(schema)) return value;
  if (schema.title === CHAT_ID_TITLE && schema.anyOf) {
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) return String(value);
      const node = ctx.doc.nodeAt(path);
      return isScalar(node) && typeof node.source === 'string' && DIGITS.test(node.source) ? node.source : String(value);
    }
    if (typeof value === 'string' && !DIGITS.test(value.trim()) && !isTemplateText(value)) {
      ctx.report(path, `${describePath(path)} must be ${CHAT_ID_TITLE}, got ${describeValue(value)}`);
    }
    return typeof value === 'string' ? value.trim() : value;
  }
  if (schema.anyOf) {
    const branch = schema.anyOf.find((b) => (b.type === 'array' ? Array.isArray(value) : b.type === 'object' ? isPlainObject(value) : false));
    return branch ? normaliseIds(ctx, branch, value, path) : value;
  }
  if (schema.type === 'object' && schema.properties && isPlainObject(value)) {
    for (const [key, child] of Object.entries(schema.properties)) {
      if (value[key] !== undefined) value[key] = normaliseIds(ctx, child, value[key], [...path, key]);
    }
  } else if (schema.type === 'array' && schema.items && Array.isArray(value)) {
    value.forEach((item, index) => {
      value[index] = normaliseIds(ctx, schema.items as SchemaNode, item, [...path, index]);
    });
  }
  return value;
}

/** Whether ids can occur under a schema node, so that normaliseIds skips the parts with none. */
const schemaHoldsIds = new WeakMap<SchemaNode, boolean>();

function holdsIds(schema: SchemaNode): boolean {
  const known = schemaHoldsIds.get(schema);
  if (known !== undefined) return known;
  // Provisionally yes: a schema that refers back to itself is walked rather than skipped.
  schemaHoldsIds.set(schema, true);
  const holds =
    (schema.title === CHAT_ID_TITLE && schema.anyOf !== undefined) ||
    (schema.anyOf?.some(holdsIds) ?? false) ||
    (schema.type === 'object' && schema.properties !== undefined && Object.values(schema.properties).some(holdsIds)) ||
    (schema.type === 'array' && schema.items !== undefined && holdsIds(schema.items));
  schemaHoldsIds.set(schema, holds);
  return holds;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
