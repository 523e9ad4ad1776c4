/**
 * `stop`: ends the run here. `status: ok` (the default) is control flow, not a failure:
 * the run ends as it stands (ok, or partial if something failed before); `status:
 * failed` ends it failed with the reason as its error.
 */
import { localStep } from './shared';
import type { ActionHandler } from './types';

export const runStop: ActionHandler<'stop'> = async (call) => {
  const { run, options } = call;
  const status = options.status ?? 'ok';
  let reason = '';
  const outcome = await localStep(call, { status, ...(options.reason !== undefined && { reason: options.reason }) }, () => {
    reason = options.reason !== undefined ? run.render(options.reason) : `stopped by ${call.path}`;
    return { answer: { status, reason } };
  });
  if (outcome.status === 'failed') return outcome;
  return { status: 'ok', result: { status, reason }, stop: { status, reason } };
};
