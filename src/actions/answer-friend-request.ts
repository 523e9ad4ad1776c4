/**
 * `answerFriendRequest`: accepts or rejects one friend request through the bridge
 * (UpdateContactsApply by default; PROTOCOL.md's last section: unverified, so the
 * ApiName, path and ops come from the config's `friendRequests`). Rejecting needs a
 * configured `rejectOp`: without one the step fails and says so. While the config's
 * `friendRequests.act` is off, the answer is recorded and nothing is sent.
 */
import { localStep, outcomeOfCall, worldCall } from './shared';
import type { ActionCall, ActionHandler } from './types';
import type { ActionKind } from '../rules/types';
import type { CallResult } from '../engine/bridge-call';
import type { RunContext } from '../engine/run-context';

export const runAnswerFriendRequest: ActionHandler<'answerFriendRequest'> = async (call) => {
  const { run, options } = call;
  let uid = '';
  let accept = false;
  const prepared = await localStepOrValue(call, () => {
    uid = run.text(options.uid);
    accept = run.flag(options.accept);
  });
  if (prepared) return prepared;
  if (!run.deps.config.friendRequests.act) {
    return localStep(call, { uid, accept }, () => ({
      status: 'skipped',
      answer: { uid, accept, answered: false },
      note: 'friendRequests.act is off in the config: recorded, not sent to the bridge',
    }));
  }
  const result = await answerRequest(call, uid, accept);
  return outcomeOfCall(result, result.status === 'failed' ? undefined : { uid, accept, answered: result.status === 'ok' });
};

/** One UpdateContactsApply call for `uid`, with the config's ApiName, path and ops. */
export function answerRequest<K extends ActionKind>(call: ActionCall<K>, uid: string, accept: boolean): Promise<CallResult<Record<string, unknown>>> {
  const run: RunContext = call.run;
  const friendRequests = run.deps.config.friendRequests;
  return worldCall(call, {
    target: `friend:${uid}`,
    input: { uid, accept },
    message: false,
    call: (onPrepared) =>
      run.api.answerFriendRequest(uid, accept, {
        apiName: friendRequests.apiName,
        path: friendRequests.path,
        acceptOp: friendRequests.acceptOp,
        ...(friendRequests.rejectOp !== undefined && { rejectOp: friendRequests.rejectOp }),
        onPrepared,
      }),
  });
}

/** Runs input preparation; a throw becomes a failed step and outcome. */
async function localStepOrValue<K extends ActionKind>(call: ActionCall<K>, prepare: () => void) {
  try {
    prepare();
    return undefined;
  } catch (err) {
    return localStep(call, call.options, () => {
      throw err;
    });
  }
}
