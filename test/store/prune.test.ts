import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import {
  PRUNABLE_STATUSES,
  RETENTION_CLASS,
  RunStore,
  StoreError,
  openDatabase,
  pruneRuns,
  type FinishedRunStatus,
  type PruneBatch,
  type PruneCounts,
  type PrunePolicy,
  type RunCount,
  type RunStatus,
} from '../../src/store';
import { PRUNE_SQL } from '../../src/store/prune';
import { T0, openStore, tempDbFile } from './support';

const DAY = 86_400_000;
const NOW = T0;

// === A generated log ===

interface Rule {
  id: string;
  runs: number;
  /** Relative weights of each status. */
  statuses: Partial<Record<RunStatus, number>>;
  /** Start times rounded to the minute, so runs share a start and the id breaks the tie. */
  coarse?: boolean;
}

/** 100,000 runs over 400 days. Shares are chosen so the floor matters: rare outcomes, a tiny rule, noisy skips. */
const RULES: readonly Rule[] = [
  { id: 'anti-spam', runs: 52_000, statuses: { skipped: 96, ok: 3.5, failed: 0.15, partial: 0.1, running: 0.01 } },
  { id: 'morning-greeting', runs: 20_000, statuses: { ok: 90, failed: 4, partial: 2, missed: 2, interrupted: 1, 'dry-run': 1 }, coarse: true },
  { id: 'night-mode', runs: 15_000, statuses: { ok: 80, skipped: 10, missed: 5, failed: 3, interrupted: 2, running: 0.05 } },
  { id: 'friend-audit', runs: 12_900, statuses: { ok: 70, failed: 20, partial: 5, 'dry-run': 5 }, coarse: true },
  { id: 'notice-rotation', runs: 60, statuses: { ok: 50, failed: 30, skipped: 20 } },
  { id: 'rare', runs: 40, statuses: { ok: 1, failed: 1, interrupted: 1, running: 0.2 } },
];

interface GeneratedRun {
  id: number;
  ruleId: string;
  status: RunStatus;
  startedAt: number;
  steps: number;
  targets: number;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T extends string>(weights: Partial<Record<T, number>>, r: number): T {
  const entries = Object.entries(weights) as Array<[T, number]>;
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  let at = r * total;
  for (const [value, weight] of entries) {
    if ((at -= weight) < 0) return value;
  }
  return entries[entries.length - 1]![0];
}

/**
 * Writes the generated log straight into `db` with SQL, in transactions of 10,000 runs:
 * runs (shuffled in time, so ids do not follow start order), steps for about a third of
 * them, ledger rows and audit decisions for some. Also runs placed exactly on the cutoffs.
 */
function seedLog(db: Database, policy: { ok: number; failed: number }): GeneratedRun[] {
  const rand = random(20250106);
  const plan: Array<Omit<GeneratedRun, 'id'>> = [];
  for (const rule of RULES) {
    for (let i = 0; i < rule.runs; i++) {
      const status = pick(rule.statuses, rand());
      let startedAt = NOW - Math.floor(rand() * 400 * DAY);
      if (rule.coarse) startedAt -= startedAt % 60_000;
      const steps = rand() < 0.35 ? 1 + Math.floor(rand() * 3) : 0;
      const targets = steps > 0 && rand() < 0.1 ? 2 : 0;
      plan.push({ ruleId: rule.id, status, startedAt, steps, targets });
    }
  }
  // Runs exactly at the age of their status are not older than it, and stay.
  for (const status of PRUNABLE_STATUSES) {
    const age = RETENTION_CLASS[status] === 'ok' ? policy.ok : policy.failed;
    for (let i = 0; i < 3; i++) plan.push({ ruleId: 'anti-spam', status, startedAt: NOW - age, steps: 1, targets: 0 });
    plan.push({ ruleId: 'anti-spam', status, startedAt: NOW - age - 1, steps: 1, targets: 0 });
  }
  // Ids in an order unrelated to time.
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }

  const insertRun = db.prepare<[string, string, number, number | null, string]>(
    `INSERT INTO runs (rule_id, rule_hash, trigger_kind, started_at, finished_at, status) VALUES (?, ?, 'cron', ?, ?, ?)`,
  );
  const insertStep = db.prepare<[number, number, string, number]>(
    `INSERT INTO steps (run_id, seq, path, kind, status, input, started_at) VALUES (?, ?, ?, 'send', 'ok', '{"text":"hello"}', ?)`,
  );
  const insertTarget = db.prepare<[number, string, number]>(
    `INSERT INTO broadcast_targets (run_id, path, target, state, updated_at) VALUES (?, 'actions/0', ?, 'delivered', ?)`,
  );
  const insertAudit = db.prepare<[string, number, number, number]>(
    `INSERT INTO audit_decisions (uid, request_time, verdict, decided_at, run_id, rule_id, state) VALUES (?, ?, 'accept', ?, ?, 'friend-audit', 'decided')`,
  );
  const insertChunk = db.transaction((chunk: Array<Omit<GeneratedRun, 'id'>>) =>
    chunk.map((run) => {
      const finishedAt = run.status === 'running' || run.status === 'interrupted' ? null : run.startedAt + 50;
      const id = Number(insertRun.run(run.ruleId, `sha256:${run.ruleId}`, run.startedAt, finishedAt, run.status).lastInsertRowid);
      for (let seq = 0; seq < run.steps; seq++) insertStep.run(id, seq, `actions/${seq}`, run.startedAt + seq);
      for (let t = 0; t < run.targets; t++) insertTarget.run(id, `group:${t}`, run.startedAt);
      if (run.ruleId === 'friend-audit' && run.steps > 0) insertAudit.run(`uid-${id}`, run.startedAt, run.startedAt, id);
      return { ...run, id };
    }),
  );
  const runs: GeneratedRun[] = [];
  for (let i = 0; i < plan.length; i += 10_000) runs.push(...insertChunk(plan.slice(i, i + 10_000)));
  return runs;
}

// === The policy, computed independently from the generated data ===

interface Expected {
  kept: Set<number>;
  deleted: PruneCounts;
  keptByFloor: number;
}

/** Which runs the policy keeps: running ones, those within their age, and the newest `keep` of each (rule, status). */
function expectedOutcome(runs: readonly GeneratedRun[], policy: Required<Pick<PrunePolicy, 'ok' | 'failed' | 'keepPerRuleAndStatus'>>): Expected {
  const groups = new Map<string, GeneratedRun[]>();
  for (const run of runs) {
    const key = `${run.ruleId}\u0000${run.status}`;
    const group = groups.get(key) ?? [];
    group.push(run);
    groups.set(key, group);
  }
  const kept = new Set<number>();
  const deleted = zeroCounts();
  let keptByFloor = 0;
  for (const group of groups.values()) {
    group.sort((a, b) => b.startedAt - a.startedAt || b.id - a.id);
    group.forEach((run, rank) => {
      if (run.status === 'running') {
        kept.add(run.id);
        return;
      }
      const status = run.status;
      const age = RETENTION_CLASS[status] === 'ok' ? policy.ok : policy.failed;
      const old = run.startedAt < NOW - age;
      const newest = rank < policy.keepPerRuleAndStatus;
      if (!old || newest) kept.add(run.id);
      else deleted[status] += 1;
      if (old && newest) keptByFloor += 1;
    });
  }
  return { kept, deleted, keptByFloor };
}

function zeroCounts(): PruneCounts {
  return { ok: 0, skipped: 0, missed: 0, 'dry-run': 0, failed: 0, partial: 0, interrupted: 0 };
}

function sum(counts: PruneCounts): number {
  return PRUNABLE_STATUSES.reduce((total, status) => total + counts[status], 0);
}

function idsIn(db: Database, table: 'runs' | 'steps' | 'broadcast_targets', column: string): number[] {
  return db.prepare<[], { id: number }>(`SELECT DISTINCT ${column} AS id FROM ${table}`).all().map((row) => row.id);
}

function count(db: Database, sql: string): number {
  return db.prepare<[], { n: number }>(sql).get()!.n;
}

// === 100,000 runs ===

describe('pruneRuns on a log of 100,000 runs over 400 days', () => {
  const policy = { ok: 30 * DAY, failed: 180 * DAY, keepPerRuleAndStatus: 20, batchSize: 500 };
  let dir: string;
  let store: RunStore;
  let db: Database;
  let runs: GeneratedRun[];
  let expected: Expected;
  let countsBefore: RunCount[];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-prune-'));
    store = RunStore.open(path.join(dir, 'rulebot.db'));
    db = store.database;
    runs = seedLog(db, policy);
    expected = expectedOutcome(runs, policy);
    countsBefore = store.countRuns();
  });

  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('was seeded as intended: every status, steps, ledger rows, and much to delete', () => {
    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM runs'), 100_000 + 4 * PRUNABLE_STATUSES.length);
    const statuses = db.prepare<[], { status: string }>('SELECT DISTINCT status FROM runs ORDER BY status').all().map((row) => row.status);
    assert.deepEqual(statuses, ['dry-run', 'failed', 'interrupted', 'missed', 'ok', 'partial', 'running', 'skipped']);
    assert.ok(count(db, 'SELECT COUNT(*) AS n FROM steps') > 40_000);
    assert.ok(count(db, 'SELECT COUNT(*) AS n FROM broadcast_targets') > 1000);
    // The floor and the ages both decide something in this log.
    assert.ok(expected.keptByFloor >= 50, `keptByFloor ${expected.keptByFloor}`);
    assert.ok(sum(expected.deleted) > 60_000, `deleted ${sum(expected.deleted)}`);
    // countRuns, before any prune, is the rows themselves.
    const fromData = new Map<string, number>();
    for (const run of runs) fromData.set(`${run.ruleId}/${run.status}`, (fromData.get(`${run.ruleId}/${run.status}`) ?? 0) + 1);
    assert.deepEqual(new Map(countsBefore.map((c) => [`${c.ruleId}/${c.status}`, c.count])), fromData);
  });

  it('every statement is a range of runs_rule_status_started', () => {
    for (const [name, sql] of Object.entries(PRUNE_SQL)) {
      if (name === 'addCount') continue;
      const params = (sql.match(/\?/g) ?? []).map(() => 1);
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
      const details = plan.map((row) => row.detail).join(' | ');
      assert.match(details, /USING COVERING INDEX runs_rule_status_started/, `${name}: ${details}`);
      assert.doesNotMatch(details, /TEMP B-TREE/, `${name}: ${details}`);
      // Only the first group is found by walking the index, and it stops at the first entry.
      if (name !== 'firstGroup') assert.doesNotMatch(details, /SCAN runs/, `${name}: ${details}`);
    }
  });

  it('a dry run counts exactly what the policy deletes, and changes nothing', async () => {
    const before = count(db, 'SELECT total_changes() AS n');
    const result = await pruneRuns(store, policy, NOW, { dryRun: true, onBatch: () => assert.fail('a dry run has no batches') });
    assert.equal(count(db, 'SELECT total_changes() AS n'), before);
    assert.deepEqual(result, {
      deleted: expected.deleted,
      total: sum(expected.deleted),
      batches: 0,
      keptByFloor: expected.keptByFloor,
      dryRun: true,
      aborted: false,
    });
    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM runs'), runs.length);
  });

  it('deletes exactly what the policy says, in many small batches that yield to the event loop', async () => {
    const batches: PruneBatch[] = [];
    let yielded = true;
    let batchesWithoutYield = 0;
    const result = await pruneRuns(store, policy, NOW, {
      onBatch: (batch) => {
        batches.push(batch);
        if (!yielded) batchesWithoutYield += 1;
        yielded = false;
        setImmediate(() => (yielded = true));
      },
    });

    // The result.
    assert.deepEqual(result.deleted, expected.deleted);
    assert.equal(result.total, sum(expected.deleted));
    assert.equal(result.keptByFloor, expected.keptByFloor);
    assert.equal(result.aborted, false);

    // What is left is exactly what the policy keeps, checked both ways.
    const remaining = new Set(idsIn(db, 'runs', 'id'));
    const byId = new Map(runs.map((run) => [run.id, run]));
    for (const id of remaining) assert.ok(expected.kept.has(id), `run ${id} should be gone: ${JSON.stringify(byId.get(id))}`);
    for (const id of expected.kept) assert.ok(remaining.has(id), `run ${id} should be kept: ${JSON.stringify(byId.get(id))}`);
    assert.equal(remaining.size, runs.length - result.total);

    // Running runs are untouched, row for row.
    const running = runs.filter((run) => run.status === 'running');
    assert.ok(running.some((run) => run.startedAt < NOW - policy.failed), 'some running runs are older than every age');
    const runningNow = db.prepare<[], { id: number; started_at: number }>("SELECT id, started_at FROM runs WHERE status = 'running' ORDER BY id").all();
    assert.deepEqual(
      runningNow,
      running.map((run) => ({ id: run.id, started_at: run.startedAt })).sort((a, b) => a.id - b.id),
    );

    // Steps and ledger rows went with their runs; audit decisions stay, without the run.
    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM steps WHERE run_id NOT IN (SELECT id FROM runs)'), 0);
    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM broadcast_targets WHERE run_id NOT IN (SELECT id FROM runs)'), 0);
    const keptSteps = runs.filter((run) => expected.kept.has(run.id)).reduce((total, run) => total + run.steps, 0);
    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM steps'), keptSteps);
    const audits = runs.filter((run) => run.ruleId === 'friend-audit' && run.steps > 0);
    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM audit_decisions'), audits.length);
    assert.equal(count(db, 'SELECT COUNT(*) AS n FROM audit_decisions WHERE run_id IS NOT NULL'), audits.filter((run) => expected.kept.has(run.id)).length);
    assert.deepEqual(db.pragma('foreign_key_check'), []);

    // Lifetime totals did not change.
    assert.deepEqual(store.countRuns(), countsBefore);
    assert.deepEqual(store.countRuns('rare'), countsBefore.filter((c) => c.ruleId === 'rare'));

    // Many small batches, each within the batch size, each followed by a turn of the event loop.
    assert.equal(result.batches, batches.length);
    assert.ok(batches.length >= Math.ceil(result.total / policy.batchSize), `${batches.length} batches`);
    assert.ok(batches.length > 100, `${batches.length} batches`);
    batches.forEach((batch, index) => {
      assert.equal(batch.batch, index + 1);
      assert.ok(batch.runs >= 1 && batch.runs <= policy.batchSize, `batch ${batch.batch} deleted ${batch.runs}`);
      assert.equal(sum(batch.deleted), batch.runs);
    });
    const fromBatches = zeroCounts();
    for (const batch of batches) for (const status of PRUNABLE_STATUSES) fromBatches[status] += batch.deleted[status];
    assert.deepEqual(fromBatches, result.deleted);
    assert.equal(batchesWithoutYield, 0);
  });

  it('a second prune with the same policy finds nothing more to delete', async () => {
    const result = await pruneRuns(store, policy, NOW);
    assert.equal(result.total, 0);
    assert.equal(result.batches, 0);
    assert.equal(result.keptByFloor, expected.keptByFloor);
    assert.deepEqual(store.countRuns(), countsBefore);
  });
});

// === Small logs, one behaviour each ===

/** Inserts finished runs of one rule at the given ages (in days before NOW); returns their ids. */
function insertRuns(db: Database, ruleId: string, status: RunStatus, agesInDays: readonly number[]): number[] {
  const insert = db.prepare<[string, number, number | null, string]>(
    `INSERT INTO runs (rule_id, rule_hash, trigger_kind, started_at, finished_at, status) VALUES (?, 'sha256:x', 'cron', ?, ?, ?)`,
  );
  return agesInDays.map((days) => {
    const startedAt = NOW - days * DAY;
    return Number(insert.run(ruleId, startedAt, status === 'running' ? null : startedAt + 10, status).lastInsertRowid);
  });
}

function remainingIds(db: Database): number[] {
  return idsIn(db, 'runs', 'id').sort((a, b) => a - b);
}

test('noisy skips never push out the last failures of a rule', async (t) => {
  const store = openStore(t, tempDbFile(t));
  const db = store.database;
  const failures = insertRuns(db, 'anti-spam', 'failed', [300, 250, 200]);
  const skips = insertRuns(db, 'anti-spam', 'skipped', Array.from({ length: 1000 }, (_, i) => i / 10));
  const result = await pruneRuns(store, { ok: 30 * DAY, failed: 180 * DAY, keepPerRuleAndStatus: 2 }, NOW);

  // All three failures are past 180 days; the newest two stay.
  assert.equal(result.deleted.failed, 1);
  assert.deepEqual(remainingIds(db).filter((id) => failures.includes(id)), failures.slice(1));
  // Skips older than 30 days go, however many there are.
  assert.equal(result.deleted.skipped, skips.filter((_, i) => i / 10 > 30).length);
  assert.equal(result.keptByFloor, 2);
});

test('a rule that stopped running keeps its last runs; with keep 0 only the ages count', async (t) => {
  const store = openStore(t, tempDbFile(t));
  const db = store.database;
  const old = insertRuns(db, 'retired', 'ok', [400, 390, 380]);
  let result = await pruneRuns(store, { ok: 30 * DAY, failed: 30 * DAY }, NOW);
  assert.equal(result.total, 0);
  assert.equal(result.keptByFloor, 3);
  assert.deepEqual(remainingIds(db), old);

  result = await pruneRuns(store, { ok: 30 * DAY, failed: 30 * DAY, keepPerRuleAndStatus: 0 }, NOW);
  assert.equal(result.deleted.ok, 3);
  assert.equal(result.keptByFloor, 0);
  assert.deepEqual(remainingIds(db), []);
  assert.deepEqual(store.countRuns('retired'), [{ ruleId: 'retired', status: 'ok', count: 3 }]);
});

test('the floor counts runs that share a start time by id, newest id first', async (t) => {
  const store = openStore(t, tempDbFile(t));
  const db = store.database;
  const ids = insertRuns(db, 'tied', 'ok', [100, 100, 100, 100]);
  await pruneRuns(store, { ok: DAY, failed: DAY, keepPerRuleAndStatus: 3 }, NOW);
  assert.deepEqual(remainingIds(db), ids.slice(1));
});

test('running runs and statuses this build does not know are never deleted', async (t) => {
  const store = openStore(t, tempDbFile(t));
  const db = store.database;
  const running = insertRuns(db, 'stuck', 'running', [1000, 900]);
  const unknown = insertRuns(db, 'stuck', 'ok', [1000]);
  db.prepare("UPDATE runs SET status = 'paused' WHERE id = ?").run(unknown[0]!);
  const result = await pruneRuns(store, { ok: 0, failed: 0, keepPerRuleAndStatus: 0 }, NOW);
  assert.equal(result.total, 0);
  assert.deepEqual(remainingIds(db), [...running, ...unknown].sort((a, b) => a - b));
});

test('an aborted prune stops between batches, and what it deleted is counted', async (t) => {
  const store = openStore(t, tempDbFile(t));
  const db = store.database;
  insertRuns(db, 'busy', 'ok', Array.from({ length: 100 }, (_, i) => 40 + i));
  const before = store.countRuns();
  const controller = new AbortController();
  const result = await pruneRuns(store, { ok: 30 * DAY, failed: 30 * DAY, keepPerRuleAndStatus: 0, batchSize: 10 }, NOW, {
    signal: controller.signal,
    onBatch: (batch) => {
      if (batch.batch === 3) controller.abort();
    },
  });
  assert.equal(result.aborted, true);
  assert.equal(result.batches, 3);
  assert.ok(result.total > 20 && result.total <= 30, `${result.total} deleted`);
  assert.equal(count(db, 'SELECT COUNT(*) AS n FROM runs'), 100 - result.total);
  assert.deepEqual(store.countRuns(), before);
});

test('accepts a bare connection from openDatabase as well as a store', async (t) => {
  const db = openDatabase(tempDbFile(t));
  t.after(() => db.close());
  insertRuns(db, 'r', 'failed', [10, 20]);
  const result = await pruneRuns(db, { ok: DAY, failed: 15 * DAY, keepPerRuleAndStatus: 0 }, NOW);
  assert.equal(result.deleted.failed, 1);
  assert.deepEqual(count(db, 'SELECT count AS n FROM run_counts WHERE rule_id = \'r\' AND status = \'failed\''), 1);
});

test('refuses a bad policy, a read-only store and a connection without foreign keys', async (t) => {
  const file = tempDbFile(t);
  const store = openStore(t, file);
  insertRuns(store.database, 'r', 'ok', [100]);
  const isCode = (code: string) => (err: unknown) => err instanceof StoreError && err.code === code;

  const bad: PrunePolicy[] = [
    { ok: -1, failed: DAY },
    { ok: DAY, failed: Number.NaN },
    { ok: DAY, failed: DAY, keepPerRuleAndStatus: 1.5 },
    { ok: DAY, failed: DAY, batchSize: 0 },
  ];
  for (const policy of bad) await assert.rejects(pruneRuns(store, policy, NOW), isCode('STORE_BAD_POLICY'));

  const reader = RunStore.open(file, { readonly: true });
  t.after(() => reader.close());
  await assert.rejects(pruneRuns(reader, { ok: DAY, failed: DAY }, NOW), isCode('STORE_READONLY'));
  // A dry run only reads.
  assert.equal((await pruneRuns(reader, { ok: DAY, failed: DAY, keepPerRuleAndStatus: 0 }, NOW, { dryRun: true })).deleted.ok, 1);

  const raw = new Sqlite(file);
  t.after(() => raw.close());
  raw.pragma('foreign_keys = OFF');
  await assert.rejects(pruneRuns(raw, { ok: DAY, failed: DAY }, NOW), isCode('STORE_FOREIGN_KEYS_OFF'));
  assert.equal(count(store.database, 'SELECT COUNT(*) AS n FROM runs'), 1);
});

test('every prunable status maps to one of the two ages, and running to none', () => {
  const statuses: FinishedRunStatus[] = ['ok', 'skipped', 'missed', 'dry-run', 'failed', 'partial', 'interrupted'];
  assert.deepEqual([...PRUNABLE_STATUSES].sort(), [...statuses].sort());
  assert.deepEqual(
    statuses.map((status) => RETENTION_CLASS[status]),
    ['ok', 'ok', 'ok', 'ok', 'failed', 'failed', 'failed'],
  );
  assert.equal(Object.hasOwn(RETENTION_CLASS, 'running'), false);
});
