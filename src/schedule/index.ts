// The scheduling core: pure next-fire maths, misfire planning, and the one timer.

// === Compiling schedules and asking when they fire
export { compileSchedule } from './next-fire';
export type { CompiledSchedule, CronSpec, EverySpec, ScheduleSpec, WindowSpec } from './next-fire';
export type { Schedule, SlotCount } from './types';
export { CronSchedule } from './cron';
export type { CronDstRule } from './cron';
export { EverySchedule } from './every';
export { WindowSchedule, WEEKDAYS } from './window';
export type { Weekday, WindowEdge, WindowState, WindowTimes } from './window';

// === After downtime
export { planMisfires, MISFIRE_POLICIES, DEFAULT_MISSED_LIST_LIMIT, MISSED_COUNT_BUDGET } from './misfire';
export type { CatchUpRun, MisfirePlan, MisfirePolicy, MisfirePolicyName, MissedReason, MissedSlot, MissedSpan } from './misfire';

// === The timer loop
export { TimerQueue, MAX_TIMER_WAIT_MS } from './timer-queue';
export type { DueBatch, TimerQueueOptions } from './timer-queue';

// === Errors
export { ScheduleError, SCHEDULE_INVALID } from './errors';
export type { ScheduleField } from './errors';
