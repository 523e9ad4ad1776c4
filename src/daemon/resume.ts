/**
 * Finishing interrupted broadcasts. A `send` plans every target in the run's ledger
 * before the first frame goes out, so a run that stopped half-way (a crash, a shutdown
 * deadline) says which targets never got the message. Resuming runs the rule again with
 * that ledger: targets already sent to, or possibly sent to, are skipped (engine/resume.ts).
 *
 * With `resume: { auto: true }` (the default) the daemon resumes such runs by itself
 * once the bridge is ready after a start, when the run began less than `within` ago;
 * `rulebot resume <run>` asks for one through the control endpoint.
 *
 * A run's ledger is read together with those of its earlier resumes, so a run can be
 * resumed again without sending twice; a run whose rule has changed since is not
 * resumed (its action paths may not match).
 */
import { checkResumable, ResumeError, resumeDecision, resumedLedgerOf, type ResumedLedger, type ResumeErrorCode } from '../engine/resume';
import { concurrencyLimitsOf, type RuleGates } from '../engine/concurrency';
import { ControlError } from '../ops/errors';
import type { LoadedRule } from '../rules/load';
import { resumeOf } from '../rules/types';
import type { Clock } from '../shared/clock';
import { parseDuration } from '../shared/duration';
import { describeError } from '../shared/errors';
import type { Logger } from '../shared/log';
import type { RunStore } from '../store/run-store';
import type { RunDetail } from '../store/types';
import { fireThroughGate, type RuleRunner } from './runner';

/** The HTTP status `/control/resume` answers each refusal with. */
const REFUSAL_STATUS: Readonly<Record<ResumeErrorCode, number>> = {
  RUN_NOT_FOUND: 404,
  RULE_NOT_FOUND: 404,
  RUN_STILL_RUNNING: 409,
  RUN_NOT_RESUMABLE: 409,
  RUN_IS_A_RESUME: 409,
  RUN_BEING_RESUMED: 409,
  RULE_CHANGED: 409,
  NOTHING_TO_RESUME: 409,
};

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

export interface ResumeOptions {
  /** Send again to targets whose delivery is unknown (they may get the message twice). @default false */
  resendUnknown?: boolean;
  /** Build and record every frame, send none; neither the rule's concurrency nor the rate limit applies. @default false */
  dryRun?: boolean;
  /**
   * Wait for a run of the rule in progress to end instead of refusing. The automatic
   * resume at start does: a catch-up run of the same rule is often going then, and
   * nobody is there to ask again. @default false
   */
  waitTurn?: boolean;
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
   * Starts a resume of run `runId` through its rule's concurrency gate (a dry run goes
   * straight to the runner: it sends nothing).
   * @throws ControlError 404 (no such run or rule), 409 (not resumable, nothing to send, or the rule is running)
   */
  resume(runId: number, options: ResumeOptions = {}): StartedResume {
    const { original, loaded } = this.#check(runId, options);
    const trigger = { kind: 'resume' as const, data: original.triggerData ?? undefined, slot: original.slot };
    const runOptions = { resumedFrom: original.id, ...(options.resendUnknown && { resendUnknown: true }) };
    if (options.dryRun) {
      return { original, done: this.#runner.run(loaded, trigger, { ...runOptions, dryRun: true }) };
    }
    if (options.waitTurn) {
      const admission = this.#gates.gateFor(loaded.rule.id, concurrencyLimitsOf(loaded.rule)).admitInTurn();
      if (admission.queued) this.#log.info({ rule: loaded.rule.id, resumedFrom: original.id }, 'resume waits for the run of its rule in progress');
      const done = admission.start(() => this.#runner.run(loaded, trigger, runOptions));
      // The gate reports a failed task itself; callers that want the result await `done`.
      done.catch(() => undefined);
      this.#log.info({ rule: loaded.rule.id, resumedFrom: original.id }, 'resuming an interrupted run');
      return { original, done };
    }
    const fire = fireThroughGate({
      gates: this.#gates,
      store: this.#store,
      logger: this.#log,
      loaded,
      trigger,
      run: () => this.#runner.run(loaded, trigger, runOptions),
    });
    if (fire.outcome === 'skipped') {
      throw new ControlError(409, 'RUN_SKIPPED', `run ${runId} was not resumed: ${fire.reason}`, { runId, rule: loaded.rule.id });
    }
    this.#log.info({ rule: loaded.rule.id, resumedFrom: original.id, ...(options.resendUnknown && { resendUnknown: true }) }, 'resuming an interrupted run');
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
      // No target left that never got the message (by it or a resume of it): the run stopped
      // outside a broadcast, after its last target, or was finished already.
      if (!someLeftToSend(resumedLedgerOf(this.#store, run.id))) continue;
      try {
        const { done } = this.resume(run.id, { waitTurn: true });
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

  /** The run and the loaded rule to resume it with. @throws ControlError */
  #check(runId: number, options: ResumeOptions): { original: RunDetail; loaded: LoadedRule } {
    try {
      return checkResumable(this.#store, (ruleId) => this.#rules().find((loaded) => loaded.rule.id === ruleId), runId, options);
    } catch (err) {
      if (!(err instanceof ResumeError)) throw err;
      throw new ControlError(REFUSAL_STATUS[err.code], err.code, err.message, { ...err.details }, { cause: err });
    }
  }
}

/** How far back the daemon resumes runs of a rule by itself (ms), or null when it does not. */
function autoResumeWindow(loaded: LoadedRule): number | null {
  if (loaded.rule.enabled === false) return null;
  const resume = resumeOf(loaded.rule);
  return resume.auto ? parseDuration(resume.within) : null;
}

/** Whether a resume starting from `ledger` has a target the message never left for. */
function someLeftToSend(ledger: ResumedLedger): boolean {
  for (const targets of ledger.values()) for (const target of targets.values()) if (resumeDecision(target, false) === 'send') return true;
  return false;
}
