/**
 * The scheduler: fires every `cron`, `every` and `window` rule from ONE timer over a
 * heap of next fires (schedule/timer-queue.ts), because one timer per rule falls behind
 * when thousands of rules share a second (BASELINES.md §4).
 *
 * A slot is "taken" when it fires: its rule's last slot is written to the store (rule
 * state `lastSlot`) before the run starts, in one transaction with every other write of
 * the tick (the last slots of all rules due, their skipped and missed rows, and the
 * `running` rows of the runs it starts). A crash mid-run therefore never fires the same
 * slot again after a restart; the run it interrupted is marked `interrupted` by the
 * store instead. One commit per tick, not one per run, is what keeps 10,000 rules due
 * in the same second from queueing behind each other's commits.
 *
 * Logging stays off the per-fire path at `info`: one `rules fired` line per tick (counts,
 * lateness, commit time), the fires themselves at `debug`. Each run still logs its own
 * start and end through the runner.
 *
 * After downtime, `start()` applies each rule's misfire policy to the slots between its
 * last slot and now: catch-up runs are started (the first at once, the rest `spacing`
 * apart, never a burst) and every slot not run is recorded as a `missed` run. A timer
 * that fires more than {@link LATE_FIRE_LIMIT_MS} late (the machine slept, the process
 * stalled) is treated the same way. Window rules instead re-apply their current state
 * (edge `reconcile`) when the scheduler starts and when they are reloaded, then fire at
 * each opening and closing.
 *
 * Concurrency goes through the rule's gate (concurrency.ts), shared with the dispatcher.
 */
import { performance } from 'node:perf_hooks';
import type { LoadedRule } from '../rules/load';
import { planMisfires, TimerQueue, type DueBatch, type MisfirePlan, type MisfirePolicy, type MissedReason } from '../schedule';
import type { Clock } from '../shared/clock';
import { formatDuration } from '../shared/duration';
import type { RunStore } from '../store/run-store';
import { toStoredError } from '../store/json';
import type { FinishedRunInput, RunStart } from '../store/types';
import { concurrencyLimitsOf, newestRunningRun, RuleGates, skipReason, type AdmittedFire, type ConcurrencyLimits } from './concurrency';
import {
  compileRuleSchedule,
  misfirePolicyOf,
  upcomingFires,
  windowTriggerData,
  type RuleSchedule,
  type ScheduledKind,
  type WindowEdgeKind,
  type WindowTriggerData,
} from './rule-schedule';

// === Contract ===

/** Rule-state key under which each scheduled rule keeps the newest instant up to which its slots are decided. */
export const LAST_SLOT_KEY = 'lastSlot';

/**
 * A timer later than this past its slot counts as a misfire (the rule's policy decides),
 * not as a fire: the machine slept or the process stalled.
 */
export const LATE_FIRE_LIMIT_MS = 60_000;

/** Trigger data of a `cron` or `every` fire. */
export interface SlotTriggerData {
  /** The slot, ISO-8601. */
  slot: string;
  /** Set on a run that catches up a slot missed during downtime. */
  catchUp?: true;
}

/** What the scheduler hands the runner for each fire. */
export interface ScheduledTrigger {
  kind: ScheduledKind;
  data: SlotTriggerData | WindowTriggerData;
  /** The scheduled instant the run serves (for a window, the edge). */
  slot: number;
}

/**
 * Runs one fire of a rule (the daemon wraps `executeRun`) and settles when the run has
 * finished. It should record failures itself rather than reject; a rejection is logged.
 *
 * `runId` is the run's row, already written `running` in the tick's transaction: the
 * runner must not write another (executeRun's `runId`). It is undefined for a fire that
 * waited its turn behind a running run (`queue` mode), whose row is written when it
 * actually starts.
 */
export type RunScheduledRule = (loaded: LoadedRule, trigger: ScheduledTrigger, runId?: number) => Promise<unknown>;

/** The lines the scheduler logs (a pino logger fits). */
export interface EngineLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SchedulerDeps {
  clock: Clock;
  /** The execution log: rule state (`lastSlot`), skipped and missed rows. */
  store: RunStore;
  runRule: RunScheduledRule;
  logger: EngineLogger;
  /** The zone of rules that name none (the config's `timezone`). */
  defaultTimezone: string;
  /**
   * The concurrency gates, shared with the dispatcher.
   * @default a new RuleGates of its own
   */
  gates?: RuleGates;
  /**
   * How late a timer may fire before its slot counts as a misfire, in ms.
   * @default LATE_FIRE_LIMIT_MS (1 minute)
   */
  lateLimit?: number;
}

/** What `load` / `replace` changed, by rule id. */
export interface ScheduleChanges {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
  /** Rules left out because their schedule does not compile (the loader should have refused them). */
  invalid: string[];
}

/** The scheduler's health, for the daemon's health endpoint. */
export interface SchedulerStatus {
  /** Started and not stopped. */
  alive: boolean;
  /** When the timer last handed over due fires (ms since the epoch), or null. */
  lastTickAt: number | null;
  /** Fires waiting in the timer queue (one per rule, plus pending catch-up runs). */
  queued: number;
  /** Runs the scheduler started that have not finished. */
  inFlight: number;
  /** Scheduled rules. */
  rules: number;
}

/** The next fires of one scheduled rule. */
export interface UpcomingFires {
  ruleId: string;
  kind: ScheduledKind;
  timezone: string;
  description: string;
  /** Instants (ms since the epoch), oldest first. */
  fires: number[];
}

// === Internals ===

/** A scheduled rule with its compiled schedule and its place in the queue. */
class ArmedRule {
  loaded: LoadedRule;
  readonly id: string;
  readonly hash: string;
  readonly spec: RuleSchedule;
  readonly misfire: MisfirePolicy;
  readonly limits: ConcurrencyLimits;
  /** The rule's next regular fire: one object, moved in the queue each time. */
  readonly regular: QueueEntry;
  /** Catch-up runs spaced out after downtime; made only when there are some (most rules never have any). */
  catchUps: Set<QueueEntry> | undefined;
  /** Mirror of the stored last slot; null until known. */
  lastSlot: number | null;

  constructor(loaded: LoadedRule, compiled: CompiledRule, lastSlot: number | null) {
    this.loaded = loaded;
    this.id = loaded.rule.id;
    this.hash = loaded.hash;
    this.spec = compiled.spec;
    this.misfire = compiled.misfire;
    this.limits = concurrencyLimitsOf(loaded.rule);
    this.regular = { armed: this, slot: 0, catchUp: false };
    this.lastSlot = lastSlot;
  }
}

/** What the scheduler compiles from a rule: its schedule and misfire policy. */
interface CompiledRule {
  spec: RuleSchedule;
  misfire: MisfirePolicy;
}

/** A fire in the queue. Regular entries are due at their slot; a catch-up is due at its `runAt`. */
interface QueueEntry {
  readonly armed: ArmedRule;
  slot: number;
  readonly catchUp: boolean;
}

/** Everything one tick (or start, or reload) writes, committed in one transaction before any run starts. */
interface TickWrites {
  lastSlots: Map<string, number>;
  rows: FinishedRunInput[];
  starts: TickStart[];
  /** Skips turned away without a row (later skips of a stretch), for the tick's summary. */
  quietSkips: number;
}

/** A fire admitted in a tick. */
interface TickStart {
  armed: ArmedRule;
  ticket: AdmittedFire;
  trigger: ScheduledTrigger;
}

/** How a tick's commit went: its fires are dropped when it failed. */
interface LaunchSummary {
  started: boolean;
  commitMs: number;
}

function newTick(): TickWrites {
  return { lastSlots: new Map(), rows: [], starts: [], quietSkips: 0 };
}

const noop = (): void => undefined;

/**
 * Fires scheduled rules on one timer. Give it the loaded rules, `start()` it, and
 * `replace()` the rules on reload; `stop()` stops firing (runs already going finish:
 * await the gates' `whenIdle()` for them).
 *
 * @example
 * const scheduler = new Scheduler({ clock, store, logger, defaultTimezone: config.timezone,
 *   gates, runRule: (loaded, trigger, runId) => executeRun({ loaded, trigger, deps, runId }) });
 * scheduler.load(loadRules([config.rulesDir]).rules);
 * scheduler.start();
 */
export class Scheduler {
  readonly #clock: Clock;
  readonly #store: RunStore;
  readonly #runRule: RunScheduledRule;
  readonly #log: EngineLogger;
  readonly #defaultTimezone: string;
  readonly #gates: RuleGates;
  readonly #lateLimit: number;
  readonly #queue: TimerQueue<QueueEntry>;
  readonly #armed = new Map<string, ArmedRule>();
  #state: 'idle' | 'running' | 'stopped' = 'idle';
  #lastTickAt: number | null = null;
  #inFlight = 0;

  constructor(deps: SchedulerDeps) {
    this.#clock = deps.clock;
    this.#store = deps.store;
    this.#runRule = deps.runRule;
    this.#log = deps.logger;
    this.#defaultTimezone = deps.defaultTimezone;
    this.#gates = deps.gates ?? new RuleGates({ onError: (ruleId, err) => this.#log.error({ rule: ruleId, err }, 'run failed to finish') });
    this.#lateLimit = deps.lateLimit ?? LATE_FIRE_LIMIT_MS;
    this.#queue = new TimerQueue<QueueEntry>({ clock: deps.clock, onDue: (batch) => this.#onDue(batch) });
    // Nothing fires before start(): misfires are applied first.
    this.#queue.stop();
  }

  /** The gates this scheduler admits fires through. */
  get gates(): RuleGates {
    return this.#gates;
  }

  /** Takes the rules to schedule (others are ignored); the same as {@link replace}. */
  load(rules: readonly LoadedRule[]): ScheduleChanges {
    return this.replace(rules);
  }

  /**
   * Swaps in a new set of rules, rule by rule: a rule with the same id, hash and schedule
   * keeps its queue entry and state; a changed one is re-armed from now (a window rule
   * reconciles); a removed or disabled one is dropped. Runs already going are left alone.
   */
  replace(rules: readonly LoadedRule[]): ScheduleChanges {
    const changes: ScheduleChanges = { added: [], changed: [], removed: [], unchanged: [], invalid: [] };
    const incoming = new Map<string, { loaded: LoadedRule; compiled: CompiledRule }>();
    for (const loaded of rules) {
      if (loaded.rule.enabled === false) continue;
      try {
        const spec = compileRuleSchedule(loaded.rule, this.#defaultTimezone);
        if (spec) incoming.set(loaded.rule.id, { loaded, compiled: { spec, misfire: misfirePolicyOf(loaded.rule) } });
      } catch (err) {
        changes.invalid.push(loaded.rule.id);
        const previous = this.#armed.get(loaded.rule.id);
        this.#log.error({ rule: loaded.rule.id, err, keptPrevious: previous !== undefined }, 'rule left out: its schedule does not compile');
        if (previous) incoming.set(previous.id, { loaded: previous.loaded, compiled: { spec: previous.spec, misfire: previous.misfire } });
      }
    }

    const now = this.#clock.now();
    const tick = newTick();
    for (const armed of [...this.#armed.values()]) {
      if (incoming.has(armed.id)) continue;
      this.#disarm(armed);
      this.#armed.delete(armed.id);
      this.#gates.retire(armed.id);
      changes.removed.push(armed.id);
    }
    for (const { loaded, compiled } of incoming.values()) {
      const existing = this.#armed.get(loaded.rule.id);
      if (existing && existing.hash === loaded.hash && existing.spec.description === compiled.spec.description) {
        existing.loaded = loaded;
        changes.unchanged.push(existing.id);
        continue;
      }
      if (existing) this.#disarm(existing);
      const armed = new ArmedRule(loaded, compiled, existing?.lastSlot ?? null);
      this.#armed.set(armed.id, armed);
      (existing ? changes.changed : changes.added).push(armed.id);
      if (this.#state === 'running') this.#armSafely(armed, now, 'reload', tick);
    }
    if (this.#state === 'running') this.#commitAndLaunch(tick);
    if (changes.added.length + changes.changed.length + changes.removed.length + changes.invalid.length > 0) {
      this.#log.info(
        { added: changes.added.length, changed: changes.changed.length, removed: changes.removed.length, unchanged: changes.unchanged.length, invalid: changes.invalid.length },
        'scheduled rules updated',
      );
    }
    return changes;
  }

  /**
   * Applies misfires (each rule's policy over the slots since its last slot), starts the
   * catch-up runs due now and the window reconciles, then arms the timer.
   */
  start(): void {
    if (this.#state === 'running') return;
    if (this.#state === 'stopped') throw new Error('a stopped scheduler cannot start again: create a new one');
    const now = this.#clock.now();
    const tick = newTick();
    for (const armed of this.#armed.values()) this.#armSafely(armed, now, 'start', tick);
    this.#state = 'running';
    this.#commitAndLaunch(tick);
    this.#queue.start();
    const missed = tick.rows.filter((row) => row.status === 'missed').length;
    this.#log.info({ rules: this.#armed.size, queued: this.#queue.size, started: tick.starts.length, missedRows: missed }, 'scheduler started');
  }

  /** Stops firing. Runs already going continue; the daemon waits for them through the gates. */
  stop(): void {
    if (this.#state !== 'running') {
      this.#state = 'stopped';
      return;
    }
    this.#queue.stop();
    this.#state = 'stopped';
    this.#log.info({ inFlight: this.#inFlight }, 'scheduler stopped');
  }

  /**
   * Re-applies the current state of every window rule (edge `reconcile`), as `start()`
   * does. The daemon calls it when the bridge is ready again after a drop: an edge that
   * fired while the bridge was away failed, and the chat may have changed meanwhile.
   * Returns the ids of the rules fired (a rule still running follows its concurrency).
   */
  reconcileWindows(): string[] {
    if (this.#state !== 'running') return [];
    const now = this.#clock.now();
    const tick = newTick();
    const reconciled: string[] = [];
    for (const armed of this.#armed.values()) {
      const { spec } = armed;
      if (spec.kind !== 'window') continue;
      try {
        const edge = spec.schedule.previousAtOrBefore(now) ?? now;
        this.#fire(armed, edge, this.#windowTrigger(armed, edge, now, 'reconcile'), tick);
        reconciled.push(armed.id);
      } catch (err) {
        this.#log.error({ err, rule: armed.id }, 'could not reconcile the window rule');
      }
    }
    this.#commitAndLaunch(tick);
    if (reconciled.length > 0) this.#log.info({ rules: reconciled.length }, 'window rules reconciled');
    return reconciled;
  }

  status(): SchedulerStatus {
    return { alive: this.#state === 'running', lastTickAt: this.#lastTickAt, queued: this.#queue.size, inFlight: this.#inFlight, rules: this.#armed.size };
  }

  /** The next `count` fires of each scheduled rule (or of `ruleId` only: empty when it is not scheduled), from now. */
  nextFires(ruleId?: string, count = 5): UpcomingFires[] {
    const now = this.#clock.now();
    const rules = ruleId === undefined ? [...this.#armed.values()] : [this.#armed.get(ruleId)].filter((armed): armed is ArmedRule => armed !== undefined);
    return rules.map((armed) => ({
      ruleId: armed.id,
      kind: armed.spec.kind,
      timezone: armed.spec.timezone,
      description: armed.spec.description,
      fires: upcomingFires(armed.spec.schedule, now, count),
    }));
  }

  // === Arming ===

  /** Takes a rule's entries out of the queue; its in-flight runs go on. */
  #disarm(armed: ArmedRule): void {
    this.#queue.remove(armed.regular);
    if (armed.catchUps) for (const entry of armed.catchUps) this.#queue.remove(entry);
    armed.catchUps = undefined;
  }

  /**
   * Puts a rule in the queue at its next fire. At start, a timed rule first gets its
   * misfire plan; on reload (a new or changed rule) the slots before now are none of
   * its concern. A window rule reconciles either way.
   */
  #arm(armed: ArmedRule, now: number, why: 'start' | 'reload', tick: TickWrites): void {
    const { spec } = armed;
    const stored = this.#store.ruleState.get<number>(armed.id, LAST_SLOT_KEY);
    if (typeof stored === 'number') armed.lastSlot = Math.max(armed.lastSlot ?? stored, stored);
    if (spec.kind === 'window') {
      const edge = spec.schedule.previousAtOrBefore(now) ?? now;
      this.#fire(armed, edge, this.#windowTrigger(armed, edge, now, 'reconcile'), tick);
    } else if (why === 'start' && armed.lastSlot !== null && armed.lastSlot < now) {
      this.#applyPlan(armed, planMisfires(spec.schedule, armed.lastSlot, now, armed.misfire), now, 'while the daemon was down', tick);
    } else {
      // A rule seen for the first time: slots before it was armed are not missed.
      this.#take(armed, now, tick);
    }
    // A last slot in the future (the clock went back) was taken already: never fire it twice.
    const next = spec.schedule.nextAfter(Math.max(now, armed.lastSlot ?? now));
    if (next !== null) this.#enqueue(armed.regular, next);
  }

  /** One rule that cannot be armed (its state unreadable, its plan failing) must not keep the others from starting. */
  #armSafely(armed: ArmedRule, now: number, why: 'start' | 'reload', tick: TickWrites): void {
    try {
      this.#arm(armed, now, why, tick);
    } catch (err) {
      this.#log.error({ err, rule: armed.id }, 'could not arm the rule; trying its next fire from now');
      try {
        if (!this.#queue.has(armed.regular)) this.#requeueAfter(armed, now);
      } catch (again) {
        this.#log.error({ err: again, rule: armed.id }, 'rule taken off the schedule: its next fire cannot be computed');
      }
    }
  }

  #enqueue(entry: QueueEntry, due: number): void {
    if (entry.catchUp) (entry.armed.catchUps ??= new Set()).add(entry);
    else entry.slot = due;
    this.#queue.add(due, entry);
  }

  // === Firing ===

  #onDue(batch: DueBatch<QueueEntry>): void {
    const firedAt = batch.firedAt;
    this.#lastTickAt = firedAt;
    const tick = newTick();
    for (const entry of batch.entries) {
      const armed = entry.armed;
      // An entry of a rule replaced since it was queued.
      if (this.#armed.get(armed.id) !== armed) continue;
      try {
        if (entry.catchUp) {
          armed.catchUps?.delete(entry);
          this.#fire(armed, entry.slot, this.#slotTrigger(armed, entry.slot, true), tick);
        } else {
          this.#fireRegular(armed, entry.slot, firedAt, tick);
        }
      } catch (err) {
        this.#log.error({ err, rule: armed.id, slot: iso(entry.slot) }, 'could not fire the rule');
        // Whatever went wrong, the rule stays in the queue if it can.
        if (!entry.catchUp && !this.#queue.has(armed.regular)) {
          try {
            this.#requeueAfter(armed, firedAt);
          } catch (again) {
            this.#log.error({ err: again, rule: armed.id }, 'rule taken off the schedule: its next fire cannot be computed');
          }
        }
      }
    }
    const launched = this.#commitAndLaunch(tick);
    if (tick.starts.length > 0 || tick.rows.length > 0 || tick.quietSkips > 0) this.#logTick(tick, batch, launched);
  }

  /** One line per tick at info, however many rules were due in it. */
  #logTick(tick: TickWrites, batch: DueBatch<QueueEntry>, launched: LaunchSummary): void {
    let queued = 0;
    for (const start of tick.starts) if (start.ticket.queued) queued++;
    let skipped = tick.quietSkips;
    let missed = 0;
    for (const row of tick.rows) {
      if (row.status === 'skipped') skipped++;
      else if (row.status === 'missed') missed++;
    }
    // The queue hands entries over oldest first.
    const oldest = batch.dues[0] ?? batch.firedAt;
    this.#log.info(
      {
        fired: launched.started ? tick.starts.length : 0,
        ...(queued > 0 && { queued }),
        ...(skipped > 0 && { skipped }),
        ...(missed > 0 && { missedRows: missed }),
        ...(!launched.started && { dropped: tick.starts.length }),
        lateMs: batch.firedAt - oldest,
        commitMs: Math.round(launched.commitMs * 10) / 10,
      },
      'rules fired',
    );
  }

  /** A rule's regular fire: run the slot, handle slots overdue behind it, queue the next. */
  #fireRegular(armed: ArmedRule, slot: number, firedAt: number, tick: TickWrites): void {
    const { schedule } = armed.spec;
    if (schedule.kind === 'window') {
      const late = firedAt - slot > this.#lateLimit;
      // After a long sleep the edge is history: apply the state as it is now.
      const edge: WindowEdgeKind = late ? 'reconcile' : schedule.nextEdgeAfter(slot - 1).kind;
      this.#fire(armed, slot, this.#windowTrigger(armed, slot, Math.max(slot, firedAt), edge), tick);
    } else {
      const lateBy = firedAt - slot;
      let decidedUpTo = slot - 1;
      if (lateBy <= this.#lateLimit) {
        this.#fire(armed, slot, this.#slotTrigger(armed, slot, false), tick);
        decidedUpTo = slot;
      }
      const overdue = schedule.nextAfter(decidedUpTo);
      if (overdue === null || overdue > firedAt) {
        // No slot between this one and now, so the next after it is the next fire. Asking
        // for it after the slot, not after now, keeps every rule of a shared schedule on
        // one memoised answer per tick instead of two alternating searches per rule.
        if (overdue !== null) this.#enqueue(armed.regular, overdue);
        return;
      }
      const cause = `the timer fired ${formatDuration(lateBy)} late`;
      this.#log.warn({ rule: armed.id, slot: iso(slot), lateMs: lateBy }, 'timer fired late: applying the misfire policy');
      this.#applyPlan(armed, planMisfires(schedule, decidedUpTo, firedAt, armed.misfire), firedAt, cause, tick);
    }
    this.#requeueAfter(armed, Math.max(firedAt, slot));
  }

  #requeueAfter(armed: ArmedRule, instant: number): void {
    const next = armed.spec.schedule.nextAfter(instant);
    if (next !== null) this.#enqueue(armed.regular, next);
  }

  /** Records the plan's missed slots, starts the catch-up runs due now and queues the rest. */
  #applyPlan(armed: ArmedRule, plan: MisfirePlan, now: number, cause: string, tick: TickWrites): void {
    const kind = armed.spec.kind;
    for (const missed of plan.missed) {
      tick.rows.push(this.#missedRow(armed, missed.slot, { slot: iso(missed.slot) }, `misfire: ${describeMissed(missed.reason, armed.misfire)} (${cause})`));
      this.#take(armed, missed.slot, tick);
    }
    for (const span of plan.missedSpans) {
      const count = `${span.exact ? '' : 'about '}${span.count} slots`;
      tick.rows.push(
        this.#missedRow(
          armed,
          span.first,
          { first: iso(span.first), last: iso(span.last), count: span.count, exact: span.exact },
          `misfire: ${count} from ${iso(span.first)} to ${iso(span.last)}, ${describeMissed(span.reason, armed.misfire)} (${cause})`,
        ),
      );
      this.#take(armed, span.last, tick);
    }
    for (const run of plan.toRun) {
      if (run.runAt <= now) this.#fire(armed, run.slot, this.#slotTrigger(armed, run.slot, true), tick);
      else this.#enqueue({ armed, slot: run.slot, catchUp: true }, run.runAt);
    }
    if (plan.toRun.length > 0) {
      this.#log.info({ rule: armed.id, kind, catchUps: plan.toRun.length, spacingMs: armed.misfire.spacing }, 'catching up missed slots');
    }
  }

  /**
   * Takes the slot and admits the fire through the rule's gate: started after the tick's
   * commit, or recorded as skipped. Admission comes first, so only admitted fires get a
   * `running` row.
   */
  #fire(armed: ArmedRule, slot: number, trigger: ScheduledTrigger, tick: TickWrites): void {
    this.#take(armed, slot, tick);
    // Looked up per fire: the gate is shared with the dispatcher and outlives rule versions.
    const admission = this.#gates.gateFor(armed.id, armed.limits).admit();
    if (admission.admitted) {
      tick.starts.push({ armed, ticket: admission, trigger });
      // Per fire at debug only: at info, 10,000 lines would cost more than the tick itself.
      this.#log.debug({ rule: armed.id, kind: trigger.kind, slot: iso(slot), ...(admission.queued && { queued: true }) }, 'rule fired');
      return;
    }
    const fields = { rule: armed.id, kind: trigger.kind, slot: iso(slot), ...('catchUp' in trigger.data && { catchUp: true }) };
    if (!admission.record) {
      tick.quietSkips++;
      this.#log.debug({ ...fields, reason: admission.reason }, 'fire skipped again (recorded once)');
      return;
    }
    const reason = skipReason(admission, newestRunningRun(this.#store, armed.id));
    tick.rows.push({ ruleId: armed.id, ruleHash: armed.hash, triggerKind: trigger.kind, triggerData: trigger.data, slot, status: 'skipped', reason });
    this.#log.info({ ...fields, reason }, 'fire skipped');
  }

  /** Moves a rule's last slot forward (never back) and notes it for the tick's commit. */
  #take(armed: ArmedRule, slot: number, tick: TickWrites): void {
    if (armed.lastSlot !== null && armed.lastSlot >= slot) return;
    armed.lastSlot = slot;
    tick.lastSlots.set(armed.id, slot);
  }

  /**
   * One transaction for the tick's last slots, its rows and the `running` rows of the
   * runs it starts now; then the runs are handed over with their run ids. A queued fire
   * gets no row yet: it may wait long, or be dropped at shutdown, and a `running` row
   * must mean a run that is going.
   */
  #commitAndLaunch(tick: TickWrites): LaunchSummary {
    if (tick.lastSlots.size === 0 && tick.rows.length === 0 && tick.starts.length === 0) return { started: true, commitMs: 0 };
    const t0 = performance.now();
    let runIds: number[];
    try {
      runIds = this.#store.database.transaction(() => {
        for (const [ruleId, slot] of tick.lastSlots) this.#store.ruleState.set(ruleId, LAST_SLOT_KEY, slot);
        if (tick.rows.length > 0) this.#store.recordRuns(tick.rows);
        return this.#startRows(tick.starts);
      })();
    } catch (err) {
      // Without its slot written a run could fire twice after a crash: run none of them.
      for (const start of tick.starts) start.ticket.cancel();
      this.#log.error({ err, fires: tick.starts.length }, 'could not write the tick to the execution log; its fires are dropped');
      return { started: false, commitMs: performance.now() - t0 };
    }
    const commitMs = performance.now() - t0;
    let next = 0;
    for (const { armed, ticket, trigger } of tick.starts) {
      const runId = ticket.queued ? undefined : runIds[next++];
      this.#launch(armed.loaded, ticket, trigger, runId);
    }
    return { started: true, commitMs };
  }

  /** Inserts the `running` rows of the fires that start at once (in tick order); returns their ids. */
  #startRows(starts: readonly TickStart[]): number[] {
    const inputs: RunStart[] = [];
    for (const { armed, ticket, trigger } of starts) {
      if (ticket.queued) continue;
      // What executeRun would write; the scheduler's trigger data is small plain JSON already.
      inputs.push({ ruleId: armed.id, ruleHash: armed.loaded.hash, triggerKind: trigger.kind, triggerData: trigger.data, slot: trigger.slot });
    }
    return inputs.length === 0 ? [] : this.#store.startRuns(inputs);
  }

  #launch(loaded: LoadedRule, ticket: AdmittedFire, trigger: ScheduledTrigger, runId: number | undefined): void {
    ticket
      .start(() => {
        this.#inFlight++;
        let run: Promise<unknown>;
        try {
          run = this.#runRule(loaded, trigger, runId);
        } catch (err) {
          if (runId !== undefined) this.#abandon(loaded.rule.id, runId, err);
          run = Promise.reject(err);
        }
        return run.finally(() => {
          this.#inFlight--;
        });
      })
      // The gate has logged a failure already; a dropped queued fire needs nothing more.
      .catch(noop);
  }

  /** Ends the row of a run whose runner threw before taking it over, so it does not stay `running`. */
  #abandon(ruleId: string, runId: number, err: unknown): void {
    try {
      this.#store.finishRun(runId, { status: 'failed', error: toStoredError(err), reason: 'the run could not be started' });
    } catch (again) {
      this.#log.error({ err: again, rule: ruleId, runId }, 'could not record that the run did not start');
    }
  }

  // === Trigger data and rows ===

  #slotTrigger(armed: ArmedRule, slot: number, catchUp: boolean): ScheduledTrigger {
    return { kind: armed.spec.kind, slot, data: { slot: iso(slot), ...(catchUp && { catchUp: true as const }) } };
  }

  #windowTrigger(armed: ArmedRule, edge: number, at: number, kind: WindowEdgeKind): ScheduledTrigger {
    const schedule = armed.spec.schedule;
    if (schedule.kind !== 'window') throw new Error(`rule ${armed.id} has no window`);
    return { kind: 'window', slot: edge, data: windowTriggerData(armed.loaded.rule, schedule, at, kind) };
  }

  #missedRow(armed: ArmedRule, slot: number, triggerData: unknown, reason: string): FinishedRunInput {
    return { ruleId: armed.id, ruleHash: armed.hash, triggerKind: armed.spec.kind, triggerData, slot, status: 'missed', reason };
  }
}

// The rules of a tick mostly share one slot: convert it once, not once per rule.
let lastIsoInstant = NaN;
let lastIso = '';

function iso(instant: number): string {
  if (instant !== lastIsoInstant) {
    lastIso = new Date(instant).toISOString();
    lastIsoInstant = instant;
  }
  return lastIso;
}

function describeMissed(reason: MissedReason, policy: MisfirePolicy): string {
  switch (reason) {
    case 'policy-skip':
      return 'policy skip runs no missed slot';
    case 'outside-grace':
      return `older than the grace of ${formatDuration(policy.grace)} (policy ${policy.policy})`;
    case 'over-cap':
      return `beyond the cap of ${policy.cap} catch-up runs (policy all)`;
    case 'superseded':
      return 'superseded by a later slot (policy latest)';
  }
}
