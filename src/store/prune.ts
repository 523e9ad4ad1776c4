/**
 * Retention of the execution log: deleting old runs in small batches while keeping the
 * newest runs of every rule and outcome, and their lifetime counts.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Database, Statement } from 'better-sqlite3';
import { StoreError } from './errors';
import { RunStore } from './run-store';
import type { FinishedRunStatus } from './types';

/** The two ages of a retention policy. */
export type RetentionClass = 'ok' | 'failed';

/**
 * Which age of the policy applies to each finished status: runs that went well (or
 * never ran) go after `ok`, failures after `failed`. `running` is absent: a running run
 * is never pruned, and neither is a status this build does not know.
 */
export const RETENTION_CLASS: Readonly<Record<FinishedRunStatus, RetentionClass>> = {
  ok: 'ok',
  skipped: 'ok',
  missed: 'ok',
  'dry-run': 'ok',
  failed: 'failed',
  partial: 'failed',
  interrupted: 'failed',
};

/** Every status retention may delete, in the order reports list them. */
export const PRUNABLE_STATUSES = Object.keys(RETENTION_CLASS) as readonly FinishedRunStatus[];

/** @see PrunePolicy.keepPerRuleAndStatus */
export const DEFAULT_KEEP_PER_RULE_AND_STATUS = 20;
/** @see PrunePolicy.batchSize */
export const DEFAULT_PRUNE_BATCH_SIZE = 500;

/** What to delete. Ages are measured from a run's start. */
export interface PrunePolicy {
  /** Milliseconds after which runs that are `ok`, `skipped`, `missed` or `dry-run` may go. */
  ok: number;
  /** Milliseconds after which runs that are `failed`, `partial` or `interrupted` may go. */
  failed: number;
  /**
   * The newest runs of each (rule, status) kept whatever their age, so a rule that has
   * not run for a while keeps its last outcomes, and a flood of skips never pushes out
   * the last failures. 0 keeps nothing beyond the ages.
   * @default 20
   */
  keepPerRuleAndStatus?: number;
  /**
   * The most runs deleted in one transaction. Each batch is one short write, and the
   * event loop runs between batches, so a daemon pruning millions of runs stays responsive.
   * @default 500
   */
  batchSize?: number;
}

/** Runs per status. */
export type PruneCounts = Record<FinishedRunStatus, number>;

/** One committed batch. */
export interface PruneBatch {
  /** 1, 2, 3... */
  batch: number;
  /** Runs deleted by this batch, at most the policy's batch size. */
  runs: number;
  deleted: PruneCounts;
}

export interface PruneOptions {
  /** Called after each batch commits. */
  onBatch?: (batch: PruneBatch) => void;
  /** Stops before the next batch; what was deleted stays deleted, and the result says `aborted`. */
  signal?: AbortSignal;
  /**
   * Count what would be deleted and delete nothing; works on a read-only store.
   * @default false
   */
  dryRun?: boolean;
}

export interface PruneResult {
  /** Runs deleted (or, in a dry run, that would be) per status; every prunable status is present. */
  deleted: PruneCounts;
  /** The sum of `deleted`. */
  total: number;
  /** Transactions that deleted runs; 0 in a dry run. */
  batches: number;
  /** Runs past their age kept because they are among the newest of their rule and status. */
  keptByFloor: number;
  dryRun: boolean;
  /** Whether the signal stopped the prune before it was done. */
  aborted: boolean;
}

/**
 * Deletes finished runs older than their status's age (`RETENTION_CLASS`), except the
 * newest `keepPerRuleAndStatus` of each (rule, status); `running` runs are never
 * touched. A run is older than an age when it started before `now - age`.
 *
 * Works in batches of at most `batchSize` runs, one transaction each, yielding to the
 * event loop between them. Steps and ledger rows go with their run by cascade (audit
 * decisions and resumed runs keep their rows and lose the reference), and each batch
 * adds what it deleted to `run_counts` in the same transaction, so `countRuns` totals
 * never change. Runs written while a prune is under way are safe: new runs only push
 * the kept set forward, so a prune never deletes what the policy keeps.
 *
 * @param target A store, or a connection opened by `openDatabase`.
 * @param now The instant ages are measured from, in milliseconds since the epoch.
 * @throws StoreError `STORE_BAD_POLICY`, `STORE_READONLY`, `STORE_FOREIGN_KEYS_OFF`.
 */
export async function pruneRuns(target: RunStore | Database, policy: PrunePolicy, now: number, options: PruneOptions = {}): Promise<PruneResult> {
  const db = target instanceof RunStore ? target.database : target;
  const settings = checkPolicy(policy, now);
  const dryRun = options.dryRun ?? false;
  if (!dryRun) checkWritable(db);

  const statements = prepare(db);
  const cutoffs: Record<RetentionClass, number> = { ok: now - settings.ok, failed: now - settings.failed };
  const result: PruneResult = { deleted: zeroCounts(), total: 0, batches: 0, keptByFloor: 0, dryRun, aborted: false };

  // Groups are visited in index order, one (rule, status) after the other. The cursor is
  // the last group visited; `group` the one still being deleted from, across batches.
  let cursor: GroupRow | undefined;
  let group: GroupPlan | undefined;
  let done = false;

  /** Finds the next group and plans it; undefined when it has nothing to delete. */
  const visitNextGroup = (): GroupPlan | undefined => {
    const next = cursor === undefined ? statements.firstGroup.get() : statements.nextGroup.get(cursor.rule_id, cursor.status);
    if (next === undefined) {
      done = true;
      return undefined;
    }
    cursor = next;
    return planGroup(statements, next, cutoffs, settings.keep, result);
  };

  // One batch: visits groups and deletes from them until the batch's budget is spent.
  // Visiting a group costs one unit, so a log of many small groups is also worked
  // through in bounded steps; deleting a run costs one, so a batch never deletes more
  // than batchSize runs.
  const deleteBatch = db.transaction((): { runs: number; deleted: PruneCounts } => {
    const deleted = zeroCounts();
    let runs = 0;
    let budget = settings.batchSize;
    while (budget > 0 && !done) {
      if (group === undefined) {
        group = visitNextGroup();
        budget -= 1;
        continue;
      }
      const room = budget;
      const removed = statements.deleteOldest.run(group.ruleId, group.status, group.beforeStart, group.beforeId, room).changes;
      if (removed > 0) {
        statements.addCount.run(group.ruleId, group.status, removed);
        deleted[group.status] += removed;
        runs += removed;
        budget -= removed;
      }
      if (removed < room) group = undefined;
    }
    return { runs, deleted };
  });

  // A dry run counts each group's deletable runs in one indexed count instead.
  const countBatch = (): void => {
    let budget = settings.batchSize;
    while (budget > 0 && !done) {
      const plan = visitNextGroup();
      budget -= 1;
      if (plan === undefined) continue;
      const count = statements.countOldest.get(plan.ruleId, plan.status, plan.beforeStart, plan.beforeId)!.count;
      result.deleted[plan.status] += count;
      result.total += count;
      budget -= count;
    }
  };

  while (!done) {
    if (options.signal?.aborted) {
      result.aborted = true;
      break;
    }
    if (dryRun) {
      countBatch();
    } else {
      const batch = deleteBatch.immediate();
      if (batch.runs > 0) {
        result.batches += 1;
        result.total += batch.runs;
        for (const status of PRUNABLE_STATUSES) result.deleted[status] += batch.deleted[status];
        options.onBatch?.({ batch: result.batches, runs: batch.runs, deleted: batch.deleted });
      }
    }
    if (!done) await yieldToEventLoop();
  }
  return result;
}

// === Internals ===

interface Settings {
  ok: number;
  failed: number;
  keep: number;
  batchSize: number;
}

interface GroupRow {
  rule_id: string;
  status: string;
}

/** A group with runs to delete: those before (beforeStart, beforeId) in start order. */
interface GroupPlan {
  ruleId: string;
  status: FinishedRunStatus;
  beforeStart: number;
  beforeId: number;
}

/**
 * The statements of a prune, for the tests that check their plans. Each is a range of
 * runs_rule_status_started (schema version 2): one (rule, status) group at a time,
 * oldest first, reading no more rows than it counts, returns or deletes.
 */
export const PRUNE_SQL = {
  /** The first group in index order. */
  firstGroup: 'SELECT rule_id, status FROM runs ORDER BY rule_id, status LIMIT 1',
  /** The group after (rule, status): one index seek, however many runs the group has. */
  nextGroup: 'SELECT rule_id, status FROM runs WHERE (rule_id, status) > (?, ?) ORDER BY rule_id, status LIMIT 1',
  /** The oldest run the floor keeps: the N-th newest of the group. */
  nthNewest: 'SELECT started_at, id FROM runs WHERE rule_id = ? AND status = ? ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?',
  /** Runs past the age in a group smaller than the floor. */
  countBefore: 'SELECT COUNT(*) AS count FROM runs WHERE rule_id = ? AND status = ? AND started_at < ?',
  /** Runs past the age that the floor keeps. */
  countKept: 'SELECT COUNT(*) AS count FROM runs WHERE rule_id = ? AND status = ? AND started_at < ? AND (started_at, id) >= (?, ?)',
  /** The next runs to delete of a group, oldest first. */
  deleteOldest: `DELETE FROM runs WHERE id IN (
      SELECT id FROM runs WHERE rule_id = ? AND status = ? AND (started_at, id) < (?, ?) ORDER BY started_at, id LIMIT ?
    )`,
  /** What a dry run counts instead of deleting. */
  countOldest: 'SELECT COUNT(*) AS count FROM runs WHERE rule_id = ? AND status = ? AND (started_at, id) < (?, ?)',
  /** Adds deleted runs to the lifetime counts. */
  addCount: `INSERT INTO run_counts (rule_id, status, count) VALUES (?, ?, ?)
    ON CONFLICT (rule_id, status) DO UPDATE SET count = count + excluded.count`,
} as const;

interface Statements {
  firstGroup: Statement<[], GroupRow>;
  nextGroup: Statement<[ruleId: string, status: string], GroupRow>;
  nthNewest: Statement<[ruleId: string, status: string, offset: number], { started_at: number; id: number }>;
  countBefore: Statement<[ruleId: string, status: string, cutoff: number], { count: number }>;
  countKept: Statement<[ruleId: string, status: string, cutoff: number, fromStart: number, fromId: number], { count: number }>;
  deleteOldest: Statement<[ruleId: string, status: string, beforeStart: number, beforeId: number, limit: number]>;
  countOldest: Statement<[ruleId: string, status: string, beforeStart: number, beforeId: number], { count: number }>;
  addCount: Statement<[ruleId: string, status: string, count: number]>;
}

function prepare(db: Database): Statements {
  return {
    firstGroup: db.prepare(PRUNE_SQL.firstGroup),
    nextGroup: db.prepare(PRUNE_SQL.nextGroup),
    nthNewest: db.prepare(PRUNE_SQL.nthNewest),
    countBefore: db.prepare(PRUNE_SQL.countBefore),
    countKept: db.prepare(PRUNE_SQL.countKept),
    deleteOldest: db.prepare(PRUNE_SQL.deleteOldest),
    countOldest: db.prepare(PRUNE_SQL.countOldest),
    addCount: db.prepare(PRUNE_SQL.addCount),
  };
}

/**
 * Where deleting stops in one group: before the older of the age cutoff and the oldest
 * run the floor keeps. Adds the runs the floor saves to `result.keptByFloor`. Undefined
 * for a status that is never pruned, or a group too small to lose anything.
 */
function planGroup(
  statements: Statements,
  row: GroupRow,
  cutoffs: Record<RetentionClass, number>,
  keep: number,
  result: PruneResult,
): GroupPlan | undefined {
  if (!Object.hasOwn(RETENTION_CLASS, row.status)) return undefined;
  const status = row.status as FinishedRunStatus;
  const cutoff = cutoffs[RETENTION_CLASS[status]];
  // Ids start at 1, so (cutoff, 0) orders before every run that started at the cutoff.
  const plan: GroupPlan = { ruleId: row.rule_id, status, beforeStart: cutoff, beforeId: 0 };
  if (keep === 0) return plan;

  const floor = statements.nthNewest.get(row.rule_id, status, keep - 1);
  if (floor === undefined) {
    // Fewer runs than the floor: all are kept, the old ones by the floor alone.
    result.keptByFloor += statements.countBefore.get(row.rule_id, status, cutoff)!.count;
    return undefined;
  }
  if (floor.started_at < cutoff) {
    result.keptByFloor += statements.countKept.get(row.rule_id, status, cutoff, floor.started_at, floor.id)!.count;
    plan.beforeStart = floor.started_at;
    plan.beforeId = floor.id;
  }
  return plan;
}

function checkPolicy(policy: PrunePolicy, now: number): Settings {
  const settings: Settings = {
    ok: policy.ok,
    failed: policy.failed,
    keep: policy.keepPerRuleAndStatus ?? DEFAULT_KEEP_PER_RULE_AND_STATUS,
    batchSize: policy.batchSize ?? DEFAULT_PRUNE_BATCH_SIZE,
  };
  const problems: string[] = [];
  for (const key of ['ok', 'failed'] as const) {
    if (!Number.isFinite(settings[key]) || settings[key] < 0) problems.push(`${key} must be an age of 0 ms or more, not ${settings[key]}`);
  }
  if (!Number.isSafeInteger(settings.keep) || settings.keep < 0) problems.push(`keepPerRuleAndStatus must be a whole number of 0 or more, not ${settings.keep}`);
  if (!Number.isSafeInteger(settings.batchSize) || settings.batchSize < 1) problems.push(`batchSize must be a whole number of 1 or more, not ${settings.batchSize}`);
  if (!Number.isFinite(now)) problems.push(`now must be an instant in milliseconds, not ${now}`);
  if (problems.length > 0) throw new StoreError('STORE_BAD_POLICY', `bad retention policy: ${problems.join('; ')}`, { policy: { ...policy }, now });
  return settings;
}

function checkWritable(db: Database): void {
  if (db.readonly) throw new StoreError('STORE_READONLY', `${db.name} is open read-only: pruning needs a writable store (a dry run does not)`, { path: db.name });
  // Without foreign keys the cascade would not run: steps and ledger rows would outlive their runs.
  if (db.pragma('foreign_keys', { simple: true }) !== 1) {
    throw new StoreError('STORE_FOREIGN_KEYS_OFF', `${db.name} has foreign keys turned off: pruning would leave the steps of deleted runs behind`, {
      path: db.name,
    });
  }
}

function zeroCounts(): PruneCounts {
  return { ok: 0, skipped: 0, missed: 0, 'dry-run': 0, failed: 0, partial: 0, interrupted: 0 };
}
