/**
 * The `watch` trigger: each watch rule polls a listing (friend requests, a group's
 * members, contacts, groups) on its interval and fires once per item that appeared
 * (and, with `removed: true`, once per item that went away).
 *
 * What a rule has seen is its seen-set in the store, one per rule and listing. The
 * first poll of a rule records a baseline and fires nothing (with `existing: true` it
 * fires for every item there). A baseline marker in the rule's state names the listing
 * it was taken of, so an empty listing at baseline is told apart from "never polled",
 * and a rule that now watches another listing (another group) takes a baseline again.
 *
 * Every item is written to the seen-set before it fires, one at a time: a restart never
 * fires an item twice, and items not yet fired when the process stops fire after the
 * restart. A poll that fails (busy, timeout, dropped connection, a page of members
 * missing) changes nothing and fires nothing; the next tick tries again, and whatever
 * appeared meanwhile fires then.
 *
 * Polls sit on anchored slots (whole multiples of the interval), one timer for every
 * watch, on the injected clock; the first poll of a rule is due as soon as it is loaded
 * and the watcher runs. The next poll is scheduled only when the previous one has
 * finished (its fires included), so polls of one rule never overlap.
 */
import type { LoadedRule } from '../rules/load';
import type { Rule, TriggerOptions } from '../rules/types';
import { compileSchedule, TimerQueue, type DueBatch, type EverySchedule } from '../schedule';
import type { Clock } from '../shared/clock';
import { parseDuration } from '../shared/duration';
import { describeError, isRulebotError } from '../shared/errors';
import type { ChatApi } from '../protocol/api';
import { toStoredError } from '../store/json';
import type { RunStore } from '../store/run-store';
import type { SeenItemRecord, StoredError } from '../store/types';
import { RUN_DROPPED } from './concurrency';
import { watchListOf, type KeyedItem, type WatchItem, type WatchList, type WatchListKind } from './watch-lists';

// === Contract ===

/** Rule-state key of a watch rule's baseline marker ({@link WatchBaseline}). */
export const WATCH_BASELINE_KEY = 'watchBaseline';

/** The baseline marker: which listing the rule's seen-set was first taken of, and when. */
export type WatchBaseline = {
  /** The listing's id (`friendRequests`, `members:389284`). */
  list: string;
  /** When the baseline was recorded (ms since the epoch). */
  at: number;
};

export type WatchChange = 'added' | 'removed';

/** The data of a watch fire, as the run's `trigger.data`. */
export interface WatchTriggerData {
  /** The item as listed (`removed`: as last seen). */
  item: WatchItem;
  list: WatchListKind;
  change: WatchChange;
}

/** What the watcher hands the runner for each fire. */
export interface WatchTrigger {
  kind: 'watch';
  data: WatchTriggerData;
}

/** What the watcher needs of a loaded rule (a LoadedRule has it). */
export type WatchedRule = Pick<LoadedRule, 'rule' | 'hash'>;

/** The lines the watcher logs (a pino logger fits). */
export interface WatchLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WatcherDeps<L extends WatchedRule = LoadedRule> {
  api: ChatApi;
  /** Seen-sets (`store.seen`) and baseline markers (`store.ruleState`). */
  store: RunStore;
  clock: Clock;
  logger: WatchLogger;
  /**
   * Runs one fire of a rule (the daemon wraps `executeRun`, through the rule's
   * concurrency gate) and should settle when the run has finished: items fire one at a
   * time, so a rule with `concurrency: skip` does not skip its own items. The item is
   * already recorded as seen, so the fire should wait for a run of the rule in progress
   * rather than skip. A rejection is logged and the poll goes on; one with code
   * `RUN_DROPPED` (dropped unrun at shutdown) takes the item's record back, so it fires
   * after the restart.
   */
  fire: (loaded: L, trigger: WatchTrigger) => Promise<unknown>;
}

/** What `load` / `replace` changed, by rule id. */
export interface WatchChanges {
  added: string[];
  /** Still watching the same listing: timer, seen-set and baseline kept. */
  changed: string[];
  /** Now watching another listing: a new baseline is taken at its first poll. */
  rebaselined: string[];
  removed: string[];
  unchanged: string[];
  /** Watch rules that cannot poll (e.g. a group that is not an id); see `status()`. */
  invalid: string[];
}

/** One watch rule's health. */
export interface WatchRuleStatus {
  ruleId: string;
  list: WatchListKind;
  /** The listing's id in the seen-set, e.g. `members:389284` (empty when the rule cannot poll). */
  listId: string;
  intervalMs: number;
  /** A poll is running now. */
  polling: boolean;
  /** When the last poll started (ms since the epoch), or null. */
  lastPollAt: number | null;
  /** When a poll last succeeded, or null. */
  lastSuccessAt: number | null;
  /** The most recent failure, kept after later successes; `ok` says whether the last poll succeeded. */
  lastError: (StoredError & { at: number }) | null;
  /** The last poll succeeded (true before the first poll, unless the rule cannot poll). */
  ok: boolean;
  /** Failed polls since the last success. */
  consecutiveFailures: number;
  /** When the next poll is due, or null (not started, polling, or cannot poll). */
  nextPollAt: number | null;
  /** When the baseline of the current listing was recorded, or null when none is yet. */
  baselineAt: number | null;
  /** Fires since the watcher was created. */
  fired: number;
}

/** What one poll did. */
export interface PollOutcome {
  ok: boolean;
  /** This poll recorded the baseline. */
  baseline: boolean;
  /** Items fired as added / removed. */
  added: number;
  removed: number;
  /** Items whose key moved (a pending friend request now handled): recorded, not fired. */
  continued: number;
  error?: StoredError;
}

// === Internals ===

interface WatchSpec {
  list: WatchList | undefined;
  kind: WatchListKind;
  intervalMs: number;
  removed: boolean;
  existing: boolean;
  /** Why the rule cannot poll. */
  invalid?: StoredError;
}

class WatchEntry<L extends WatchedRule> {
  loaded: L;
  readonly id: string;
  spec: WatchSpec;
  schedule: EverySchedule | undefined;
  /** False once replaced, removed or stopped: an in-flight poll then writes and fires nothing more. */
  active = true;
  inFlight: Promise<PollOutcome> | undefined;
  /** The poll of the entry this one replaced, which must end before this one polls. */
  after: Promise<unknown> | undefined;
  lastPollAt: number | null = null;
  lastSuccessAt: number | null = null;
  lastError: (StoredError & { at: number }) | null = null;
  consecutiveFailures = 0;
  baselineAt: number | null;
  fired = 0;

  constructor(loaded: L, spec: WatchSpec, baselineAt: number | null) {
    this.loaded = loaded;
    this.id = loaded.rule.id;
    this.spec = spec;
    this.schedule = spec.invalid ? undefined : compileSchedule({ every: spec.intervalMs });
    this.baselineAt = baselineAt;
    if (spec.invalid) this.lastError = { ...spec.invalid, at: 0 };
  }
}

function watchOptionsOf(rule: Rule): TriggerOptions<'watch'> | undefined {
  if (rule.enabled === false) return undefined;
  return 'watch' in rule.trigger ? rule.trigger.watch : undefined;
}

function specOf(options: TriggerOptions<'watch'>): WatchSpec {
  const base = { kind: options.list, removed: options.removed === true, existing: options.existing === true };
  let intervalMs = 0;
  try {
    intervalMs = Math.max(1, Math.round(parseDuration(options.every)));
    return { ...base, list: watchListOf(options), intervalMs };
  } catch (err) {
    return { ...base, list: undefined, intervalMs, invalid: toStoredError(err) };
  }
}

const noPoll: PollOutcome = { ok: true, baseline: false, added: 0, removed: 0, continued: 0 };

/**
 * Polls the listings of watch rules and fires once per new (or removed) item.
 *
 * @example
 * const watcher = new Watcher({ api, store, clock, logger: log.child({ component: 'watch' }),
 *   fire: (loaded, trigger) => gates.run(loaded, () => executeRun({ loaded, trigger, deps })) });
 * watcher.load(rules);          // every loaded rule; those without a watch trigger are ignored
 * watcher.start();
 * // on reload: watcher.replace(newRules)
 * await watcher.stop();
 */
export class Watcher<L extends WatchedRule = LoadedRule> {
  readonly #deps: WatcherDeps<L>;
  readonly #queue: TimerQueue<WatchEntry<L>>;
  readonly #entries = new Map<string, WatchEntry<L>>();
  /** Polls of entries no longer current, still finishing. */
  readonly #retiring = new Set<Promise<unknown>>();
  /**
   * Reads in flight, by listing id: rules polling the same listing at the same time share
   * one read rather than each sending its own request (thousands of rules on
   * `friendRequests` all poll at once when the watcher starts).
   */
  readonly #reads = new Map<string, Promise<KeyedItem[]>>();
  #running = false;

  constructor(deps: WatcherDeps<L>) {
    this.#deps = deps;
    this.#queue = new TimerQueue<WatchEntry<L>>({ clock: deps.clock, onDue: (batch) => this.#onDue(batch) });
    // A new queue starts armed; nothing polls before start().
    this.#queue.stop();
  }

  /** Whether the watcher is started. */
  get running(): boolean {
    return this.#running;
  }

  /** Sets the rules to watch (all loaded rules; only enabled watch rules are kept). Same as {@link replace}. */
  load(rules: readonly L[]): WatchChanges {
    return this.replace(rules);
  }

  /**
   * Swaps in a new set of rules, rule by rule. A rule still watching the same listing
   * keeps its timer, seen-set and baseline (a new interval only moves its next poll); a
   * rule now watching another listing (another group) takes a new baseline at its first
   * poll; a rule gone (or disabled) stops polling, and its seen-set stays in the store.
   */
  replace(rules: readonly L[]): WatchChanges {
    const changes: WatchChanges = { added: [], changed: [], rebaselined: [], removed: [], unchanged: [], invalid: [] };
    const seen = new Set<string>();
    for (const loaded of rules) {
      const options = watchOptionsOf(loaded.rule);
      if (!options || seen.has(loaded.rule.id)) continue;
      seen.add(loaded.rule.id);
      const spec = specOf(options);
      const current = this.#entries.get(loaded.rule.id);
      if (spec.invalid) changes.invalid.push(loaded.rule.id);

      if (current && !spec.invalid && !current.spec.invalid && current.spec.list!.id === spec.list!.id) {
        // Same listing: keep the entry, its place in the queue and its history.
        if (current.loaded.hash === loaded.hash) changes.unchanged.push(current.id);
        else changes.changed.push(current.id);
        current.loaded = loaded;
        const moved = current.spec.intervalMs !== spec.intervalMs;
        current.spec = spec;
        if (moved) {
          current.schedule = compileSchedule({ every: spec.intervalMs });
          // A first poll still waiting stays due at once; a queued slot moves to the new interval's.
          if (current.inFlight === undefined && current.lastPollAt !== null && this.#queue.has(current)) this.#queue.add(current.schedule.nextAfter(this.#deps.clock.now()), current);
        }
        continue;
      }

      const entry = new WatchEntry(loaded, spec, spec.list ? this.#storedBaseline(loaded.rule.id, spec.list.id) : null);
      if (current) {
        this.#retire(current);
        entry.after = current.inFlight;
        if (current.spec.list && spec.list) {
          changes.rebaselined.push(entry.id);
          this.#deps.logger.info(
            { rule: entry.id, from: current.spec.list.id, to: spec.list.id },
            'watched listing changed: a new baseline is taken at the next poll',
          );
        } else {
          changes.changed.push(entry.id);
        }
      } else {
        changes.added.push(entry.id);
      }
      if (spec.invalid) this.#deps.logger.error({ rule: entry.id, err: spec.invalid }, 'watch rule cannot poll');
      this.#entries.set(entry.id, entry);
      // The first poll of a new entry is due at once: a baseline taken now, not one interval later.
      if (!spec.invalid) this.#queue.add(this.#deps.clock.now(), entry);
    }
    for (const [id, entry] of this.#entries) {
      if (seen.has(id)) continue;
      this.#retire(entry);
      this.#entries.delete(id);
      changes.removed.push(id);
    }
    return changes;
  }

  /** Starts polling: each rule polls once at once, then on its slots. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    const now = this.#deps.clock.now();
    for (const entry of this.#entries.values()) {
      entry.active = true;
      if (entry.schedule && entry.inFlight === undefined) this.#queue.add(now, entry);
    }
    this.#queue.start();
  }

  /**
   * Stops polling. A poll in flight writes and fires nothing more after the fire it is
   * in (whatever it has not fired yet is not recorded as seen, so it fires after a
   * restart); the promise settles when every poll has ended.
   */
  async stop(): Promise<void> {
    this.#running = false;
    this.#queue.stop();
    for (const entry of this.#entries.values()) {
      entry.active = false;
      this.#queue.remove(entry);
    }
    await this.idle();
  }

  /** Settles when no poll is running. */
  async idle(): Promise<void> {
    for (;;) {
      const polls = [...this.#retiring, ...[...this.#entries.values()].flatMap((entry) => (entry.inFlight ? [entry.inFlight] : []))];
      if (polls.length === 0) return;
      await Promise.allSettled(polls);
    }
  }

  /**
   * Polls one rule now, outside its slots (its next slot stays). While a poll of the
   * rule is running, resolves with that poll's outcome instead of starting another.
   */
  pollNow(ruleId: string): Promise<PollOutcome> {
    const entry = this.#entries.get(ruleId);
    if (!entry) return Promise.reject(new RangeError(`no watch rule ${JSON.stringify(ruleId)} is loaded`));
    if (entry.spec.invalid) return Promise.resolve({ ...noPoll, ok: false, error: entry.spec.invalid });
    // Stopped: a read now could record nothing.
    if (!entry.active) return Promise.resolve({ ...noPoll });
    return entry.inFlight ?? this.#beginPoll(entry, false);
  }

  /** Each watch rule's polls, for the health endpoint. */
  status(): WatchRuleStatus[] {
    return [...this.#entries.values()].map((entry) => ({
      ruleId: entry.id,
      list: entry.spec.kind,
      listId: entry.spec.list?.id ?? '',
      intervalMs: entry.spec.intervalMs,
      polling: entry.inFlight !== undefined,
      lastPollAt: entry.lastPollAt,
      lastSuccessAt: entry.lastSuccessAt,
      lastError: entry.lastError,
      ok: entry.spec.invalid === undefined && entry.consecutiveFailures === 0,
      consecutiveFailures: entry.consecutiveFailures,
      nextPollAt: this.#running ? (this.#queue.dueOf(entry) ?? null) : null,
      baselineAt: entry.baselineAt,
      fired: entry.fired,
    }));
  }

  // === Polling ===

  #onDue(batch: DueBatch<WatchEntry<L>>): void {
    for (const entry of batch.entries) {
      if (entry.active && entry.inFlight === undefined) void this.#beginPoll(entry, true);
    }
  }

  #beginPoll(entry: WatchEntry<L>, scheduled: boolean): Promise<PollOutcome> {
    const poll = this.#poll(entry).finally(() => {
      entry.inFlight = undefined;
      // The next slot counts from the end of this poll: a slow poll skips slots rather than overlapping.
      if (entry.active && this.#running && entry.schedule && this.#entries.get(entry.id) === entry && (scheduled || !this.#queue.has(entry))) {
        this.#queue.add(entry.schedule.nextAfter(this.#deps.clock.now()), entry);
      }
    });
    entry.inFlight = poll;
    return poll;
  }

  async #poll(entry: WatchEntry<L>): Promise<PollOutcome> {
    if (entry.after) {
      await Promise.allSettled([entry.after]);
      entry.after = undefined;
      if (!entry.active) return { ...noPoll };
    }
    const list = entry.spec.list!;
    const { clock } = this.#deps;
    entry.lastPollAt = clock.now();
    try {
      const items = await this.#read(list);
      // Replaced, removed or stopped while reading: the read is of no use any more.
      if (!entry.active) return { ...noPoll };
      const outcome = await this.#apply(entry, list, items);
      this.#succeeded(entry);
      return outcome;
    } catch (err) {
      // A read cut short by a reload or shutdown is no failure of the listing.
      if (!entry.active) return { ...noPoll };
      return this.#failed(entry, err);
    }
  }

  /** Compares a whole listing with the rule's seen-set, records what changed and fires for it. */
  async #apply(entry: WatchEntry<L>, list: WatchList, items: readonly KeyedItem[]): Promise<PollOutcome> {
    const { store, clock, logger } = this.#deps;
    const ruleId = entry.id;
    const outcome: PollOutcome = { ok: true, baseline: false, added: 0, removed: 0, continued: 0 };

    const marker = store.ruleState.get<WatchBaseline>(ruleId, WATCH_BASELINE_KEY);
    if (!marker || marker.list !== list.id) {
      const baseline: WatchBaseline = { list: list.id, at: clock.now() };
      outcome.baseline = true;
      if (!entry.spec.existing) {
        // Everything listed now is the starting point; nothing fires.
        this.#transaction(() => {
          const current = new Set(items.map((keyed) => keyed.key));
          store.seen.add(ruleId, list.id, items);
          store.seen.markRemoved(ruleId, list.id, store.seen.listKeys(ruleId, list.id).filter((key) => !current.has(key)));
          store.ruleState.set(ruleId, WATCH_BASELINE_KEY, baseline);
        });
        entry.baselineAt = baseline.at;
        logger.info({ rule: ruleId, list: list.id, items: items.length }, 'watch baseline recorded');
        return outcome;
      }
      // existing: true: the set starts empty, so every item listed now fires below.
      this.#transaction(() => {
        store.seen.markRemoved(ruleId, list.id, store.seen.listKeys(ruleId, list.id));
        store.ruleState.set(ruleId, WATCH_BASELINE_KEY, baseline);
      });
      entry.baselineAt = baseline.at;
      logger.info({ rule: ruleId, list: list.id, items: items.length }, 'watch baseline recorded; firing for the items already there (existing: true)');
    }

    const present = new Set(store.seen.listKeys(ruleId, list.id));
    const listed = new Set(items.map((keyed) => keyed.key));
    const added = items.filter((keyed) => !present.has(keyed.key));
    const goneKeys = [...present].filter((key) => !listed.has(key));
    // Items still there keep their latest content, so a removal fires with the item as last seen.
    store.seen.add(ruleId, list.id, items.filter((keyed) => present.has(keyed.key)));

    let gone: SeenItemRecord[] = [];
    if (goneKeys.length > 0) {
      const goneSet = new Set(goneKeys);
      gone = store.seen.list(ruleId, list.id).filter((record) => goneSet.has(record.key));
    }

    // A key that moved (a pending request answered) is the same item: recorded, not fired.
    const continues = list.continues;
    let toFire = added;
    if (continues && gone.length > 0 && added.length > 0) {
      toFire = [];
      for (const keyed of added) {
        const index = gone.findIndex((record) => continues(record.item, keyed.item));
        if (index < 0) {
          toFire.push(keyed);
          continue;
        }
        const [previous] = gone.splice(index, 1);
        this.#transaction(() => {
          store.seen.add(ruleId, list.id, [keyed]);
          store.seen.markRemoved(ruleId, list.id, [previous!.key]);
        });
        outcome.continued++;
        logger.debug({ rule: ruleId, list: list.id, from: previous!.key, to: keyed.key }, 'watched item moved to a new key');
      }
    }

    for (const keyed of toFire) {
      if (!entry.active) return outcome;
      // Recorded before it fires: a restart never fires it again.
      if (store.seen.add(ruleId, list.id, [keyed]).length === 0) continue;
      outcome.added++;
      await this.#fire(entry, { item: keyed.item, list: list.kind, change: 'added' }, keyed.key, () => store.seen.markRemoved(ruleId, list.id, [keyed.key]));
    }
    for (const record of gone) {
      if (!entry.active) return outcome;
      if (store.seen.markRemoved(ruleId, list.id, [record.key]) === 0) continue;
      outcome.removed++;
      if (entry.spec.removed) {
        const item = record.item as unknown as WatchItem;
        await this.#fire(entry, { item, list: list.kind, change: 'removed' }, record.key, () => store.seen.add(ruleId, list.id, [{ key: record.key, item }]));
      }
    }

    if (outcome.added + outcome.removed + outcome.continued > 0) {
      logger.info({ rule: ruleId, list: list.id, added: outcome.added, removed: outcome.removed, continued: outcome.continued }, 'watched listing changed');
    }
    return outcome;
  }

  /** Fires one item; `unsee` takes back its record in the seen-set when the fire was dropped without running. */
  async #fire(entry: WatchEntry<L>, data: WatchTriggerData, key: string, unsee: () => unknown): Promise<void> {
    entry.fired++;
    this.#deps.logger.debug({ rule: entry.id, key, change: data.change }, 'watch fires');
    try {
      await this.#deps.fire(entry.loaded, { kind: 'watch', data });
    } catch (err) {
      if (isRulebotError(err) && err.code === RUN_DROPPED) {
        // It waited its turn and the shutdown dropped it unrun: unseen again, it fires at the first poll after the restart.
        try {
          unsee();
          this.#deps.logger.info({ rule: entry.id, key, change: data.change }, 'watch item dropped unrun at shutdown; it fires after the restart');
        } catch (again) {
          this.#deps.logger.error({ rule: entry.id, key, change: data.change, err: again }, 'watch item dropped unrun at shutdown, and could not be unrecorded');
        }
        return;
      }
      // The item stays recorded as seen: firing it again on every poll would be worse than once lost.
      this.#deps.logger.error({ rule: entry.id, key, change: data.change, err }, 'watch fire failed');
    }
  }

  #succeeded(entry: WatchEntry<L>): void {
    if (entry.consecutiveFailures > 0) {
      this.#deps.logger.info({ rule: entry.id, failures: entry.consecutiveFailures }, 'watch poll succeeded again');
    }
    entry.consecutiveFailures = 0;
    entry.lastSuccessAt = this.#deps.clock.now();
  }

  #failed(entry: WatchEntry<L>, err: unknown): PollOutcome {
    const error = toStoredError(err);
    const repeat = entry.consecutiveFailures > 0 && entry.lastError?.code === error.code;
    entry.consecutiveFailures++;
    entry.lastError = { ...error, at: this.#deps.clock.now() };
    // The first failure (and each new kind of failure) is a warning; repeats of it would only flood the log.
    const line = { rule: entry.id, list: entry.spec.list?.id, failures: entry.consecutiveFailures, err: describeError(err) };
    if (repeat) this.#deps.logger.debug(line, 'watch poll failed again; retrying at the next slot');
    else this.#deps.logger.warn(line, 'watch poll failed; nothing fired, retrying at the next slot');
    return { ...noPoll, ok: false, error };
  }

  // === Helpers ===

  #retire(entry: WatchEntry<L>): void {
    entry.active = false;
    this.#queue.remove(entry);
    if (entry.inFlight) {
      const poll = entry.inFlight;
      this.#retiring.add(poll);
      void poll.finally(() => this.#retiring.delete(poll));
    }
  }

  /** Reads a listing, or joins the read of it already in flight (its items are never changed, so they can be shared). */
  #read(list: WatchList): Promise<KeyedItem[]> {
    let read = this.#reads.get(list.id);
    if (read === undefined) {
      const started = list.read(this.#deps.api);
      read = started;
      this.#reads.set(list.id, started);
      const done = (): void => {
        if (this.#reads.get(list.id) === started) this.#reads.delete(list.id);
      };
      started.then(done, done);
    }
    return read;
  }

  #storedBaseline(ruleId: string, listId: string): number | null {
    const marker = this.#deps.store.ruleState.get<WatchBaseline>(ruleId, WATCH_BASELINE_KEY);
    return marker && marker.list === listId ? marker.at : null;
  }

  #transaction(work: () => void): void {
    this.#deps.store.database.transaction(work)();
  }
}
