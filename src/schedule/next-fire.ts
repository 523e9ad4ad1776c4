/**
 * Pure "when does this fire next" for the three timed triggers: cron in a time zone,
 * fixed intervals anchored to the epoch, and daily windows. Nothing here reads the clock
 * or sets a timer: the timer loop (timer-queue.ts) asks, the answer depends only on the
 * instant it passes, and tests use explicit instants.
 *
 * Schedules are memoised: compiling the same expression and time zone twice returns the
 * same object, so 10,000 rules sharing a handful of expressions parse each once and share
 * each answer (every schedule remembers its last `nextAfter`).
 */
import { CronSchedule, normaliseCron } from './cron';
import { ScheduleError } from './errors';
import { EverySchedule } from './every';
import { WindowSchedule, type WindowTimes } from './window';
import { timeZone } from './zone';

/** A cron expression (5 fields, or 6 with seconds first) read in an IANA time zone. */
export interface CronSpec {
  cron: string;
  timezone: string;
}

/** Every `every` ms, at `offset + k × every` ms since the epoch. */
export interface EverySpec {
  every: number;
  offset?: number;
}

/** A daily window in an IANA time zone. */
export interface WindowSpec {
  window: WindowTimes;
  timezone: string;
}

export type ScheduleSpec = CronSpec | EverySpec | WindowSpec;

export type CompiledSchedule = CronSchedule | EverySchedule | WindowSchedule;

/** Distinct schedules kept; past this the oldest is dropped (a reload may leave some unused). */
const MAX_CACHED_SCHEDULES = 10_000;

const compiled = new Map<string, CompiledSchedule>();

function remember<S extends CompiledSchedule>(key: string, build: () => S): S {
  const cached = compiled.get(key);
  if (cached) return cached as S;
  const schedule = build();
  if (compiled.size >= MAX_CACHED_SCHEDULES) {
    const oldest = compiled.keys().next();
    if (!oldest.done) compiled.delete(oldest.value);
  }
  compiled.set(key, schedule);
  return schedule;
}

/**
 * Compiles a schedule once; the same spec returns the same shared object.
 * Throws {@link ScheduleError} (code SCHEDULE_INVALID) with a message naming the problem:
 * a cron that is not 5 or 6 valid fields, an unknown time zone, an interval that is not a
 * whole positive number of milliseconds, or a window with bad times or weekdays.
 *
 * @example
 * const greeting = compileSchedule({ cron: '0 9 * * 1-5', timezone: 'Asia/Shanghai' });
 * greeting.nextAfter(Date.parse('2026-03-06T02:00:00Z')); // 2026-03-09T01:00:00Z, Monday 09:00 in Shanghai
 */
export function compileSchedule(spec: CronSpec): CronSchedule;
export function compileSchedule(spec: EverySpec): EverySchedule;
export function compileSchedule(spec: WindowSpec): WindowSchedule;
export function compileSchedule(spec: ScheduleSpec): CompiledSchedule;
export function compileSchedule(spec: ScheduleSpec): CompiledSchedule {
  if (typeof spec !== 'object' || spec === null) {
    throw new ScheduleError('schedule', spec, 'a schedule needs one of: cron (with timezone), every, window (with timezone)');
  }
  if ('cron' in spec) {
    const zone = timeZone(spec.timezone);
    const expression = typeof spec.cron === 'string' ? normaliseCron(spec.cron) : spec.cron;
    return remember(`cron\u0000${zone.name}\u0000${expression}`, () => new CronSchedule(spec.cron, zone));
  }
  if ('every' in spec) {
    return remember(`every\u0000${spec.every}\u0000${spec.offset ?? 0}`, () => new EverySchedule(spec.every, spec.offset));
  }
  if ('window' in spec) {
    const zone = timeZone(spec.timezone);
    const times = spec.window;
    const key = typeof times === 'object' && times !== null ? JSON.stringify([times.start, times.end, times.weekdays ?? null]) : String(times);
    return remember(`window\u0000${zone.name}\u0000${key}`, () => new WindowSchedule(times, zone));
  }
  throw new ScheduleError('schedule', spec, 'a schedule needs one of: cron (with timezone), every, window (with timezone)');
}
