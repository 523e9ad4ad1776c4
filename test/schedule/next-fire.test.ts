import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSchedule, CronSchedule, EverySchedule, ScheduleError, SCHEDULE_INVALID, WindowSchedule, type ScheduleSpec } from '../../src/schedule';
import { RulebotError } from '../../src/shared/errors';

/** Asserts that compiling `spec` fails with SCHEDULE_INVALID and a message matching `message`. */
function assertInvalid(spec: unknown, message: RegExp): void {
  assert.throws(
    () => compileSchedule(spec as ScheduleSpec),
    (err: unknown) => {
      assert.ok(err instanceof ScheduleError, 'a ScheduleError');
      assert.ok(err instanceof RulebotError, 'a RulebotError');
      assert.equal(err.code, SCHEDULE_INVALID);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('compileSchedule', () => {
  it('builds the kind of schedule the spec names', () => {
    assert.ok(compileSchedule({ cron: '0 9 * * *', timezone: 'UTC' }) instanceof CronSchedule);
    assert.ok(compileSchedule({ every: 60_000 }) instanceof EverySchedule);
    assert.ok(compileSchedule({ window: { start: '23:00', end: '07:00' }, timezone: 'UTC' }) instanceof WindowSchedule);
  });

  it('parses each distinct expression and time zone once and shares the schedule', () => {
    const first = compileSchedule({ cron: '*/5 * * * *', timezone: 'Europe/Berlin' });
    assert.equal(compileSchedule({ cron: ' */5  * * * * ', timezone: 'Europe/Berlin' }), first);
    assert.notEqual(compileSchedule({ cron: '*/5 * * * *', timezone: 'Asia/Shanghai' }), first);
    assert.equal(compileSchedule({ every: 1_000, offset: 250 }), compileSchedule({ every: 1_000, offset: 250 }));
    const window = { start: '23:00', end: '07:00', weekdays: ['fri' as const] };
    assert.equal(compileSchedule({ window, timezone: 'UTC' }), compileSchedule({ window: { ...window }, timezone: 'UTC' }));
  });

  it('names the time zone canonically', () => {
    const schedule = compileSchedule({ cron: '0 9 * * *', timezone: 'america/new_york' });
    assert.equal(schedule.timezone, 'America/New_York');
    assert.equal(schedule.description, 'cron "0 9 * * *" in America/New_York');
  });

  it('rejects a cron that is not 5 or 6 fields', () => {
    assertInvalid({ cron: '0 9 * *', timezone: 'UTC' }, /has 4 fields; write 5 .* or 6/);
    assertInvalid({ cron: '0 0 9 * * * 2026', timezone: 'UTC' }, /has 7 fields/);
    assertInvalid({ cron: '', timezone: 'UTC' }, /has 0 fields/);
    assertInvalid({ cron: '@daily', timezone: 'UTC' }, /has 1 field;/);
  });

  it('rejects bad cron values with the reason', () => {
    assertInvalid({ cron: '61 * * * *', timezone: 'UTC' }, /cron "61 \* \* \* \*" is not valid: .*0-59/);
    assertInvalid({ cron: '0 25 * * *', timezone: 'UTC' }, /is not valid/);
    assertInvalid({ cron: '0 9 31 2 *', timezone: 'UTC' }, /is not valid/);
    assertInvalid({ cron: '*/0 * * * *', timezone: 'UTC' }, /is not valid/);
    assertInvalid({ cron: 'H 9 * * *', timezone: 'UTC' }, /H \(a hashed value\)/);
  });

  it('accepts names, L and # where cron allows them', () => {
    compileSchedule({ cron: '0 9 * * MON-FRI', timezone: 'UTC' });
    compileSchedule({ cron: '0 9 * jan,jul thu', timezone: 'UTC' });
    compileSchedule({ cron: '0 9 L * *', timezone: 'UTC' });
    compileSchedule({ cron: '0 9 * * 1#2', timezone: 'UTC' });
  });

  it('rejects an unknown or missing time zone', () => {
    assertInvalid({ cron: '0 9 * * *', timezone: 'Mars/Olympus' }, /unknown time zone "Mars\/Olympus"/);
    assertInvalid({ cron: '0 9 * * *', timezone: '' }, /a time zone is required/);
    assertInvalid({ window: { start: '23:00', end: '07:00' }, timezone: 'Nowhere' }, /unknown time zone/);
  });

  it('rejects an interval that is not a whole positive number of milliseconds', () => {
    assertInvalid({ every: 0 }, /at least 1/);
    assertInvalid({ every: -5 }, /at least 1/);
    assertInvalid({ every: 1.5 }, /whole number/);
    assertInvalid({ every: Number.POSITIVE_INFINITY }, /whole number/);
    assertInvalid({ every: 1_000, offset: 0.5 }, /offset must be a whole number/);
  });

  it('rejects malformed windows', () => {
    assertInvalid({ window: { start: '7:00', end: '09:00' }, timezone: 'UTC' }, /window start "7:00" is not a local time/);
    assertInvalid({ window: { start: '24:00', end: '09:00' }, timezone: 'UTC' }, /window start "24:00"/);
    assertInvalid({ window: { start: '09:00', end: '24:01' }, timezone: 'UTC' }, /window end "24:01"/);
    assertInvalid({ window: { start: '09:00', end: '09:00' }, timezone: 'UTC' }, /both 09:00/);
    assertInvalid({ window: { start: '09:00', end: '17:00', weekdays: [] }, timezone: 'UTC' }, /non-empty list/);
    assertInvalid({ window: { start: '09:00', end: '17:00', weekdays: ['funday'] }, timezone: 'UTC' }, /"funday" is not a weekday/);
    assertInvalid({ window: { start: '00:00', end: '24:00' }, timezone: 'UTC' }, /open all the time/);
  });

  it('rejects a spec of no known kind', () => {
    assertInvalid({ at: '09:00' }, /cron \(with timezone\), every, window/);
    assertInvalid(null, /a schedule needs one of/);
  });
});
