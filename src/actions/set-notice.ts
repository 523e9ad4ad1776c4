/**
 * `setNotice`: sets each group's notice (GroupUpdate op 12) and, unless `announce` is
 * false, announces it with a chatType 8 message once the update went through. The
 * announcement is its own step: it is a second frame that changes the world. A group
 * whose notice (as getGroups lists it) already equals the text is left alone.
 */
import { resolveGroupTargets } from '../engine/targets';
import { toStoredError } from '../store/json';
import { beginStep, foldTargets, isOutcome, recordUnknownTargets, resolveInStep, sendMessage, sourcesOf, targetResult, worldCall, type TargetResult } from './shared';
import type { ActionCall, ActionHandler } from './types';
import type { ResolvedTarget } from '../engine/targets';
import type { ActionKind } from '../rules/types';

export const NOTICE_CHANGED = 8;

export const runSetNotice: ActionHandler<'setNotice'> = async (call) => {
  const { run, options } = call;
  const resolved = await resolveInStep(call, { groups: options.groups }, () =>
    resolveGroupTargets(options.groups, run.compiled.groupPatternAt(call.staticPath), sourcesOf(run)),
  );
  if (isOutcome(resolved)) return resolved;
  const results: TargetResult[] = recordUnknownTargets(call, resolved.unknown);
  for (const target of resolved.targets) {
    await run.withLayer({ target: { id: target.id, chat: target.chat, name: target.name } }, async () => {
      let notice: string;
      try {
        notice = run.render(options.notice);
      } catch (err) {
        const error = toStoredError(err);
        beginStep(call, { target: target.key }, target.key).finish({ status: 'failed', error });
        results.push({ key: target.key, name: target.name, status: 'failed', error });
        return;
      }
      if (target.group?.notice === notice) {
        beginStep(call, { notice }, target.key).finish({ status: 'skipped', note: 'the group already shows this notice' });
        results.push({ key: target.key, name: target.name, status: 'skipped' });
        return;
      }
      results.push(...(await applyNotice(call, target, notice, options.announce !== false)));
    });
  }
  return { ...foldTargets(results, run.dryRun), result: { targets: results } };
};

/** GroupUpdate op 12, then (when asked and the update went through) the chatType 8 announcement. */
export async function applyNotice<K extends ActionKind>(call: ActionCall<K>, target: ResolvedTarget, notice: string, announce: boolean): Promise<TargetResult[]> {
  const { run } = call;
  const update = await worldCall(call, {
    target: target.key,
    input: { notice },
    message: false,
    call: (onPrepared) => run.api.setNotice(target.id, notice, { announce: false, onPrepared }),
    answerOf: (change) => change.update,
  });
  const results = [targetResult(target, update)];
  if (update.status === 'failed' || !announce) return results;
  const announced = await sendMessage(call, target, notice, { chatType: NOTICE_CHANGED, bfAll: true, input: { announce: notice, chatType: NOTICE_CHANGED } });
  if (announced.status === 'failed') results.push(targetResult(target, announced));
  return results;
}
