/**
 * What a run's templates and conditions see. The scope is built once when a run starts
 * (trigger data sorted into `message`, `item`, `request`, `window`) and grows as actions
 * run (`vars` by `set`, `steps.<id>` by actions with ids); `target` and forEach's item
 * are layered on for the actions that set them.
 */
import type { TemplateContext } from '../rules/templates';
import { triggerKind, type Rule } from '../rules/types';
import type { TriggerKind as RunTriggerKind } from '../store/types';

/** What started a run, as the executor is given it. */
export interface TriggerInput {
  /** How the run was started: the rule's own trigger kind, `manual` for `rulebot run`, `resume`. */
  kind: RunTriggerKind;
  /** The trigger's data: the message, the watched item, the window state, or `--event`. */
  data?: unknown;
  /** The scheduled instant (epoch ms) this run serves, for timed triggers. */
  slot?: number | null;
}

/** The mutable state of one run that templates read. */
export interface RunScope {
  /** `kind`, `data`, `slot`; and `change` for watch fires, `event` for push fires. */
  trigger: { kind: RunTriggerKind; data: unknown; slot: string | null; change?: unknown; event?: unknown };
  message?: unknown;
  item?: unknown;
  request?: unknown;
  window?: unknown;
  vars: Record<string, unknown>;
  steps: Record<string, unknown>;
  rule: { id: string; description: string };
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Sorts the trigger's data into the names templates use, by the kind of the rule's own
 * trigger, so a manual run with `--event` sees a sample message exactly where a message
 * trigger would put a real one.
 */
export function createScope(rule: Rule, trigger: TriggerInput): RunScope {
  const data = trigger.data ?? null;
  const scope: RunScope = {
    trigger: { kind: trigger.kind, data, slot: trigger.slot != null ? new Date(trigger.slot).toISOString() : null },
    vars: {},
    steps: {},
    rule: { id: rule.id, description: rule.description ?? '' },
  };
  switch (triggerKind(rule.trigger)) {
    case 'message':
      if (isObject(data)) scope.message = withoutRaw(data);
      break;
    case 'watch': {
      const item = isObject(data) && 'item' in data ? data.item : data;
      if (isObject(data) && data.change !== undefined) scope.trigger.change = data.change;
      if (item !== null) scope.item = item;
      // A friend request reads better as `request.msg` than as `item.msg`.
      if ('watch' in rule.trigger && rule.trigger.watch.list === 'friendRequests' && item !== null) scope.request = item;
      break;
    }
    case 'window':
      if (isObject(data)) scope.window = data;
      break;
    case 'push':
      if (isObject(data) && data.event !== undefined) scope.trigger.event = data.event;
      break;
    default:
      break;
  }
  return scope;
}

/** Layers of names set for a part of a run: `target` inside a send, forEach's item. */
export type ScopeLayer = Record<string, unknown>;

/** The template context at one moment of a run. `now` is a Date: the `date` filter formats it in the rule's zone. */
export function templateContextOf(scope: RunScope, nowMs: number, layers: readonly ScopeLayer[] = []): TemplateContext {
  const context: TemplateContext = {
    trigger: scope.trigger,
    vars: scope.vars,
    steps: scope.steps,
    rule: scope.rule,
    now: new Date(nowMs),
  };
  if (scope.message !== undefined) context.message = scope.message;
  if (scope.item !== undefined) context.item = scope.item;
  if (scope.request !== undefined) context.request = scope.request;
  if (scope.window !== undefined) context.window = scope.window;
  for (const layer of layers) Object.assign(context, layer);
  return context;
}

/** Pushes and API results keep the bridge's raw frame beside their fields; templates and traces need only the fields. */
export function withoutRaw<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutRaw) as T;
  if (isObject(value) && 'raw' in value) {
    const { raw: _raw, ...rest } = value;
    return rest as T;
  }
  return value;
}
