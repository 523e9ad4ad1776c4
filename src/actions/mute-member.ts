/**
 * `muteMember`: mutes one member of a group for a duration (GroupMemberShutup), then
 * sends the announcement when the rule gives one. The group's host, its admins and the
 * configured allowlist are exempt (each can be turned off in `exempt`); the check is a
 * step of its own so the trace says why a member was left alone.
 */
import { MAX_MEMBER_MUTE } from '../rules/schema';
import { parseDuration } from '../shared/duration';
import { toStoredError } from '../store/json';
import { RunInterruptedError } from '../engine/run-context';
import { targetKey } from '../engine/targets';
import { ActionError, beginStep, foldTargets, outcomeOfCall, sendMessage, targetResult, worldCall } from './shared';
import type { ActionHandler } from './types';

const MAX_MUTE_SECONDS = parseDuration(MAX_MEMBER_MUTE) / 1000;

export const runMuteMember: ActionHandler<'muteMember'> = async (call) => {
  const { run, options } = call;
  let group: string;
  let uid: string;
  try {
    group = run.text(options.group);
    uid = run.text(options.uid);
  } catch (err) {
    const error = toStoredError(err);
    beginStep(call, { group: options.group, uid: options.uid, for: options.for }).finish({ status: 'failed', error, note: 'nothing was muted' });
    return { status: 'failed', error };
  }
  const check = beginStep(call, { group, uid, for: options.for });
  let seconds: number;
  let exemptBecause: string | undefined;
  let groupName = '';
  try {
    seconds = Math.round(parseDuration(options.for) / 1000);
    if (seconds < 1 || seconds > MAX_MUTE_SECONDS) {
      throw new ActionError('ACTION_INPUT_INVALID', `a member mute lasts from 1s to ${MAX_MEMBER_MUTE}; ${String(options.for)} is not in that range`);
    }
    const groups = await run.api.getGroups();
    const found = groups.find((g) => g.id === group);
    if (!found) throw new ActionError('TARGET_UNKNOWN', `group ${group} is not among the bot's ${groups.length} groups (getGroups)`, { target: targetKey('group', group) });
    groupName = found.name;
    exemptBecause = await exemption(call, uid, found.hostId, group);
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
  check.finish({ status: 'ok', answer: { group, uid, seconds, exempt: false } });

  const target = { chat: 'group' as const, id: group, key: targetKey('group', group), name: groupName };
  const muted = await worldCall(call, {
    target: target.key,
    input: { uid, seconds },
    message: false,
    call: (onPrepared) => run.api.muteMember(group, uid, seconds, { onPrepared }),
  });
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

/** Why `uid` must not be muted in `group`, or undefined when it may be. */
async function exemption(call: Parameters<ActionHandler<'muteMember'>>[0], uid: string, hostId: string, group: string): Promise<string | undefined> {
  const { run, options } = call;
  const exempt = options.exempt ?? {};
  if (run.deps.config.allowlist.includes(uid)) return 'on the allowlist';
  if ((exempt.uids ?? []).map((id) => run.text(id)).includes(uid)) return 'exempt by the rule';
  if (exempt.host !== false && uid === hostId) return 'the group host';
  if (exempt.admins !== false) {
    const members = await run.api.groupMembers(group);
    const member = members.find((m) => m.uid === uid);
    // An admin is listed with type MANAGE and admin rights (the group views hide nothing else).
    const raw = member?.raw as { type?: unknown; right?: Record<string, unknown> } | undefined;
    if (raw && (raw.type === 'MANAGE' || (raw.right !== undefined && Object.values(raw.right).some((v) => v === true)))) return 'a group admin';
  }
  return undefined;
}
