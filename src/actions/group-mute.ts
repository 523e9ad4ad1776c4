/**
 * `groupMute`: whole-group mute on or off (GroupUpdate op 11), then the chatType 50
 * announcement (the seed's texts unless the rule gives its own; `announce: false` sends
 * none). Reconciled against getGroups' `bfShutup`: a
 * group already in the wanted state is skipped, so running the rule again (after a
 * restart, on every tick of a window) never acts twice. Window bookkeeping (when a
 * window last changed, what to reconcile after downtime) lives with the window trigger.
 *
 * A busy answer to the update does not prove the bridge did nothing, but a mute can be
 * checked (PROTOCOL.md, gap 9): the group's `bfShutup` is read again, and the update is
 * sent again only when the group is still in the old state. Without this, one busy
 * answer at a window's edge would leave the group in the wrong state until the next
 * edge or reconnect.
 */
import { BridgeError } from '../protocol/errors';
import { BUSY_ERROR_CODE } from '../protocol/wire';
import { RunInterruptedError } from '../engine/run-context';
import { resolveGroupTargets, type ResolvedTarget } from '../engine/targets';
import { toStoredError } from '../store/json';
import { beginStep, foldTargets, isOutcome, recordUnknownTargets, resolveInStep, sendMessage, sourcesOf, targetResult, worldCall, type TargetResult } from './shared';
import type { ActionCall, ActionHandler } from './types';

const SHUTUP_CHANGED = 50;

/** Updates sent to one group at most while the bridge answers busy and the group stays unchanged. */
export const MUTE_UPDATE_ATTEMPTS = 3;

/** The announcements the seed's examples send, used when a rule gives none. */
export const DEFAULT_MUTE_ANNOUNCEMENTS = { muted: '管理员开了全员禁言', unmuted: '管理员关闭了全员禁言' } as const;

export const runGroupMute: ActionHandler<'groupMute'> = async (call) => {
  const { run, options } = call;
  const resolved = await resolveInStep(call, { groups: options.groups, muted: options.muted }, () =>
    resolveGroupTargets(options.groups, run.compiled.groupPatternAt(call.staticPath), sourcesOf(run)),
  );
  if (isOutcome(resolved)) return resolved;
  const results: TargetResult[] = recordUnknownTargets(call, resolved.unknown);

  for (const target of resolved.targets) {
    await run.withLayer({ target: { id: target.id, chat: target.chat, name: target.name } }, async () => {
      let muted: boolean;
      let announce: string | undefined;
      try {
        muted = run.flag(options.muted);
        const texts = options.announce === false ? undefined : (options.announce ?? DEFAULT_MUTE_ANNOUNCEMENTS);
        announce = texts ? run.render(muted ? texts.muted : texts.unmuted) : undefined;
      } catch (err) {
        const error = toStoredError(err);
        beginStep(call, { target: target.key }, target.key).finish({ status: 'failed', error });
        results.push({ key: target.key, name: target.name, status: 'failed', error });
        return;
      }
      if (target.group?.muted === muted) {
        beginStep(call, { muted }, target.key).finish({ status: 'skipped', note: `already ${muted ? 'muted' : 'unmuted'}: nothing to change` });
        results.push({ key: target.key, name: target.name, status: 'skipped' });
        return;
      }
      const setMute = () =>
        worldCall(call, {
          target: target.key,
          input: { muted },
          message: false,
          call: (onPrepared) => run.api.setGroupMute(target.id, muted, { onPrepared }),
          answerOf: (change) => change.update,
        });
      let update = await setMute();
      let tookEffect = update.status !== 'failed';
      for (let attempt = 1; !tookEffect && attempt < MUTE_UPDATE_ATTEMPTS && answeredBusy(update); attempt++) {
        const now = await stateAfterBusy(call, target, muted);
        if (now === undefined) break;
        if (now === muted) {
          tookEffect = true;
          break;
        }
        update = await setMute();
        tookEffect = update.status !== 'failed';
      }
      // Found in place after a busy answer: the bridge did act on the update.
      results.push(tookEffect && update.status === 'failed' ? { key: target.key, name: target.name, status: 'ok' } : targetResult(target, update));
      if (!tookEffect || announce === undefined || announce === '') return;
      const announced = await sendMessage(call, target, announce, { chatType: SHUTUP_CHANGED, bfShutup: muted, input: { announce, chatType: SHUTUP_CHANGED } });
      if (announced.status === 'failed') results.push(targetResult(target, announced));
    });
  }
  return { ...foldTargets(results, run.dryRun), result: { targets: results } };
};

function answeredBusy(result: { status: string; cause?: unknown }): boolean {
  return result.status === 'failed' && result.cause instanceof BridgeError && result.cause.errorCode === BUSY_ERROR_CODE;
}

/**
 * After a busy answer, the group's mute state as getGroups lists it now (a step of its
 * own), or undefined when it cannot be read: then nothing is sent again.
 */
async function stateAfterBusy(call: ActionCall<'groupMute'>, target: ResolvedTarget, muted: boolean): Promise<boolean | undefined> {
  const { run } = call;
  const step = beginStep(call, { check: 'bfShutup after a busy answer', muted }, target.key);
  try {
    const group = (await run.api.getGroups()).find((g) => g.id === target.id);
    if (!group) {
      step.finish({ status: 'failed', error: { code: 'TARGET_UNKNOWN', message: `group ${target.id} is no longer among the bot's groups` } });
      return undefined;
    }
    const note =
      group.muted === muted
        ? `the group is ${muted ? 'muted' : 'unmuted'}: the update took effect despite the busy answer, and is not sent again`
        : `the group is still ${group.muted ? 'muted' : 'unmuted'}: the bridge did not act, so the update is sent again`;
    step.finish({ status: 'ok', answer: { muted: group.muted }, note });
    return group.muted;
  } catch (err) {
    if (err instanceof RunInterruptedError) throw err;
    step.finish({ status: 'failed', error: toStoredError(err), note: 'the group could not be read after the busy answer: the update is not sent again' });
    return undefined;
  }
}
