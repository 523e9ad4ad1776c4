import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSchedule, type WindowState, type WindowTimes } from '../../src/schedule';

const at = (iso: string): number => Date.parse(iso);
const iso = (instant: number | null | undefined): string | null => (instant == null ? null : new Date(instant).toISOString());

function window(times: WindowTimes, timezone = 'Asia/Shanghai') {
  return compileSchedule({ window: times, timezone });
}

/** The state with instants as ISO strings, for readable comparisons. */
function stateAt(times: WindowTimes, instantIso: string, timezone = 'Asia/Shanghai'): Record<string, unknown> {
  const state: WindowState = window(times, timezone).stateAt(at(instantIso));
  return {
    inside: state.inside,
    ...(state.openedAt !== undefined ? { openedAt: iso(state.openedAt) } : {}),
    ...(state.closesAt !== undefined ? { closesAt: iso(state.closesAt) } : {}),
    nextEdge: iso(state.nextEdge),
  };
}

describe('window state across midnight with weekdays', () => {
  // Asia/Shanghai is UTC+8 all year. 2026-03-06 is a Friday.
  const fridayNight: WindowTimes = { start: '23:00', end: '07:00', weekdays: ['fri'] };

  it('a fri 23:00–07:00 window is inside on Saturday at 03:00: the day it opened counts', () => {
    assert.deepEqual(stateAt(fridayNight, '2026-03-06T19:00:00Z'), {
      inside: true,
      openedAt: '2026-03-06T15:00:00.000Z',
      closesAt: '2026-03-06T23:00:00.000Z',
      nextEdge: '2026-03-06T23:00:00.000Z',
    });
  });

  it('is outside on Friday at 03:00 (Thursday is not listed) until Friday 23:00', () => {
    assert.deepEqual(stateAt(fridayNight, '2026-03-05T19:00:00Z'), { inside: false, nextEdge: '2026-03-06T15:00:00.000Z' });
  });

  it('is outside on Saturday night, and next opens a week later', () => {
    assert.deepEqual(stateAt(fridayNight, '2026-03-07T16:00:00Z'), { inside: false, nextEdge: '2026-03-13T15:00:00.000Z' });
  });

  it('opens at its start instant and is closed at its end instant', () => {
    assert.equal(stateAt(fridayNight, '2026-03-06T15:00:00Z').inside, true);
    assert.equal(stateAt(fridayNight, '2026-03-06T14:59:59.999Z').inside, false);
    assert.deepEqual(stateAt(fridayNight, '2026-03-06T23:00:00Z'), { inside: false, nextEdge: '2026-03-13T15:00:00.000Z' });
  });

  it('night mode on sun–thu: Friday 03:00 is inside, Saturday 03:00 is not, Monday 03:00 is', () => {
    const nightMode: WindowTimes = { start: '23:00', end: '07:00', weekdays: ['sun', 'mon', 'tue', 'wed', 'thu'] };
    assert.equal(stateAt(nightMode, '2026-03-05T19:00:00Z').inside, true); // Fri 03:00, opened Thu
    assert.equal(stateAt(nightMode, '2026-03-06T19:00:00Z').inside, false); // Sat 03:00
    assert.equal(stateAt(nightMode, '2026-03-07T19:00:00Z').inside, false); // Sun 03:00
    assert.equal(stateAt(nightMode, '2026-03-08T19:00:00Z').inside, true); // Mon 03:00, opened Sun
  });

  it('a same-day window without weekdays opens every day', () => {
    const office: WindowTimes = { start: '09:00', end: '17:30' };
    assert.deepEqual(stateAt(office, '2026-03-07T02:00:00Z'), {
      inside: true,
      openedAt: '2026-03-07T01:00:00.000Z',
      closesAt: '2026-03-07T09:30:00.000Z',
      nextEdge: '2026-03-07T09:30:00.000Z',
    });
    assert.deepEqual(stateAt(office, '2026-03-07T10:00:00Z'), { inside: false, nextEdge: '2026-03-08T01:00:00.000Z' });
  });

  it('whole days that touch are one opening: 00:00–24:00 on sat, sun', () => {
    const weekend: WindowTimes = { start: '00:00', end: '24:00', weekdays: ['sat', 'sun'] };
    const expected = {
      inside: true,
      openedAt: '2026-03-06T16:00:00.000Z', // Sat 00:00
      closesAt: '2026-03-08T16:00:00.000Z', // Mon 00:00
      nextEdge: '2026-03-08T16:00:00.000Z',
    };
    assert.deepEqual(stateAt(weekend, '2026-03-07T04:00:00Z'), expected);
    assert.deepEqual(stateAt(weekend, '2026-03-07T16:00:00Z'), expected); // Sun 00:00 is not an edge
    assert.deepEqual(window(weekend).nextEdgeAfter(at('2026-03-07T12:00:00Z')), { at: at('2026-03-08T16:00:00Z'), kind: 'close' });
  });
});

describe('window edges', () => {
  const fridayNight: WindowTimes = { start: '23:00', end: '07:00', weekdays: ['fri'] };

  it('nextEdgeAfter alternates open and close, strictly after the instant', () => {
    const schedule = window(fridayNight);
    assert.deepEqual(schedule.nextEdgeAfter(at('2026-03-06T12:00:00Z')), { at: at('2026-03-06T15:00:00Z'), kind: 'open' });
    assert.deepEqual(schedule.nextEdgeAfter(at('2026-03-06T15:00:00Z')), { at: at('2026-03-06T23:00:00Z'), kind: 'close' });
    assert.deepEqual(schedule.nextEdgeAfter(at('2026-03-06T23:00:00Z')), { at: at('2026-03-13T15:00:00Z'), kind: 'open' });
  });

  it('slotsBetween and previousAtOrBefore see the same edges', () => {
    const schedule = window(fridayNight);
    assert.deepEqual(schedule.slotsBetween(at('2026-03-01T00:00:00Z'), at('2026-03-13T20:00:00Z'), 10).map(iso), [
      '2026-03-06T15:00:00.000Z',
      '2026-03-06T23:00:00.000Z',
      '2026-03-13T15:00:00.000Z',
    ]);
    assert.equal(schedule.slotsBetween(at('2026-03-01T00:00:00Z'), at('2026-04-01T00:00:00Z'), 3).length, 3);
    assert.equal(iso(schedule.previousAtOrBefore(at('2026-03-06T20:00:00Z'))), '2026-03-06T15:00:00.000Z');
    assert.equal(iso(schedule.previousAtOrBefore(at('2026-03-10T00:00:00Z'))), '2026-03-06T23:00:00.000Z');
    assert.equal(iso(schedule.previousAtOrBefore(at('2026-03-06T23:00:00Z'))), '2026-03-06T23:00:00.000Z');
  });
});

describe('window edges across DST', () => {
  it('an edge in the skipped hour happens right after the gap (New York, 2026-03-08)', () => {
    assert.deepEqual(stateAt({ start: '02:30', end: '03:30' }, '2026-03-08T07:10:00Z', 'America/New_York'), {
      inside: true,
      openedAt: '2026-03-08T07:00:00.000Z', // 03:00 EDT
      closesAt: '2026-03-08T07:30:00.000Z', // 03:30 EDT
      nextEdge: '2026-03-08T07:30:00.000Z',
    });
    // A night window ending in the gap closes as the gap ends.
    assert.deepEqual(stateAt({ start: '22:00', end: '02:30' }, '2026-03-08T06:30:00Z', 'America/New_York'), {
      inside: true,
      openedAt: '2026-03-08T03:00:00.000Z', // Sat 22:00 EST
      closesAt: '2026-03-08T07:00:00.000Z', // 03:00 EDT
      nextEdge: '2026-03-08T07:00:00.000Z',
    });
  });

  it('an edge in the repeated hour happens at its first occurrence (New York, 2026-11-01)', () => {
    const shortWindow: WindowTimes = { start: '01:00', end: '01:30' };
    assert.deepEqual(stateAt(shortWindow, '2026-11-01T05:10:00Z', 'America/New_York'), {
      inside: true,
      openedAt: '2026-11-01T05:00:00.000Z', // 01:00 EDT
      closesAt: '2026-11-01T05:30:00.000Z', // 01:30 EDT
      nextEdge: '2026-11-01T05:30:00.000Z',
    });
    // 01:10 EST, the second time the clock shows it: not inside again.
    assert.deepEqual(stateAt(shortWindow, '2026-11-01T06:10:00Z', 'America/New_York'), { inside: false, nextEdge: '2026-11-02T06:00:00.000Z' });
  });

  it('a window over the repeated hour lasts an hour longer in real time (Berlin, 2026-10-25)', () => {
    assert.deepEqual(stateAt({ start: '02:00', end: '03:00' }, '2026-10-25T01:30:00Z', 'Europe/Berlin'), {
      inside: true,
      openedAt: '2026-10-25T00:00:00.000Z', // 02:00 CEST
      closesAt: '2026-10-25T02:00:00.000Z', // 03:00 CET
      nextEdge: '2026-10-25T02:00:00.000Z',
    });
  });

  it('a window entirely inside the gap does not open that day (New York, 2026-03-08)', () => {
    const schedule = window({ start: '02:10', end: '02:40' }, 'America/New_York');
    assert.deepEqual(schedule.slotsBetween(at('2026-03-07T12:00:00Z'), at('2026-03-09T12:00:00Z'), 10).map(iso), [
      '2026-03-09T06:10:00.000Z',
      '2026-03-09T06:40:00.000Z',
    ]);
  });
});
