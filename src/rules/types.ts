/**
 * TypeScript types of the rule language, derived from schema.ts, and the discriminated
 * helpers the engine dispatches with. A kind is the single key of its map, so narrowing
 * is `'send' in action`, or `actionKind(action)` for a switch.
 */
import type { Static } from '@sinclair/typebox';
import {
  type ActionSchema,
  type Concurrency,
  type ConditionSchema,
  type GroupTargets,
  type Misfire,
  type Resume,
  type RuleSchema,
  type Targets,
  type TriggerSchema,
  type Weekday,
  COMMON_ACTION_OPTION_NAMES,
  SHALLOW_ACTION_KIND_SCHEMAS,
  SHALLOW_CONDITION_KIND_SCHEMAS,
  TRIGGER_KIND_SCHEMAS,
} from './schema';

// === The rule ===

/**
 * A rule as the loader hands it out: validated, every id a string, and `enabled` set.
 * Other optional settings are read through the `...Of` helpers below, which apply the
 * documented defaults in one place.
 */
export type Rule = Static<typeof RuleSchema>;
export type Trigger = Static<typeof TriggerSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type Action = Static<typeof ActionSchema>;

/** `when` of a rule and `if` of an action: one condition or a list, all of which must hold. */
export type Conditions = Condition | Condition[];

export type TargetsSpec = Static<typeof Targets>;
export type GroupTargetsSpec = Static<typeof GroupTargets>;
export type WeekdayName = Static<typeof Weekday>;
export type ConcurrencySpec = Static<typeof Concurrency>;
export type MisfireSpec = Static<typeof Misfire>;
export type ResumeSpec = Static<typeof Resume>;

// === Kinds ===

export type TriggerKind = keyof typeof TRIGGER_KIND_SCHEMAS;
export type ConditionKind = keyof typeof SHALLOW_CONDITION_KIND_SCHEMAS;
export type ActionKind = keyof typeof SHALLOW_ACTION_KIND_SCHEMAS;

/** Every trigger kind, in the order the docs present them. */
export const TRIGGER_KINDS = Object.keys(TRIGGER_KIND_SCHEMAS) as readonly TriggerKind[];
/** Every condition kind. */
export const CONDITION_KINDS = Object.keys(SHALLOW_CONDITION_KIND_SCHEMAS) as readonly ConditionKind[];
/** Every action kind. */
export const ACTION_KINDS = Object.keys(SHALLOW_ACTION_KIND_SCHEMAS) as readonly ActionKind[];

/** The trigger of one kind: `TriggerOf<'cron'>` is `{ cron: ... }`. */
export type TriggerOf<K extends TriggerKind> = Extract<Trigger, Record<K, unknown>>;
export type ConditionOf<K extends ConditionKind> = Extract<Condition, Record<K, unknown>>;
export type ActionOf<K extends ActionKind> = Extract<Action, Record<K, unknown>>;

/** The options under a kind's key: `ActionOptions<'send'>` is `{ to, text?, ... }`. */
export type TriggerOptions<K extends TriggerKind> = TriggerOf<K>[K];
export type ConditionOptions<K extends ConditionKind> = ConditionOf<K>[K];
export type ActionOptions<K extends ActionKind> = ActionOf<K>[K];

/** The options any action may carry beside its kind key. */
export type CommonActionOptions = Pick<Action, (typeof COMMON_ACTION_OPTION_NAMES)[number]>;
export { COMMON_ACTION_OPTION_NAMES };

const TRIGGER_KIND_SET: ReadonlySet<string> = new Set(TRIGGER_KINDS);
const CONDITION_KIND_SET: ReadonlySet<string> = new Set(CONDITION_KINDS);
const ACTION_KIND_SET: ReadonlySet<string> = new Set(ACTION_KINDS);

export function isTriggerKind(name: string): name is TriggerKind {
  return TRIGGER_KIND_SET.has(name);
}
export function isConditionKind(name: string): name is ConditionKind {
  return CONDITION_KIND_SET.has(name);
}
export function isActionKind(name: string): name is ActionKind {
  return ACTION_KIND_SET.has(name);
}

/** The kind of a validated trigger. */
export function triggerKind(trigger: Trigger): TriggerKind {
  return kindOf(trigger, TRIGGER_KIND_SET) as TriggerKind;
}

/** The kind of a validated condition. */
export function conditionKind(condition: Condition): ConditionKind {
  return kindOf(condition, CONDITION_KIND_SET) as ConditionKind;
}

/** The kind of a validated action (its one key that is not a common option). */
export function actionKind(action: Action): ActionKind {
  return kindOf(action, ACTION_KIND_SET) as ActionKind;
}

function kindOf(node: object, kinds: ReadonlySet<string>): string {
  for (const key of Object.keys(node)) if (kinds.has(key)) return key;
  // Only reachable with a value that bypassed validation.
  throw new TypeError(`no kind key among: ${Object.keys(node).join(', ')}`);
}

/** The options of an action of a known kind, typed. */
export function actionOptions<K extends ActionKind>(action: ActionOf<K>, kind: K): ActionOptions<K> {
  return action[kind];
}

/**
 * Kinds that change the world through the bridge. Their frames are never resent blindly
 * (PROTOCOL.md, gap 6), so `retry` on them needs `unsafe: true`; `request` changes the
 * world when its ApiName does (API_TABLE's `writes`, and any name not in the table).
 */
export const WORLD_CHANGING_ACTION_KINDS: ReadonlySet<ActionKind> = new Set<ActionKind>([
  'send',
  'groupMute',
  'muteMember',
  'setNotice',
  'rotateNotice',
  'audit',
  'answerFriendRequest',
  'restart',
]);

/** Kinds that talk to the bridge (the only ones `retry` means anything for). */
export const BRIDGE_ACTION_KINDS: ReadonlySet<ActionKind> = new Set<ActionKind>([...WORLD_CHANGING_ACTION_KINDS, 'request', 'read']);

/** Kinds that hold nested actions, and where. */
export function nestedActionLists(action: Action): Array<{ key: string; actions: Action[] }> {
  if ('choose' in action) {
    const lists = [{ key: 'then', actions: action.choose.then }];
    if (action.choose.else) lists.push({ key: 'else', actions: action.choose.else });
    return lists;
  }
  if ('forEach' in action) return [{ key: 'do', actions: action.forEach.do }];
  return [];
}

// === Settings with their defaults ===

/** Defaults of optional rule settings, in one place (docs/rules.md lists the same). */
export const RULE_DEFAULTS = {
  enabled: true,
  concurrency: { mode: 'skip', max: 1 },
  /** `max` when the mode is queue or parallel and none is given. */
  concurrencyMax: 10,
  misfire: { policy: 'skip', grace: '1h', cap: 10, spacing: '30s' },
  resume: { auto: true, within: '1h' },
  onError: 'stop',
  forEachAs: 'item',
} as const;

export interface ConcurrencyPolicy {
  mode: 'skip' | 'queue' | 'parallel';
  /** Runs of the rule at once (parallel) or waiting (queue). */
  max: number;
}

/** The concurrency policy of a rule, defaults applied. */
export function concurrencyOf(rule: Pick<Rule, 'concurrency'>): ConcurrencyPolicy {
  const spec = rule.concurrency ?? RULE_DEFAULTS.concurrency.mode;
  const mode = typeof spec === 'string' ? spec : spec.mode;
  const given = typeof spec === 'string' ? undefined : spec.max;
  return { mode, max: mode === 'skip' ? 1 : (given ?? RULE_DEFAULTS.concurrencyMax) };
}

/** The misfire policy of a rule, defaults applied. */
export function misfireOf(rule: Pick<Rule, 'misfire'>): Required<MisfireSpec> {
  return { ...RULE_DEFAULTS.misfire, ...stripUndefined(rule.misfire ?? {}) } as Required<MisfireSpec>;
}

/** The resume settings of a rule, defaults applied. */
export function resumeOf(rule: Pick<Rule, 'resume'>): Required<ResumeSpec> {
  return { ...RULE_DEFAULTS.resume, ...stripUndefined(rule.resume ?? {}) } as Required<ResumeSpec>;
}

/** `when` / `if` as a list: no conditions is an empty list (always true). */
export function conditionList(conditions: Conditions | undefined): Condition[] {
  if (conditions === undefined) return [];
  return Array.isArray(conditions) ? conditions : [conditions];
}

/** A cron trigger's expression and its own time zone, if any. */
export function cronSpecOf(options: TriggerOptions<'cron'>): { expr: string; timezone?: string } {
  return typeof options === 'string' ? { expr: options } : options;
}

/** An every trigger's interval and offset (from the start of the day in the rule's time zone). */
export function everySpecOf(options: TriggerOptions<'every'>): { interval: string | number; offset?: string | number } {
  return typeof options === 'object' ? options : { interval: options };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
