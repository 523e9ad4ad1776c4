/**
 * How runs read in a terminal: `rulebot runs` as a table (newest first, one line each),
 * `rulebot show` and `rulebot run` as a timeline (trigger, each condition's result, each
 * step with its target, input, frame, answer, delivery, timing and note). Times are
 * shown in the config's time zone. Pure functions of the records: no I/O here.
 */
import Table from 'cli-table3';
import type { ConditionRecord, JsonValue, RunDetail, RunRecord, StepRecord, StoredError } from '../store/types';
import { zonedTime } from '../engine/zoned-time';

// === Small pieces ===

/** `2025-06-02 09:00:04` in `timezone`. */
export function formatLocalTime(epochMs: number, timezone: string): string {
  const local = zonedTime(epochMs, timezone);
  const seconds = String(Math.floor((((epochMs % 60_000) + 60_000) % 60_000) / 1000)).padStart(2, '0');
  return `${local.date} ${local.time}:${seconds}`;
}

/** 850ms, 4.2s, 3m 05s, 2h 10m. */
export function formatElapsed(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** A value on one line, cut to `max` characters. */
export function oneLine(value: JsonValue | unknown, max = 120): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  const flat = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function errorText(error: StoredError | null): string {
  return error ? `${error.message} [${error.code}]` : '';
}

/** What the runs table shows in its last column: why it was skipped, or what failed. */
export function runReason(run: RunRecord): string {
  if (run.error) return errorText(run.error);
  return run.reason ?? '';
}

// === `rulebot runs` ===

/** The runs table, newest first as given. */
export function formatRunsTable(runs: readonly RunRecord[], timezone: string): string {
  const reasons = runs.map((run) => oneLine(runReason(run), 200));
  // Long reasons wrap within a bounded column; short ones keep the table narrow.
  const reasonWidth = Math.min(REASON_COLUMN_MAX, Math.max('reason / error'.length, ...reasons.map((r) => r.length)) + 2);
  const table = new Table({
    head: ['id', 'rule', 'trigger', `started (${timezone})`, 'duration', 'status', 'reason / error'],
    style: { head: [], border: [], compact: true },
    colWidths: [null, null, null, null, null, null, reasonWidth],
    wordWrap: true,
  });
  runs.forEach((run, i) => {
    table.push([run.id, run.ruleId, run.triggerKind, formatLocalTime(run.startedAt, timezone), formatElapsed(run.durationMs), run.status, reasons[i]]);
  });
  return table.toString();
}

/** Widest the reason column gets before it wraps. */
const REASON_COLUMN_MAX = 60;

// === `rulebot show` and `rulebot run` ===

export interface TimelineOptions {
  timezone: string;
  /** Print frames in full (show, dry runs) or leave them out (a run's summary). @default true */
  frames?: boolean;
}

/** A run as a timeline a person can read top to bottom. */
export function formatRunTimeline(run: RunDetail, options: TimelineOptions): string {
  const tz = options.timezone;
  const lines: string[] = [];
  lines.push(`Run ${run.id} of rule ${run.ruleId}: ${run.status.toUpperCase()}`);
  lines.push(`  trigger   ${run.triggerKind}${run.slot !== null ? ` (slot ${formatLocalTime(run.slot, tz)})` : ''}${run.resumedFrom !== null ? `, resuming run ${run.resumedFrom}` : ''}`);
  lines.push(`  started   ${formatLocalTime(run.startedAt, tz)} (${tz})${run.durationMs !== null ? `, took ${formatElapsed(run.durationMs)}` : run.status === 'running' ? ', still running' : ''}`);
  lines.push(`  rule hash ${run.ruleHash.slice(0, 12)}`);
  if (run.triggerData !== null) lines.push(`  data      ${oneLine(run.triggerData, 160)}`);
  if (run.reason) lines.push(`  reason    ${run.reason}`);
  if (run.error) lines.push(`  error     ${errorText(run.error)}`);

  if (run.conditions && run.conditions.length > 0) {
    lines.push('', 'Conditions:');
    for (const condition of run.conditions) lines.push(formatCondition(condition));
  }

  lines.push('', run.steps.length === 0 ? 'Steps: none' : 'Steps:');
  for (const step of run.steps) lines.push(...formatStep(step, options, run.startedAt));

  if (run.ledger.length > 0) {
    lines.push('', 'Broadcast ledger:');
    for (const entry of run.ledger) lines.push(`  ${entry.path}  ${entry.target}  ${entry.state}${entry.customMsgId ? `  custom_msg_id ${entry.customMsgId}` : ''}`);
  }
  return lines.join('\n');
}

function formatCondition(condition: ConditionRecord): string {
  const depth = condition.path.split('/').filter((part) => /^(any|all|not)$/.test(part)).length;
  const detail = condition.detail && typeof condition.detail === 'object' && !Array.isArray(condition.detail) ? condition.detail : undefined;
  const skipped = detail?.evaluated === false;
  const mark = skipped ? 'not evaluated' : condition.passed ? 'held' : 'did not hold';
  const shown = detail ? Object.fromEntries(Object.entries(detail).filter(([key]) => key !== 'evaluated')) : undefined;
  const what = shown && Object.keys(shown).length > 0 ? `  ${oneLine(shown, 160)}` : '';
  return `  ${'  '.repeat(depth)}${condition.path}  ${condition.kind}  ${mark}${what}`;
}

function formatStep(step: StepRecord, options: TimelineOptions, runStart: number): string[] {
  const offset = `+${formatElapsed(step.startedAt - runStart)}`;
  const head = [`  ${String(step.seq).padStart(3)}. ${step.path}`, step.kind, step.target ? `→ ${step.target}` : '', step.status, step.delivery ? `delivery ${step.delivery}` : '', offset, step.durationMs !== null ? `(${formatElapsed(step.durationMs)})` : '']
    .filter((part) => part !== '')
    .join('  ');
  const lines = [head];
  const indent = '        ';
  if (step.input !== null) lines.push(`${indent}input   ${oneLine(step.input, 200)}`);
  if (step.frame !== null && options.frames !== false) lines.push(`${indent}frame   ${JSON.stringify(step.frame)}`);
  if (step.answer !== null) lines.push(`${indent}answer  ${oneLine(step.answer, 200)}`);
  if (step.error) lines.push(`${indent}error   ${errorText(step.error)}`);
  if (step.note) lines.push(`${indent}note    ${step.note}`);
  return lines;
}

/** The frames a dry run built and did not send, one per line, with where they came from. */
export function formatDryRunFrames(run: RunDetail): string {
  const frames = run.steps.filter((step) => step.status === 'dry-run' && step.frame !== null);
  if (frames.length === 0) return 'No frame would have been sent.';
  const lines = [`${frames.length} frame${frames.length === 1 ? '' : 's'} would have been sent (none was):`];
  for (const step of frames) lines.push(`  ${step.path}${step.target ? `  ${step.target}` : ''}`, `    ${JSON.stringify(step.frame)}`);
  return lines.join('\n');
}
