/**
 * What to do about the slots a rule missed while the daemon was down. Pure: the caller
 * passes the rule's schedule, the last slot recorded for it, the current time and the
 * rule's policy, and gets back the catch-up runs to start and the slots to record as
 * `missed`, each with its reason.
 *
 * The work is bounded whatever the downtime: at most `cap` slots are enumerated for
 * `all`, at most `listLimit` missed slots are listed one by one, and a longer stretch of
 * missed slots (an every-second rule down for a month) becomes one {@link MissedSpan}
 * with a count — exact for fixed intervals, otherwise estimated past
 * {@link MISSED_COUNT_BUDGET} slots — instead of millions of entries.
 */
import { ScheduleError } from './errors';
import type { Schedule } from './types';

/** `skip`: run none; `latest`: run the newest eligible slot; `all`: run eligible slots up to `cap`. */
export type MisfirePolicyName = 'skip' | 'latest' | 'all';

export const MISFIRE_POLICIES: readonly MisfirePolicyName[] = ['skip', 'latest', 'all'];

export interface MisfirePolicy {
  policy: MisfirePolicyName;
  /** How late a slot may still run, in ms: slots at or after `now - grace` are eligible. */
  grace: number;
  /** The most slots `all` runs; the newest eligible ones are kept. */
  cap: number;
  /** Milliseconds between the catch-up runs of `all`, the first one at `now` (0 runs them back to back). */
  spacing: number;
  /**
   * The most missed slots listed one by one. A longer stretch of slots missed for one
   * reason is summarised as a {@link MissedSpan}.
   * @default 100
   */
  listLimit?: number;
}

/**
 * Why a slot did not run: `policy-skip` (the policy is `skip`), `outside-grace` (older
 * than the grace window), `over-cap` (`all` ran its `cap` newer slots), `superseded`
 * (`latest` ran a newer slot).
 */
export type MissedReason = 'policy-skip' | 'outside-grace' | 'over-cap' | 'superseded';

/** A slot to run late: `slot` is when it was due, `runAt` when to start it. */
export interface CatchUpRun {
  slot: number;
  runAt: number;
}

/** One slot that will not run. */
export interface MissedSlot {
  slot: number;
  reason: MissedReason;
}

/** A stretch of slots missed for one reason, too many to list one by one. */
export interface MissedSpan {
  reason: MissedReason;
  /** The first and last slot of the stretch. */
  first: number;
  last: number;
  count: number;
  /** False when `count` is an estimate (long stretches of a cron schedule). */
  exact: boolean;
}

export interface MisfirePlan {
  /** Catch-up runs, oldest slot first, `spacing` apart from now. */
  toRun: CatchUpRun[];
  /** Missed slots listed one by one, oldest first (at most `listLimit`). */
  missed: MissedSlot[];
  /** Missed stretches summarised instead of listed, oldest first; empty unless a stretch exceeded `listLimit`. */
  missedSpans: MissedSpan[];
}

/** Default of {@link MisfirePolicy.listLimit}. */
export const DEFAULT_MISSED_LIST_LIMIT = 100;

/** Slots enumerated to count a summarised stretch of a cron schedule before estimating the rest. */
export const MISSED_COUNT_BUDGET = 1_000;

/** The last plan made for each schedule, with the inputs it was made from. */
const recentPlans = new WeakMap<Schedule, { key: string; plan: MisfirePlan }>();

/** Plans handed out are copies, so a caller changing one cannot change another's. */
function copyPlan(plan: MisfirePlan): MisfirePlan {
  return {
    toRun: plan.toRun.map((run) => ({ ...run })),
    missed: plan.missed.map((slot) => ({ ...slot })),
    missedSpans: plan.missedSpans.map((span) => ({ ...span })),
  };
}

/** Slots in (after, upTo], all missed for one reason. */
interface MissedStretch {
  reason: MissedReason;
  after: number;
  upTo: number;
}

function checkPolicy(policy: MisfirePolicy): number {
  if (!MISFIRE_POLICIES.includes(policy.policy)) {
    throw new ScheduleError('misfire', policy.policy, `misfire policy "${String(policy.policy)}" is not one of ${MISFIRE_POLICIES.join(', ')}`);
  }
  const checks: Array<[string, number | undefined, boolean]> = [
    ['grace', policy.grace, false],
    ['cap', policy.cap, true],
    ['spacing', policy.spacing, false],
    ['listLimit', policy.listLimit, true],
  ];
  for (const [name, value, whole] of checks) {
    if (value === undefined && name === 'listLimit') continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (whole && !Number.isInteger(value))) {
      throw new ScheduleError('misfire', value, `misfire ${name} must be ${whole ? 'a whole number' : 'a number of milliseconds'}, 0 or more (got ${String(value)})`);
    }
  }
  return policy.listLimit ?? DEFAULT_MISSED_LIST_LIMIT;
}

/**
 * Decides which missed slots in (lastSlot, now] to run and records why the others do not.
 * A rule with no recorded slot (`lastSlot` null: never ran, or new) has missed nothing.
 * Throws ScheduleError (SCHEDULE_INVALID) for a malformed policy.
 */
export function planMisfires(schedule: Schedule, lastSlot: number | null, now: number, policy: MisfirePolicy): MisfirePlan {
  const listLimit = checkPolicy(policy);
  if (lastSlot === null || lastSlot >= now) return { toRun: [], missed: [], missedSpans: [] };
  // After a restart, the rules sharing a schedule usually share the last slot too: plan once.
  const key = `${lastSlot}|${now}|${policy.policy}|${policy.grace}|${policy.cap}|${policy.spacing}|${listLimit}`;
  const recent = recentPlans.get(schedule);
  if (recent?.key === key) return copyPlan(recent.plan);
  const plan = computePlan(schedule, lastSlot, now, policy, listLimit);
  recentPlans.set(schedule, { key, plan: copyPlan(plan) });
  return plan;
}

function computePlan(schedule: Schedule, lastSlot: number, now: number, policy: MisfirePolicy, listLimit: number): MisfirePlan {
  const plan: MisfirePlan = { toRun: [], missed: [], missedSpans: [] };

  // Eligible slots are those in (eligibleAfter, now]: not older than the grace window.
  const eligibleAfter = Math.max(lastSlot, now - policy.grace - 1);
  const stretches: MissedStretch[] = [];
  if (policy.policy === 'skip') {
    stretches.push({ reason: 'policy-skip', after: lastSlot, upTo: now });
  } else {
    stretches.push({ reason: 'outside-grace', after: lastSlot, upTo: eligibleAfter });
    if (policy.policy === 'latest') {
      const newest = schedule.previousAtOrBefore(now);
      if (newest !== null && newest > eligibleAfter) {
        plan.toRun.push({ slot: newest, runAt: now });
        stretches.push({ reason: 'superseded', after: eligibleAfter, upTo: newest - 1 });
      }
    } else {
      // Walk back from now: the newest `cap` eligible slots run, without enumerating older ones.
      const chosen: number[] = [];
      let cursor = now;
      while (chosen.length < policy.cap) {
        const slot = schedule.previousAtOrBefore(cursor);
        if (slot === null || slot <= eligibleAfter) break;
        chosen.push(slot);
        cursor = slot - 1;
      }
      chosen.reverse();
      plan.toRun = chosen.map((slot, index) => ({ slot, runAt: now + index * policy.spacing }));
      const oldestRun = chosen[0] ?? now + 1;
      stretches.push({ reason: 'over-cap', after: eligibleAfter, upTo: oldestRun - 1 });
    }
  }
  listMissed(schedule, stretches, listLimit, plan);
  return plan;
}

/**
 * Lists each stretch's slots one by one while they fit in the budget, newest stretch
 * first (the most recent misses matter most), else summarises the stretch as a span.
 */
function listMissed(schedule: Schedule, stretches: MissedStretch[], listLimit: number, plan: MisfirePlan): void {
  let budget = listLimit;
  const listed: MissedSlot[][] = [];
  const spans: MissedSpan[] = [];
  for (let i = stretches.length - 1; i >= 0; i--) {
    const { reason, after, upTo } = stretches[i]!;
    if (upTo <= after) continue;
    const slots = schedule.slotsBetween(after, upTo, budget + 1);
    if (slots.length === 0) continue;
    if (slots.length <= budget) {
      budget -= slots.length;
      listed.unshift(slots.map((slot) => ({ slot, reason })));
      continue;
    }
    const { count, exact } = schedule.countBetween(after, upTo, MISSED_COUNT_BUDGET);
    const last = schedule.previousAtOrBefore(upTo) ?? slots[slots.length - 1]!;
    spans.unshift({ reason, first: slots[0]!, last, count, exact });
  }
  plan.missed = listed.flat();
  plan.missedSpans = spans;
}
