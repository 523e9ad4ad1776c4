/**
 * `restart`: restarts the chat app (restartApp or restart68 by edition). The connection
 * is expected to drop; a drop after the frame was written counts as done. Never retried
 * blindly: a second restart could land on an app that is still starting.
 */
import { outcomeOfCall, worldCall } from './shared';
import type { ActionHandler } from './types';

export const runRestart: ActionHandler<'restart'> = async (call) => {
  const { run } = call;
  const result = await worldCall(call, {
    target: 'bridge',
    input: { restart: true },
    message: false,
    call: (onPrepared) => run.api.restart({ onPrepared }),
    answerOf: (restart) => ({ verb: restart.verb, answer: restart.answer ?? null, connectionDropped: restart.connectionDropped }),
  });
  return outcomeOfCall(result, result.status === 'ok' ? { verb: result.value.verb, connectionDropped: result.value.connectionDropped } : undefined);
};
