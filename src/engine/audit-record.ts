/**
 * What the audit log keeps beside a friend-request verdict (the decision's `actions`
 * column), shared by the `audit` action that decides, `rulebot audit decide`, and the
 * HoldResolver that ends holds and carries answers out:
 *
 * - `act`: whether accept / reject go to the bridge: the rule's own `act`, or null to
 *   follow the config's `friendRequests.act` at the time the answer is due;
 * - `hold`: for a held request, what its fallback decides and why it was held;
 * - `answer`: what became of the answer through the bridge (AnswerState).
 *
 * The answer's state is written before its frame is sent (`sending`), like every step,
 * so a crash leaves a record that says the bridge may have acted.
 */
import type { FriendRequestsConfig } from '../config/types';
import type { AuditDecision, FinalAuditVerdict, JsonValue, StoredError } from '../store/types';
import { zonedTime } from './zoned-time';

/**
 * What became of a decision's answer through the bridge:
 * - `none`: nothing to answer (flag, or still held);
 * - `off`: accept / reject recorded, and `act` is off: nothing is sent;
 * - `pending`: to be sent by the HoldResolver (an admin's or the fallback's decision);
 * - `sending`: recorded just before the frame; a crash leaves it so;
 * - `sent`: the bridge answered ok;
 * - `failed`: the bridge refused it (not retried);
 * - `unknown`: the frame left and no answer proves what the bridge did (busy, timeout,
 *   a drop): the HoldResolver looks at the pending list before sending it again;
 * - `skipped`: it cannot be sent (a reject with no `rejectOp` configured);
 * - `settled`: the request was found no longer pending (answered in the app, withdrawn).
 */
export type AnswerState = 'none' | 'off' | 'pending' | 'sending' | 'sent' | 'failed' | 'unknown' | 'skipped' | 'settled';

/** The answer part of a decision's record. */
export interface AnswerRecord {
  state: AnswerState;
  /** When the state was last set (ms since the epoch). */
  at?: number;
  /** Frames sent for it so far. */
  attempts?: number;
  note?: string;
  error?: StoredError;
}

/** Why a request was held, and what its fallback decides. */
export interface HoldRecord {
  /** The fallback's verdict once the hold runs out. */
  then: FinalAuditVerdict;
  /** `rule`: an audit rule said hold (`hold.for`); `cap`: the daily accept cap was reached. */
  reason: 'rule' | 'cap';
  /** The daily accept cap a fallback accept still counts against. */
  cap?: number;
  /** The zone whose days the cap counts. */
  timezone?: string;
}

/** A decision's `actions` column, as the audit writes it. */
export interface AuditRecord {
  act: boolean | null;
  hold?: HoldRecord;
  answer: AnswerRecord;
}

/** Reads a decision's record, tolerating any shape (older rows, rows written by hand). */
export function auditRecordOf(decision: Pick<AuditDecision, 'actions'>): AuditRecord {
  const raw = decision.actions;
  const value = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, JsonValue>) : {};
  const record: AuditRecord = { act: typeof value.act === 'boolean' ? value.act : null, answer: { state: 'none' } };
  const hold = value.hold as Partial<HoldRecord> | undefined;
  if (hold && typeof hold === 'object' && (hold.then === 'accept' || hold.then === 'reject' || hold.then === 'flag')) {
    record.hold = { then: hold.then, reason: hold.reason === 'cap' ? 'cap' : 'rule' };
    if (typeof hold.cap === 'number') record.hold.cap = hold.cap;
    if (typeof hold.timezone === 'string') record.hold.timezone = hold.timezone;
  }
  const answer = value.answer as Partial<AnswerRecord> | undefined;
  if (answer && typeof answer === 'object' && typeof answer.state === 'string') record.answer = answer as AnswerRecord;
  return record;
}

/** Whether accept / reject of this decision go to the bridge now. */
export function actsOn(record: Pick<AuditRecord, 'act'>, config: Pick<FriendRequestsConfig, 'act'>): boolean {
  return record.act ?? config.act;
}

/**
 * The answer a final verdict starts with: nothing to send for a flag, `off` while act is
 * off, `skipped` for a reject with no reject op, else `pending` (or what `sendable` says).
 */
export function initialAnswer(verdict: FinalAuditVerdict | 'hold', acting: boolean, config: Pick<FriendRequestsConfig, 'rejectOp'>, now: number, sendable: AnswerState = 'pending'): AnswerRecord {
  if (verdict === 'flag' || verdict === 'hold') return { state: 'none' };
  if (!acting) return { state: 'off', at: now, note: 'friendRequests.act is off: recorded, nothing sent to the bridge' };
  if (verdict === 'reject' && config.rejectOp === undefined) {
    return { state: 'skipped', at: now, note: 'no friendRequests.rejectOp is configured: the request is left unanswered on the bridge' };
  }
  return { state: sendable, at: now, attempts: 0 };
}

// === Days in a time zone, for the daily accept cap ===

/** Local midnight of the day `now` falls on in `timezone`, as epoch ms. */
export function startOfLocalDay(now: number, timezone: string): number {
  return now - zonedTime(now, timezone).minuteOfDay * 60_000 - (((now % 60_000) + 60_000) % 60_000);
}

/** The next local midnight after `now` in `timezone` (days of 23 to 25 hours included). */
export function nextLocalMidnight(now: number, timezone: string): number {
  return startOfLocalDay(startOfLocalDay(now, timezone) + 36 * 3_600_000, timezone);
}
