/**
 * A rule's timed trigger as the scheduling core understands it: the compiled schedule
 * in the rule's time zone, its misfire policy in milliseconds, and the trigger data a
 * fire carries. Pure: nothing here reads the clock, so the scheduler and `rulebot next`
 * compute the same fires from the same instant.
 */
import { misfireOf, triggerKind, cronSpecOf, everySpecOf, type Rule } from '../rules/types';
import { compileSchedule, type CompiledSchedule, type MisfirePolicy, type WindowSchedule } from '../schedule';
import { timeZone } from '../schedule/zone';
import { parseDuration } from '../shared/duration';
import { zonedTime } from './zoned-time';

/** The trigger kinds the scheduler fires. */
export type ScheduledKind = 'cron' | 'every' | 'window';

/** A rule's timed trigger, compiled. */
export interface RuleSchedule {
  kind: ScheduledKind;
  schedule: CompiledSchedule;
  /** The IANA zone the schedule is read in (for `every`, where its day starts). */
  timezone: string;
  /** One line for logs and listings, e.g. `cron "0 9 * * 1-5" in Asia/Shanghai`. */
  description: string;
}

/** Whether a rule's trigger is one the scheduler fires. */
export function isScheduledRule(rule: Rule): boolean {
  const kind = triggerKind(rule.trigger);
  return kind === 'cron' || kind === 'every' || kind === 'window';
}

/**
 * Compiles a rule's timed trigger, or returns null for the other kinds. The zone is the
 * trigger's own (`cron: { expr, timezone }`), else the rule's, else `defaultTimezone`.
 * Throws ScheduleError (SCHEDULE_INVALID) for a schedule the loader should have refused.
 *
 * `every` slots are counted from local midnight plus `offset`, in the zone's standard
 * time (its offset outside daylight saving). An interval is elapsed time: across a DST
 * change, intervals that the change is not a multiple of (2h, 1d...) keep their spacing
 * instead of following the wall clock; cron follows the wall clock.
 */
export function compileRuleSchedule(rule: Rule, defaultTimezone: string): RuleSchedule | null {
  const trigger = rule.trigger;
  const ruleZone = rule.timezone ?? defaultTimezone;
  if ('cron' in trigger) {
    const spec = cronSpecOf(trigger.cron);
    const timezone = spec.timezone ?? ruleZone;
    const schedule = compileSchedule({ cron: spec.expr, timezone });
    return { kind: 'cron', schedule, timezone: schedule.timezone, description: schedule.description };
  }
  if ('every' in trigger) {
    const spec = everySpecOf(trigger.every);
    const interval = parseDuration(spec.interval);
    const offset = spec.offset === undefined ? 0 : parseDuration(spec.offset);
    const zone = timeZone(ruleZone);
    const schedule = compileSchedule({ every: interval, offset: offset - standardOffset(zone) });
    return { kind: 'every', schedule, timezone: zone.name, description: `every ${describeEvery(spec)} in ${zone.name}` };
  }
  if ('window' in trigger) {
    const { start, end, weekdays } = trigger.window;
    const schedule = compileSchedule({ window: { start, end, ...(weekdays && { weekdays: [...weekdays] }) }, timezone: ruleZone });
    return { kind: 'window', schedule, timezone: schedule.timezone, description: schedule.description };
  }
  return null;
}

/** The zone's offset outside daylight saving: the smaller of mid-winter's and mid-summer's. */
function standardOffset(zone: { offsetAt(instant: number): number }): number {
  // A fixed year keeps the slots the same whenever the daemon starts.
  return Math.min(zone.offsetAt(Date.UTC(2026, 0, 1)), zone.offsetAt(Date.UTC(2026, 6, 1)));
}

function describeEvery(spec: { interval: string | number; offset?: string | number }): string {
  const interval = typeof spec.interval === 'number' ? `${spec.interval}ms` : spec.interval;
  if (spec.offset === undefined) return interval;
  return `${interval} offset ${typeof spec.offset === 'number' ? `${spec.offset}ms` : spec.offset}`;
}

/** A rule's misfire policy in milliseconds, defaults applied (docs/rules.md, "Misfires"). */
export function misfirePolicyOf(rule: Rule): MisfirePolicy {
  const spec = misfireOf(rule);
  return { policy: spec.policy, grace: parseDuration(spec.grace), cap: spec.cap, spacing: parseDuration(spec.spacing) };
}

/** The first `count` fires strictly after `after`, oldest first (fewer when the schedule ends). */
export function upcomingFires(schedule: CompiledSchedule, after: number, count: number): number[] {
  const fires: number[] = [];
  let cursor = after;
  while (fires.length < count) {
    const next = schedule.nextAfter(cursor);
    if (next === null) break;
    fires.push(next);
    cursor = next;
  }
  return fires;
}

// === Windows ===

/** Why a window rule fired: the window opened, closed, or the state is re-applied at start or reload. */
export type WindowEdgeKind = 'open' | 'close' | 'reconcile';

/** A window rule's trigger data, read in templates as `window.*`. */
export interface WindowTriggerData {
  /** Whether the window is open at the fire. */
  inside: boolean;
  edge: WindowEdgeKind;
  /** As written in the rule. */
  start: string;
  end: string;
  /** `YYYY-MM-DD` in the rule's zone: the day the current (or, outside, the last) window opened. */
  openedOn: string | null;
  /** The next opening or closing, ISO-8601. */
  nextEdge: string;
}

/** The window's state at `at` as trigger data. */
export function windowTriggerData(rule: Rule, schedule: WindowSchedule, at: number, edge: WindowEdgeKind): WindowTriggerData {
  const state = schedule.stateAt(at);
  let openedAt = state.openedAt;
  if (!state.inside) {
    // Outside, the last edge was a closing; the instant before it was inside that opening.
    const lastClose = schedule.previousAtOrBefore(at);
    openedAt = lastClose === null ? undefined : schedule.stateAt(lastClose - 1).openedAt;
  }
  const times = 'window' in rule.trigger ? rule.trigger.window : { start: '', end: '' };
  return {
    inside: state.inside,
    edge,
    start: times.start,
    end: times.end,
    openedOn: openedAt === undefined ? null : zonedTime(openedAt, schedule.timezone).date,
    nextEdge: new Date(state.nextEdge).toISOString(),
  };
}

/** Formats an instant as its wall time in a zone with the UTC offset: `2026-03-08 03:00:00 -04:00`. */
export function formatZoned(instant: number, timezone: string): string {
  const zone = timeZone(timezone);
  const offset = zone.offsetAt(instant);
  const wall = new Date(instant + offset).toISOString();
  const sign = offset < 0 ? '-' : '+';
  const minutes = Math.abs(offset) / 60_000;
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(Math.floor(minutes % 60)).padStart(2, '0');
  return `${wall.slice(0, 10)} ${wall.slice(11, 19)} ${sign}${hh}:${mm}`;
}
