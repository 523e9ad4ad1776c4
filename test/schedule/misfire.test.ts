import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSchedule, planMisfires, ScheduleError, type MisfirePolicy, type MissedSlot } from '../../src/schedule';

const at = (iso: string): number => Date.parse(iso);
const SECOND = 1_000;
const MINUTE = 60_000;
const DAY = 86_400_000;

const everyMinute = compileSchedule({ every: MINUTE });
const now = at('2026-03-06T10:00:00Z');
const lastSlot = at('2026-03-06T09:50:00Z'); // 09:51 … 10:00 were missed: 10 slots

function missed(fromIso: string, toIso: string, reason: MissedSlot['reason']): MissedSlot[] {
  return everyMinute.slotsBetween(at(fromIso) - 1, at(toIso), 1_000).map((slot) => ({ slot, reason }));
}

function policy(overrides: Partial<MisfirePolicy>): MisfirePolicy {
  return { policy: 'latest', grace: 5 * MINUTE, cap: 3, spacing: 10 * SECOND, ...overrides };
}

describe('misfire policies', () => {
  it('skip runs nothing and records every missed slot as skipped by policy', () => {
    const plan = planMisfires(everyMinute, lastSlot, now, policy({ policy: 'skip' }));
    assert.deepEqual(plan.toRun, []);
    assert.deepEqual(plan.missed, missed('2026-03-06T09:51:00Z', '2026-03-06T10:00:00Z', 'policy-skip'));
    assert.deepEqual(plan.missedSpans, []);
  });

  it('latest runs only the newest slot within grace; older eligible ones are superseded', () => {
    const plan = planMisfires(everyMinute, lastSlot, now, policy({ policy: 'latest' }));
    assert.deepEqual(plan.toRun, [{ slot: now, runAt: now }]);
    assert.deepEqual(plan.missed, [
      ...missed('2026-03-06T09:51:00Z', '2026-03-06T09:54:00Z', 'outside-grace'),
      ...missed('2026-03-06T09:55:00Z', '2026-03-06T09:59:00Z', 'superseded'),
    ]);
  });

  it('latest runs nothing when even the newest slot is older than the grace window', () => {
    const plan = planMisfires(everyMinute, lastSlot, at('2026-03-06T10:00:30Z'), policy({ policy: 'latest', grace: 10 * SECOND }));
    assert.deepEqual(plan.toRun, []);
    assert.deepEqual(plan.missed, missed('2026-03-06T09:51:00Z', '2026-03-06T10:00:00Z', 'outside-grace'));
  });

  it('all runs the newest eligible slots up to the cap, spaced apart from now, never in a burst', () => {
    const plan = planMisfires(everyMinute, lastSlot, now, policy({ policy: 'all', cap: 3, spacing: 10 * SECOND }));
    assert.deepEqual(plan.toRun, [
      { slot: at('2026-03-06T09:58:00Z'), runAt: now },
      { slot: at('2026-03-06T09:59:00Z'), runAt: now + 10 * SECOND },
      { slot: at('2026-03-06T10:00:00Z'), runAt: now + 20 * SECOND },
    ]);
    assert.deepEqual(plan.missed, [
      ...missed('2026-03-06T09:51:00Z', '2026-03-06T09:54:00Z', 'outside-grace'),
      ...missed('2026-03-06T09:55:00Z', '2026-03-06T09:57:00Z', 'over-cap'),
    ]);
  });

  it('all under its cap runs every slot within grace, oldest first', () => {
    const plan = planMisfires(everyMinute, lastSlot, now, policy({ policy: 'all', grace: DAY, cap: 50, spacing: SECOND }));
    assert.equal(plan.toRun.length, 10);
    assert.equal(plan.toRun[0]!.slot, at('2026-03-06T09:51:00Z'));
    assert.equal(plan.toRun[9]!.runAt, now + 9 * SECOND);
    assert.deepEqual(plan.missed, []);
  });

  it('the grace window includes its boundary', () => {
    const plan = planMisfires(everyMinute, lastSlot, now, policy({ policy: 'all', grace: 2 * MINUTE, cap: 10, spacing: 0 }));
    assert.deepEqual(
      plan.toRun.map((run) => run.slot),
      [at('2026-03-06T09:58:00Z'), at('2026-03-06T09:59:00Z'), now],
    );
  });

  it('nothing is missed without a recorded slot, or when the last slot is not in the past', () => {
    const empty = { toRun: [], missed: [], missedSpans: [] };
    assert.deepEqual(planMisfires(everyMinute, null, now, policy({})), empty);
    assert.deepEqual(planMisfires(everyMinute, now, now, policy({})), empty);
  });

  it('works on cron slots: a daily 09:00 down for three days runs today only', () => {
    const daily = compileSchedule({ cron: '0 9 * * *', timezone: 'Asia/Shanghai' });
    const plan = planMisfires(daily, at('2026-03-03T01:00:00Z'), at('2026-03-06T01:30:00Z'), policy({ policy: 'latest', grace: 3_600_000 }));
    assert.deepEqual(plan.toRun, [{ slot: at('2026-03-06T01:00:00Z'), runAt: at('2026-03-06T01:30:00Z') }]);
    assert.deepEqual(plan.missed, [
      { slot: at('2026-03-04T01:00:00Z'), reason: 'outside-grace' },
      { slot: at('2026-03-05T01:00:00Z'), reason: 'outside-grace' },
    ]);
  });

  it('rules sharing a schedule and last slot get equal plans, each their own copy', () => {
    const first = planMisfires(everyMinute, lastSlot, now, policy({ policy: 'all' }));
    first.toRun.pop();
    first.missed[0]!.reason = 'superseded';
    const second = planMisfires(everyMinute, lastSlot, now, policy({ policy: 'all' }));
    assert.equal(second.toRun.length, 3);
    assert.equal(second.missed[0]!.reason, 'outside-grace');
  });

  it('rejects a malformed policy', () => {
    assert.throws(() => planMisfires(everyMinute, lastSlot, now, policy({ policy: 'some' as 'all' })), ScheduleError);
    assert.throws(() => planMisfires(everyMinute, lastSlot, now, policy({ grace: -1 })), /grace must be/);
    assert.throws(() => planMisfires(everyMinute, lastSlot, now, policy({ cap: 1.5 })), /cap must be a whole number/);
    assert.throws(() => planMisfires(everyMinute, lastSlot, now, policy({ spacing: Number.NaN })), /spacing must be/);
  });
});

describe('misfires after huge downtime stay bounded', () => {
  const monthAgo = now - 30 * DAY;

  it('an every-second rule down for a month: counted exactly, summarised as spans', () => {
    const everySecond = compileSchedule({ every: SECOND });
    const plan = planMisfires(everySecond, monthAgo, now, policy({ policy: 'latest', grace: 15 * MINUTE, listLimit: 100 }));
    assert.deepEqual(plan.toRun, [{ slot: now, runAt: now }]);
    assert.deepEqual(plan.missed, []);
    assert.deepEqual(plan.missedSpans, [
      { reason: 'outside-grace', first: monthAgo + SECOND, last: now - 15 * MINUTE - SECOND, count: 30 * 86_400 - 901, exact: true },
      { reason: 'superseded', first: now - 15 * MINUTE, last: now - SECOND, count: 900, exact: true },
    ]);
  });

  it('an every-second cron down for a month: the count of a long stretch is an estimate', () => {
    const everySecondCron = compileSchedule({ cron: '* * * * * *', timezone: 'Europe/Berlin' });
    const plan = planMisfires(everySecondCron, monthAgo, now, policy({ policy: 'all', grace: 15 * MINUTE, cap: 5, spacing: SECOND }));
    assert.deepEqual(
      plan.toRun.map((run) => run.slot),
      [now - 4 * SECOND, now - 3 * SECOND, now - 2 * SECOND, now - SECOND, now],
    );
    assert.deepEqual(
      plan.missedSpans.map(({ reason, exact }) => ({ reason, exact })),
      [
        { reason: 'outside-grace', exact: false },
        { reason: 'over-cap', exact: true },
      ],
    );
    const outside = plan.missedSpans[0]!;
    assert.equal(outside.first, monthAgo + SECOND);
    assert.equal(outside.last, now - 15 * MINUTE - SECOND);
    const exactCount = 30 * 86_400 - 901;
    assert.ok(Math.abs(outside.count - exactCount) / exactCount < 0.001, `estimate ${outside.count} is close to ${exactCount}`);
    assert.equal(plan.missedSpans[1]!.count, 901 - 5);
  });

  it('individual listing shares one budget, newest stretch first', () => {
    const plan = planMisfires(everyMinute, lastSlot, now, policy({ policy: 'latest', listLimit: 5 }));
    assert.deepEqual(plan.missed, missed('2026-03-06T09:55:00Z', '2026-03-06T09:59:00Z', 'superseded'));
    assert.deepEqual(plan.missedSpans, [
      { reason: 'outside-grace', first: at('2026-03-06T09:51:00Z'), last: at('2026-03-06T09:54:00Z'), count: 4, exact: true },
    ]);
  });
});
