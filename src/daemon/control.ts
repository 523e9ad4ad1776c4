/**
 * What the daemon does for `/control/run` and `/control/resume` (`rulebot run` and
 * `rulebot resume` while the daemon is up). A run goes through the dispatcher's manual
 * fire, so the rule's concurrency and the shared outbound limit apply as to any other
 * fire; the answer comes once the run has finished.
 */
import { RuleNotLoadedError, type FireOutcome, type TriggerDispatcher } from '../engine/dispatch';
import { compileRuleSchedule, windowTriggerData } from '../engine/rule-schedule';
import type { ControlHandlers, ResumeRequest, RunRequest } from '../ops/control';
import { ControlError } from '../ops/errors';
import type { LoadedRule } from '../rules/load';
import { WindowSchedule } from '../schedule';
import type { Clock } from '../shared/clock';
import { didYouMean } from '../shared/yaml-source';
import type { RunDetail } from '../store/types';
import type { RunResumer } from './resume';
import type { RuleRunner } from './runner';

/** The answer to a control request that ran a rule: the run as the log holds it. */
export interface ControlRunAnswer {
  runId: number;
  run: RunDetail;
}

export interface DaemonControlOptions {
  dispatcher: TriggerDispatcher;
  runner: RuleRunner;
  resumer: RunResumer;
  /** The rules in force now. */
  rules: () => readonly LoadedRule[];
  clock: Clock;
  /** The config's `timezone`, for window rules that name none. */
  defaultTimezone: string;
  /** True once the daemon is stopping: requests are refused with 503. */
  stopping: () => boolean;
}

/** The daemon's control handlers. */
export function createControlHandlers(options: DaemonControlOptions): ControlHandlers {
  const refuseWhileStopping = (): void => {
    if (options.stopping()) throw new ControlError(503, 'DAEMON_STOPPING', 'the daemon is stopping; try again once it is back');
  };

  const findRule = (ruleId: string): LoadedRule => {
    const rules = options.rules();
    const found = rules.find((loaded) => loaded.rule.id === ruleId);
    if (found) return found;
    const hint = didYouMean(ruleId, rules.map((loaded) => loaded.rule.id));
    throw new ControlError(404, 'RULE_NOT_FOUND', `no loaded rule has id "${ruleId}"${hint ? ` (did you mean "${hint}"?)` : ''}`, { rule: ruleId });
  };

  return {
    async run(request: RunRequest): Promise<ControlRunAnswer> {
      refuseWhileStopping();
      const loaded = findRule(request.rule);
      const data = request.event ?? manualTriggerData(loaded, options.defaultTimezone, options.clock.now());
      const trigger = { kind: 'manual' as const, ...(data !== undefined && { data }) };
      if (request.dryRun) {
        // A dry run sends nothing, so neither the rule's concurrency nor the rate limit concerns it.
        const run = await options.runner.run(loaded, trigger, { dryRun: true });
        return { runId: run.id, run };
      }
      let fire: FireOutcome;
      try {
        fire = options.dispatcher.fire(loaded.rule.id, data);
      } catch (err) {
        if (err instanceof RuleNotLoadedError) throw new ControlError(404, 'RULE_NOT_FOUND', err.message, { rule: loaded.rule.id });
        throw err;
      }
      if (fire.outcome === 'skipped') {
        throw new ControlError(409, 'RUN_SKIPPED', `rule ${loaded.rule.id} was not run: ${fire.reason}`, { rule: loaded.rule.id });
      }
      const run = (await fire.done) as RunDetail;
      return { runId: run.id, run };
    },

    async resume(request: ResumeRequest): Promise<ControlRunAnswer> {
      refuseWhileStopping();
      // resendUnknown is the operator's call: the resumed run logs each target it sends to again.
      const { done } = options.resumer.resume(request.run, {
        ...(request.resendUnknown && { resendUnknown: true }),
        ...(request.dryRun && { dryRun: true }),
      });
      const run = await done;
      return { runId: run.id, run };
    },
  };
}

/**
 * What a window rule sees when run by hand without an event: the window's state now,
 * as the scheduler would give it, so `muted: "{{ window.inside }}"` means what it says.
 */
function manualTriggerData(loaded: LoadedRule, defaultTimezone: string, now: number): Record<string, unknown> | undefined {
  if (!('window' in loaded.rule.trigger)) return undefined;
  const compiled = compileRuleSchedule(loaded.rule, defaultTimezone);
  if (!compiled || !(compiled.schedule instanceof WindowSchedule)) return undefined;
  return { ...windowTriggerData(loaded.rule, compiled.schedule, now, 'reconcile') };
}
