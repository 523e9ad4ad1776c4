import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ScheduleError } from '../../src/schedule';
import { timeZone } from '../../src/schedule/zone';

const at = (iso: string): number => Date.parse(iso);
const HOUR = 3_600_000;

describe('time zones', () => {
  it('gives the UTC offset at an instant, before and after a change', () => {
    const newYork = timeZone('America/New_York');
    assert.equal(newYork.offsetAt(at('2026-03-08T06:59:59.999Z')), -5 * HOUR);
    assert.equal(newYork.offsetAt(at('2026-03-08T07:00:00Z')), -4 * HOUR);
    assert.equal(timeZone('Asia/Kolkata').offsetAt(at('2026-03-08T07:00:00Z')), 5.5 * HOUR);
    assert.equal(timeZone('UTC').offsetAt(at('2026-03-08T07:00:00Z')), 0);
  });

  it('finds the exact instant of a change', () => {
    const berlin = timeZone('Europe/Berlin');
    assert.equal(berlin.transitionIn(at('2026-03-28T00:00:00Z'), at('2026-03-30T00:00:00Z')), at('2026-03-29T01:00:00Z'));
  });

  it('splits a stretch into constant-offset segments', () => {
    const segments = timeZone('America/New_York').segments(at('2026-11-01T00:00:00Z'), at('2026-11-02T00:00:00Z'));
    assert.deepEqual(segments, [
      { start: at('2026-11-01T00:00:00Z'), end: at('2026-11-01T06:00:00Z'), offset: -4 * HOUR },
      { start: at('2026-11-01T06:00:00Z'), end: Infinity, offset: -5 * HOUR },
    ]);
  });

  it('maps a wall time to its instant: first occurrence when repeated, end of the gap when skipped', () => {
    const newYork = timeZone('America/New_York');
    assert.equal(newYork.instantOfWall(Date.UTC(2026, 2, 8, 1, 30)), at('2026-03-08T06:30:00Z'));
    assert.equal(newYork.instantOfWall(Date.UTC(2026, 2, 8, 2, 30)), at('2026-03-08T07:00:00Z'));
    assert.equal(newYork.instantOfWall(Date.UTC(2026, 2, 8, 3, 0)), at('2026-03-08T07:00:00Z'));
    assert.equal(newYork.instantOfWall(Date.UTC(2026, 10, 1, 1, 30)), at('2026-11-01T05:30:00Z'));
    assert.equal(newYork.instantOfWall(Date.UTC(2026, 10, 1, 2, 0)), at('2026-11-01T07:00:00Z'));
  });

  it('is shared per canonical name and rejects unknown names', () => {
    assert.equal(timeZone('europe/berlin'), timeZone('Europe/Berlin'));
    assert.throws(() => timeZone('Europe/Atlantis'), ScheduleError);
  });
});
