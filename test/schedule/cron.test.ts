import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CronExpressionParser } from 'cron-parser';
import { compileSchedule } from '../../src/schedule';

const at = (iso: string): number => Date.parse(iso);
const iso = (instant: number | null): string | null => (instant === null ? null : new Date(instant).toISOString());

/** The fires strictly after `fromIso`, as ISO strings. */
function firesAfter(cron: string, timezone: string, fromIso: string, count: number): Array<string | null> {
  const schedule = compileSchedule({ cron, timezone });
  const fires: Array<string | null> = [];
  let cursor: number | null = at(fromIso);
  for (let i = 0; i < count && cursor !== null; i++) {
    cursor = schedule.nextAfter(cursor);
    fires.push(iso(cursor));
  }
  return fires;
}

function firesBetween(cron: string, timezone: string, fromIso: string, toIso: string): string[] {
  return compileSchedule({ cron, timezone })
    .slotsBetween(at(fromIso), at(toIso), 1_000)
    .map((slot) => new Date(slot).toISOString());
}

describe('cron next fires from reference instants', () => {
  it('a 5-field weekday expression skips the weekend', () => {
    // 2026-03-06 is a Friday; 10:00 in Shanghai is already past 09:00.
    assert.deepEqual(firesAfter('0 9 * * 1-5', 'Asia/Shanghai', '2026-03-06T02:00:00Z', 3), [
      '2026-03-09T01:00:00.000Z',
      '2026-03-10T01:00:00.000Z',
      '2026-03-11T01:00:00.000Z',
    ]);
  });

  it('a 6-field expression reads seconds first', () => {
    assert.deepEqual(firesAfter('15,45 30 9 * * *', 'UTC', '2026-03-06T09:30:15Z', 3), [
      '2026-03-06T09:30:45.000Z',
      '2026-03-07T09:30:15.000Z',
      '2026-03-07T09:30:45.000Z',
    ]);
  });

  it('nextAfter is strictly after and previousAtOrBefore includes the instant itself', () => {
    const schedule = compileSchedule({ cron: '0 9 * * *', timezone: 'UTC' });
    assert.equal(iso(schedule.nextAfter(at('2026-03-06T09:00:00Z'))), '2026-03-07T09:00:00.000Z');
    assert.equal(iso(schedule.nextAfter(at('2026-03-06T08:59:59.999Z'))), '2026-03-06T09:00:00.000Z');
    assert.equal(iso(schedule.previousAtOrBefore(at('2026-03-06T09:00:00Z'))), '2026-03-06T09:00:00.000Z');
    assert.equal(iso(schedule.previousAtOrBefore(at('2026-03-06T08:59:59.999Z'))), '2026-03-05T09:00:00.000Z');
  });

  it('the same expression in different time zones fires at different instants', () => {
    assert.deepEqual(firesAfter('0 9 * * *', 'Asia/Shanghai', '2026-06-01T00:00:00Z', 1), ['2026-06-01T01:00:00.000Z']);
    assert.deepEqual(firesAfter('0 9 * * *', 'Europe/Berlin', '2026-06-01T00:00:00Z', 1), ['2026-06-01T07:00:00.000Z']);
    assert.deepEqual(firesAfter('0 9 * * *', 'America/New_York', '2026-06-01T00:00:00Z', 1), ['2026-06-01T13:00:00.000Z']);
  });

  it('day-of-month and day-of-week restricted together match either (classic cron)', () => {
    // The 1st of the month (a Sunday in March 2026) or any Monday.
    assert.deepEqual(firesAfter('0 9 1 * 1', 'UTC', '2026-02-28T00:00:00Z', 3), [
      '2026-03-01T09:00:00.000Z',
      '2026-03-02T09:00:00.000Z',
      '2026-03-09T09:00:00.000Z',
    ]);
  });

  it('a leap-day expression jumps years ahead, and back', () => {
    const schedule = compileSchedule({ cron: '0 9 29 2 *', timezone: 'Asia/Shanghai' });
    assert.equal(iso(schedule.nextAfter(at('2026-01-01T00:00:00Z'))), '2028-02-29T01:00:00.000Z');
    assert.equal(iso(schedule.previousAtOrBefore(at('2026-01-01T00:00:00Z'))), '2024-02-29T01:00:00.000Z');
  });

  it('Asia/Shanghai has no DST: a daily 02:30 is 18:30 UTC every day of March and November', () => {
    assert.deepEqual(firesBetween('30 2 * * *', 'Asia/Shanghai', '2026-03-06T00:00:00Z', '2026-03-10T00:00:00Z'), [
      '2026-03-06T18:30:00.000Z',
      '2026-03-07T18:30:00.000Z',
      '2026-03-08T18:30:00.000Z',
      '2026-03-09T18:30:00.000Z',
    ]);
    assert.deepEqual(firesBetween('30 2 * * *', 'Asia/Shanghai', '2026-10-31T00:00:00Z', '2026-11-02T00:00:00Z'), [
      '2026-10-31T18:30:00.000Z',
      '2026-11-01T18:30:00.000Z',
    ]);
  });
});

describe('DST in America/New_York', () => {
  it('spring forward (2026-03-08): a daily 02:30 fires once, at 03:00 EDT right after the gap', () => {
    assert.deepEqual(firesBetween('30 2 * * *', 'America/New_York', '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z'), [
      '2026-03-07T07:30:00.000Z', // 02:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT: 02:30 does not exist that night
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
  });

  it('spring forward: an hourly schedule has no fire in the missing hour', () => {
    assert.deepEqual(firesBetween('0 * * * *', 'America/New_York', '2026-03-08T05:30:00Z', '2026-03-08T09:00:00Z'), [
      '2026-03-08T06:00:00.000Z', // 01:00 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT (02:00 never happens)
      '2026-03-08T08:00:00.000Z', // 04:00 EDT
      '2026-03-08T09:00:00.000Z',
    ]);
  });

  it('spring forward: fixed times inside the gap collapse into one fire after it', () => {
    // Every 5 minutes during 02:00–02:59: none of them exist on 2026-03-08.
    assert.deepEqual(firesBetween('*/5 2 * * *', 'America/New_York', '2026-03-08T06:00:00Z', '2026-03-08T09:00:00Z'), [
      '2026-03-08T07:00:00.000Z',
    ]);
  });

  it('fall back (2026-11-01): a daily 01:30 fires once, in the first (EDT) 01:30', () => {
    assert.deepEqual(firesBetween('30 1 * * *', 'America/New_York', '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z'), [
      '2026-10-31T05:30:00.000Z',
      '2026-11-01T05:30:00.000Z', // 01:30 EDT; the 01:30 EST an hour later does not fire
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('fall back: an hourly schedule fires once per real hour, twice at 01:00', () => {
    assert.deepEqual(firesBetween('0 * * * *', 'America/New_York', '2026-11-01T04:30:00Z', '2026-11-01T08:00:00Z'), [
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T08:00:00.000Z',
    ]);
  });

  it('fall back: fixed times within the repeated hour fire in the first occurrence only', () => {
    assert.deepEqual(firesBetween('*/20 1 * * *', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-01T08:00:00Z'), [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:20:00.000Z',
      '2026-11-01T05:40:00.000Z',
    ]);
  });

  it('asked from inside the repeated hour, a daily 01:30 waits for the next day', () => {
    const schedule = compileSchedule({ cron: '30 1 * * *', timezone: 'America/New_York' });
    assert.equal(iso(schedule.nextAfter(at('2026-11-01T06:10:00Z'))), '2026-11-02T06:30:00.000Z'); // from 01:10 EST
    assert.equal(iso(schedule.previousAtOrBefore(at('2026-11-01T06:45:00Z'))), '2026-11-01T05:30:00.000Z');
  });

  it('previousAtOrBefore agrees with nextAfter across both changes', () => {
    const daily = compileSchedule({ cron: '30 2 * * *', timezone: 'America/New_York' });
    assert.equal(iso(daily.previousAtOrBefore(at('2026-03-08T07:30:00Z'))), '2026-03-08T07:00:00.000Z');
    assert.equal(iso(daily.previousAtOrBefore(at('2026-03-08T06:59:59Z'))), '2026-03-07T07:30:00.000Z');
    const hourly = compileSchedule({ cron: '0 * * * *', timezone: 'America/New_York' });
    assert.equal(iso(hourly.previousAtOrBefore(at('2026-11-01T06:59:00Z'))), '2026-11-01T06:00:00.000Z');
    assert.equal(iso(hourly.previousAtOrBefore(at('2026-11-01T05:59:00Z'))), '2026-11-01T05:00:00.000Z');
    assert.equal(iso(hourly.previousAtOrBefore(at('2026-03-08T07:30:00Z'))), '2026-03-08T07:00:00.000Z');
  });

  it('cron-parser 5 alone fires the skipped 02:30 at 03:30, which is why the mapping is our own', () => {
    const raw = CronExpressionParser.parse('30 2 * * *', { tz: 'America/New_York', currentDate: new Date('2026-03-07T12:00:00Z') });
    assert.equal(raw.next().toDate().toISOString(), '2026-03-08T07:30:00.000Z');
  });
});

describe('DST in Europe/Berlin', () => {
  it('spring forward (2026-03-29): a daily 02:30 fires once, at 03:00 CEST', () => {
    assert.deepEqual(firesBetween('30 2 * * *', 'Europe/Berlin', '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z'), [
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('spring forward: an hourly schedule skips 02:00', () => {
    assert.deepEqual(firesBetween('0 * * * *', 'Europe/Berlin', '2026-03-28T23:30:00Z', '2026-03-29T02:00:00Z'), [
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-29T02:00:00.000Z',
    ]);
  });

  it('fall back (2026-10-25): a daily 02:30 fires once, in the first (CEST) 02:30', () => {
    assert.deepEqual(firesBetween('30 2 * * *', 'Europe/Berlin', '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z'), [
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('fall back: an hourly schedule fires at 02:00 CEST and again at 02:00 CET', () => {
    assert.deepEqual(firesBetween('0 * * * *', 'Europe/Berlin', '2026-10-24T23:30:00Z', '2026-10-25T02:00:00Z'), [
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
  });
});

/**
 * A slow but obviously correct model of the documented rules, minute by minute, checked
 * against the schedules at many instants around real DST changes, including a 30-minute
 * shift (Lord Howe), changes at midnight (Santiago, Havana) and a 2-hour one (Troll).
 */
describe('DST rules against a brute-force model', () => {
  const MINUTE = 60_000;
  const HOUR = 3_600_000;

  function wallClock(timezone: string): (instant: number) => number {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    return (instant) => {
      const parts: Record<string, number> = {};
      for (const part of format.formatToParts(instant)) parts[part.type] = Number(part.value);
      return Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
    };
  }

  /** [instant, wall time] for every minute of [from - 16 h, to + 16 h]. */
  function minutesOf(timezone: string, from: number, to: number): Array<[number, number]> {
    const wallOf = wallClock(timezone);
    const minutes: Array<[number, number]> = [];
    for (let instant = from - 16 * HOUR; instant <= to + 16 * HOUR; instant += MINUTE) minutes.push([instant, wallOf(instant)]);
    return minutes;
  }

  function modelFires(cron: string, minutes: Array<[number, number]>, from: number, to: number): number[] {
    const pattern = CronExpressionParser.parse(cron, { tz: 'UTC', currentDate: new Date(minutes[0]![1] - MINUTE) });
    const matchingWalls = new Set<number>();
    for (let wall = pattern.next().getTime(); wall <= minutes[minutes.length - 1]![1]; wall = pattern.next().getTime()) matchingWalls.add(wall);
    const fires = new Set<number>();
    if (pattern.fields.hour.values.length === 24) {
      for (const [instant, wall] of minutes) if (matchingWalls.has(wall)) fires.add(instant);
    } else {
      const firstInstantOfWall = new Map<number, number>();
      for (const [instant, wall] of minutes) if (!firstInstantOfWall.has(wall)) firstInstantOfWall.set(wall, instant);
      const lowest = minutes[0]![1] + 3 * HOUR;
      const highest = minutes[minutes.length - 1]![1] - 3 * HOUR;
      for (const wall of matchingWalls) {
        if (wall < lowest || wall > highest) continue;
        // A wall time the clock never shows fires at the first instant past it: the end of the gap.
        const instant = firstInstantOfWall.get(wall) ?? minutes.find(([i, w]) => w > wall && i > wall - 16 * HOUR)![0];
        fires.add(instant);
      }
    }
    return [...fires].filter((f) => f >= from && f <= to).sort((a, b) => a - b);
  }

  const changes: Array<[string, string]> = [
    ['America/New_York', '2026-03-07T00:00:00Z'],
    ['America/New_York', '2026-10-31T00:00:00Z'],
    ['Europe/Berlin', '2026-03-28T00:00:00Z'],
    ['Europe/Berlin', '2026-10-24T00:00:00Z'],
    ['Australia/Lord_Howe', '2026-10-03T00:00:00Z'],
    ['America/Santiago', '2026-09-05T00:00:00Z'],
    ['America/Havana', '2026-10-31T00:00:00Z'],
    ['Antarctica/Troll', '2026-03-28T00:00:00Z'],
  ];
  const expressions = ['30 2 * * *', '0 * * * *', '*/20 * * * *', '*/5 2 * * *', '0 0 * * *', '15 1,2,3 * * *', '0 */2 * * *', '45 23 * * *'];

  for (const [timezone, startIso] of changes) {
    it(`nextAfter and previousAtOrBefore match the model around ${startIso.slice(0, 10)} in ${timezone}`, () => {
      const from = at(startIso);
      const to = from + 3 * 24 * HOUR;
      const minutes = minutesOf(timezone, from, to);
      for (const cron of expressions) {
        const fires = modelFires(cron, minutes, from, to);
        const schedule = compileSchedule({ cron, timezone });
        const probes: number[] = [];
        for (const fire of fires) probes.push(fire - 1, fire);
        for (let instant = from + 6 * HOUR; instant < to - 6 * HOUR; instant += 53 * MINUTE + 11) probes.push(instant);
        for (const probe of probes) {
          if (probe < from + 6 * HOUR || probe > to - 6 * HOUR) continue;
          const next = fires.find((fire) => fire > probe);
          const previous = fires.findLast((fire) => fire <= probe);
          if (next !== undefined) assert.equal(iso(schedule.nextAfter(probe)), iso(next), `${cron} next after ${iso(probe)}`);
          if (previous !== undefined) {
            assert.equal(iso(schedule.previousAtOrBefore(probe)), iso(previous), `${cron} previous at or before ${iso(probe)}`);
          }
        }
      }
    });
  }
});

describe('cron slot listing and counting', () => {
  it('slotsBetween lists fires in (from, to] up to the cap', () => {
    const schedule = compileSchedule({ cron: '0 * * * *', timezone: 'UTC' });
    const slots = schedule.slotsBetween(at('2026-03-06T00:00:00Z'), at('2026-03-06T03:00:00Z'), 10).map(iso);
    assert.deepEqual(slots, ['2026-03-06T01:00:00.000Z', '2026-03-06T02:00:00.000Z', '2026-03-06T03:00:00.000Z']);
    assert.equal(schedule.slotsBetween(at('2026-03-06T00:00:00Z'), at('2026-03-07T00:00:00Z'), 2).length, 2);
  });

  it('countBetween counts exactly within its limit and estimates past it', () => {
    const schedule = compileSchedule({ cron: '* * * * * *', timezone: 'Europe/Berlin' });
    assert.deepEqual(schedule.countBetween(at('2026-03-06T00:00:00Z'), at('2026-03-06T00:01:00Z'), 100), { count: 60, exact: true });
    const month = schedule.countBetween(at('2026-01-01T00:00:00Z'), at('2026-01-31T00:00:00Z'), 200);
    assert.equal(month.exact, false);
    assert.equal(month.count, 30 * 86_400);
  });

  it('one compiled schedule answers a repeated nextAfter from its memo', () => {
    const schedule = compileSchedule({ cron: '0 9 * * 1-5', timezone: 'Asia/Shanghai' });
    const first = schedule.nextAfter(at('2026-03-06T02:00:00Z'));
    assert.equal(schedule.nextAfter(at('2026-03-06T02:00:00Z')), first);
    assert.equal(compileSchedule({ cron: '0  9 * * 1-5', timezone: 'asia/shanghai' }), schedule);
  });
});
