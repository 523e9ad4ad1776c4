/**
 * Per-rule concurrency: what happens when a rule fires while an earlier run of it is
 * still going. One {@link RuleGate} per rule id, shared by the scheduler and the event
 * dispatch, so a cron rule run by hand and by its schedule at once obeys one policy.
 *
 * - `skip` (default): one run at a time; a fire while it runs is skipped.
 * - `queue`: one run at a time; fires wait their turn, at most `max` waiting.
 * - `parallel`: up to `max` runs at once.
 *
 * Watch items are the exception ({@link RuleGate.admitInTurn}): each waits its turn
 * whatever the mode, because the item is already recorded as seen and a skip would lose it.
 *
 * A skipped fire is recorded as a `skipped` run, but only the first one of a stretch:
 * while the rule stays full, further fires (an every-second rule stuck behind a long
 * run) are counted, not written, so the log shows one row per stretch, not one per tick.
 * The stretch ends when a run of the rule finishes.
 *
 * Admission is two-phase: `admit()` decides and reserves capacity synchronously, and
 * the caller starts the run with the ticket once its own writes (the slot it takes, the
 * skipped rows of the tick) are committed.
 */
import type { Rule } from '../rules/types';
import { RulebotError } from '../shared/errors';
import type { RunStore } from '../store/run-store';

/** The concurrency modes of a rule. */
export type ConcurrencyMode = 'skip' | 'queue' | 'parallel';

/** A rule's concurrency with its defaults applied. */
export interface ConcurrencyLimits {
  mode: ConcurrencyMode;
  /** `skip`: always 1. `queue`: fires that may wait. `parallel`: runs at once. */
  max: number;
}

/** Fires that may wait behind a running `queue` rule when the rule gives no `max`. */
export const DEFAULT_QUEUE_MAX = 10;
/** Runs of a `parallel` rule at once when the rule gives no `max`. */
export const DEFAULT_PARALLEL_MAX = 5;

/** The concurrency of a rule, defaults applied: `skip`; queue max 10; parallel max 5. */
export function concurrencyLimitsOf(rule: Pick<Rule, 'concurrency'>): ConcurrencyLimits {
  const spec = rule.concurrency ?? 'skip';
  const mode: ConcurrencyMode = typeof spec === 'string' ? spec : spec.mode;
  const given = typeof spec === 'string' ? undefined : spec.max;
  if (mode === 'skip') return { mode, max: 1 };
  return { mode, max: given ?? (mode === 'queue' ? DEFAULT_QUEUE_MAX : DEFAULT_PARALLEL_MAX) };
}

/** Why a fire was turned away. */
export type SkipCause = 'running' | 'queue-full' | 'parallel-full';

/** A fire let in: start it with {@link AdmittedFire.start} once its records are written. */
export interface AdmittedFire {
  readonly admitted: true;
  /** True when it waits behind a running run (`queue` mode) rather than starting at once. */
  readonly queued: boolean;
  /**
   * Starts the run now (or when its turn comes, if queued). The promise settles as the
   * task does, or rejects with a {@link RunDroppedError} when a waiting fire is dropped at
   * shutdown. The gate has already reported a task's error to its `onError`, so a caller
   * that does not need the result attaches a no-op `catch`. Calling `start` twice is an error.
   */
  start<T>(task: () => Promise<T>): Promise<T>;
  /** Gives the reserved place back without running (the caller could not write its records). */
  cancel(): void;
}

/** A fire turned away by the rule's concurrency. */
export interface SkippedFire {
  readonly admitted: false;
  readonly cause: SkipCause;
  /** `concurrency: ...`, without the run number (see {@link skipReason}). */
  readonly reason: string;
  /**
   * True for the first skip of a stretch: record it as a `skipped` run. False for the
   * skips after it while the rule is still full, which are only counted.
   */
  readonly record: boolean;
}

export type Admission = AdmittedFire | SkippedFire;

/** What a gate holds at a moment. */
export interface GateLoad {
  running: number;
  waiting: number;
  /** Fires skipped in the current stretch (0 when the rule is not full). */
  skippedInStretch: number;
}

/** Called with whatever a run's task threw; the gate itself goes on. */
export type GateErrorHandler = (ruleId: string, err: unknown) => void;

interface Waiter {
  run: () => void;
  drop: (err: Error) => void;
}

/** Code of {@link RunDroppedError}. */
export const RUN_DROPPED = 'RUN_DROPPED';

/** A fire that waited its turn (queue mode) and was dropped at shutdown before it ran. */
export class RunDroppedError extends RulebotError {
  constructor(ruleId: string) {
    super(RUN_DROPPED, `a queued fire of rule ${ruleId} was dropped at shutdown before it ran`, { ruleId });
  }
}

/** The concurrency gate of one rule. Obtain gates from {@link RuleGates}. */
export class RuleGate {
  readonly ruleId: string;
  #limits: ConcurrencyLimits;
  readonly #onError: GateErrorHandler;
  readonly #onIdle: () => void;
  #running = 0;
  /** Run places reserved by admitted fires that have not started yet. */
  #reservedRuns = 0;
  /** Waiting places reserved by queued fires that have not been handed their task yet. */
  #reservedWaits = 0;
  readonly #waiting: Waiter[] = [];
  #skippedInStretch = 0;

  constructor(ruleId: string, limits: ConcurrencyLimits, onError: GateErrorHandler, onIdle: () => void) {
    this.ruleId = ruleId;
    this.#limits = limits;
    this.#onError = onError;
    this.#onIdle = onIdle;
  }

  get limits(): ConcurrencyLimits {
    return this.#limits;
  }

  /** Takes a changed rule's limits; runs already going are left alone. */
  setLimits(limits: ConcurrencyLimits): void {
    this.#limits = limits;
    this.#pump();
  }

  get load(): GateLoad {
    return { running: this.#running, waiting: this.#waitingCount(), skippedInStretch: this.#skippedInStretch };
  }

  /** Nothing running, waiting or reserved. */
  get idle(): boolean {
    return this.#running === 0 && this.#reservedRuns === 0 && this.#waitingCount() === 0;
  }

  /** Decides a fire now, reserving its place when it is let in. */
  admit(): Admission {
    const { mode, max } = this.#limits;
    const runLimit = mode === 'parallel' ? max : 1;
    if (this.#running + this.#reservedRuns < runLimit && this.#waitingCount() === 0) {
      this.#reservedRuns++;
      return this.#ticket(false);
    }
    if (mode === 'queue' && this.#waitingCount() < max) {
      this.#reservedWaits++;
      return this.#ticket(true);
    }
    const cause: SkipCause = mode === 'queue' ? 'queue-full' : mode === 'parallel' ? 'parallel-full' : 'running';
    const record = this.#skippedInStretch === 0;
    this.#skippedInStretch++;
    return { admitted: false, cause, reason: describeSkip(cause, this.#limits), record };
  }

  /**
   * Lets a fire in whatever the rule's mode: at once when there is room, else to wait
   * its turn behind the runs going on and the fires already waiting. For fires that must
   * not be lost to a skip — a watch item is recorded as seen before it fires. The caller
   * bounds how many it sends: the watcher fires one item of a rule at a time.
   */
  admitInTurn(): AdmittedFire {
    const runLimit = this.#limits.mode === 'parallel' ? this.#limits.max : 1;
    if (this.#running + this.#reservedRuns < runLimit && this.#waitingCount() === 0) {
      this.#reservedRuns++;
      return this.#ticket(false);
    }
    this.#reservedWaits++;
    return this.#ticket(true);
  }

  /** Drops the fires waiting their turn (at shutdown); returns how many were dropped. */
  dropWaiting(): number {
    const dropped = this.#waiting.splice(0);
    for (const waiter of dropped) waiter.drop(new RunDroppedError(this.ruleId));
    if (dropped.length > 0 && this.idle) this.#onIdle();
    return dropped.length;
  }

  #waitingCount(): number {
    return this.#waiting.length + this.#reservedWaits;
  }

  #ticket(queued: boolean): AdmittedFire {
    let used = false;
    const take = (): void => {
      if (used) throw new Error(`a fire of rule ${this.ruleId} was started or cancelled twice`);
      used = true;
      if (queued) this.#reservedWaits--;
      else this.#reservedRuns--;
    };
    return {
      admitted: true,
      queued,
      start: <T>(task: () => Promise<T>): Promise<T> => {
        take();
        if (!queued) return this.#run(task);
        return new Promise<T>((resolve, reject) => {
          this.#waiting.push({ run: () => this.#run(task).then(resolve, reject), drop: reject });
          this.#pump();
        });
      },
      cancel: () => {
        take();
        if (this.idle) this.#onIdle();
      },
    };
  }

  #run<T>(task: () => Promise<T>): Promise<T> {
    this.#running++;
    let promise: Promise<T>;
    try {
      promise = task();
    } catch (err) {
      promise = Promise.reject(err);
    }
    const settle = (): void => {
      this.#running--;
      // A finished run ends the stretch of skips: the next skip is recorded again.
      this.#skippedInStretch = 0;
      this.#pump();
      if (this.idle) this.#onIdle();
    };
    promise.then(settle, (err: unknown) => {
      this.#onError(this.ruleId, err);
      settle();
    });
    return promise;
  }

  /** Starts waiting fires while there is room (queue mode runs one at a time). */
  #pump(): void {
    const runLimit = this.#limits.mode === 'parallel' ? this.#limits.max : 1;
    while (this.#running + this.#reservedRuns < runLimit) {
      const waiter = this.#waiting.shift();
      if (waiter === undefined) return;
      waiter.run();
    }
  }
}

/** The rule's newest `running` run in the log, which a skip reason names; undefined when there is none. */
export function newestRunningRun(store: Pick<RunStore, 'listRuns'>, ruleId: string): number | undefined {
  return store.listRuns({ ruleId, status: 'running', limit: 1 })[0]?.id;
}

/** The skip reason as the log records it, e.g. `concurrency: already running (run 12)`. */
export function skipReason(skip: Pick<SkippedFire, 'reason'>, runningRunId?: number): string {
  return runningRunId === undefined ? skip.reason : `${skip.reason} (run ${runningRunId})`;
}

function describeSkip(cause: SkipCause, limits: ConcurrencyLimits): string {
  switch (cause) {
    case 'running':
      return 'concurrency: already running';
    case 'queue-full':
      return `concurrency: queue full (${limits.max} waiting)`;
    case 'parallel-full':
      return `concurrency: ${limits.max} runs already running (parallel max ${limits.max})`;
  }
}

/**
 * The gates of every rule, by rule id. The scheduler and the dispatcher share one, so
 * each rule has one gate whichever way it fires; a rule that changes keeps its gate (the
 * runs of its previous version still count), and a removed rule's gate goes once idle.
 */
export class RuleGates {
  readonly #gates = new Map<string, RuleGate>();
  readonly #onError: GateErrorHandler;
  readonly #idleWaiters: Array<() => void> = [];
  /** Rule ids whose gate may go once idle (their rule was removed). */
  readonly #retired = new Set<string>();

  /** `onError` receives what a run's task threw (the runner should not throw: it records failures itself). */
  constructor(options: { onError?: GateErrorHandler } = {}) {
    this.#onError = options.onError ?? (() => undefined);
  }

  /** The gate of `ruleId`, created with `limits` or updated to them. */
  gateFor(ruleId: string, limits: ConcurrencyLimits): RuleGate {
    this.#retired.delete(ruleId);
    const existing = this.#gates.get(ruleId);
    if (existing) {
      if (!sameLimits(existing.limits, limits)) existing.setLimits(limits);
      return existing;
    }
    const gate = new RuleGate(ruleId, limits, this.#onError, () => this.#gateIdle(ruleId));
    this.#gates.set(ruleId, gate);
    return gate;
  }

  /** The gate of `ruleId` if it has one. */
  get(ruleId: string): RuleGate | undefined {
    return this.#gates.get(ruleId);
  }

  /** Forgets the gate of a removed rule, at once if idle, else when its last run ends. */
  retire(ruleId: string): void {
    const gate = this.#gates.get(ruleId);
    if (!gate) return;
    if (gate.idle) this.#gates.delete(ruleId);
    else this.#retired.add(ruleId);
  }

  /** Runs going on now, over all rules. */
  get running(): number {
    let count = 0;
    for (const gate of this.#gates.values()) count += gate.load.running;
    return count;
  }

  /** Drops every fire waiting its turn (at shutdown); returns how many. */
  dropWaiting(): number {
    let dropped = 0;
    for (const gate of this.#gates.values()) dropped += gate.dropWaiting();
    return dropped;
  }

  /** Resolves when no rule has a run going or waiting; the daemon awaits it (with its own deadline) at shutdown. */
  whenIdle(): Promise<void> {
    if (this.#allIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #allIdle(): boolean {
    for (const gate of this.#gates.values()) if (!gate.idle) return false;
    return true;
  }

  #gateIdle(ruleId: string): void {
    if (this.#retired.delete(ruleId)) this.#gates.delete(ruleId);
    if (this.#idleWaiters.length === 0 || !this.#allIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}

function sameLimits(a: ConcurrencyLimits, b: ConcurrencyLimits): boolean {
  return a.mode === b.mode && a.max === b.max;
}
