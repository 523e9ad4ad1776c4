/**
 * Event triggers: an incoming message fires every enabled `message` rule whose filter
 * matches, another push fires the `push` rules of its event, `startup` rules fire once
 * when the daemon starts, and any rule fires by hand (`rulebot run` through the daemon).
 * Every fire goes through the rule's concurrency gate, shared with the scheduler.
 *
 * The bot's own messages (`isSelf`) are dropped before any rule sees them.
 */
import type { PushEvent } from '../protocol/events';
import type { LoadedRule } from '../rules/load';
import { triggerKind, type TriggerOptions } from '../rules/types';
import { systemClock, type Clock } from '../shared/clock';
import { RulebotError } from '../shared/errors';
import type { RunStore } from '../store/run-store';
import type { FinishedRunInput } from '../store/types';
import { concurrencyLimitsOf, newestRunningRun, RuleGates, skipReason, type AdmittedFire, type ConcurrencyLimits } from './concurrency';
import { withoutRaw } from './context';
import { compileMessageFilter, matchesMessage, type MatchableMessage, type MessageFilter } from './message-match';
import type { EngineLogger } from './scheduler';

// === Contract ===

/** The trigger kinds the dispatcher fires. */
export type EventTriggerKind = 'message' | 'push' | 'startup' | 'manual';

/** What the dispatcher hands the runner for each fire. */
export interface EventTrigger {
  kind: EventTriggerKind;
  /**
   * `message`: the message's fields (templates read them as `message.*`); `push`:
   * `{ event, ...the push's fields }`; `startup`: `{ startedAt }`; `manual`: as given.
   */
  data?: unknown;
}

/** Runs one fire of a rule and settles when it has finished (the daemon wraps `executeRun`). */
export type RunEventRule = (loaded: LoadedRule, trigger: EventTrigger) => Promise<unknown>;

/** Where pushes come from: the bridge client, or any emitter of `push` events. */
export interface PushSource {
  on(event: 'push', listener: (push: PushEvent) => void): unknown;
  off(event: 'push', listener: (push: PushEvent) => void): unknown;
}

/** A push event name as rules write it (`push: { event }`). */
export type PushEventName = TriggerOptions<'push'>['event'];

export interface DispatcherDeps {
  /** The execution log, for skipped rows. */
  store: RunStore;
  runRule: RunEventRule;
  logger: EngineLogger;
  /**
   * The concurrency gates, shared with the scheduler.
   * @default a new RuleGates of its own
   */
  gates?: RuleGates;
  /**
   * Stamps startup fires.
   * @default systemClock
   */
  clock?: Clock;
}

/** How one fire went. */
export type FireOutcome =
  | {
      outcome: 'started' | 'queued';
      /** Settles as the run does (with what the runner returned). */
      done: Promise<unknown>;
    }
  | { outcome: 'skipped'; reason: string };

/** Code of the error `fire` throws for an id that names no loaded rule. */
export const RULE_NOT_LOADED = 'RULE_NOT_LOADED';

/** `fire` was asked for a rule that is not loaded. */
export class RuleNotLoadedError extends RulebotError {
  constructor(ruleId: string) {
    super(RULE_NOT_LOADED, `no loaded rule has id "${ruleId}"`, { ruleId });
  }
}

// === Pushes other than messages ===

/** One push as `push` rules see it: its event name, the groups it concerns, and its data. */
export interface PushOccurrence {
  event: Exclude<PushEventName, 'any'>;
  /** Groups the push is about; empty when it is about none (a friend chat, a recall of unknown chats). */
  groups: string[];
  /** The push's fields, without the raw frame. */
  data: object;
}

/**
 * The occurrences of a push for `push` rules: one per delivery of a delivery report, one
 * for other known pushes, none for messages (message rules take those) or pushes rulebot
 * could not read.
 */
export function pushOccurrences(push: PushEvent): PushOccurrence[] {
  switch (push.kind) {
    case 'groupUpdate':
      return [{ event: 'groupUpdate', groups: [push.groupId], data: withoutRaw(push) }];
    case 'groupNotification':
      return [{ event: 'groupNotification', groups: [push.groupId], data: withoutRaw(push) }];
    case 'deliveryReport':
      return push.deliveries.map((delivery) => ({
        event: 'delivery',
        groups: delivery.chat === 'group' ? [delivery.targetId] : [],
        data: withoutRaw(delivery),
      }));
    case 'recall':
      // A recall names the chats only by id, group or friend alike.
      return [{ event: 'recall', groups: push.messages.map((message) => message.targetId), data: withoutRaw(push) }];
    case 'message':
    case 'unknownPush':
      return [];
  }
}

/** Whether a `push` trigger's options match an occurrence. */
export function matchesPush(options: TriggerOptions<'push'>, occurrence: PushOccurrence): boolean {
  if (options.event !== 'any' && options.event !== occurrence.event) return false;
  if (options.groups === undefined) return true;
  const wanted = options.groups.map(String);
  return occurrence.groups.some((group) => wanted.includes(group));
}

// === The dispatcher ===

/** A loaded rule with what dispatch compiled from it. */
interface DispatchRule {
  loaded: LoadedRule;
  kind: ReturnType<typeof triggerKind>;
  limits: ConcurrencyLimits;
  /** Compiled once, for message rules. */
  filter: MessageFilter | null;
}

/** What `load` / `replace` changed, by rule id. */
export interface DispatchChanges {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
  /** Rules left out because their message filter does not compile (the loader should have refused them). */
  invalid: string[];
}

/**
 * Fires event-triggered rules. `load` the rules, `start(source)` to listen to pushes,
 * `fireStartup()` once, `fire(id)` for manual runs, `replace` on reload, `stop()` at
 * shutdown (runs already going finish: await the gates' `whenIdle()`).
 *
 * @example
 * const dispatcher = new TriggerDispatcher({ store, logger, gates, runRule });
 * dispatcher.load(rules);
 * dispatcher.start(bridgeClient);
 * dispatcher.fireStartup();
 */
export class TriggerDispatcher {
  readonly #store: RunStore;
  readonly #runRule: RunEventRule;
  readonly #log: EngineLogger;
  readonly #gates: RuleGates;
  readonly #clock: Clock;
  readonly #rules = new Map<string, DispatchRule>();
  /** Enabled message and push rules, in load order. */
  #messageRules: DispatchRule[] = [];
  #pushRules: DispatchRule[] = [];
  #source: PushSource | null = null;
  #startupFired = false;
  #stopped = false;
  readonly #onPush = (push: PushEvent): void => {
    try {
      this.handlePush(push);
    } catch (err) {
      this.#log.error({ err }, 'could not dispatch a push');
    }
  };

  constructor(deps: DispatcherDeps) {
    this.#store = deps.store;
    this.#runRule = deps.runRule;
    this.#log = deps.logger;
    this.#gates = deps.gates ?? new RuleGates({ onError: (ruleId, err) => this.#log.error({ rule: ruleId, err }, 'run failed to finish') });
    this.#clock = deps.clock ?? systemClock;
  }

  /** The gates this dispatcher admits fires through. */
  get gates(): RuleGates {
    return this.#gates;
  }

  /** Takes every loaded rule (any rule can be fired by hand); the same as {@link replace}. */
  load(rules: readonly LoadedRule[]): DispatchChanges {
    return this.replace(rules);
  }

  /**
   * Swaps in a new set of rules, rule by rule: an unchanged rule (same id and hash)
   * keeps its compiled filter; runs already going are left alone.
   */
  replace(rules: readonly LoadedRule[]): DispatchChanges {
    const changes: DispatchChanges = { added: [], changed: [], removed: [], unchanged: [], invalid: [] };
    const next = new Map<string, DispatchRule>();
    for (const loaded of rules) {
      const id = loaded.rule.id;
      const existing = this.#rules.get(id);
      if (existing && existing.loaded.hash === loaded.hash) {
        existing.loaded = loaded;
        next.set(id, existing);
        changes.unchanged.push(id);
        continue;
      }
      try {
        next.set(id, compileDispatchRule(loaded));
        (existing ? changes.changed : changes.added).push(id);
      } catch (err) {
        changes.invalid.push(id);
        this.#log.error({ rule: id, err }, 'rule left out: its message filter does not compile');
        if (existing) next.set(id, existing);
      }
    }
    for (const id of this.#rules.keys()) {
      if (next.has(id)) continue;
      changes.removed.push(id);
      this.#gates.retire(id);
    }
    this.#rules.clear();
    for (const [id, rule] of next) this.#rules.set(id, rule);
    const enabled = [...next.values()].filter((rule) => rule.loaded.rule.enabled !== false);
    this.#messageRules = enabled.filter((rule) => rule.kind === 'message');
    this.#pushRules = enabled.filter((rule) => rule.kind === 'push');
    return changes;
  }

  /** Listens to `source`'s pushes until {@link stop}. */
  start(source: PushSource): void {
    if (this.#stopped) throw new Error('a stopped dispatcher cannot start again: create a new one');
    if (this.#source === source) return;
    this.#source?.off('push', this.#onPush);
    this.#source = source;
    source.on('push', this.#onPush);
  }

  /** Stops listening and firing; runs already going continue. */
  stop(): void {
    this.#source?.off('push', this.#onPush);
    this.#source = null;
    this.#stopped = true;
  }

  /** Dispatches one push (what the listener does; tests call it directly). Returns the fires it made. */
  handlePush(push: PushEvent): FireOutcome[] {
    if (this.#stopped) return [];
    if (push.kind === 'message') return this.handleMessage(push);
    const fires: Array<{ rule: DispatchRule; trigger: EventTrigger }> = [];
    for (const occurrence of pushOccurrences(push)) {
      for (const rule of this.#pushRules) {
        const options = 'push' in rule.loaded.rule.trigger ? rule.loaded.rule.trigger.push : undefined;
        if (options && matchesPush(options, occurrence)) fires.push({ rule, trigger: { kind: 'push', data: { event: occurrence.event, ...occurrence.data } } });
      }
    }
    return this.#fireAll(fires);
  }

  /** Fires the message rules `message` matches; none for the bot's own messages. */
  handleMessage(message: MatchableMessage): FireOutcome[] {
    if (this.#stopped || message.isSelf) return [];
    const fires: Array<{ rule: DispatchRule; trigger: EventTrigger }> = [];
    let data: unknown;
    for (const rule of this.#messageRules) {
      if (rule.filter === null || !matchesMessage(rule.filter, message)) continue;
      data ??= withoutRaw(message);
      fires.push({ rule, trigger: { kind: 'message', data } });
    }
    return this.#fireAll(fires);
  }

  /** Fires every enabled `startup` rule, once per dispatcher; later calls fire nothing. */
  fireStartup(startedAt: number = this.#clock.now()): FireOutcome[] {
    if (this.#stopped || this.#startupFired) return [];
    this.#startupFired = true;
    const fires = [...this.#rules.values()]
      .filter((rule) => rule.kind === 'startup' && rule.loaded.rule.enabled !== false)
      .map((rule) => ({ rule, trigger: { kind: 'startup' as const, data: { startedAt: new Date(startedAt).toISOString() } } }));
    return this.#fireAll(fires);
  }

  /**
   * Fires one rule by hand, whatever its trigger and even when disabled, through its
   * concurrency gate. Throws {@link RuleNotLoadedError} for an unknown id.
   */
  fire(ruleId: string, data?: unknown): FireOutcome {
    const rule = this.#rules.get(ruleId);
    if (!rule) throw new RuleNotLoadedError(ruleId);
    return this.#fireAll([{ rule, trigger: { kind: 'manual', ...(data !== undefined && { data }) } }])[0]!;
  }

  /** Admits each fire, records the skips of this event in one write, then starts the runs. */
  #fireAll(fires: ReadonlyArray<{ rule: DispatchRule; trigger: EventTrigger }>): FireOutcome[] {
    if (fires.length === 0) return [];
    const outcomes: FireOutcome[] = [];
    const skipped: FinishedRunInput[] = [];
    const starts: Array<{ index: number; rule: DispatchRule; trigger: EventTrigger; ticket: AdmittedFire }> = [];
    for (const { rule, trigger } of fires) {
      const id = rule.loaded.rule.id;
      const admission = this.#gates.gateFor(id, rule.limits).admit();
      if (admission.admitted) {
        starts.push({ index: outcomes.length, rule, trigger, ticket: admission });
        outcomes.push({ outcome: admission.queued ? 'queued' : 'started', done: Promise.resolve() });
        this.#log.info({ rule: id, kind: trigger.kind, ...(admission.queued && { queued: true }) }, 'rule fired');
        continue;
      }
      const reason = skipReason(admission, admission.record ? newestRunningRun(this.#store, id) : undefined);
      outcomes.push({ outcome: 'skipped', reason });
      if (!admission.record) {
        this.#log.debug({ rule: id, kind: trigger.kind, reason }, 'fire skipped again (recorded once)');
        continue;
      }
      skipped.push({ ruleId: id, ruleHash: rule.loaded.hash, triggerKind: trigger.kind, triggerData: trigger.data, status: 'skipped', reason });
      this.#log.info({ rule: id, kind: trigger.kind, reason }, 'fire skipped');
    }
    if (skipped.length > 0) {
      try {
        this.#store.recordRuns(skipped);
      } catch (err) {
        this.#log.error({ err, rows: skipped.length }, 'could not record skipped fires');
      }
    }
    for (const { index, rule, trigger, ticket } of starts) {
      const loaded = rule.loaded;
      const done = ticket.start(() => this.#runRule(loaded, trigger));
      // The gate has logged a failure already; callers that want the result await `done`.
      done.catch(() => undefined);
      outcomes[index] = { outcome: ticket.queued ? 'queued' : 'started', done };
    }
    return outcomes;
  }
}

function compileDispatchRule(loaded: LoadedRule): DispatchRule {
  const trigger = loaded.rule.trigger;
  return {
    loaded,
    kind: triggerKind(trigger),
    limits: concurrencyLimitsOf(loaded.rule),
    filter: 'message' in trigger ? compileMessageFilter(trigger.message) : null,
  };
}
