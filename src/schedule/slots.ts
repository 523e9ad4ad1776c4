/**
 * Enumeration shared by the schedules whose fires are only known one at a time
 * (cron, window edges): listing and bounded counting over `nextAfter`.
 */
import type { Schedule, SlotCount } from './types';

/** The fires of `schedule` in (from, to], oldest first, at most `cap`. */
export function collectSlots(schedule: Pick<Schedule, 'nextAfter'>, from: number, to: number, cap: number): number[] {
  const slots: number[] = [];
  let cursor = from;
  while (slots.length < cap) {
    const next = schedule.nextAfter(cursor);
    if (next === null || next > to) break;
    slots.push(next);
    cursor = next;
  }
  return slots;
}

/**
 * Counts the fires in (from, to], one by one up to `limit`. Past `limit` it stops and
 * extrapolates from the rate of the fires it saw, so a month of an every-second cron
 * costs `limit` steps, not millions; the result then says `exact: false`.
 */
export function countSlots(schedule: Pick<Schedule, 'nextAfter'>, from: number, to: number, limit: number): SlotCount {
  const budget = Math.max(1, Math.floor(limit));
  let count = 0;
  let cursor = from;
  for (;;) {
    const next = schedule.nextAfter(cursor);
    if (next === null || next > to) return { count, exact: true };
    if (count === budget) {
      const estimate = Math.round((count * (to - from)) / (cursor - from));
      return { count: Math.max(count + 1, estimate), exact: false };
    }
    count++;
    cursor = next;
  }
}
