/**
 * Fixed-interval schedules. Fires sit at whole multiples of the interval counted from
 * the Unix epoch (plus an offset), not from when the daemon started, so a restart never
 * shifts them and every process agrees on the slots. An interval is elapsed time: a
 * 24-hour interval does not follow the local clock across DST changes (use cron for that).
 */
import { ScheduleError } from './errors';
import type { Schedule, SlotCount } from './types';

/** Every `interval` ms, at instants `offset + k × interval`. Build it with `compileSchedule({ every, offset })`. */
export class EverySchedule implements Schedule {
  readonly kind = 'every';
  /** Milliseconds between fires. */
  readonly interval: number;
  /** Where the fires sit within an interval, in [0, interval). */
  readonly offset: number;
  readonly description: string;

  constructor(interval: number, offset = 0) {
    if (typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval < 1) {
      throw new ScheduleError('every', interval, `an interval must be a whole number of milliseconds, at least 1 (got ${String(interval)})`);
    }
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset)) {
      throw new ScheduleError('offset', offset, `an interval offset must be a whole number of milliseconds (got ${String(offset)})`);
    }
    this.interval = interval;
    this.offset = ((offset % interval) + interval) % interval;
    this.description = this.offset === 0 ? `every ${interval}ms` : `every ${interval}ms, offset ${this.offset}ms`;
  }

  nextAfter(instant: number): number {
    return this.#slotIndexAtOrBefore(instant) * this.interval + this.interval + this.offset;
  }

  previousAtOrBefore(instant: number): number {
    return this.#slotIndexAtOrBefore(instant) * this.interval + this.offset;
  }

  slotsBetween(from: number, to: number, cap: number): number[] {
    const slots: number[] = [];
    for (let slot = this.nextAfter(from); slot <= to && slots.length < cap; slot += this.interval) slots.push(slot);
    return slots;
  }

  /** Always exact: the count is arithmetic whatever the span, so `_limit` is not needed. */
  countBetween(from: number, to: number, _limit?: number): SlotCount {
    if (to <= from) return { count: 0, exact: true };
    return { count: this.#slotIndexAtOrBefore(to) - this.#slotIndexAtOrBefore(from), exact: true };
  }

  #slotIndexAtOrBefore(instant: number): number {
    return Math.floor((instant - this.offset) / this.interval);
  }
}
