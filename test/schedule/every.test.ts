import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSchedule } from '../../src/schedule';

const at = (iso: string): number => Date.parse(iso);
const iso = (instant: number | null): string | null => (instant === null ? null : new Date(instant).toISOString());

describe('every: fixed intervals anchored to the epoch', () => {
  it('fires at whole multiples of the interval since the epoch', () => {
    const everyFiveMinutes = compileSchedule({ every: 5 * 60_000 });
    assert.equal(iso(everyFiveMinutes.nextAfter(at('2026-03-06T10:03:17Z'))), '2026-03-06T10:05:00.000Z');
    assert.equal(iso(everyFiveMinutes.nextAfter(at('2026-03-06T10:05:00Z'))), '2026-03-06T10:10:00.000Z');
    assert.equal(iso(everyFiveMinutes.previousAtOrBefore(at('2026-03-06T10:05:00Z'))), '2026-03-06T10:05:00.000Z');
    assert.equal(iso(everyFiveMinutes.previousAtOrBefore(at('2026-03-06T10:04:59.999Z'))), '2026-03-06T10:00:00.000Z');
  });

  it('a restart at any moment sees the same slots', () => {
    const everySevenSeconds = compileSchedule({ every: 7_000 });
    const fromFirstStart = everySevenSeconds.slotsBetween(at('2026-03-06T10:00:00Z'), at('2026-03-06T10:01:00Z'), 100);
    const fromRestart = everySevenSeconds.slotsBetween(at('2026-03-06T10:00:31.5Z'), at('2026-03-06T10:01:00Z'), 100);
    assert.deepEqual(fromRestart, fromFirstStart.filter((slot) => slot > at('2026-03-06T10:00:31.5Z')));
    for (const slot of fromFirstStart) assert.equal(slot % 7_000, 0);
  });

  it('an offset moves the slots within the interval', () => {
    const hourlyAtQuarterPast = compileSchedule({ every: 3_600_000, offset: 15 * 60_000 });
    assert.equal(iso(hourlyAtQuarterPast.nextAfter(at('2026-03-06T10:20:00Z'))), '2026-03-06T11:15:00.000Z');
    // An offset larger than the interval or negative lands on the same slots.
    assert.equal(compileSchedule({ every: 3_600_000, offset: -45 * 60_000 }).offset, 15 * 60_000);
  });

  it('is elapsed time: a 24-hour interval does not follow the local clock across DST', () => {
    const daily = compileSchedule({ every: 86_400_000, offset: 7 * 3_600_000 });
    assert.deepEqual(daily.slotsBetween(at('2026-03-07T00:00:00Z'), at('2026-03-10T00:00:00Z'), 10).map(iso), [
      '2026-03-07T07:00:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T07:00:00.000Z',
    ]);
  });

  it('counts any span exactly without enumerating it', () => {
    const everySecond = compileSchedule({ every: 1_000 });
    assert.deepEqual(everySecond.countBetween(at('2026-01-01T00:00:00Z'), at('2026-01-31T00:00:00Z'), 10), { count: 30 * 86_400, exact: true });
    assert.deepEqual(everySecond.countBetween(at('2026-01-01T00:00:00.500Z'), at('2026-01-01T00:00:02.500Z'), 10), { count: 2, exact: true });
    assert.deepEqual(everySecond.countBetween(at('2026-01-02T00:00:00Z'), at('2026-01-01T00:00:00Z'), 10), { count: 0, exact: true });
  });
});
