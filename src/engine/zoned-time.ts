/**
 * Wall-clock time in a time zone, for conditions and windows: which weekday and minute
 * of the day an instant is where the rule lives. Formatters are costly to build, so one
 * is kept per zone.
 */
import { WEEKDAYS } from '../rules/schema';

export type WeekdayName = (typeof WEEKDAYS)[number];

/** An instant as a clock on the wall of a time zone shows it. */
export interface ZonedTime {
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** Minutes since local midnight, 0 … 1439. */
  minuteOfDay: number;
  /** `YYYY-MM-DD` in the zone. */
  date: string;
  /** `HH:MM` in the zone. */
  time: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

const WEEKDAY_INDEX: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The weekday and time of day of `epochMs` in `timezone` (an IANA name). */
export function zonedTime(epochMs: number, timezone: string): ZonedTime {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timezone).formatToParts(new Date(epochMs))) parts[part.type] = part.value;
  const hour = Number(parts.hour) % 24;
  const minute = Number(parts.minute);
  return {
    weekday: WEEKDAY_INDEX[parts.weekday ?? ''] ?? 0,
    minuteOfDay: hour * 60 + minute,
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`,
  };
}

/** `"23:30"` → 1410. The schema has already checked the form. */
export function minuteOfDay(timeOfDay: string): number {
  const [hours, minutes] = timeOfDay.split(':');
  return Number(hours) * 60 + Number(minutes);
}

export function weekdayName(weekday: number): WeekdayName {
  return WEEKDAYS[((weekday % 7) + 7) % 7]!;
}

/** Whether `timezone` is an IANA zone this runtime knows. */
export function isKnownTimeZone(timezone: string): boolean {
  try {
    formatterFor(timezone);
    return true;
  } catch {
    return false;
  }
}
