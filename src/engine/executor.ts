/**
 * Runs one rule once: the run row first, then the `when` conditions (recorded, and a
 * false one makes the run `skipped`, not an error), then the actions in order, each
 * execution a step row keyed by its path in the rule. The outcome is one of a closed
 * set: ok, failed, partial, skipped, dry-run, interrupted.
 *
 * Control flow is not failure: a false condition skips, `stop` ends the run as it stands.
 * An action that fails stops the run unless it says `onError: continue`, in which case
 * the run goes on and ends `partial`.
 */
import { ACTION_HANDLERS } from '../actions/registry';
import type { ActionHandler, ActionHandlers } from '../actions/types';
import { actionKind, type Action, type ActionKind, type ActionOf, type Rule } from '../rules/types';
import { RulebotError } from '../shared/errors';
import { toStoredError } from '../store/json';
import type { FinishedRunStatus, RunDetail, StoredError } from '../store/types';
import { compiledRuleOf } from './compile';
import { describeConditionFailure, flattenConditionResults, processRateTracker } from './conditions';
import { createScope, type TriggerInput } from './context';
import { RunContext, RunInterruptedError, type ActionOutcome, type ExecutorDeps, type ListOutcome } from './run-context';
import { resumedLedgerOf } from './resume';
import { StepRecorder } from './steps';
import { traceValue } from './trace-value';

/** Steps one run may write: a guard against a rule that fans out without end. */
export const MAX_STEPS_PER_RUN = 10_000;

/** What the executor needs of a loaded rule (a LoadedRule has these and more). */
export interface RuleToRun {
  rule: Rule;
  /** Content hash of the rule as loaded, kept with each run. */
  hash: string;
}

export interface ExecuteRunOptions {
  loaded: RuleToRun;
  trigger: TriggerInput;
  deps: ExecutorDeps;
  /**
   * Reads still go to the bridge (targets are resolved for real); frames that change
   * the world are built and recorded with step status `dry-run`, never sent.
   */
  dryRun?: boolean;
  /** Aborting ends the run at the next step boundary or wait, as `interrupted`. */
  signal?: AbortSignal;
  /**
   * The run's row, already written `running` by the caller (the scheduler starts the
   * runs of a tick in one transaction); when given, no row is inserted here.
   */
  runId?: number;
  /** The run this one resumes: targets its ledger (or an earlier resume's) shows as sent are not sent again. */
  resumedFrom?: number;
  /** With `resumedFrom`: send again to targets whose delivery is unknown (they may get it twice). @default false */
  resendUnknown?: boolean;
}

/** A failure of the executor itself, with a stable code. */
export class ExecutorError extends RulebotError {}

/**
 * Runs `loaded.rule` once and returns the finished run with its steps and ledger, as
 * the store holds it. Throws only when the store itself cannot be written.
 */
export async function executeRun(options: ExecuteRunOptions): Promise<RunDetail> {
  const { loaded, trigger, deps } = options;
  const rule = loaded.rule;
  const dryRun = options.dryRun === true;
  const store = deps.store;
  const runId = options.runId ?? store.startRun({
    ruleId: rule.id,
    ruleHash: loaded.hash,
    triggerKind: trigger.kind,
    triggerData: trigger.data === undefined ? undefined : traceValue(trigger.data),
    slot: trigger.slot ?? null,
    resumedFrom: options.resumedFrom ?? null,
  });
  const log = deps.logger.child({ rule: rule.id, runId });
  const steps = new StepRecorder(store, runId);
  const finish = (status: FinishedRunStatus, extra: { error?: StoredError | null; reason?: string | null; conditions?: ReturnType<typeof flattenConditionResults> | null } = {}): RunDetail => {
    store.finishRun(runId, { status, error: extra.error ?? null, reason: extra.reason ?? null, conditions: extra.conditions ?? null });
    const detail = store.getRun(runId);
    if (!detail) throw new ExecutorError('RUN_LOST', `run ${runId} vanished from the execution log`);
    log.info({ status, durationMs: detail.durationMs, steps: detail.steps.length, ...(extra.reason && { reason: extra.reason }) }, 'run finished');
    return detail;
  };

  let conditions: ReturnType<typeof flattenConditionResults> | null = null;
  try {
    const compiled = compiledRuleOf(rule);
    const run = new RunContext({
      runId,
      rule,
      compiled,
      scope: createScope(rule, trigger),
      timezone: rule.timezone ?? deps.config.timezone,
      dryRun,
      deps,
      steps,
      log,
      rates: deps.rates ?? processRateTracker,
      signal: options.signal,
      resumedLedger: options.resumedFrom !== undefined ? resumedLedgerOf(store, options.resumedFrom, { exclude: runId }) : undefined,
      resumedFrom: options.resumedFrom,
      resendUnknown: options.resendUnknown === true,
    });
    run.bindActionRunner((actions, prefix, staticPrefix, suffix) => runActionList(run, actions, prefix, staticPrefix, suffix ?? ''));
    log.info({ trigger: trigger.kind, dryRun }, 'run started');

    if (rule.vars) Object.assign(run.scope.vars, run.renderDeep(rule.vars));

    const when = run.evaluateConditions('when');
    if (compiled.when.size > 0) conditions = flattenConditionResults(when.results);
    if (when.error) return finish('failed', { error: when.error, reason: describeConditionFailure(when), conditions });
    if (!when.passed) return finish('skipped', { reason: describeConditionFailure(when), conditions });

    const list = await run.runActions(rule.actions, 'actions', 'actions');
    if (list.stop?.status === 'failed') {
      return finish('failed', { error: { code: 'RULE_STOPPED', message: list.stop.reason }, reason: list.stop.reason, conditions });
    }
    if (list.failed) return finish('failed', { error: list.failed, conditions, ...(list.stop && { reason: list.stop.reason }) });
    const status: FinishedRunStatus = list.partial ? 'partial' : dryRun ? 'dry-run' : 'ok';
    return finish(status, { conditions, ...(list.stop && { reason: list.stop.reason }) });
  } catch (err) {
    if (err instanceof RunInterruptedError) {
      steps.finishOpen((step) => ({ status: 'interrupted', ...(step.frameRecorded && { delivery: 'unknown' as const }), note: err.message }));
      return finish('interrupted', { error: toStoredError(err), conditions });
    }
    const error = toStoredError(err);
    steps.finishOpen((step) => ({ status: 'failed', error, ...(step.frameRecorded && { delivery: 'unknown' as const }) }));
    log.error({ err }, 'run failed');
    return finish('failed', { error, conditions });
  }
}

// === Action lists ===

async function runActionList(run: RunContext, actions: readonly Action[], prefix: string, staticPrefix: string, suffix: string): Promise<ListOutcome> {
  let partial = false;
  for (const [index, action] of actions.entries()) {
    run.throwIfAborted();
    if (run.steps.count >= MAX_STEPS_PER_RUN) {
      throw new ExecutorError('RUN_TOO_LONG', `the run wrote ${MAX_STEPS_PER_RUN} steps and was stopped; check forEach lists and nested actions`);
    }
    const path = `${prefix}/${index}${suffix}`;
    const staticPath = `${staticPrefix}/${index}`;
    const kind = actionKind(action);

    const outcome = await runOneAction(run, action, kind, path, staticPath);
    if (action.id !== undefined) run.scope.steps[action.id] = outcome.result ?? null;
    if (outcome.status === 'partial') partial = true;
    if (outcome.status === 'failed') {
      const error = outcome.error ?? { code: 'ACTION_FAILED', message: `${path} (${kind}) failed` };
      if ((action.onError ?? 'stop') === 'continue') {
        run.log.warn({ path, kind, err: error }, 'action failed; continuing (onError: continue)');
        partial = true;
      } else {
        return { failed: error, partial, ...(outcome.stop && { stop: outcome.stop }) };
      }
    }
    if (outcome.stop) return { partial, stop: outcome.stop };
  }
  return { partial };
}

async function runOneAction(run: RunContext, action: Action, kind: ActionKind, path: string, staticPath: string): Promise<ActionOutcome> {
  if (action.if !== undefined) {
    const gate = run.evaluateConditions(`${staticPath}/if`);
    if (!gate.passed) {
      const step = run.steps.begin({ path, kind, input: { if: action.if } });
      const answer = { conditions: flattenConditionResults(gate.results) };
      if (gate.error) {
        step.finish({ status: 'failed', answer, error: gate.error, note: describeConditionFailure(gate) });
        return { status: 'failed', error: gate.error };
      }
      step.finish({ status: 'skipped', answer, note: `if: ${describeConditionFailure(gate)}` });
      return { status: 'skipped', result: null };
    }
  }
  try {
    return await dispatch(run, action as ActionOf<typeof kind>, kind, path, staticPath);
  } catch (err) {
    if (err instanceof RunInterruptedError) throw err;
    // A handler that threw half-way: its open step fails with the error it threw.
    const error = toStoredError(err);
    run.steps.finishOpen((step) => ({ status: 'failed', error, ...(step.frameRecorded && { delivery: 'unknown' as const }) }));
    return { status: 'failed', error };
  }
}

function dispatch<K extends ActionKind>(run: RunContext, action: ActionOf<K>, kind: K, path: string, staticPath: string): Promise<ActionOutcome> {
  const handler = (ACTION_HANDLERS as ActionHandlers)[kind] as ActionHandler<K>;
  const options = (action as unknown as Record<K, ActionOf<K>[K]>)[kind];
  return handler({ kind, action, options, path, staticPath, run });
}
