import ms from 'ms';
import { RulebotError } from './errors';

/** Durations in rule and config files: "500ms", "15s", "2m", "1h", "7d", or a number of milliseconds. */
export const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d|w)\\s*$';
const DURATION_RE = new RegExp(DURATION_PATTERN);

export class DurationError extends RulebotError {
  constructor(value: unknown) {
    super('DURATION_INVALID', `"${String(value)}" is not a duration (use e.g. 500ms, 15s, 2m, 1h, 7d)`, { value });
  }
}

/** Parses a duration into milliseconds; throws DurationError on anything else. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
    throw new DurationError(value);
  }
  if (!DURATION_RE.test(value)) throw new DurationError(value);
  const parsed = ms(value.replace(/\s+/g, '') as ms.StringValue);
  if (typeof parsed !== 'number' || !Number.isFinite(parsed)) throw new DurationError(value);
  return parsed;
}

export function isDuration(value: unknown): boolean {
  return (typeof value === 'number' && Number.isFinite(value) && value >= 0) || (typeof value === 'string' && DURATION_RE.test(value));
}

/** A short human form: 1500 → "1.5s". */
export function formatDuration(millis: number): string {
  if (millis < 1000) return `${Math.round(millis)}ms`;
  return ms(millis);
}
