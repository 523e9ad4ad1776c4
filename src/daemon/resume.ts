/**
 * Finishing interrupted broadcasts. A `send` plans every target in the run's ledger
 * before the first frame goes out, so a run that stopped half-way (a crash, a shutdown
 * deadline) says which targets never got the message. Resuming runs the rule again with
 * that ledger: targets already sent to, or possibly sent to, are skipped.
 *
 * With `resume: { auto: true }` (the default) the daemon resumes such runs by itself
 * once the bridge is ready after a start, when the run began less than `within` ago;
 * `rulebot resume <run>` asks for one through the control endpoint.
 *
 * Only a run's own ledger is read, so a run that is itself a resume is not resumed again
 * (its ledger leaves the targets it skipped as planned, and they would be sent twice),
 * and neither is a run whose rule has changed since (its action paths may not match).
 */
import type { RuleGates } from '../engine/concurrency';
import { ControlError } from '../ops/errors';
import type { LoadedRule } from '../rules/load';
import { resumeOf } from '../rules/types';
import type { Clock } from '../shared/clock';
import { parseDuration } from '../shared/duration';
import { describeError } from '../shared/errors';
import type { Logger } from '../shared/log';
import type { RunStore } from '../store/run-store';
import type { RunDetail, RunStatus } from '../store/types';
import { fireThroughGate, type RuleRunner } from './runner';

/** Outcomes a resume can finish: the broadcast stopped before every target was tried. */
const RESUMABLE_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(['interrupted', 'failed', 'partial']);

/** Interrupted runs looked at when the daemon starts, newest first. */
const AUTO_RESUME_SCAN_LIMIT = 100;

export interface RunResumerOptions {
  store: RunStore;
  gates: RuleGates;
  runner: RuleRunner;
  /** The rules in force now. */
  rules: () => readonly LoadedRule[];
  clock: Clock;
  logger: Logger;
}

/** What a resume started. */
export interface StartedResume {
  original: RunDetail;
  /** Settles with the resumed run once it has finished. */
  done: Promise<RunDetail>;
}

/** Resumes interrupted runs, by hand or automatically at start. */
export class RunResumer {
  readonly #store: RunStore;
  readonly #gates: RuleGates;
  readonly #runner: RuleRunner;
  readonly #rules: () => readonly LoadedRule[];
  readonly #clock: Clock;
  readonly #log: Logger;

  constructor(options: RunResumerOptions) {
    this.#store = options.store;
    this.#gates = options.gates;
    this.#runner = options.runner;
    this.#rules = options.rules;
    this.#clock = options.clock;
    this.#log = options.logger;
  }

  /**
   * Starts a resume of run `runId` through its rule's concurrency gate.
   * @throws ControlError 404 (no such run or rule), 409 (not resumable, or the rule is running)
   */
  resume(runId: number): StartedResume {
    const original = this.#store.getRun(runId);
    if (!original) throw new ControlError(404, 'RUN_NOT_FOUND', `no run ${runId} in the execution log`, { runId });
    const loaded = this.#resumableRule(original);
    const trigger = { kind: 'resume' as const, data: original.triggerData ?? undefined, slot: original.slot };
    const fire = fireThroughGate({
      gates: this.#gates,
      store: this.#store,
      logger: this.#log,
      loaded,
      trigger,
      run: () => this.#runner.run(loaded, trigger, { resumedFrom: original.id }),
    });
    if (fire.outcome === 'skipped') {
      throw new ControlError(409, 'RUN_SKIPPED', `run ${runId} was not resumed: ${fire.reason}`, { runId, rule: loaded.rule.id });
    }
    this.#log.info({ rule: loaded.rule.id, resumedFrom: original.id }, 'resuming an interrupted run');
    return { original, done: fire.done };
  }

  /**
   * Resumes the interrupted broadcasts whose rule says `resume.auto` and that began
   * within the rule's `within`. Returns how many were started; each failure to start
   * one is logged and leaves it to `rulebot resume`.
   */
  resumeInterrupted(): number {
    const rules = new Map(this.#rules().map((loaded) => [loaded.rule.id, loaded]));
    const windows = [...rules.values()].map((loaded) => autoResumeWindow(loaded)).filter((ms): ms is number => ms !== null);
    if (windows.length === 0) return 0;
    const now = this.#clock.now();
    const candidates = this.#store.listRuns({ status: 'interrupted', since: now - Math.max(...windows), limit: AUTO_RESUME_SCAN_LIMIT });
    let started = 0;
    for (const run of candidates) {
      const loaded = rules.get(run.ruleId);
      const within = loaded ? autoResumeWindow(loaded) : null;
      if (!loaded || within === null || run.startedAt < now - within || run.resumedFrom !== null) continue;
      const detail = this.#store.getRun(run.id);
      // Nothing planned is left: the run stopped outside a broadcast, or after its last target.
      if (!detail || !detail.ledger.some((entry) => entry.state === 'planned')) continue;
      try {
        const { done } = this.resume(run.id);
        started++;
        done.then(
          (resumed) => this.#log.info({ rule: run.ruleId, resumedFrom: run.id, runId: resumed.id, status: resumed.status }, 'interrupted run resumed'),
          () => undefined,
        );
      } catch (err) {
        this.#log.warn({ rule: run.ruleId, runId: run.id, reason: describeError(err) }, 'interrupted run not resumed; `rulebot resume` can finish it');
      }
    }
    return started;
  }

  /** The loaded rule that may resume `original`. @throws ControlError */
  #resumableRule(original: RunDetail): LoadedRule {
    const runId = original.id;
    if (!RESUMABLE_STATUSES.has(original.status)) {
      throw new ControlError(409, 'RUN_NOT_RESUMABLE', `run ${runId} is ${original.status}; only an interrupted, failed or partial run can be resumed`, { runId });
    }
    if (original.resumedFrom !== null) {
      throw new ControlError(
        409,
        'RUN_IS_A_RESUME',
        `run ${runId} resumed run ${original.resumedFrom}; its ledger does not show what run ${original.resumedFrom} sent, so resuming it could send twice`,
        { runId },
      );
    }
    const later = this.#store.listRuns({ ruleId: original.ruleId, since: original.startedAt, limit: 1000 }).find((run) => run.resumedFrom === runId);
    if (later) throw new ControlError(409, 'RUN_ALREADY_RESUMED', `run ${runId} was resumed already, by run ${later.id}`, { runId, resumedBy: later.id });
    const loaded = this.#rules().find((rule) => rule.rule.id === original.ruleId);
    if (!loaded) throw new ControlError(404, 'RULE_NOT_FOUND', `rule ${original.ruleId} of run ${runId} is not loaded`, { runId, rule: original.ruleId });
    if (loaded.hash !== original.ruleHash) {
      throw new ControlError(
        409,
        'RULE_CHANGED',
        `rule ${original.ruleId} has changed since run ${runId}; its ledger may not match the rule's actions, so the run is not resumed`,
        { runId, rule: original.ruleId },
      );
    }
    return loaded;
  }
}

/** How far back the daemon resumes runs of a rule by itself (ms), or null when it does not. */
function autoResumeWindow(loaded: LoadedRule): number | null {
  if (loaded.rule.enabled === false) return null;
  const resume = resumeOf(loaded.rule);
  return resume.auto ? parseDuration(resume.within) : null;
}
