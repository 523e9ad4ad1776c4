import type { Database, Statement } from 'better-sqlite3';
import { systemClock, type Clock } from '../shared/clock';
import { AuditDecisionStore } from './audit';
import { openDatabase, type OpenDatabaseOptions } from './db';
import { StoreError } from './errors';
import { fromJson, toJson } from './json';
import { BroadcastLedger } from './ledger';
import { RuleStateStore } from './rule-state';
import { SeenItemStore } from './seen-items';
import type {
  ConditionRecord,
  DeliveryState,
  FinishedRunInput,
  InterruptedSummary,
  RunCount,
  RunDetail,
  RunFilter,
  RunFinish,
  RunRecord,
  RunStart,
  RunStatus,
  SettledDelivery,
  SettleResult,
  StepFinish,
  StepRecord,
  StepStart,
  StepStatus,
  StoredError,
  TriggerKind,
} from './types';

export interface RunStoreOptions extends OpenDatabaseOptions {
  /**
   * The source of every timestamp the store writes.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Mark what a previous process left `running` as `interrupted` once the file is open
   * (see `markInterrupted`). Only the process that runs rules may do this: the daemon,
   * or `rulebot run` when no daemon is up; never a reader.
   * @default false
   */
  markInterrupted?: boolean;
}

// === Queries other modules and the tests read ===

/** A run by id, for `getRun` and `rulebot show`. */
export const SELECT_RUN_SQL = 'SELECT * FROM runs WHERE id = ?';
/** A run's steps in order, by the `steps_run_seq` index. */
export const SELECT_STEPS_OF_RUN_SQL = 'SELECT * FROM steps WHERE run_id = ? ORDER BY seq';

const DEFAULT_RUN_LIMIT = 50;

/**
 * The statement `listRuns` runs for a filter. Each combination names the index that
 * serves it, so a query over millions of runs reads only the rows it returns: by rule,
 * else by status, else by time. "Newest first" is `started_at DESC, id DESC`, which the
 * ascending indexes give by walking backwards; the cursor compares the same pair.
 */
export function listRunsQuery(filter: RunFilter): { sql: string; params: unknown[] } {
  const limit = filter.limit ?? DEFAULT_RUN_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new StoreError('STORE_BAD_FILTER', `limit must be a positive integer, not ${limit}`, { limit });
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.ruleId !== undefined) {
    where.push('rule_id = ?');
    params.push(filter.ruleId);
  }
  if (filter.status !== undefined) {
    where.push('status = ?');
    params.push(filter.status);
  }
  if (filter.since !== undefined) {
    where.push('started_at >= ?');
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push('started_at < ?');
    params.push(filter.until);
  }
  if (filter.beforeId !== undefined) {
    where.push('(started_at, id) < (SELECT started_at, id FROM runs WHERE id = ?)');
    params.push(filter.beforeId);
  }
  // With both a rule and a status, the rule's index wins: a rule has few runs beside the
  // whole log's share of any one status.
  const index = filter.ruleId !== undefined ? 'runs_rule_started' : filter.status !== undefined ? 'runs_status_started' : 'runs_started';
  const sql =
    `SELECT * FROM runs INDEXED BY ${index}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ' ORDER BY started_at DESC, id DESC LIMIT ?';
  params.push(limit);
  return { sql, params };
}

// === Rows as SQLite returns them ===

interface RunRow {
  id: number;
  rule_id: string;
  rule_hash: string;
  trigger_kind: string;
  trigger_data: string | null;
  slot: number | null;
  started_at: number;
  finished_at: number | null;
  status: string;
  reason: string | null;
  error: string | null;
  conditions: string | null;
  duration_ms: number | null;
  resumed_from: number | null;
}

interface StepRow {
  id: number;
  run_id: number;
  seq: number;
  path: string;
  kind: string;
  status: string;
  input: string | null;
  frame: string | null;
  answer: string | null;
  error: string | null;
  delivery: string | null;
  custom_msg_id: string | null;
  target: string | null;
  note: string | null;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
}

type InsertRunParams = [
  ruleId: string,
  ruleHash: string,
  triggerKind: TriggerKind,
  triggerData: string | null,
  slot: number | null,
  startedAt: number,
  resumedFrom: number | null,
];

type InsertFinishedRunParams = [
  ...InsertRunParams,
  finishedAt: number,
  status: RunStatus,
  reason: string | null,
  error: string | null,
  conditions: string | null,
];

type FinishRunParams = [status: RunStatus, reason: string | null, error: string | null, conditions: string | null, finishedAt: number, durationEnd: number, id: number];

type InsertStepParams = [
  runId: number,
  seq: number,
  path: string,
  kind: string,
  input: string | null,
  frame: string | null,
  target: string | null,
  customMsgId: string | null,
  startedAt: number,
];

type FinishStepParams = [
  status: StepStatus,
  answer: string | null,
  error: string | null,
  delivery: DeliveryState | null,
  note: string | null,
  finishedAt: number,
  durationEnd: number,
  id: number,
];

/**
 * The execution log: one row per run, one per step, written as they happen so a crash
 * leaves a visible `interrupted` run, never silence. A run is written when it starts and
 * a step before its frame is sent; each write is its own commit unless batched.
 *
 * Beside runs and steps it keeps what rules carry between runs: `ruleState`, `seen`
 * (watch seen-sets), `ledger` (per-target broadcast progress) and `audit` (friend-request
 * decisions). Every statement is prepared once, when the store opens.
 */
export class RunStore {
  /** Rotation positions, last slots and other per-rule values. */
  readonly ruleState: RuleStateStore;
  /** Watch seen-sets. */
  readonly seen: SeenItemStore;
  /** The per-target ledger of broadcasts. */
  readonly ledger: BroadcastLedger;
  /** Friend-request decisions. */
  readonly audit: AuditDecisionStore;

  readonly #db: Database;
  readonly #clock: Clock;
  #interruptedOnOpen: InterruptedSummary | null = null;

  readonly #insertRun: Statement<InsertRunParams>;
  readonly #insertFinishedRun: Statement<InsertFinishedRunParams>;
  readonly #finishRun: Statement<FinishRunParams>;
  readonly #selectRun: Statement<[id: number], RunRow>;
  readonly #insertStep: Statement<InsertStepParams>;
  readonly #setStepFrame: Statement<[frame: string | null, customMsgId: string | null, id: number]>;
  readonly #finishStep: Statement<FinishStepParams>;
  readonly #selectSteps: Statement<[runId: number], StepRow>;
  readonly #settleSteps: Statement<[delivery: SettledDelivery, customMsgId: string]>;
  readonly #interruptSteps: Statement<[], { id: number; delivery: string | null }>;
  readonly #interruptRuns: Statement<[], { id: number }>;
  readonly #countsOfRule: Statement<[prunedOf: string, liveOf: string], { rule_id: string; status: string; count: number }>;
  readonly #countsOfAll: Statement<[], { rule_id: string; status: string; count: number }>;
  readonly #lists = new Map<string, Statement<unknown[], RunRow>>();

  readonly #startRuns: (inputs: readonly RunStart[], now: number) => number[];
  readonly #recordRuns: (inputs: readonly FinishedRunInput[], now: number) => number[];
  readonly #settle: (customMsgId: string, state: SettledDelivery) => SettleResult;
  readonly #markInterrupted: () => InterruptedSummary;
  readonly #readTrace: (id: number) => RunDetail | undefined;

  /**
   * Opens (creating and migrating as needed) the execution log at `file`. With
   * `markInterrupted`, what a previous process left running is marked interrupted at
   * once; `interruptedOnOpen` tells what changed.
   */
  static open(file: string, options: RunStoreOptions = {}): RunStore {
    if (options.markInterrupted && options.readonly) throw new Error('markInterrupted needs a writable store');
    const db = openDatabase(file, options);
    try {
      const store = new RunStore(db, options.clock ?? systemClock);
      if (options.markInterrupted) store.#interruptedOnOpen = store.markInterrupted();
      return store;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** A store over a database that `openDatabase` opened; `RunStore.open` is the usual way in. */
  constructor(db: Database, clock: Clock = systemClock) {
    this.#db = db;
    this.#clock = clock;
    this.ruleState = new RuleStateStore(db, clock);
    this.seen = new SeenItemStore(db, clock);
    this.ledger = new BroadcastLedger(db, clock);
    this.audit = new AuditDecisionStore(db, clock);

    this.#insertRun = db.prepare(
      `INSERT INTO runs (rule_id, rule_hash, trigger_kind, trigger_data, slot, started_at, resumed_from, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'running')`,
    );
    this.#insertFinishedRun = db.prepare(
      `INSERT INTO runs (rule_id, rule_hash, trigger_kind, trigger_data, slot, started_at, resumed_from, finished_at, status, reason, error, conditions)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#finishRun = db.prepare(
      'UPDATE runs SET status = ?, reason = ?, error = ?, conditions = ?, finished_at = ?, duration_ms = ? - started_at WHERE id = ?',
    );
    this.#selectRun = db.prepare(SELECT_RUN_SQL);
    this.#insertStep = db.prepare(
      `INSERT INTO steps (run_id, seq, path, kind, input, frame, target, custom_msg_id, started_at, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')`,
    );
    this.#setStepFrame = db.prepare('UPDATE steps SET frame = ?, custom_msg_id = COALESCE(?, custom_msg_id) WHERE id = ?');
    // A delivery push can overtake the bridge's answer (both arrive on one socket and are
    // handled in order), so a delivery already settled is kept rather than set back to
    // `accepted`.
    this.#finishStep = db.prepare(
      `UPDATE steps SET status = ?, answer = ?, error = ?, delivery = COALESCE(delivery, ?), note = ?, finished_at = ?, duration_ms = ? - started_at
        WHERE id = ?`,
    );
    this.#selectSteps = db.prepare(SELECT_STEPS_OF_RUN_SQL);
    this.#settleSteps = db.prepare(
      "UPDATE steps SET delivery = ? WHERE custom_msg_id = ? AND (delivery IS NULL OR delivery IN ('accepted', 'unknown'))",
    );
    // A step can only be running inside a running run, so the running runs (found by the
    // status index) bound the search instead of a scan of every step. A step whose frame
    // was recorded may have been sent: its delivery is unknown, not failed. Interrupted
    // rows keep no finish time: when the process died is not known.
    this.#interruptSteps = db.prepare(
      `UPDATE steps SET status = 'interrupted',
              delivery = CASE WHEN frame IS NOT NULL THEN COALESCE(delivery, 'unknown') ELSE delivery END
        WHERE status = 'running' AND run_id IN (SELECT id FROM runs WHERE status = 'running')
        RETURNING id, delivery`,
    );
    this.#interruptRuns = db.prepare("UPDATE runs SET status = 'interrupted' WHERE status = 'running' RETURNING id");
    this.#countsOfRule = db.prepare(
      `SELECT rule_id, status, SUM(count) AS count FROM (
         SELECT rule_id, status, count FROM run_counts WHERE rule_id = ?
         UNION ALL
         SELECT rule_id, status, COUNT(*) AS count FROM runs WHERE rule_id = ? GROUP BY status
       ) GROUP BY rule_id, status ORDER BY status`,
    );
    this.#countsOfAll = db.prepare(
      `SELECT rule_id, status, SUM(count) AS count FROM (
         SELECT rule_id, status, count FROM run_counts
         UNION ALL
         SELECT rule_id, status, COUNT(*) AS count FROM runs GROUP BY rule_id, status
       ) GROUP BY rule_id, status ORDER BY rule_id, status`,
    );

    this.#startRuns = db.transaction((inputs: readonly RunStart[], now: number) => inputs.map((input) => this.#start(input, now)));
    this.#recordRuns = db.transaction((inputs: readonly FinishedRunInput[], now: number) => inputs.map((input) => this.#record(input, now)));
    this.#settle = db.transaction((customMsgId: string, state: SettledDelivery) => ({
      steps: this.#settleSteps.run(state, customMsgId).changes,
      targets: this.ledger.settle(customMsgId, state),
    }));
    this.#markInterrupted = db.transaction(() => {
      const steps = this.#interruptSteps.all();
      const unknownTargets = this.ledger.markSendingUnknown();
      const runIds = this.#interruptRuns.all().map((row) => row.id);
      return {
        runIds: runIds.sort(byNumber),
        stepIds: steps.map((row) => row.id).sort(byNumber),
        unknownDeliveryStepIds: steps.filter((row) => row.delivery === 'unknown').map((row) => row.id).sort(byNumber),
        unknownTargets,
      };
    });
    this.#readTrace = db.transaction((id: number) => {
      const row = this.#selectRun.get(id);
      if (row === undefined) return undefined;
      return { ...toRunRecord(row), steps: this.#selectSteps.all(id).map(toStepRecord), ledger: this.ledger.list(id) };
    });
  }

  // === Runs ===

  /** Records a run as `running` and returns its id. */
  startRun(input: RunStart): number {
    return this.#start(input, this.#clock.now());
  }

  /**
   * Records several runs as `running` in one transaction, so the runs due in the same
   * tick cost one commit. Returns their ids in input order.
   */
  startRuns(inputs: readonly RunStart[]): number[] {
    return this.#startRuns(inputs, this.#clock.now());
  }

  /** Records how a run ended; its duration is counted from its start. */
  finishRun(id: number, finish: RunFinish): void {
    const now = this.#clock.now();
    const info = this.#finishRun.run(finish.status, finish.reason ?? null, toJson(finish.error), toJson(finish.conditions), now, now, id);
    if (info.changes === 0) throw runNotFound(id);
  }

  /** Records a run that is born finished, e.g. `skipped` by a condition or `missed` by the misfire policy. */
  recordRun(input: FinishedRunInput): number {
    return this.#record(input, this.#clock.now());
  }

  /** Records several runs born finished in one transaction (the slots missed during downtime). */
  recordRuns(inputs: readonly FinishedRunInput[]): number[] {
    return this.#recordRuns(inputs, this.#clock.now());
  }

  // === Steps ===

  /**
   * Records a step as `running` and returns its id. The write is committed when this
   * returns, so call it before the step's frame goes out: a crash after the send then
   * leaves a step whose delivery is known to be uncertain.
   */
  startStep(runId: number, step: StepStart): number {
    try {
      const info = this.#insertStep.run(
        runId,
        step.seq,
        step.path,
        step.kind,
        toJson(step.input),
        toJson(step.frame),
        step.target ?? null,
        step.customMsgId ?? null,
        this.#clock.now(),
      );
      return Number(info.lastInsertRowid);
    } catch (err) {
      if (isSqliteCode(err, 'SQLITE_CONSTRAINT_FOREIGNKEY')) throw runNotFound(runId, err);
      throw err;
    }
  }

  /** Records the frame a step is about to send (and its message id); call it before the socket write. */
  setStepFrame(stepId: number, frame: unknown, customMsgId?: string): void {
    if (this.#setStepFrame.run(toJson(frame), customMsgId ?? null, stepId).changes === 0) throw stepNotFound(stepId);
  }

  /** Records how a step ended. A delivery already settled by a push is kept. */
  finishStep(stepId: number, finish: StepFinish): void {
    const now = this.#clock.now();
    const info = this.#finishStep.run(
      finish.status,
      toJson(finish.answer),
      toJson(finish.error),
      finish.delivery ?? null,
      finish.note ?? null,
      now,
      now,
      stepId,
    );
    if (info.changes === 0) throw stepNotFound(stepId);
  }

  /**
   * Applies a delivery push (`msgListPropertyUpdate`) to the step and the ledger target
   * that sent `customMsgId`, in one transaction. A message already settled keeps its
   * first result. Returns how many rows moved: none when the id is not ours.
   */
  settleDelivery(customMsgId: string, state: SettledDelivery): SettleResult {
    return this.#settle(customMsgId, state);
  }

  /**
   * Marks everything left `running` as `interrupted`, in one transaction: runs, their
   * running steps (a step whose frame was recorded gets delivery `unknown`: it may have
   * been sent) and their `sending` ledger targets (`unknown`). Call it when the process
   * that runs rules opens the store, and at shutdown for the runs that did not finish in
   * time. Returns what it changed.
   */
  markInterrupted(): InterruptedSummary {
    return this.#markInterrupted();
  }

  /** What opening with `markInterrupted` changed; null when opened without it. */
  get interruptedOnOpen(): InterruptedSummary | null {
    return this.#interruptedOnOpen;
  }

  // === Reading ===

  /** Runs newest first, filtered; each filter combination is served by an index. */
  listRuns(filter: RunFilter = {}): RunRecord[] {
    const { sql, params } = listRunsQuery(filter);
    let statement = this.#lists.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare<unknown[], RunRow>(sql);
      this.#lists.set(sql, statement);
    }
    return statement.all(...params).map(toRunRecord);
  }

  /** A run with its steps in order and its ledger, read in one transaction; undefined if there is none. */
  getRun(id: number): RunDetail | undefined {
    return this.#readTrace(id);
  }

  /**
   * Lifetime counts per rule and outcome: the rows in the log plus what retention pruned.
   * For one rule this reads that rule's index range; for all rules, the whole index.
   */
  countRuns(ruleId?: string): RunCount[] {
    const rows = ruleId === undefined ? this.#countsOfAll.all() : this.#countsOfRule.all(ruleId, ruleId);
    return rows.map((row) => ({ ruleId: row.rule_id, status: row.status as RunStatus, count: row.count }));
  }

  /**
   * The open connection, for maintenance that runs its own statements over the whole
   * log (retention: `pruneRuns`). Everything else goes through the methods above.
   */
  get database(): Database {
    return this.#db;
  }

  /** Whether the store was opened read-only. */
  get readonly(): boolean {
    return this.#db.readonly;
  }

  /** Closes the file. The store is unusable afterwards. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }

  // === Internals ===

  #start(input: RunStart, now: number): number {
    const info = this.#insertRun.run(
      input.ruleId,
      input.ruleHash,
      input.triggerKind,
      toJson(input.triggerData),
      input.slot ?? null,
      now,
      input.resumedFrom ?? null,
    );
    return Number(info.lastInsertRowid);
  }

  #record(input: FinishedRunInput, now: number): number {
    const info = this.#insertFinishedRun.run(
      input.ruleId,
      input.ruleHash,
      input.triggerKind,
      toJson(input.triggerData),
      input.slot ?? null,
      now,
      input.resumedFrom ?? null,
      now,
      input.status,
      input.reason ?? null,
      toJson(input.error),
      toJson(input.conditions),
    );
    return Number(info.lastInsertRowid);
  }
}

function toRunRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    ruleId: row.rule_id,
    ruleHash: row.rule_hash,
    triggerKind: row.trigger_kind as TriggerKind,
    triggerData: fromJson(row.trigger_data),
    slot: row.slot,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    status: row.status as RunStatus,
    reason: row.reason,
    error: fromJson<StoredError>(row.error),
    conditions: fromJson<ConditionRecord[]>(row.conditions),
    durationMs: row.duration_ms,
    resumedFrom: row.resumed_from,
  };
}

function toStepRecord(row: StepRow): StepRecord {
  return {
    id: row.id,
    runId: row.run_id,
    seq: row.seq,
    path: row.path,
    kind: row.kind,
    status: row.status as StepStatus,
    input: fromJson(row.input),
    frame: fromJson(row.frame),
    answer: fromJson(row.answer),
    error: fromJson<StoredError>(row.error),
    delivery: row.delivery as DeliveryState | null,
    customMsgId: row.custom_msg_id,
    target: row.target,
    note: row.note,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
  };
}

function runNotFound(id: number, cause?: unknown): StoreError {
  return new StoreError('STORE_RUN_NOT_FOUND', `run ${id} is not in the execution log`, { runId: id }, cause === undefined ? undefined : { cause });
}

function stepNotFound(id: number): StoreError {
  return new StoreError('STORE_STEP_NOT_FOUND', `step ${id} is not in the execution log`, { stepId: id });
}

function isSqliteCode(err: unknown, code: string): boolean {
  return err instanceof Error && (err as Error & { code?: unknown }).code === code;
}

function byNumber(a: number, b: number): number {
  return a - b;
}
