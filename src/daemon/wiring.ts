/**
 * The engine as the daemon assembles it: one outbound limiter and one rate tracker for
 * every run, one set of concurrency gates shared by the scheduler, the dispatcher, the
 * watcher and resumed runs, and every fire ending in the same runner. Beside the rules,
 * the hold resolver ends friend-request holds by their fallback and carries out the
 * answers decided outside runs, through the same limiter.
 */
import type { Config } from '../config';
import { HoldResolver } from '../engine/audit-holds';
import { concurrencyLimitsOf, RuleGates } from '../engine/concurrency';
import { RateTracker } from '../engine/conditions';
import { TriggerDispatcher, type PushSource } from '../engine/dispatch';
import { OutboundLimiter } from '../engine/ratelimit';
import { Scheduler } from '../engine/scheduler';
import { Watcher } from '../engine/watch';
import type { DaemonMetrics } from '../ops/daemon-metrics';
import type { ChatApi } from '../protocol/api';
import type { LoadedRule } from '../rules/load';
import type { Clock } from '../shared/clock';
import { isRulebotError } from '../shared/errors';
import type { Logger } from '../shared/log';
import type { RunStore } from '../store/run-store';
import { RunResumer } from './resume';
import { RuleRunner } from './runner';

export interface RuleEngineOptions {
  config: Config;
  clock: Clock;
  store: RunStore;
  api: ChatApi;
  metrics: DaemonMetrics;
  /** The process's root logger: each part gets a child named after it. */
  logger: Logger;
  /** The rules in force now (manual runs and resumes look rules up here). */
  rules: () => readonly LoadedRule[];
}

/** The parts that fire and run rules, wired together. */
export class RuleEngine {
  readonly limiter: OutboundLimiter;
  readonly gates: RuleGates;
  readonly runner: RuleRunner;
  readonly scheduler: Scheduler;
  readonly dispatcher: TriggerDispatcher;
  readonly watcher: Watcher;
  readonly resumer: RunResumer;
  readonly holds: HoldResolver;
  #stopping: Promise<unknown> | undefined;

  constructor(options: RuleEngineOptions) {
    const { config, clock, store, api, metrics, logger } = options;
    const engineLog = logger.child({ component: 'engine' });
    this.limiter = new OutboundLimiter({ perMinute: config.rateLimit.perMinute, perTargetGapMs: config.rateLimit.perTargetGapMs, clock });
    this.gates = new RuleGates({
      onError: (ruleId, err) => {
        // A run refused because the daemon is stopping is expected at shutdown.
        if (isRulebotError(err) && err.code === 'DAEMON_STOPPING') engineLog.warn({ rule: ruleId, err }, 'run not started');
        else engineLog.error({ rule: ruleId, err }, 'run failed to finish');
      },
    });
    this.runner = new RuleRunner({
      deps: { api, store, clock, limiter: this.limiter, config, rates: new RateTracker() },
      logger: logger.child({ component: 'run' }),
      metrics,
    });
    const runner = this.runner;
    this.scheduler = new Scheduler({
      clock,
      store,
      logger: logger.child({ component: 'scheduler' }),
      defaultTimezone: config.timezone,
      gates: this.gates,
      // The scheduler has written the run's row in its tick's transaction.
      runRule: (loaded, trigger, runId) => runner.run(loaded, { kind: trigger.kind, data: trigger.data, slot: trigger.slot }, runId === undefined ? {} : { runId }),
    });
    this.dispatcher = new TriggerDispatcher({
      store,
      clock,
      logger: logger.child({ component: 'dispatch' }),
      gates: this.gates,
      runRule: (loaded, trigger) => runner.run(loaded, { kind: trigger.kind, ...(trigger.data !== undefined && { data: trigger.data }) }),
    });
    const watchLog = logger.child({ component: 'watch' });
    this.watcher = new Watcher({
      api,
      store,
      clock,
      logger: watchLog,
      // Through the rule's gate, but never skipped: the item is already recorded as seen, so
      // a skip would lose it. It waits for a run in progress (a manual one, say) to end; the
      // watcher fires one item of a rule at a time, which bounds the wait to one fire per rule.
      fire: (loaded, trigger) => {
        const admission = this.gates.gateFor(loaded.rule.id, concurrencyLimitsOf(loaded.rule)).admitInTurn();
        if (admission.queued) watchLog.info({ rule: loaded.rule.id, change: trigger.data.change }, 'watch item waits for the run of its rule in progress');
        return admission.start(() => runner.run(loaded, trigger));
      },
    });
    this.resumer = new RunResumer({ store, gates: this.gates, runner, rules: options.rules, clock, logger: logger.child({ component: 'resume' }) });
    this.holds = new HoldResolver({ store, api, clock, config, limiter: this.limiter, logger: logger.child({ component: 'audit' }) });
  }

  /** Hands the rules to every part that fires them (the same as a reload). */
  load(rules: readonly LoadedRule[]): void {
    this.replace(rules);
  }

  /**
   * Swaps in a new rule set, rule by rule, in every part: unchanged rules keep their
   * timers, seen-sets and gates; runs already going are left alone.
   */
  replace(rules: readonly LoadedRule[]): void {
    this.scheduler.replace(rules);
    this.dispatcher.replace(rules);
    this.watcher.replace(rules);
  }

  /** Starts firing: misfires and window reconciles first, then pushes, startup rules, polls and audit holds. */
  start(pushes: PushSource): void {
    this.scheduler.start();
    this.dispatcher.start(pushes);
    this.dispatcher.fireStartup();
    this.watcher.start();
    this.holds.start();
  }

  /** Stops every source of fires and drops fires still waiting in a queue; returns how many were dropped. */
  stopIntake(): number {
    this.scheduler.stop();
    this.dispatcher.stop();
    // These settle only when their work in progress ends (a poll's runs, an answer's frame): awaited later.
    this.#stopping = Promise.allSettled([this.watcher.stop(), this.holds.stop()]);
    return this.gates.dropWaiting();
  }

  /** Settles when the watcher's last poll and the hold resolver's last check have ended (after {@link stopIntake}). */
  async intakeStopped(): Promise<void> {
    await this.#stopping;
  }
}
