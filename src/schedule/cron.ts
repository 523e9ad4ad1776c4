/**
 * Cron schedules in an IANA time zone, computed from any instant (never from the real now).
 *
 * cron-parser parses and validates the expression and enumerates the matching local
 * times on a DST-free wall-clock timeline (it is run in UTC, see zone.ts). This module
 * maps those wall times to instants with explicit DST rules, because cron-parser 5's own
 * time-zone mode handles the gaps differently from what rulebot documents.
 *
 * DST rules, as documented for rule files:
 *
 * - Fixed local times: any expression whose hour field does not cover all 24 hours
 *   (daily, weekly, "9 and 17", "every 2 hours"...).
 *   - Repeated hour (clocks go back): fires once, in the first occurrence.
 *   - Skipped hour (clocks go forward): the times that do not exist fire once, right
 *     after the gap. A daily 02:30 in America/New_York fires at 03:00 EDT on 2026-03-08.
 *     cron-parser 5 fires it at 03:30 (the wall time pushed forward by the gap), and an
 *     expression such as `0-59/5 2 * * *` fires all through the 03:00 hour instead of
 *     once; both are corrected here.
 * - Every hour: an expression whose hour field covers all 24 hours (`0 * * * *`,
 *   `0-59/15 * * * *`, `* * * * * *`) follows the clock as it is read: no fire in the
 *   skipped hour, and one fire per real hour in the repeated hour (01:00 EDT and 01:00
 *   EST both fire). cron-parser 5 agrees with this.
 *
 * Day-of-month and day-of-week follow classic cron: when both are restricted, a day
 * matching either fires (cron-parser's behaviour; node-cron 4 requires both).
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { ScheduleError } from './errors';
import { collectSlots, countSlots } from './slots';
import type { Schedule, SlotCount } from './types';
import { DAY_MS, HOUR_MS, MAX_OFFSET_MS, type OffsetSegment, type TimeZone } from './zone';

/**
 * How a cron expression treats DST changes: `fixed-time` (its hour field lists some
 * hours) or `every-hour` (its hour field covers all 24). See the module comment.
 */
export type CronDstRule = 'fixed-time' | 'every-hour';

/**
 * Fires closer than this to the start of the computed stretch are not trusted when
 * searching backwards: the stretch may begin inside an hour that repeats, which it cannot
 * see. Larger than any backward clock change in tzdata (at most 3 h, Antarctica/Casey).
 */
const BACKWARD_MARGIN_MS = 4 * HOUR_MS;

/** Stops a runaway search; a real one needs a handful of steps. */
const MAX_SEARCH_STEPS = 1_000;

/** Hashed values (`H`) differ between parses, so slots would move on every restart. */
const HASHED_ATOM = /^H(?:$|[(/])/i;

/** A parsed cron expression that enumerates matching wall times (see zone.ts). */
class WallPattern {
  readonly expression: string;
  readonly dstRule: CronDstRule;
  readonly #cron: CronExpression;

  constructor(expression: string, cron: CronExpression) {
    this.expression = expression;
    this.#cron = cron;
    this.dstRule = cron.fields.hour.values.length === 24 ? 'every-hour' : 'fixed-time';
  }

  /** The first matching wall time strictly after `wall`. */
  after(wall: number): number | null {
    try {
      this.#cron.reset(new Date(wall));
      return this.#cron.next().getTime();
    } catch {
      return null; // no match left within cron-parser's range
    }
  }

  /** The last matching wall time at or before `wall`. */
  atOrBefore(wall: number): number | null {
    try {
      this.#cron.reset(new Date(Math.floor(wall) + 1));
      return this.#cron.prev().getTime();
    } catch {
      return null;
    }
  }
}

/** Parsed once per distinct expression and shared: 10,000 rules often use a handful. */
const patterns = new Map<string, WallPattern>();

/** Collapses whitespace so that `"0  9 * * *"` and `"0 9 * * *"` share one parse. */
export function normaliseCron(expression: string): string {
  return expression.trim().split(/\s+/).join(' ');
}

/** Parses and validates a 5- or 6-field cron expression; throws ScheduleError (SCHEDULE_INVALID). */
function wallPattern(expression: string): WallPattern {
  if (typeof expression !== 'string') {
    throw new ScheduleError('cron', expression, 'a cron expression must be a string such as "0 9 * * 1-5"');
  }
  const normalised = normaliseCron(expression);
  const cached = patterns.get(normalised);
  if (cached) return cached;
  const fields = normalised === '' ? [] : normalised.split(' ');
  if (fields.length !== 5 && fields.length !== 6) {
    throw new ScheduleError(
      'cron',
      expression,
      `cron "${expression}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; ` +
        'write 5 (minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5") or 6 (seconds first, e.g. "30 0 9 * * 1-5")',
    );
  }
  if (fields.some((field) => field.split(',').some((atom) => HASHED_ATOM.test(atom)))) {
    throw new ScheduleError('cron', expression, `cron "${expression}" uses H (a hashed value), which is not supported: write the value`);
  }
  let cron: CronExpression;
  try {
    cron = CronExpressionParser.parse(normalised, { tz: 'UTC', currentDate: 0 });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ScheduleError('cron', expression, `cron "${expression}" is not valid: ${reason}`);
  }
  const pattern = new WallPattern(normalised, cron);
  patterns.set(normalised, pattern);
  return pattern;
}

/** A fire and the wall time it came from (the wall time steers the next search step). */
interface Found {
  fire: number;
  wall: number;
}

/** A cron expression in a time zone. Build it with `compileSchedule({ cron, timezone })`. */
export class CronSchedule implements Schedule {
  readonly kind = 'cron';
  /** The expression with its whitespace normalised. */
  readonly expression: string;
  /** Canonical IANA name of the time zone. */
  readonly timezone: string;
  readonly dstRule: CronDstRule;
  readonly description: string;
  readonly #pattern: WallPattern;
  readonly #zone: TimeZone;
  // Rules sharing this schedule ask for the same fire in the same tick: answer once.
  #memoAfter = NaN;
  #memoNext: number | null = null;
  #memoAtOrBefore = NaN;
  #memoPrevious: number | null = null;

  constructor(expression: string, zone: TimeZone) {
    this.#pattern = wallPattern(expression);
    this.#zone = zone;
    this.expression = this.#pattern.expression;
    this.timezone = zone.name;
    this.dstRule = this.#pattern.dstRule;
    this.description = `cron "${this.expression}" in ${zone.name}`;
  }

  nextAfter(instant: number): number | null {
    if (instant === this.#memoAfter) return this.#memoNext;
    const next = this.#searchForward(instant);
    this.#memoAfter = instant;
    this.#memoNext = next;
    return next;
  }

  previousAtOrBefore(instant: number): number | null {
    if (instant === this.#memoAtOrBefore) return this.#memoPrevious;
    const previous = this.#searchBackward(instant);
    this.#memoAtOrBefore = instant;
    this.#memoPrevious = previous;
    return previous;
  }

  slotsBetween(from: number, to: number, cap: number): number[] {
    return collectSlots(this, from, to, cap);
  }

  countBetween(from: number, to: number, limit: number): SlotCount {
    return countSlots(this, from, to, limit);
  }

  /** Looks back two days at a time (see {@link #searchForward}). */
  #searchBackward(instant: number): number | null {
    let to = instant;
    for (let step = 0; step < MAX_SEARCH_STEPS; step++) {
      const lowest = to - 2 * DAY_MS;
      const segments = this.#zone.segments(lowest, to);
      const found = this.dstRule === 'every-hour' ? this.#lastHourly(segments, to) : this.#lastFixed(segments, to);
      if (found === null) return null;
      const trustedFrom = lowest + BACKWARD_MARGIN_MS;
      if (found.fire >= trustedFrom) return found.fire;
      // Nothing in [trustedFrom, to]; every earlier fire comes from `found.wall` or before.
      to = Math.min(trustedFrom - 1, found.wall + MAX_OFFSET_MS);
    }
    return null;
  }

  /**
   * Looks one day ahead at a time, with the zone's offsets known exactly over that day;
   * when the next matching wall time is further away, jumps close to it.
   */
  #searchForward(instant: number): number | null {
    let from = instant;
    for (let step = 0; step < MAX_SEARCH_STEPS; step++) {
      const horizon = from + DAY_MS;
      const segments = this.#zone.segments(from - DAY_MS, horizon);
      const found = this.dstRule === 'every-hour' ? this.#nextHourly(segments, from) : this.#nextFixed(segments, from);
      if (found === null) return null;
      if (found.fire <= horizon) return found.fire;
      // Nothing in (from, horizon]; every later fire comes from `found.wall` or after.
      from = Math.max(horizon, found.wall - MAX_OFFSET_MS);
    }
    return null;
  }

  /** Every-hour rule, forwards: each instant fires when its wall time matches. */
  #nextHourly(segments: OffsetSegment[], from: number): Found | null {
    for (const segment of segments) {
      if (segment.end <= from) continue;
      const wall = this.#pattern.after(Math.max(from, segment.start - 1) + segment.offset);
      if (wall === null) return null;
      const fire = wall - segment.offset;
      if (fire < segment.end) return { fire, wall };
    }
    return null; // unreachable: the last segment is unbounded
  }

  /** Every-hour rule, backwards. */
  #lastHourly(segments: OffsetSegment[], to: number): Found | null {
    for (let i = segments.length - 1; i >= 0; i--) {
      const segment = segments[i]!;
      if (segment.start > to) continue;
      const wall = this.#pattern.atOrBefore(Math.min(to, segment.end - 1) + segment.offset);
      if (wall === null) return null;
      const fire = wall - segment.offset;
      if (fire >= segment.start || i === 0) return { fire, wall };
    }
    return null;
  }

  /**
   * Fixed-time rule, forwards. `highWall` is the latest wall time the clock has shown so
   * far in this stretch: after clocks go back, wall times below it already fired.
   */
  #nextFixed(segments: OffsetSegment[], from: number): Found | null {
    const first = segments[0]!;
    let highWall = first.start + first.offset;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const endWall = segment.end + segment.offset;
      const lowWall = Math.max(segment.start + segment.offset, highWall);
      const afterWall = Math.max(lowWall - 1, from + segment.offset);
      if (afterWall < endWall - 1) {
        const wall = this.#pattern.after(afterWall);
        if (wall === null) return null;
        if (wall < endWall) return { fire: wall - segment.offset, wall };
      }
      const following = segments[i + 1];
      if (!following) break;
      highWall = Math.max(highWall, endWall);
      const resumeWall = segment.end + following.offset;
      if (resumeWall > endWall && segment.end > from) {
        // Clocks go forward: wall times in [endWall, resumeWall) do not exist today.
        const wall = this.#pattern.after(endWall - 1);
        if (wall === null) return null;
        if (wall < resumeWall) return { fire: segment.end, wall };
      }
      highWall = Math.max(highWall, resumeWall);
    }
    return null; // unreachable: the last segment is unbounded
  }

  /** Fixed-time rule, backwards (same model as {@link #nextFixed}, read from the end). */
  #lastFixed(segments: OffsetSegment[], to: number): Found | null {
    const highWalls: number[] = [];
    let highWall = segments[0]!.start + segments[0]!.offset;
    for (let i = 0; i < segments.length; i++) {
      highWalls.push(highWall);
      const segment = segments[i]!;
      const following = segments[i + 1];
      if (following) highWall = Math.max(highWall, segment.end + segment.offset, segment.end + following.offset);
    }
    for (let i = segments.length - 1; i >= 0; i--) {
      const segment = segments[i]!;
      if (segment.start <= to) {
        const endWall = segment.end + segment.offset;
        const bound = Math.min(to + segment.offset, endWall - 1);
        const lowWall = Math.max(segment.start + segment.offset, highWalls[i]!);
        if (bound >= lowWall || i === 0) {
          const wall = this.#pattern.atOrBefore(bound);
          if (wall === null) return null;
          if (wall >= lowWall || i === 0) return { fire: wall - segment.offset, wall };
        }
      }
      const previous = segments[i - 1];
      if (previous && segment.start <= to) {
        const gapStartWall = previous.end + previous.offset;
        const resumeWall = segment.start + segment.offset;
        if (resumeWall > gapStartWall) {
          const wall = this.#pattern.after(gapStartWall - 1);
          if (wall !== null && wall < resumeWall) return { fire: segment.start, wall };
        }
      }
    }
    return null;
  }
}
