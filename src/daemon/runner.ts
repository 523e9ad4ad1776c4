/**
 * Running rules in the daemon: every fire — scheduled, event, watch, manual, resumed —
 * ends in {@link RuleRunner.run}, which executes the rule with the daemon's shared
 * dependencies (one API, one outbound limiter, one rate tracker), a logger of its own,
 * and an abort signal the shutdown can pull. Finished runs feed the metrics.
 *
 * {@link fireThroughGate} is the concurrency gate for fires that do not come through the
 * scheduler or the dispatcher (watch items, resumed runs), with the same skip records.
 */
import { concurrencyLimitsOf, newestRunningRun, skipReason, type RuleGates } from '../engine/concurrency';
import type { TriggerInput } from '../engine/context';
import { executeRun } from '../engine/executor';
import type { ExecutorDeps } from '../engine/run-context';
import type { DaemonMetrics } from '../ops/daemon-metrics';
import type { ErrorInfo } from '../ops/health';
import type { LoadedRule } from '../rules/load';
import { RulebotError } from '../shared/errors';
import type { Logger } from '../shared/log';
import { toStoredError } from '../store/json';
import type { RunStore } from '../store/run-store';
import type { RunDetail, StepStatus } from '../store/types';

/** Options of one run beyond its trigger. */
export interface RunOptions {
  /**
   * The run's row, already written `running` (the scheduler starts the runs of a tick in
   * one transaction): the run uses it instead of writing its own.
   */
  runId?: number;
  /** Build and record every frame, send none. */
  dryRun?: boolean;
  /** The run this one finishes: targets its ledger shows as sent are not sent again. */
  resumedFrom?: number;
  /** With `resumedFrom`: send again to targets whose delivery is unknown. */
  resendUnknown?: boolean;
}

export interface RuleRunnerOptions {
  /** Everything a run talks to, but the logger: each run gets its own. */
  deps: Omit<ExecutorDeps, 'logger'>;
  /** The parent of every run's logger. */
  logger: Logger;
  metrics: DaemonMetrics;
}

/** Step outcomes that executed an action, and so say how long an action takes. */
const TIMED_STEP_STATUSES: ReadonlySet<StepStatus> = new Set<StepStatus>(['ok', 'failed']);

/** Runs rules and keeps hold of the runs in flight, so a shutdown can interrupt them. */
export class RuleRunner {
  readonly #deps: Omit<ExecutorDeps, 'logger'>;
  readonly #log: Logger;
  readonly #metrics: DaemonMetrics;
  readonly #inFlight = new Map<AbortController, Promise<RunDetail>>();
  #closed = false;
  #lastError: ErrorInfo | null = null;

  constructor(options: RuleRunnerOptions) {
    this.#deps = options.deps;
    this.#log = options.logger;
    this.#metrics = options.metrics;
  }

  /** Runs going on now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The error of the most recent run that failed, for health. */
  get lastError(): ErrorInfo | null {
    return this.#lastError;
  }

  /**
   * Runs `loaded` once and resolves with the finished run. The executor logs the run's
   * start (rule, trigger, run id, and here its slot) and its end (status, duration)
   * through a child of the runner's logger bound to the rule and the run id.
   */
  run(loaded: LoadedRule, trigger: TriggerInput, options: RunOptions = {}): Promise<RunDetail> {
    if (this.#closed) {
      const err = new RulebotError('DAEMON_STOPPING', `rule ${loaded.rule.id} was not run: the daemon is stopping`);
      // A row written for this run must not stay `running` until the next start.
      if (options.runId !== undefined) this.#endUnrun(options.runId, err);
      return Promise.reject(err);
    }
    const controller = new AbortController();
    const logger = trigger.slot != null ? this.#log.child({ slot: new Date(trigger.slot).toISOString() }) : this.#log;
    const run = executeRun({
      loaded,
      trigger,
      deps: { ...this.#deps, logger },
      signal: controller.signal,
      ...(options.runId !== undefined && { runId: options.runId }),
      ...(options.dryRun && { dryRun: true }),
      ...(options.resumedFrom !== undefined && { resumedFrom: options.resumedFrom }),
      ...(options.resendUnknown && { resendUnknown: true }),
    }).then((detail) => {
      this.#observe(detail);
      return detail;
    });
    this.#inFlight.set(controller, run);
    const forget = (): void => {
      this.#inFlight.delete(controller);
    };
    run.then(forget, forget);
    return run;
  }

  /** Refuses new runs from now on (at shutdown). */
  close(): void {
    this.#closed = true;
  }

  /** Aborts every run in flight: each ends `interrupted` at its next step or wait. Returns how many. */
  abortAll(reason: string): number {
    const controllers = [...this.#inFlight.keys()];
    for (const controller of controllers) controller.abort(new Error(reason));
    return controllers.length;
  }

  /** Settles when every run in flight now has ended. */
  async whenSettled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  #endUnrun(runId: number, err: RulebotError): void {
    try {
      this.#deps.store.finishRun(runId, { status: 'interrupted', error: toStoredError(err), reason: err.message });
    } catch (again) {
      // The next start marks it interrupted anyway.
      this.#log.error({ err: again, runId }, 'could not record a run that did not start');
    }
  }

  #observe(detail: RunDetail): void {
    this.#metrics.runs.inc({ rule: detail.ruleId, status: detail.status });
    for (const action of actionTimings(detail)) this.#metrics.actionDuration.observe({ kind: action.kind }, action.seconds);
    if (detail.error && (detail.status === 'failed' || detail.status === 'partial')) {
      this.#lastError = { message: `rule ${detail.ruleId}, run ${detail.id}: ${detail.error.message}`, at: detail.finishedAt ?? detail.startedAt };
    }
  }
}

/**
 * How long each executed action of a run took. An action may write several steps (a
 * send: one to resolve its targets, one per target), all under its path: its time runs
 * from its first step's start to its last step's end. Actions that only skipped, or
 * never finished, say nothing about how long actions take.
 */
function actionTimings(detail: RunDetail): Array<{ kind: string; seconds: number }> {
  const byPath = new Map<string, { kind: string; start: number; end: number; executed: boolean; finished: boolean }>();
  for (const step of detail.steps) {
    const action = byPath.get(step.path);
    const end = step.finishedAt ?? step.startedAt;
    if (!action) {
      byPath.set(step.path, { kind: step.kind, start: step.startedAt, end, executed: TIMED_STEP_STATUSES.has(step.status), finished: step.finishedAt !== null });
      continue;
    }
    action.start = Math.min(action.start, step.startedAt);
    action.end = Math.max(action.end, end);
    action.executed ||= TIMED_STEP_STATUSES.has(step.status);
    action.finished &&= step.finishedAt !== null;
  }
  return [...byPath.values()].filter((action) => action.executed && action.finished).map((action) => ({ kind: action.kind, seconds: (action.end - action.start) / 1000 }));
}

/** How a fire through a gate went. */
export type GatedFire = { outcome: 'started' | 'queued'; done: Promise<RunDetail> } | { outcome: 'skipped'; reason: string };

export interface GatedFireOptions {
  gates: RuleGates;
  store: RunStore;
  logger: Logger;
  loaded: LoadedRule;
  trigger: TriggerInput;
  /** Starts the run once admitted. */
  run: () => Promise<RunDetail>;
}

/**
 * Admits a fire through its rule's concurrency gate and starts it, or records the skip
 * (once per stretch, as the scheduler and the dispatcher do).
 */
export function fireThroughGate(options: GatedFireOptions): GatedFire {
  const { gates, store, logger, loaded, trigger } = options;
  const id = loaded.rule.id;
  const admission = gates.gateFor(id, concurrencyLimitsOf(loaded.rule)).admit();
  if (admission.admitted) {
    const done = admission.start(options.run);
    // The gate reports a failed task itself; callers that want the result await `done`.
    done.catch(() => undefined);
    return { outcome: admission.queued ? 'queued' : 'started', done };
  }
  const reason = skipReason(admission, admission.record ? newestRunningRun(store, id) : undefined);
  if (!admission.record) {
    logger.debug({ rule: id, kind: trigger.kind, reason }, 'fire skipped again (recorded once)');
    return { outcome: 'skipped', reason };
  }
  try {
    store.recordRun({ ruleId: id, ruleHash: loaded.hash, triggerKind: trigger.kind, triggerData: trigger.data, slot: trigger.slot ?? null, status: 'skipped', reason });
  } catch (err) {
    logger.error({ err, rule: id }, 'could not record a skipped fire');
  }
  logger.info({ rule: id, kind: trigger.kind, reason }, 'fire skipped');
  return { outcome: 'skipped', reason };
}
