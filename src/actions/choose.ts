/**
 * `choose`: if / else. The step records which branch ran and each condition's result;
 * the branch's actions follow as steps of their own (`actions/3/then/0`, ...). A failure
 * inside the branch that stopped it makes the choose fail, so its own `onError` decides.
 */
import { flattenConditionResults } from '../engine/conditions';
import { toStoredError } from '../store/json';
import { beginStep } from './shared';
import type { ActionHandler } from './types';

export const runChoose: ActionHandler<'choose'> = async (call) => {
  const { run, options, path, staticPath } = call;
  const step = beginStep(call, { if: options.if });
  const outcome = run.evaluateConditions(`${staticPath}/choose/if`);
  const branch = outcome.error ? undefined : outcome.passed ? 'then' : options.else ? 'else' : undefined;
  const answer = { branch: branch ?? null, conditions: flattenConditionResults(outcome.results) };
  if (outcome.error) {
    step.finish({ status: 'failed', answer, error: outcome.error, note: 'a condition could not be evaluated' });
    return { status: 'failed', error: outcome.error };
  }
  step.finish({ status: 'ok', answer, note: branch ? `ran ${branch}` : 'condition false and no else: nothing to run' });
  if (!branch) return { status: 'ok', result: { branch: null } };

  const actions = branch === 'then' ? options.then : (options.else ?? []);
  try {
    const list = await run.runActions(actions, `${path}/${branch}`, `${staticPath}/${branch}`);
    const result = { branch };
    if (list.failed) return { status: 'failed', error: list.failed, result, ...(list.stop && { stop: list.stop }) };
    return { status: list.partial ? 'partial' : run.dryRun ? 'dry-run' : 'ok', result, ...(list.stop && { stop: list.stop }) };
  } catch (err) {
    return { status: 'failed', error: toStoredError(err) };
  }
};
