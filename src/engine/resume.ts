/**
 * Resuming a broadcast that stopped half-way. A `send` plans every target in its run's
 * ledger before the first frame goes out and moves each one along as it is sent, so the
 * ledger of a run that stopped (a crash, a shutdown deadline, a bridge that went away)
 * says, target by target, whether the message never left, may have left, or arrived.
 *
 * A resumed run's own ledger holds only the targets it sent to, so the ledgers of a run
 * and of every resume of it together say what became of each target: a run can be
 * resumed again (after a resume that was itself cut off, or to send where the delivery
 * was unknown) without sending anywhere twice.
 *
 * This module holds what every way of resuming shares — the daemon's automatic resume,
 * `/control/resume`, and `rulebot resume` in-process: whether a run may be resumed, what
 * a resumed run does with each target, and what it did, told back to the operator.
 */
import type { Rule } from '../rules/types';
import { RulebotError } from '../shared/errors';
import type { RunStore } from '../store/run-store';
import type { LedgerEntry, RunDetail, RunRecord, RunStatus } from '../store/types';

// === What a resumed run does with each target ===

/** What a resumed run needs to know of a target in the ledger of the run it resumes. */
export type ResumedTarget = Pick<LedgerEntry, 'state' | 'stepId'>;

/** The ledger of the run being resumed, by action path and target key. */
export type ResumedLedger = ReadonlyMap<string, ReadonlyMap<string, ResumedTarget>>;

/**
 * What a resumed run does with one target:
 * - `send`: the message never left (still `planned`, not in the ledger, or `failed`
 *   before its frame was written): sent now;
 * - `resend`: its delivery is `unknown` (the frame may have left when the process
 *   stopped) and the operator asked to send such targets again: sent now;
 * - `sent`: `accepted` or `delivered`: never sent again;
 * - `unknown`: `sending` or `unknown`: the bridge may have acted on it, so it is not
 *   sent again unless asked (PROTOCOL.md: a world-changing frame is never resent blindly);
 * - `failed`: its frame went out and failed (refused by the bridge, or reported
 *   undelivered): the bridge saw it, so a resume leaves it to the operator.
 */
export type ResumeDecision = 'send' | 'resend' | 'sent' | 'unknown' | 'failed';

/** Decides what a resumed run does with a target the original run left as `before`. */
export function resumeDecision(before: ResumedTarget | undefined, resendUnknown: boolean): ResumeDecision {
  if (before === undefined) return 'send';
  switch (before.state) {
    case 'planned':
      return 'send';
    case 'failed':
      // The ledger names the step of a target once its frame is recorded, just before the write.
      return before.stepId === null ? 'send' : 'failed';
    case 'accepted':
    case 'delivered':
      return 'sent';
    case 'sending':
    case 'unknown':
      return resendUnknown ? 'resend' : 'unknown';
  }
}

/** Whether a resumed run sends to a target it decided this about. */
export function sendsNow(decision: ResumeDecision): boolean {
  return decision === 'send' || decision === 'resend';
}

/** What of the execution log the resume reads. */
export type RunLog = Pick<RunStore, 'getRun' | 'listRuns'>;

/** Runs one resume looks through for a run's earlier resumes. */
const RESUMES_SCAN_LIMIT = 1000;

/** The resumes of `original` (dry runs aside, which sent nothing), newest first. */
export function resumesOf(log: RunLog, original: Pick<RunRecord, 'id' | 'ruleId' | 'startedAt'>): RunRecord[] {
  return log.listRuns({ ruleId: original.ruleId, since: original.startedAt, limit: RESUMES_SCAN_LIMIT }).filter((run) => run.resumedFrom === original.id && run.status !== 'dry-run');
}

/** How far along a target got: where two ledgers differ, the one that got further wins. */
function progress(target: ResumedTarget): number {
  switch (resumeDecision(target, false)) {
    case 'sent':
      return 3;
    case 'unknown':
      return 2;
    case 'failed':
      return 1;
    default:
      return 0;
  }
}

/** Ledgers merged by action path and target, each target as far as any of them got it. */
export function mergeLedgers(ledgers: ReadonlyArray<readonly LedgerEntry[]>): Map<string, Map<string, ResumedTarget>> {
  const byPath = new Map<string, Map<string, ResumedTarget>>();
  for (const ledger of ledgers) {
    for (const entry of ledger) {
      let targets = byPath.get(entry.path);
      if (!targets) byPath.set(entry.path, (targets = new Map()));
      const known = targets.get(entry.target);
      if (known === undefined || progress(entry) > progress(known)) targets.set(entry.target, { state: entry.state, stepId: entry.stepId });
    }
  }
  return byPath;
}

/**
 * What a resume of run `runId` starts from: that run's ledger merged with the ledgers of
 * its earlier resumes (but `exclude`, the resume being made or reported).
 */
export function resumedLedgerOf(log: RunLog, runId: number, options: { exclude?: number } = {}): Map<string, Map<string, ResumedTarget>> {
  const original = log.getRun(runId);
  if (!original) return new Map();
  const resumes = resumesOf(log, original).filter((run) => run.id !== options.exclude);
  const ledgers = [original.ledger, ...resumes.map((run) => log.getRun(run.id)?.ledger ?? [])];
  return mergeLedgers(ledgers);
}

// === Whether a run may be resumed ===

/**
 * Why a run cannot be resumed:
 * - `RUN_NOT_FOUND`: no run with that id.
 * - `RUN_STILL_RUNNING`: the run has not ended (a live process is running it).
 * - `RUN_NOT_RESUMABLE`: it ended ok, skipped, missed or as a dry run: nothing was left undone.
 * - `RUN_IS_A_RESUME`: it resumed another run: that run is the one to resume.
 * - `RUN_BEING_RESUMED`: a resume of it is running now.
 * - `RULE_NOT_FOUND`: its rule is not loaded (removed, or invalid now).
 * - `RULE_CHANGED`: its rule changed since: the ledger may not match the rule's actions.
 * - `NOTHING_TO_RESUME`: every target was sent to (by it or a resume of it), or its
 *   delivery is in doubt: nothing to do.
 */
export type ResumeErrorCode =
  | 'RUN_NOT_FOUND'
  | 'RUN_STILL_RUNNING'
  | 'RUN_NOT_RESUMABLE'
  | 'RUN_IS_A_RESUME'
  | 'RUN_BEING_RESUMED'
  | 'RULE_NOT_FOUND'
  | 'RULE_CHANGED'
  | 'NOTHING_TO_RESUME';

/** A run that cannot (or need not) be resumed, with the reason as a stable code. */
export class ResumeError extends RulebotError {
  declare readonly code: ResumeErrorCode;

  constructor(code: ResumeErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

/** Outcomes a resume can finish: the broadcast stopped before every target was tried. */
export const RESUMABLE_STATUSES: ReadonlySet<RunStatus> = new Set<RunStatus>(['interrupted', 'failed', 'partial']);

/** A run that may be resumed, the rule to resume it with, and the resumes before this one. */
export interface ResumableRun<L> {
  original: RunDetail;
  loaded: L;
  /** Earlier resumes of it, newest first. */
  resumes: RunRecord[];
}

/**
 * Checks that run `runId` may be resumed now and that a resume has something to send;
 * `rule` gives the loaded rule of an id.
 * @throws ResumeError
 */
export function checkResumable<L extends { rule: Rule; hash: string }>(
  log: RunLog,
  rule: (ruleId: string) => L | undefined,
  runId: number,
  options: { resendUnknown?: boolean } = {},
): ResumableRun<L> {
  const original = log.getRun(runId);
  if (!original) throw new ResumeError('RUN_NOT_FOUND', `run ${runId} does not exist`, { runId });
  if (original.status === 'running') {
    throw new ResumeError('RUN_STILL_RUNNING', `run ${runId} is still running; resume it once it has ended (a run the daemon was killed in is marked interrupted when the daemon starts again)`, {
      runId,
    });
  }
  if (original.resumedFrom !== null) {
    throw new ResumeError(
      'RUN_IS_A_RESUME',
      `run ${runId} resumed run ${original.resumedFrom}; resume run ${original.resumedFrom} instead (rulebot resume ${original.resumedFrom}): its resumes count towards what it sent`,
      { runId, resumedFrom: original.resumedFrom },
    );
  }
  if (!RESUMABLE_STATUSES.has(original.status)) {
    throw new ResumeError('RUN_NOT_RESUMABLE', `run ${runId} is ${original.status}; only an interrupted, failed or partial run can be resumed`, { runId, status: original.status });
  }
  const resumes = resumesOf(log, original);
  const going = resumes.find((run) => run.status === 'running');
  if (going) throw new ResumeError('RUN_BEING_RESUMED', `run ${runId} is being resumed now, by run ${going.id}; see rulebot show ${going.id}`, { runId, resumedBy: going.id });
  const loaded = rule(original.ruleId);
  if (!loaded) throw new ResumeError('RULE_NOT_FOUND', `rule ${original.ruleId} of run ${runId} is not loaded (removed, or invalid now: see rulebot validate)`, { runId, rule: original.ruleId });
  if (loaded.hash !== original.ruleHash) {
    throw new ResumeError(
      'RULE_CHANGED',
      `rule ${original.ruleId} has changed since run ${runId}; a resume skips targets by the rule's actions as they were, so it is refused: put the rule back as it was to resume, or run the rule again by hand`,
      { runId, rule: original.ruleId },
    );
  }
  const runs = [original, ...resumes.map((run) => log.getRun(run.id)).filter((run): run is RunDetail => run !== undefined)];
  const left = leftToSend(runs, loaded.rule, options.resendUnknown === true);
  if (!left.some) {
    const by = resumes.length > 0 ? ` (with its resume${resumes.length > 1 ? 's' : ''} ${resumes.map((run) => run.id).join(', ')})` : '';
    throw new ResumeError('NOTHING_TO_RESUME', `run ${runId} has nothing left to send${by}: ${left.why}`, { runId, ...left.counts });
  }
  return { original, loaded, resumes };
}

/**
 * Whether resuming would send anything, from the ledgers of the run and its resumes: a
 * target still to send, or a broadcast none of them reached (an action after the last
 * one they ran, or a send that stopped before planning its targets).
 */
function leftToSend(runs: readonly RunDetail[], rule: Rule, resendUnknown: boolean): { some: boolean; why: string; counts: Record<string, number> } {
  const counts: Record<ResumeDecision, number> = { send: 0, resend: 0, sent: 0, unknown: 0, failed: 0 };
  const merged = mergeLedgers(runs.map((run) => run.ledger));
  for (const targets of merged.values()) for (const target of targets.values()) counts[resumeDecision(target, resendUnknown)]++;
  if (counts.send + counts.resend > 0) return { some: true, why: '', counts };
  if (merged.size === 0) {
    if (hasSendAction(rule.actions)) return { some: true, why: '', counts };
    return { some: false, why: `rule ${rule.id} sends no broadcast (it has no send action)`, counts };
  }
  if (!runs.some((run) => reachedLastAction(run, rule))) return { some: true, why: '', counts };
  const parts = [`${counts.sent} target(s) already sent to`];
  if (counts.unknown > 0) parts.push(`${counts.unknown} whose delivery is unknown (--resend-unknown sends to them again)`);
  if (counts.failed > 0) parts.push(`${counts.failed} whose frame went out and failed`);
  return { some: false, why: parts.join(', '), counts };
}

/** Whether the run wrote a step for the rule's last top-level action (so no action after it was left unrun). */
function reachedLastAction(run: RunDetail, rule: Rule): boolean {
  const last = `actions/${rule.actions.length - 1}`;
  return run.steps.some((step) => step.path === last || step.path.startsWith(`${last}/`) || step.path.startsWith(`${last}[`));
}

/** Whether a list of actions holds a `send`, nested ones (choose, forEach) included. */
function hasSendAction(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasSendAction);
  if (typeof value !== 'object' || value === null) return false;
  if ('send' in value) return true;
  return Object.values(value).some(hasSendAction);
}

// === What a resume did ===

/** One broadcast target: the action's path and the target's key (`group:389284`). */
export interface ResumeTarget {
  path: string;
  target: string;
}

/** What a resumed run did with the targets of the run it resumed. */
export interface ResumeSummary {
  /** Sent now (`resentUnknown` among them). */
  sent: ResumeTarget[];
  /** Built and recorded, not sent (a dry run). */
  wouldSend: ResumeTarget[];
  /** Tried now and failed (or not known to the bridge). */
  failed: ResumeTarget[];
  /** In flight when the resumed run itself was interrupted. */
  interrupted: ResumeTarget[];
  /** Still to send: the resumed run stopped before them (the bridge went away). */
  notAttempted: ResumeTarget[];
  /** Skipped: the original run (or an earlier resume) had sent to them. */
  alreadySent: ResumeTarget[];
  /** Skipped: their delivery is unknown. */
  skippedUnknown: ResumeTarget[];
  /** Skipped: their frame went out and failed. */
  skippedFailed: ResumeTarget[];
  /** Sent (or built, in a dry run) again although their delivery was unknown. */
  resentUnknown: ResumeTarget[];
}

/** The targets whose delivery is in doubt (`sending` or `unknown`) in a resume's starting ledger. */
export function unknownTargets(before: ResumedLedger): ResumeTarget[] {
  const unknown: ResumeTarget[] = [];
  for (const [path, targets] of before) {
    for (const [target, entry] of targets) if (resumeDecision(entry, false) === 'unknown') unknown.push({ path, target });
  }
  return unknown;
}

/**
 * What the resumed run `resumed` did with each target, read from its send steps and the
 * ledger it started from (`resumedLedgerOf` the original, excluding `resumed` itself).
 */
export function summarizeResume(before: ResumedLedger, resumed: Pick<RunDetail, 'steps'>): ResumeSummary {
  const summary: ResumeSummary = { sent: [], wouldSend: [], failed: [], interrupted: [], notAttempted: [], alreadySent: [], skippedUnknown: [], skippedFailed: [], resentUnknown: [] };
  for (const step of resumed.steps) {
    if (step.kind !== 'send' || step.target === null) continue;
    const target: ResumeTarget = { path: step.path, target: step.target };
    const previous = before.get(step.path)?.get(step.target);
    const wasUnknown = previous?.state === 'unknown' || previous?.state === 'sending';
    switch (step.status) {
      case 'ok':
        summary.sent.push(target);
        if (wasUnknown) summary.resentUnknown.push(target);
        break;
      case 'dry-run':
        summary.wouldSend.push(target);
        if (wasUnknown) summary.resentUnknown.push(target);
        break;
      case 'failed':
        summary.failed.push(target);
        break;
      case 'interrupted':
      case 'running':
        summary.interrupted.push(target);
        break;
      case 'skipped': {
        const decision = resumeDecision(previous, false);
        if (decision === 'sent') summary.alreadySent.push(target);
        else if (decision === 'unknown') summary.skippedUnknown.push(target);
        else if (decision === 'failed') summary.skippedFailed.push(target);
        else summary.notAttempted.push(target);
        break;
      }
    }
  }
  return summary;
}
