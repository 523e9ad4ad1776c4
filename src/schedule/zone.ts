/**
 * Time-zone arithmetic for the schedules: the UTC offset at an instant, the stretches of
 * constant offset around an instant, and the instant a local wall-clock time stands for.
 *
 * A "wall" time is a local date and time written as milliseconds as if it were UTC
 * (2026-03-08 02:30 local is `Date.UTC(2026, 2, 8, 2, 30)`), so calendar maths on it has
 * no DST. Offsets come from the platform's `Intl` time-zone data, so they follow tzdata.
 *
 * Assumption used throughout: a zone changes its offset at most once in any 24 hours.
 * That holds for every zone in tzdata since well before 1970.
 */
import { ScheduleError } from './errors';

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/**
 * More than the largest distance between a wall time and its instant (offsets run from
 * -12:00 to +14:00): a fire for wall time `w` always lies within `w ± MAX_OFFSET_MS`.
 */
export const MAX_OFFSET_MS = 15 * HOUR_MS;

/** Instants in [start, end) share one UTC offset (ms to add to an instant to get its wall time). */
export interface OffsetSegment {
  readonly start: number;
  /** Exclusive; `Infinity` for the last segment of a list. */
  readonly end: number;
  readonly offset: number;
}

/** How many offset changes each zone remembers, so that bisection runs once per change. */
const KNOWN_TRANSITIONS_KEPT = 32;

/** An IANA time zone with the few operations the schedules need. Get one with {@link timeZone}. */
export class TimeZone {
  /** Canonical IANA name, as the platform resolves it (`america/new_york` → `America/New_York`). */
  readonly name: string;
  readonly #format: Intl.DateTimeFormat;
  readonly #knownTransitions: number[] = [];

  constructor(name: string, format: Intl.DateTimeFormat) {
    this.name = name;
    this.#format = format;
  }

  /** Milliseconds to add to `instant` to get its local wall time. */
  offsetAt(instant: number): number {
    const whole = Math.floor(instant / SECOND_MS) * SECOND_MS;
    return this.#wallOfWholeSecond(whole) - whole;
  }

  /** The local wall time of `instant`. */
  wallAt(instant: number): number {
    return instant + this.offsetAt(instant);
  }

  /**
   * The first instant in (lo, hi] whose offset differs from the offset at `lo`, given that
   * the offsets at `lo` and `hi` differ and the zone changes offset once in between.
   */
  transitionIn(lo: number, hi: number): number {
    for (const known of this.#knownTransitions) {
      if (known > lo && known <= hi) return known;
    }
    const before = this.offsetAt(lo);
    let low = lo;
    let high = hi;
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (this.offsetAt(mid) === before) low = mid;
      else high = mid;
    }
    if (this.#knownTransitions.length >= KNOWN_TRANSITIONS_KEPT) this.#knownTransitions.shift();
    this.#knownTransitions.push(high);
    return high;
  }

  /**
   * The constant-offset stretches covering [start, end], in order. The span may be at most
   * two days: offsets are probed at both ends and the middle, and each half holds at most
   * one change. The first segment starts at `start`; the last one ends at `Infinity`.
   */
  segments(start: number, end: number): OffsetSegment[] {
    const mid = start + Math.floor((end - start) / 2);
    const atStart = this.offsetAt(start);
    const atMid = this.offsetAt(mid);
    const atEnd = this.offsetAt(end);
    const segments: OffsetSegment[] = [];
    let segmentStart = start;
    if (atStart !== atMid) {
      const change = this.transitionIn(start, mid);
      segments.push({ start: segmentStart, end: change, offset: atStart });
      segmentStart = change;
    }
    if (atMid !== atEnd) {
      const change = this.transitionIn(mid, end);
      segments.push({ start: segmentStart, end: change, offset: atMid });
      segmentStart = change;
    }
    segments.push({ start: segmentStart, end: Infinity, offset: atEnd });
    return segments;
  }

  /**
   * The instant a local wall time stands for, with the DST rules of fixed local times:
   * a wall time that occurs twice (clocks go back) is its first occurrence; a wall time
   * that does not exist (clocks go forward) is the end of the gap, the first instant after
   * the change (02:30 on a spring-forward night in New York is 03:00 EDT).
   */
  instantOfWall(wall: number): number {
    const earlierOffset = this.offsetAt(wall - DAY_MS);
    const laterOffset = this.offsetAt(wall + DAY_MS);
    const first = wall - Math.max(earlierOffset, laterOffset);
    const second = wall - Math.min(earlierOffset, laterOffset);
    if (this.wallAt(first) === wall) return first;
    if (this.wallAt(second) === wall) return second;
    // In a gap: the instant `wall - laterOffset` is still before the change, `wall - earlierOffset` after it.
    return this.transitionIn(wall - laterOffset, wall - earlierOffset);
  }

  /** Parses the formatter's `M/D/YYYY, HH:MM:SS` without allocating parts (format() is ~3x faster than formatToParts()). */
  #wallOfWholeSecond(instant: number): number {
    const text = this.#format.format(instant);
    let month = 0;
    let day = 0;
    let year = 0;
    let hour = 0;
    let minute = 0;
    let value = 0;
    let index = 0;
    let inNumber = false;
    for (let i = 0; i <= text.length; i++) {
      const digit = i < text.length ? text.charCodeAt(i) - 48 : -1;
      if (digit >= 0 && digit <= 9) {
        value = value * 10 + digit;
        inNumber = true;
        continue;
      }
      if (!inNumber) continue;
      switch (index++) {
        case 0: month = value; break;
        case 1: day = value; break;
        case 2: year = value; break;
        case 3: hour = value; break;
        case 4: minute = value; break;
        default: return Date.UTC(year, month - 1, day, hour, minute, value);
      }
      value = 0;
      inNumber = false;
    }
    throw new Error(`unexpected date format from Intl for ${this.name}: ${text}`);
  }
}

const zones = new Map<string, TimeZone>();

/**
 * The time zone with this IANA name (case-insensitive), shared by every schedule that
 * names it. Throws ScheduleError (SCHEDULE_INVALID) for a name the platform does not know.
 */
export function timeZone(name: string): TimeZone {
  const cached = zones.get(name);
  if (cached) return cached;
  if (typeof name !== 'string' || name.trim() === '') {
    throw new ScheduleError('timezone', name, 'a time zone is required: an IANA name such as "Asia/Shanghai" or "UTC"');
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      calendar: 'gregory',
      numberingSystem: 'latn',
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new ScheduleError('timezone', name, `unknown time zone "${name}": use an IANA name such as "Asia/Shanghai", "Europe/Berlin" or "UTC"`);
  }
  const canonical = format.resolvedOptions().timeZone;
  const zone = zones.get(canonical) ?? new TimeZone(canonical, format);
  zones.set(canonical, zone);
  zones.set(name, zone);
  return zone;
}
