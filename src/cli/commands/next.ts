/**
 * `rulebot next [rule]`: when each scheduled rule fires next, in its own time zone with
 * the UTC offset (`2026-03-08 03:00:00 -04:00 (America/New_York)`), and where each
 * window stands now. Event-triggered rules are listed as firing on their event. Reads
 * the config and the rule files only: no bridge, no database, so it works while the
 * daemon is down. RULEBOT_NOW sets "now" (for tests).
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, resolveConfigPath, systemTimeZone } from '../../config';
import { compileRuleSchedule, formatZoned, upcomingFires, type RuleSchedule } from '../../engine/rule-schedule';
import { DEFAULT_RULES_DIR, loadRules, type LoadResult, type LoadedRule } from '../../rules/load';
import { triggerKind } from '../../rules/types';
import { clockFromEnv } from '../../shared/clock';
import { describeError, RulebotError, UsageError } from '../../shared/errors';
import { didYouMean, formatProblem } from '../../shared/yaml-source';
import { addConfigOption, addJsonOption, parseIntegerArgument, type ConfigOptions } from '../options';
import { printJson, printLines, printNotice } from '../output';

interface NextOptions extends ConfigOptions {
  count: number;
  json?: boolean;
}

/** Fires listed per rule when `--count` is not given. */
export const DEFAULT_NEXT_COUNT = 5;
/** The most fires `--count` may ask for. */
export const MAX_NEXT_COUNT = 1000;

/** One upcoming fire. */
export interface NextFire {
  /** ISO-8601 (UTC). */
  at: string;
  /** Wall time in the rule's zone with its offset, e.g. `2026-03-08 03:00:00 -04:00`. */
  local: string;
  /** For window rules: whether the window opens or closes then. */
  edge?: 'open' | 'close';
}

/** What `next` tells about one rule. */
export interface NextRuleReport {
  id: string;
  trigger: string;
  enabled: boolean;
  file: string;
  line: number;
  /** Scheduled rules: e.g. `cron "30 2 * * *" in America/New_York`. Disabled rules list no fires. */
  schedule?: string;
  timezone?: string;
  fires?: NextFire[];
  /** Window rules: the state now. */
  window?: { inside: boolean; since?: string; nextEdge: string };
  /** Rules that fire on an event rather than on a schedule: what they wait for. */
  onEvent?: string;
  /** Why the rule's schedule cannot be computed (the loader should have refused it). */
  error?: string;
}

export interface NextReport {
  now: string;
  rules: NextRuleReport[];
}

export function register(program: Command): void {
  const command = program
    .command('next')
    .description('show when scheduled rules fire next, in their time zones, and where windows stand')
    .argument('[rule]', 'only this rule')
    .option('-n, --count <n>', `fires to list per rule, 1 to ${MAX_NEXT_COUNT}`, parseCount, DEFAULT_NEXT_COUNT);
  addConfigOption(command);
  addJsonOption(command, 'print { now, rules: [{ id, trigger, schedule, timezone, fires: [{ at, local, edge }], window, onEvent }] } as JSON');
  command.addHelpText(
    'after',
    `
Reads the config and the rule files only (no bridge, no database). RULEBOT_NOW=<ISO
instant> computes from that instant instead of now (meant for tests).

Exit status: 0; 1 when the rule named does not exist or is invalid.

Examples:
  rulebot next
  rulebot next morning-greeting --count 10
  RULEBOT_NOW=2026-03-07T12:00:00Z rulebot next night-mode --json`,
  );
  command.action(async (ruleId: string | undefined, options: NextOptions) => {
    const { rulesDir, timezone } = rulesSource(options);
    const loaded = loadRules([rulesDir]);
    const selected = ruleId === undefined ? loaded.rules : [findRule(loaded, ruleId, rulesDir)];
    if (ruleId === undefined && loaded.problems.length > 0 && !options.json) {
      printNotice(`${loaded.problems.length} problem(s) in the rule files; the invalid rules are left out (see rulebot validate)`);
    }
    const report = nextReport(selected, { now: clockFromEnv().now(), count: options.count, defaultTimezone: timezone });
    if (options.json) printJson(report);
    else printLines(...formatNextReport(report, timezone));
  });
}

function parseCount(value: string): number {
  const count = parseIntegerArgument(value);
  if (count < 1 || count > MAX_NEXT_COUNT) throw new UsageError(`--count must be from 1 to ${MAX_NEXT_COUNT} (got ${count})`);
  return count;
}

/** The rules folder and default zone: the config's when a config is named or present, else ./rules and the system zone. */
function rulesSource(options: NextOptions): { rulesDir: string; timezone: string } {
  const location = resolveConfigPath({ path: options.config });
  if (location.source === 'default' && !fs.existsSync(location.file)) return { rulesDir: DEFAULT_RULES_DIR, timezone: systemTimeZone() };
  const config = loadConfig({ path: options.config });
  return { rulesDir: config.rulesDir, timezone: config.timezone };
}

/** The rule with that id; an unknown or invalid one is told with what is there instead. */
function findRule(loaded: LoadResult, ruleId: string, rulesDir: string): LoadedRule {
  const found = loaded.rules.find((candidate) => candidate.rule.id === ruleId);
  if (found) return found;
  const invalid = loaded.invalidRules.find((rule) => rule.id === ruleId);
  if (invalid) {
    const problems = loaded.problems.filter((problem) => problem.file === invalid.file).map((problem) => `  ${formatProblem(problem)}`);
    throw new RulebotError('RULE_INVALID', [`rule ${ruleId} (${invalid.file}:${invalid.line}) is invalid:`, ...problems].join('\n'), { ruleId });
  }
  const ids = loaded.rules.map((candidate) => candidate.rule.id);
  const hint = didYouMean(ruleId, ids);
  const known = ids.length > 0 ? `; rules in ${rulesDir}: ${ids.join(', ')}` : `; ${rulesDir} holds no valid rule`;
  throw new RulebotError('RULE_NOT_FOUND', `no rule with id "${ruleId}"${hint ? ` (did you mean "${hint}"?)` : known}`, { ruleId });
}

/** The next `count` fires of each rule after `now`, computed as the scheduler computes them. Pure. */
export function nextReport(rules: readonly LoadedRule[], options: { now: number; count: number; defaultTimezone: string }): NextReport {
  const { now, count, defaultTimezone } = options;
  return { now: new Date(now).toISOString(), rules: rules.map((loaded) => ruleReport(loaded, now, count, defaultTimezone)) };
}

function ruleReport(loaded: LoadedRule, now: number, count: number, defaultTimezone: string): NextRuleReport {
  const { rule } = loaded;
  const kind = triggerKind(rule.trigger);
  const report: NextRuleReport = { id: rule.id, trigger: kind, enabled: rule.enabled !== false, file: loaded.file, line: loaded.line };
  let spec: RuleSchedule | null;
  try {
    spec = compileRuleSchedule(rule, defaultTimezone);
  } catch (err) {
    return { ...report, error: describeError(err) };
  }
  if (spec === null) return { ...report, onEvent: eventOf(loaded) };
  report.schedule = spec.description;
  report.timezone = spec.timezone;
  if (!report.enabled) return report;
  const fires = upcomingFires(spec.schedule, now, count);
  const schedule = spec.schedule;
  if (schedule.kind === 'window') {
    const state = schedule.stateAt(now);
    report.window = { inside: state.inside, ...(state.openedAt !== undefined && { since: iso(state.openedAt) }), nextEdge: iso(state.nextEdge) };
    report.fires = fires.map((at) => ({ at: iso(at), local: formatZoned(at, spec.timezone), edge: schedule.stateAt(at).inside ? 'open' : 'close' }));
  } else {
    report.fires = fires.map((at) => ({ at: iso(at), local: formatZoned(at, spec.timezone) }));
  }
  return report;
}

/** What an event-triggered rule waits for, in a few words. */
function eventOf(loaded: LoadedRule): string {
  const trigger = loaded.rule.trigger;
  if ('message' in trigger) return 'an incoming message';
  if ('push' in trigger) return `a ${trigger.push.event === 'any' ? '' : `${trigger.push.event} `}push`;
  if ('watch' in trigger) return `a new item in ${trigger.watch.list} (polled every ${String(trigger.watch.every)})`;
  if ('startup' in trigger) return 'the daemon starting';
  return 'rulebot run';
}

/** The report as text, one block per rule. */
export function formatNextReport(report: NextReport, defaultTimezone: string): string[] {
  const lines = [`now: ${formatZoned(Date.parse(report.now), defaultTimezone)} (${defaultTimezone})`];
  if (report.rules.length === 0) lines.push('no valid rules');
  for (const rule of report.rules) {
    lines.push('');
    const disabled = rule.enabled ? '' : '  (disabled)';
    if (rule.error !== undefined) {
      lines.push(`${rule.id}  ${rule.trigger}: ${rule.error}`);
      continue;
    }
    if (rule.onEvent !== undefined) {
      lines.push(`${rule.id}  ${rule.trigger}: on event (${rule.onEvent})${disabled}`);
      continue;
    }
    lines.push(`${rule.id}  ${rule.schedule}${disabled}`);
    if (!rule.enabled) continue;
    const zone = rule.timezone ?? defaultTimezone;
    if (rule.window) {
      const since = rule.window.since !== undefined ? ` since ${formatZoned(Date.parse(rule.window.since), zone)}` : '';
      lines.push(`  now ${rule.window.inside ? `inside${since}` : 'outside'}`);
    }
    for (const fire of rule.fires ?? []) {
      lines.push(`  ${fire.local} (${zone})${fire.edge ? `  ${fire.edge === 'open' ? 'opens' : 'closes'}` : ''}`);
    }
    if ((rule.fires ?? []).length === 0) lines.push('  never fires again');
  }
  return lines;
}

function iso(instant: number): string {
  return new Date(instant).toISOString();
}
