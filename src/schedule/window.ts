/**
 * Daily time windows ("23:00–07:00 on sun–thu") whose inside / outside state a rule
 * reconciles. A window opens at `start` local time on each listed weekday and closes at
 * `end`: the same day when `end` is later, otherwise the next day. Weekdays count the day
 * the window opened, so a 23:00–07:00 window on `[fri]` is inside on Saturday at 03:00.
 *
 * DST: edges are fixed local times, with the same rules as fixed-time cron (cron.ts):
 * an edge in a repeated hour happens at its first occurrence, an edge in a skipped hour
 * happens right after the gap. A window that DST shrinks to nothing does not open that day.
 */
import { ScheduleError } from './errors';
import { collectSlots, countSlots } from './slots';
import type { Schedule, SlotCount } from './types';
import { DAY_MS, MINUTE_MS, type TimeZone } from './zone';

/** Days of the week, as written in rule files. */
export type Weekday = 'sun' | 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat';

/** Index = JavaScript's getUTCDay() numbering (0 = Sunday). */
export const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** A window as written: local times `HH:MM` (`end` may be `24:00`, the next midnight). */
export interface WindowTimes {
  start: string;
  end: string;
  /** Days on which the window opens; every day when omitted. */
  weekdays?: Weekday[];
}

/** Where a window stands at an instant. */
export interface WindowState {
  inside: boolean;
  /** When the current opening began (only when inside). */
  openedAt?: number;
  /** When the current opening ends (only when inside). */
  closesAt?: number;
  /** The next change: `closesAt` when inside, the next opening when outside. */
  nextEdge: number;
}

/** An opening or a closing of a window. */
export interface WindowEdge {
  at: number;
  kind: 'open' | 'close';
}

/** One day's opening, as instants; `close` > `open`. */
interface Opening {
  open: number;
  close: number;
}

const HH_MM = /^([01]\d|2[0-4]):([0-5]\d)$/;

/** 1970-01-01, day 0 of the wall timeline, was a Thursday. */
const EPOCH_WEEKDAY = 4;

/** Openings looked at around an instant: enough for a week without openings plus a DST-emptied day. */
const SEARCH_DAYS = 16;

/** Consecutive whole-day openings that touch are one opening; this bounds the merge. */
const MAX_MERGED_DAYS = 7;

/** How many days' openings each window remembers (they are recomputed from tz data otherwise). */
const OPENINGS_KEPT = 32;

function parseClockTime(value: unknown, which: 'start' | 'end'): number {
  const match = typeof value === 'string' ? HH_MM.exec(value.trim()) : null;
  const minutes = match ? Number(match[1]) * 60 + Number(match[2]) : NaN;
  const limit = which === 'end' ? 24 * 60 : 24 * 60 - 1;
  if (!match || minutes > limit) {
    throw new ScheduleError(
      'window',
      value,
      `window ${which} "${String(value)}" is not a local time: write HH:MM from 00:00 to ${which === 'end' ? '24:00' : '23:59'}`,
    );
  }
  return minutes;
}

function parseWeekdays(value: unknown): Set<number> {
  if (value === undefined) return new Set([0, 1, 2, 3, 4, 5, 6]);
  if (!Array.isArray(value) || value.length === 0) {
    throw new ScheduleError('window', value, `window weekdays must be a non-empty list such as [mon, tue, wed] (got ${JSON.stringify(value)})`);
  }
  const days = new Set<number>();
  for (const day of value) {
    const index = typeof day === 'string' ? WEEKDAYS.indexOf(day.trim().toLowerCase() as Weekday) : -1;
    if (index < 0) {
      throw new ScheduleError('window', day, `"${String(day)}" is not a weekday: use ${WEEKDAYS.join(', ')}`);
    }
    days.add(index);
  }
  return days;
}

function weekdayOfDay(day: number): number {
  return (((day + EPOCH_WEEKDAY) % 7) + 7) % 7;
}

/** A daily window in a time zone. Build it with `compileSchedule({ window, timezone })`. */
export class WindowSchedule implements Schedule {
  readonly kind = 'window';
  readonly timezone: string;
  /** Minutes after local midnight. */
  readonly startMinute: number;
  /** Minutes after local midnight, up to 1440; at or before `startMinute` means the next day. */
  readonly endMinute: number;
  /** Weekday indexes (0 = Sunday) on which the window opens, ascending. */
  readonly weekdays: readonly number[];
  readonly description: string;
  readonly #zone: TimeZone;
  readonly #weekdays: Set<number>;
  readonly #openings = new Map<number, Opening | null>();

  constructor(times: WindowTimes, zone: TimeZone) {
    if (typeof times !== 'object' || times === null) {
      throw new ScheduleError('window', times, 'a window needs start and end local times, e.g. { start: "23:00", end: "07:00" }');
    }
    this.startMinute = parseClockTime(times.start, 'start');
    this.endMinute = parseClockTime(times.end, 'end');
    if (this.startMinute === this.endMinute) {
      throw new ScheduleError('window', times, `window start and end are both ${times.start}: for a whole day write start "00:00", end "24:00"`);
    }
    this.#weekdays = parseWeekdays(times.weekdays);
    if (this.#weekdays.size === 7 && this.startMinute === 0 && this.endMinute === 24 * 60) {
      throw new ScheduleError('window', times, 'this window is open all the time (00:00–24:00 every day): it never changes state');
    }
    this.#zone = zone;
    this.timezone = zone.name;
    this.weekdays = [...this.#weekdays].sort((a, b) => a - b);
    const days = this.#weekdays.size === 7 ? '' : ` on ${this.weekdays.map((d) => WEEKDAYS[d]).join(',')}`;
    this.description = `window ${formatMinute(this.startMinute)}–${formatMinute(this.endMinute)}${days} in ${zone.name}`;
  }

  /** Whether the window is open at `instant`, since when, until when, and the next edge. */
  stateAt(instant: number): WindowState {
    const today = Math.floor(this.#zone.wallAt(instant) / DAY_MS);
    for (let day = today - 1; day <= today + 1; day++) {
      const opening = this.#opening(day);
      if (opening && opening.open <= instant && instant < opening.close) {
        let openedAt = opening.open;
        for (let back = 1; back <= MAX_MERGED_DAYS; back++) {
          const earlier = this.#opening(day - back);
          if (!earlier || earlier.close !== openedAt) break;
          openedAt = earlier.open;
        }
        let closesAt = opening.close;
        for (let ahead = 1; ahead <= MAX_MERGED_DAYS; ahead++) {
          const later = this.#opening(day + ahead);
          if (!later || later.open !== closesAt) break;
          closesAt = later.close;
        }
        return { inside: true, openedAt, closesAt, nextEdge: closesAt };
      }
    }
    for (let day = today - 1; day <= today + SEARCH_DAYS; day++) {
      const opening = this.#opening(day);
      if (opening && opening.open > instant) return { inside: false, nextEdge: opening.open };
    }
    throw new Error(`${this.description}: no opening within ${SEARCH_DAYS} days`); // unreachable: weekdays is non-empty
  }

  /** The first opening or closing strictly after `instant`. */
  nextEdgeAfter(instant: number): WindowEdge {
    const state = this.stateAt(instant);
    return { at: state.nextEdge, kind: state.inside ? 'close' : 'open' };
  }

  /** The next edge (opening or closing) strictly after `instant`. */
  nextAfter(instant: number): number {
    return this.stateAt(instant).nextEdge;
  }

  /** The last edge at or before `instant`: the current opening when inside, else the last closing. */
  previousAtOrBefore(instant: number): number | null {
    const state = this.stateAt(instant);
    if (state.inside) return state.openedAt ?? null;
    const today = Math.floor(this.#zone.wallAt(instant) / DAY_MS);
    for (let day = today + 1; day >= today - SEARCH_DAYS; day--) {
      const opening = this.#opening(day);
      if (opening && opening.close <= instant) return opening.close;
    }
    return null;
  }

  /** The edges in (from, to], oldest first, at most `cap`. */
  slotsBetween(from: number, to: number, cap: number): number[] {
    return collectSlots(this, from, to, cap);
  }

  countBetween(from: number, to: number, limit: number): SlotCount {
    return countSlots(this, from, to, limit);
  }

  /** The opening that starts on local day `day` (days since 1970-01-01 on the wall timeline), if any. */
  #opening(day: number): Opening | null {
    const cached = this.#openings.get(day);
    if (cached !== undefined) return cached;
    let opening: Opening | null = null;
    if (this.#weekdays.has(weekdayOfDay(day))) {
      const closeDay = this.endMinute > this.startMinute ? day : day + 1;
      const open = this.#zone.instantOfWall(day * DAY_MS + this.startMinute * MINUTE_MS);
      const close = this.#zone.instantOfWall(closeDay * DAY_MS + this.endMinute * MINUTE_MS);
      if (close > open) opening = { open, close };
    }
    if (this.#openings.size >= OPENINGS_KEPT) {
      const oldest = this.#openings.keys().next();
      if (!oldest.done) this.#openings.delete(oldest.value);
    }
    this.#openings.set(day, opening);
    return opening;
  }
}

function formatMinute(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}
