import type { Database, Statement } from 'better-sqlite3';
import type { Clock } from '../shared/clock';
import { StoreError } from './errors';
import { fromJson, toJson } from './json';
import type { AuditDecision, AuditDecisionInput, AuditFilter, AuditResolution, AuditState, AuditVerdict } from './types';

interface AuditRow {
  id: number;
  uid: string;
  request_time: string;
  nick_name: string | null;
  message: string | null;
  verdict: string;
  decided_by: string | null;
  decided_at: number;
  actions: string | null;
  rule_id: string | null;
  run_id: number | null;
  state: string;
  hold_until: number | null;
}

type InsertParams = [
  uid: string,
  requestTime: string,
  nickName: string | null,
  message: string | null,
  verdict: AuditVerdict,
  decidedBy: string | null,
  decidedAt: number,
  actions: string | null,
  ruleId: string | null,
  runId: number | null,
  state: AuditState,
  holdUntil: number | null,
];

const DEFAULT_LIMIT = 100;

/**
 * Friend-request decisions. A request (uid + its request time) is decided once: the
 * first insert wins and later ones report it was already there. A `hold` stays `held`
 * until an admin or the fallback resolves it. Reached as `RunStore.audit`.
 */
export class AuditDecisionStore {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #insert: Statement<InsertParams>;
  readonly #get: Statement<[uid: string, requestTime: string], AuditRow>;
  readonly #getById: Statement<[id: number], AuditRow>;
  readonly #resolve: Statement<[verdict: AuditVerdict, decidedBy: string, now: number, actions: string | null, id: number]>;
  readonly #setActions: Statement<[actions: string | null, id: number]>;
  readonly #postpone: Statement<[until: number, id: number]>;
  readonly #dueHolds: Statement<[now: number], AuditRow>;
  readonly #countVerdict: Statement<[verdict: AuditVerdict, since: number], { count: number }>;
  // One statement per combination of filters, prepared on first use: each uses the index.
  readonly #lists = new Map<string, Statement<unknown[], AuditRow>>();

  constructor(db: Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
    this.#insert = db.prepare(
      `INSERT INTO audit_decisions (uid, request_time, nick_name, message, verdict, decided_by, decided_at, actions, rule_id, run_id, state, hold_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (uid, request_time) DO NOTHING`,
    );
    this.#get = db.prepare('SELECT * FROM audit_decisions WHERE uid = ? AND request_time = ?');
    this.#getById = db.prepare('SELECT * FROM audit_decisions WHERE id = ?');
    this.#resolve = db.prepare(
      `UPDATE audit_decisions SET verdict = ?, decided_by = ?, decided_at = ?, actions = COALESCE(?, actions), state = 'resolved'
        WHERE id = ? AND state = 'held'`,
    );
    this.#setActions = db.prepare('UPDATE audit_decisions SET actions = ? WHERE id = ?');
    this.#postpone = db.prepare("UPDATE audit_decisions SET hold_until = ? WHERE id = ? AND state = 'held'");
    this.#dueHolds = db.prepare("SELECT * FROM audit_decisions WHERE state = 'held' AND hold_until <= ? ORDER BY hold_until, id");
    this.#countVerdict = db.prepare('SELECT COUNT(*) AS count FROM audit_decisions WHERE verdict = ? AND decided_at >= ?');
  }

  /**
   * Records a decision unless the request was decided before. Returns true when it was
   * new. A `hold` is recorded `held`, every other verdict `decided`.
   */
  insert(input: AuditDecisionInput): boolean {
    const info = this.#insert.run(
      input.uid,
      input.requestTime,
      input.nickName ?? null,
      input.message ?? null,
      input.verdict,
      input.decidedBy ?? null,
      this.#clock.now(),
      toJson(input.actions),
      input.ruleId ?? null,
      input.runId ?? null,
      input.verdict === 'hold' ? 'held' : 'decided',
      input.holdUntil ?? null,
    );
    return info.changes > 0;
  }

  /** The decision on one request, if any. */
  get(uid: string, requestTime: string): AuditDecision | undefined {
    const row = this.#get.get(uid, requestTime);
    return row && toAuditDecision(row);
  }

  getById(id: number): AuditDecision | undefined {
    const row = this.#getById.get(id);
    return row && toAuditDecision(row);
  }

  /** Decisions, newest first, filtered by verdict, state and time. */
  list(filter: AuditFilter = {}): AuditDecision[] {
    const limit = filter.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) throw new StoreError('STORE_BAD_FILTER', `limit must be a positive integer, not ${limit}`, { limit });
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.verdict !== undefined) {
      where.push('verdict = ?');
      params.push(filter.verdict);
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      params.push(filter.state);
    }
    if (filter.since !== undefined) {
      where.push('decided_at >= ?');
      params.push(filter.since);
    }
    const shape = where.join(' AND ');
    let statement = this.#lists.get(shape);
    if (statement === undefined) {
      statement = this.#db.prepare<unknown[], AuditRow>(
        `SELECT * FROM audit_decisions INDEXED BY audit_decisions_decided ${shape ? `WHERE ${shape}` : ''}
          ORDER BY decided_at DESC, id DESC LIMIT ?`,
      );
      this.#lists.set(shape, statement);
    }
    return statement.all(...params, limit).map(toAuditDecision);
  }

  /** Held decisions whose hold has run out at `at` (now by default), the oldest deadline first. */
  listDueHolds(at: number = this.#clock.now()): AuditDecision[] {
    return this.#dueHolds.all(at).map(toAuditDecision);
  }

  /**
   * Ends a hold with a final verdict. Returns false, changing nothing, when the decision
   * does not exist or is not held (already resolved by someone else).
   */
  resolve(id: number, resolution: AuditResolution): boolean {
    return this.#resolve.run(resolution.verdict, resolution.decidedBy, this.#clock.now(), toJson(resolution.actions), id).changes > 0;
  }

  /**
   * Moves a hold's deadline (a fallback that cannot decide yet, such as an accept over
   * today's cap). Returns false, changing nothing, when the decision is not held.
   */
  postponeHold(id: number, until: number): boolean {
    return this.#postpone.run(until, id).changes > 0;
  }

  /** Records what was carried out for a decision; returns whether it exists. */
  setActions(id: number, actions: unknown): boolean {
    return this.#setActions.run(toJson(actions), id).changes > 0;
  }

  /** How many requests got `verdict` since an instant: what a daily accept cap counts. */
  countVerdicts(verdict: AuditVerdict, since: number): number {
    return this.#countVerdict.get(verdict, since)!.count;
  }
}

function toAuditDecision(row: AuditRow): AuditDecision {
  return {
    id: row.id,
    uid: row.uid,
    requestTime: row.request_time,
    nickName: row.nick_name,
    message: row.message,
    verdict: row.verdict as AuditVerdict,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    actions: fromJson(row.actions),
    ruleId: row.rule_id,
    runId: row.run_id,
    state: row.state as AuditState,
    holdUntil: row.hold_until,
  };
}
