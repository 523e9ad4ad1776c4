/**
 * `rotateNotice`: applies the next notice of a list to each group, sequentially or
 * shuffled (no immediate repeat). A group that already shows its next notice is
 * skipped; with `verify` (the default) the notice is read back with GroupDetail.
 *
 * Positions are kept per group in the rule's state, under the action's path, so they
 * survive restarts; a group's position advances only when its notice was applied (or
 * found already there), and a dry run leaves every position where it was.
 */
import { toStoredError } from '../store/json';
import { resolveGroupTargets } from '../engine/targets';
import { ActionError, beginStep, foldTargets, isOutcome, readCall, recordUnknownTargets, resolveInStep, sourcesOf, type TargetResult } from './shared';
import { applyNotice } from './set-notice';
import type { ActionHandler } from './types';

/** Index of the notice each group got last, by group id. */
type RotationState = Record<string, number>;

export const runRotateNotice: ActionHandler<'rotateNotice'> = async (call) => {
  const { run, options } = call;
  const stateKey = `rotateNotice:${call.staticPath}`;
  const saved = run.store.ruleState.get(run.rule.id, stateKey);
  const positions: RotationState = saved !== null && typeof saved === 'object' && !Array.isArray(saved) ? { ...(saved as RotationState) } : {};
  const count = options.notices.length;

  const resolved = await resolveInStep(call, { groups: options.groups, notices: count, order: options.order ?? 'sequential' }, () =>
    resolveGroupTargets(options.groups, run.compiled.groupPatternAt(call.staticPath), sourcesOf(run)),
  );
  if (isOutcome(resolved)) return resolved;
  const results: TargetResult[] = recordUnknownTargets(call, resolved.unknown);
  const applied: Array<{ group: string; position: number; notice: string }> = [];

  for (const target of resolved.targets) {
    const last = typeof positions[target.id] === 'number' ? positions[target.id]! : -1;
    const next = nextPosition(options.order ?? 'sequential', last, count, () => run.random());
    await run.withLayer({ target: { id: target.id, chat: target.chat, name: target.name } }, async () => {
      let notice: string;
      try {
        notice = run.render(options.notices[next]!);
      } catch (err) {
        const error = toStoredError(err);
        beginStep(call, { target: target.key, position: next }, target.key).finish({ status: 'failed', error });
        results.push({ key: target.key, name: target.name, status: 'failed', error });
        return;
      }
      if (target.group?.notice === notice) {
        beginStep(call, { notice, position: next }, target.key).finish({ status: 'skipped', note: 'the group already shows its next notice' });
        results.push({ key: target.key, name: target.name, status: 'skipped' });
        positions[target.id] = next;
        applied.push({ group: target.id, position: next, notice });
        return;
      }
      const done = await applyNotice(call, target, notice, options.announce !== false);
      results.push(...done);
      if (done[0]?.status !== 'ok') return;
      positions[target.id] = next;
      applied.push({ group: target.id, position: next, notice });
      if (options.verify === false) return;
      const readBack = await readCall(call, { verify: notice }, () => run.api.groupDetail(target.id), target.key);
      if (readBack.status === 'ok' && readBack.value.notice !== notice) {
        const error = toStoredError(
          new ActionError('NOTICE_NOT_VERIFIED', `group ${target.id} shows ${JSON.stringify(readBack.value.notice)} after the update, not the new notice`),
        );
        beginStep(call, { verify: notice }, target.key).finish({ status: 'failed', error });
        results.push({ key: target.key, name: target.name, status: 'failed', error });
      } else if (readBack.status === 'failed') {
        results.push({ key: target.key, name: target.name, status: 'failed', error: readBack.error });
      }
    });
  }

  if (!run.dryRun && applied.length > 0) run.store.ruleState.set(run.rule.id, stateKey, positions);
  const first = applied[0];
  return {
    ...foldTargets(results, run.dryRun),
    result: { position: first?.position ?? null, notice: first?.notice ?? null, applied, targets: results },
  };
};

/** The next index: the one after `last`, or a random one other than `last`. */
export function nextPosition(order: 'sequential' | 'shuffle', last: number, count: number, random: () => number): number {
  if (count <= 1) return 0;
  if (order === 'sequential') return (last + 1) % count;
  if (last < 0 || last >= count) return Math.floor(random() * count);
  // Draw among the others, so the same notice never comes twice in a row.
  const pick = Math.floor(random() * (count - 1));
  return pick >= last ? pick + 1 : pick;
}
