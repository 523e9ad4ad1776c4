/**
 * Errors of the scheduling core. A bad cron expression, time zone, interval or window
 * is reported once, when the schedule is compiled, never when it is due.
 */
import { RulebotError } from '../shared/errors';

/** Code of every {@link ScheduleError}: the schedule as written cannot be used. */
export const SCHEDULE_INVALID = 'SCHEDULE_INVALID';

/** Which part of a schedule was wrong, for messages that point at the right field. */
export type ScheduleField = 'schedule' | 'cron' | 'timezone' | 'every' | 'offset' | 'window' | 'misfire';

/** A schedule (cron, time zone, interval, window or misfire policy) that cannot be used. */
export class ScheduleError extends RulebotError {
  readonly field: ScheduleField;
  readonly value: unknown;

  constructor(field: ScheduleField, value: unknown, message: string) {
    super(SCHEDULE_INVALID, message, { field, value });
    this.field = field;
    this.value = value;
  }
}
