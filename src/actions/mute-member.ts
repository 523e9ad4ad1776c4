/**
 * `muteMember`: mutes one member of a group for a duration (GroupMemberShutup), then
 * sends the announcement when the rule gives one.
 *
 * Left alone, each for a reason the trace names: the config's allowlist, the rule's
 * `exempt.uids`, the group's host and its admins (each can be turned off in `exempt`),
 * and always the bot itself (member-exemption.ts). A member this rule has already muted,
 * and whose mute has not run out, is not muted again (mute-memory.ts): a flood gives
 * one mute, not one per message. The checks are a step of their own, written before
 * the mute's frame.
 */
import { MAX_MEMBER_MUTE } from '../rules/schema';
import { parseDuration } from '../shared/duration';
import { toStoredError } from '../store/json';
import { RunInterruptedError } from '../engine/run-context';
import { targetKey } from '../engine/targets';
import { exemptionOf } from './member-exemption';
import { claimMute, rememberedMute, releaseMute, type RememberedMute } from './mute-memory';
import { ActionError, beginStep, foldTargets, outcomeOfCall, sendMessage, targetResult, worldCall } from './shared';
import type { ActionHandler } from './types';

const MAX_MUTE_SECONDS = parseDuration(MAX_MEMBER_MUTE) / 1000;

export const runMuteMember: ActionHandler<'muteMember'> = async (call) => {
  const { run, options } = call;
  let group: string;
  let uid: string;
  let exemptUids: string[];
  try {
    group = run.text(options.group);
    uid = run.text(options.uid);
    exemptUids = (options.exempt?.uids ?? []).map((id) => run.text(id));
  } catch (err) {
    const error = toStoredError(err);
    beginStep(call, { group: options.group, uid: options.uid, for: options.for }).finish({ status: 'failed', error, note: 'nothing was muted' });
    return { status: 'failed', error };
  }
  const check = beginStep(call, { group, uid, for: options.for });
  const already = (mute: RememberedMute) => {
    const result = { group, uid, muted: false, alreadyMuted: { at: new Date(mute.at).toISOString(), until: new Date(mute.until).toISOString(), runId: mute.runId } };
    check.finish({ status: 'skipped', answer: result, note: `not muted again: this rule muted ${uid} in run ${mute.runId}, until ${result.alreadyMuted.until}` });
    return { status: 'ok' as const, result };
  };

  let seconds: number;
  let exemptBecause: string | undefined;
  let groupName = '';
  try {
    seconds = Math.round(parseDuration(options.for) / 1000);
    if (seconds < 1 || seconds > MAX_MUTE_SECONDS) {
      throw new ActionError('ACTION_INPUT_INVALID', `a member mute lasts from 1s to ${MAX_MEMBER_MUTE}; ${String(options.for)} is not in that range`);
    }
    // Before any read: the messages of a flood after the first mute cost nothing.
    const remembered = rememberedMute(run.store, run.rule.id, group, uid, run.now());
    if (remembered) return already(remembered);
    const groups = await run.api.getGroups();
    const found = groups.find((g) => g.id === group);
    if (!found) throw new ActionError('TARGET_UNKNOWN', `group ${group} is not among the bot's ${groups.length} groups (getGroups)`, { target: targetKey('group', group) });
    groupName = found.name;
    exemptBecause = await exemptionOf({
      uid,
      group: found,
      allowlist: run.deps.config.allowlist,
      options: { host: options.exempt?.host !== false, admins: options.exempt?.admins !== false, uids: exemptUids },
      api: run.api,
    });
  } catch (err) {
    if (err instanceof RunInterruptedError) throw err;
    const error = toStoredError(err);
    check.finish({ status: 'failed', error, note: 'nothing was muted' });
    return { status: 'failed', error };
  }
  if (exemptBecause !== undefined) {
    check.finish({ status: 'skipped', answer: { group, uid, exempt: exemptBecause }, note: `not muted: ${uid} is ${exemptBecause}` });
    return { status: 'ok', result: { group, uid, muted: false, exempt: exemptBecause } };
  }
  if (!run.dryRun) {
    // Claimed before the frame: a run of the same rule that got here meanwhile wins.
    const now = run.now();
    const claimed = claimMute(run.store, run.rule.id, group, uid, { at: now, until: now + seconds * 1000, runId: run.runId });
    if (claimed) return already(claimed);
  }
  check.finish({ status: 'ok', answer: { group, uid, seconds, exempt: false } });

  const target = { chat: 'group' as const, id: group, key: targetKey('group', group), name: groupName };
  const muted = await worldCall(call, {
    target: target.key,
    input: { uid, seconds },
    message: false,
    call: (onPrepared) => run.api.muteMember(group, uid, seconds, { onPrepared }),
  });
  // A frame that never reached the bridge muted nobody: the next offence may try again.
  if (muted.status === 'failed' && !muted.mightHaveActed) releaseMute(run.store, run.rule.id, group, uid, run.runId);
  if (muted.status === 'failed' || options.announce === undefined) {
    return outcomeOfCall(muted, muted.status === 'failed' ? undefined : { group, uid, seconds, muted: muted.status === 'ok' });
  }
  let announce: string;
  try {
    announce = run.render(options.announce);
  } catch (err) {
    const error = toStoredError(err);
    beginStep(call, { announce: options.announce }, target.key).finish({ status: 'failed', error });
    return { status: 'partial', error, result: { group, uid, seconds, muted: true } };
  }
  const announced = await sendMessage(call, target, announce, { input: { announce } });
  const folded = foldTargets([targetResult(target, muted), targetResult(target, announced)], run.dryRun);
  return { ...folded, result: { group, uid, seconds, muted: muted.status === 'ok' } };
};
