/**
 * `rotateNotice`: applies the next notice of a list to each group, in turn
 * (`sequential`) or shuffled (`shuffle`).
 *
 * For each group: the group's current notice is read with GroupDetail; a group that
 * already shows its next notice gets no frame. Otherwise GroupUpdate op 12 sets it, the
 * chatType 8 announcement follows (unless `announce: false`), and with `verify` (the
 * default) GroupDetail is read again: the step says whether the notice took.
 *
 * Positions are kept per group in the rule's state, under the action's path, so they
 * survive restarts: the index of the notice each group got last, and how many rotations
 * it has had (the shuffle's cycle). A group's position advances when its notice was
 * applied — the update answered ok, whether or not the read-back matched (a read-back
 * that does not match fails its step, and the action ends `partial`) — or found
 * already there. It stays when the
 * update failed, so the next run tries the same notice; a dry run moves nothing. So
 * four rotations over three notices give 1, 2, 3, 1, skipped groups included.
 *
 * `shuffle` deals every notice once per cycle, in an order drawn from the rule id, the
 * group and the cycle number (deterministic: a restart deals the same order), and never
 * the same notice twice in a row, across cycles too.
 */
import type { GroupDetail } from '../protocol/api';
import { toStoredError } from '../store/json';
import { RunInterruptedError } from '../engine/run-context';
import { resolveGroupTargets, type ResolvedTarget } from '../engine/targets';
import { ActionError, beginStep, foldTargets, isOutcome, readCall, recordUnknownTargets, resolveInStep, sourcesOf, type TargetResult } from './shared';
import { applyNotice } from './set-notice';
import type { ActionCall, ActionHandler } from './types';

/** Index of the notice each group got last, by group id. */
type Positions = Record<string, number>;
/** Rotations each group has had, by group id. */
type Rounds = Record<string, number>;

/** One group's place in its rotation. */
export interface RotationPlace {
  /** Index of the notice applied last; -1 before the first. */
  last: number;
  /** Rotations applied so far. */
  round: number;
  /** What a shuffle's order is drawn from: the rule and the group. */
  seed: string;
}

export const runRotateNotice: ActionHandler<'rotateNotice'> = async (call) => {
  const { run, options } = call;
  const positionsKey = `rotateNotice:${call.staticPath}`;
  const roundsKey = `${positionsKey}/rounds`;
  const positions: Positions = { ...objectState(run.store.ruleState.get(run.rule.id, positionsKey)) };
  const rounds: Rounds = { ...objectState(run.store.ruleState.get(run.rule.id, roundsKey)) };
  const order = options.order ?? 'sequential';
  const count = options.notices.length;

  const resolved = await resolveInStep(call, { groups: options.groups, notices: count, order }, () =>
    resolveGroupTargets(options.groups, run.compiled.groupPatternAt(call.staticPath), sourcesOf(run)),
  );
  if (isOutcome(resolved)) return resolved;
  const results: TargetResult[] = recordUnknownTargets(call, resolved.unknown);
  const applied: Array<{ group: string; position: number; notice: string; skipped?: true; verified?: boolean }> = [];

  for (const target of resolved.targets) {
    const last = typeof positions[target.id] === 'number' ? positions[target.id]! : -1;
    const round = typeof rounds[target.id] === 'number' ? rounds[target.id]! : last + 1;
    const next = nextPosition(order, { last, round, seed: `${run.rule.id}\u0000${target.id}` }, count);
    const advance = (): void => {
      positions[target.id] = next;
      rounds[target.id] = round + 1;
    };
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
      const current = await readCall(call, { current: true, position: next }, () => run.api.groupDetail(target.id), target.key);
      if (current.status === 'failed') {
        results.push({ key: target.key, name: target.name, status: 'failed', error: current.error });
        return;
      }
      if (current.status === 'ok' && current.value.notice === notice) {
        beginStep(call, { notice, position: next }, target.key).finish({ status: 'skipped', note: 'the group already shows its next notice: nothing sent' });
        results.push({ key: target.key, name: target.name, status: 'skipped' });
        advance();
        applied.push({ group: target.id, position: next, notice, skipped: true });
        return;
      }
      const done = await applyNotice(call, target, notice, options.announce !== false);
      results.push(...done);
      if (done[0]?.status !== 'ok') return;
      advance();
      const entry: (typeof applied)[number] = { group: target.id, position: next, notice };
      applied.push(entry);
      if (options.verify === false) return;
      const verified = await verifyNotice(call, target, notice);
      entry.verified = verified.status === 'ok';
      if (verified.status === 'failed') results.push(verified);
    });
  }

  if (!run.dryRun && applied.length > 0) {
    // One transaction: a position never moves without its round.
    run.store.database.transaction(() => {
      run.store.ruleState.set(run.rule.id, positionsKey, positions);
      run.store.ruleState.set(run.rule.id, roundsKey, rounds);
    })();
  }
  const first = applied[0];
  return {
    ...foldTargets(results, run.dryRun),
    result: { position: first?.position ?? null, notice: first?.notice ?? null, applied, targets: results },
  };
};

/** Reads the notice back; the step is `ok` with `verified: true`, or `failed` with what the group shows instead. */
async function verifyNotice(call: ActionCall<'rotateNotice'>, target: ResolvedTarget, notice: string): Promise<TargetResult> {
  const { run } = call;
  const step = beginStep(call, { verify: notice }, target.key);
  let detail: GroupDetail;
  try {
    detail = await run.api.groupDetail(target.id);
  } catch (err) {
    if (err instanceof RunInterruptedError) throw err;
    const error = toStoredError(err);
    step.finish({ status: 'failed', error, answer: { verified: false }, note: 'the notice could not be read back' });
    return { key: target.key, name: target.name, status: 'failed', error };
  }
  if (detail.notice === notice) {
    step.finish({ status: 'ok', answer: { verified: true, notice: detail.notice, noticeId: detail.noticeId }, note: 'verified: the group shows the new notice' });
    return { key: target.key, name: target.name, status: 'ok' };
  }
  const error = toStoredError(
    new ActionError('NOTICE_NOT_VERIFIED', `group ${target.id} shows ${JSON.stringify(detail.notice)} after the update, not the new notice`),
  );
  step.finish({ status: 'failed', error, answer: { verified: false, notice: detail.notice, noticeId: detail.noticeId } });
  return { key: target.key, name: target.name, status: 'failed', error };
}

function objectState(value: unknown): Record<string, number> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, number>) : {};
}

// === Positions ===

/**
 * The index of the next notice. `sequential`: the one after `last`, wrapping. `shuffle`:
 * the `round`-th of the dealt order (see {@link shuffledOrder}), never `last` again.
 */
export function nextPosition(order: 'sequential' | 'shuffle', place: RotationPlace, count: number): number {
  if (count <= 1) return 0;
  // Two notices without a repeat can only alternate.
  if (order === 'sequential' || count === 2) {
    // A list shortened since the last rotation starts over rather than landing mid-way.
    const after = Math.max(place.last, -1) + 1;
    return after >= count ? 0 : after;
  }
  const round = Math.max(0, Math.floor(place.round));
  const dealt = shuffledOrder(count, place.seed, Math.floor(round / count));
  const next = dealt[round % count]!;
  // Only when the list changed length since the last rotation can the deal repeat the last notice.
  return next === place.last ? dealt[(round + 1) % count]! : next;
}

/**
 * The order cycle `cycle` deals `count` notices in: a permutation drawn from `seed` and
 * the cycle, whose first notice is never the previous cycle's last (for 3 or more).
 */
export function shuffledOrder(count: number, seed: string, cycle: number): number[] {
  const dealt = permutation(count, seed, cycle);
  if (count >= 3 && cycle > 0 && dealt[0] === permutation(count, seed, cycle - 1)[count - 1]) {
    // Swapping the first two leaves the last in place, so the next cycle's check still holds.
    [dealt[0], dealt[1]] = [dealt[1]!, dealt[0]!];
  }
  return dealt;
}

/** Fisher–Yates over a small seeded generator (mulberry32 from an FNV-1a hash). */
function permutation(count: number, seed: string, cycle: number): number[] {
  let state = fnv1a(`${seed}\u0000${cycle}`);
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
