/**
 * `groupMute`: whole-group mute on or off (GroupUpdate op 11), then the chatType 50
 * announcement (the seed's texts unless the rule gives its own; `announce: false` sends
 * none). Reconciled against getGroups' `bfShutup`: a
 * group already in the wanted state is skipped, so running the rule again (after a
 * restart, on every tick of a window) never acts twice. Window bookkeeping (when a
 * window last changed, what to reconcile after downtime) lives with the window trigger.
 */
import { resolveGroupTargets } from '../engine/targets';
import { toStoredError } from '../store/json';
import { beginStep, foldTargets, isOutcome, recordUnknownTargets, resolveInStep, sendMessage, sourcesOf, targetResult, worldCall, type TargetResult } from './shared';
import type { ActionHandler } from './types';

const SHUTUP_CHANGED = 50;

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
      const update = await worldCall(call, {
        target: target.key,
        input: { muted },
        message: false,
        call: (onPrepared) => run.api.setGroupMute(target.id, muted, { onPrepared }),
        answerOf: (change) => change.update,
      });
      results.push(targetResult(target, update));
      if (update.status === 'failed' || announce === undefined || announce === '') return;
      const announced = await sendMessage(call, target, announce, { chatType: SHUTUP_CHANGED, bfShutup: muted, input: { announce, chatType: SHUTUP_CHANGED } });
      if (announced.status === 'failed') results.push(targetResult(target, announced));
    });
  }
  return { ...foldTargets(results, run.dryRun), result: { targets: results } };
};
