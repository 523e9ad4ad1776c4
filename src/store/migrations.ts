import type { Database } from 'better-sqlite3';
import { StoreError } from './errors';

/** One step of the schema's history. `up` runs inside a transaction with `user_version`. */
export interface Migration {
  /** 1, 2, 3...: the `user_version` the file has once this migration is applied. */
  version: number;
  description: string;
  up(db: Database): void;
}

/**
 * The execution log, version 1.
 *
 * Statuses and states are plain TEXT checked by the types rather than by CHECK
 * constraints, so a later version can add one without rebuilding a table of millions
 * of rows. JSON columns hold TEXT written by the store.
 *
 * Indexes: SQLite walks an ascending index backwards as cheaply as forwards, and every
 * index ends with the rowid, so `(rule_id, started_at)` serves "newest first" as
 * `ORDER BY started_at DESC, id DESC` with no sort step. The same indexes serve
 * retention: delete by status and age (`runs_status_started`) or by age alone
 * (`runs_started`) in small batches; steps and ledger rows follow by cascade.
 */
const EXECUTION_LOG_V1 = `
-- Run ids appear outside the file (logs, "rulebot show <id>", resumed_from), so
-- AUTOINCREMENT keeps an id from being reused after retention empties the table.
CREATE TABLE runs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  rule_id       TEXT    NOT NULL,
  rule_hash     TEXT    NOT NULL,
  trigger_kind  TEXT    NOT NULL,
  trigger_data  TEXT,
  slot          INTEGER,
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  status        TEXT    NOT NULL,
  reason        TEXT,
  error         TEXT,
  conditions    TEXT,
  duration_ms   INTEGER,
  resumed_from  INTEGER REFERENCES runs(id) ON DELETE SET NULL
);
CREATE INDEX runs_rule_started   ON runs(rule_id, started_at);
CREATE INDEX runs_status_started ON runs(status, started_at);
CREATE INDEX runs_started        ON runs(started_at);
-- Serves the foreign key when a resumed run is pruned.
CREATE INDEX runs_resumed_from   ON runs(resumed_from) WHERE resumed_from IS NOT NULL;

CREATE TABLE steps (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq           INTEGER NOT NULL,
  path          TEXT    NOT NULL,
  kind          TEXT    NOT NULL,
  status        TEXT    NOT NULL,
  input         TEXT,
  frame         TEXT,
  answer        TEXT,
  error         TEXT,
  delivery      TEXT,
  custom_msg_id TEXT,
  target        TEXT,
  note          TEXT,
  started_at    INTEGER NOT NULL,
  finished_at   INTEGER,
  duration_ms   INTEGER
);
CREATE UNIQUE INDEX steps_run_seq      ON steps(run_id, seq);
CREATE INDEX steps_custom_msg_id       ON steps(custom_msg_id) WHERE custom_msg_id IS NOT NULL;

-- Rotation positions, last slots, window states: small values keyed by rule.
CREATE TABLE rule_state (
  rule_id       TEXT    NOT NULL,
  key           TEXT    NOT NULL,
  value         TEXT    NOT NULL,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (rule_id, key)
) WITHOUT ROWID;

-- Watch seen-sets: one row per item ever seen in a rule's watched list.
CREATE TABLE seen_items (
  rule_id       TEXT    NOT NULL,
  list          TEXT    NOT NULL,
  item_key      TEXT    NOT NULL,
  item          TEXT,
  first_seen    INTEGER NOT NULL,
  last_seen     INTEGER NOT NULL,
  removed_at    INTEGER,
  PRIMARY KEY (rule_id, list, item_key)
) WITHOUT ROWID;

-- The per-target ledger of broadcasts, so a restart never sends to a target twice.
-- step_id has no foreign key: ledger rows and steps belong to the same run and go with it.
CREATE TABLE broadcast_targets (
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  path          TEXT    NOT NULL,
  target        TEXT    NOT NULL,
  state         TEXT    NOT NULL,
  custom_msg_id TEXT,
  step_id       INTEGER,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (run_id, path, target)
) WITHOUT ROWID;
CREATE INDEX broadcast_targets_custom_msg_id ON broadcast_targets(custom_msg_id) WHERE custom_msg_id IS NOT NULL;

-- Friend-request decisions outlive the runs that made them (run_id is cleared on
-- prune), so a request is never decided twice.
CREATE TABLE audit_decisions (
  id            INTEGER PRIMARY KEY,
  uid           TEXT    NOT NULL,
  request_time  TEXT    NOT NULL,
  nick_name     TEXT,
  message       TEXT,
  verdict       TEXT    NOT NULL,
  decided_by    TEXT,
  decided_at    INTEGER NOT NULL,
  actions       TEXT,
  rule_id       TEXT,
  run_id        INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  state         TEXT    NOT NULL,
  hold_until    INTEGER,
  UNIQUE (uid, request_time)
);
CREATE INDEX audit_decisions_decided ON audit_decisions(decided_at);
CREATE INDEX audit_decisions_held    ON audit_decisions(hold_until) WHERE state = 'held';
CREATE INDEX audit_decisions_run     ON audit_decisions(run_id) WHERE run_id IS NOT NULL;

-- Counts of pruned runs per rule and outcome. Retention adds here what it deletes, so
-- lifetime totals are these counts plus the rows still in runs, and the write path of a
-- run stays free of counter updates.
CREATE TABLE run_counts (
  rule_id       TEXT    NOT NULL,
  status        TEXT    NOT NULL,
  count         INTEGER NOT NULL,
  PRIMARY KEY (rule_id, status)
) WITHOUT ROWID;
`;

/**
 * Version 2: an index for retention (`pruneRuns`), which keeps the newest N runs of
 * each rule and outcome. With it, finding the N-th newest run of one (rule, status) and
 * the older runs beyond it are each one short range of one index. Neither index of
 * version 1 serves that: `runs_status_started` walks every rule's runs of the status,
 * `runs_rule_started` every status of the rule, so a rare outcome of a busy rule cost
 * a walk of the whole range on every prune.
 */
const RETENTION_INDEX_V2 = `
CREATE INDEX runs_rule_status_started ON runs(rule_id, status, started_at);
`;

/** Every migration, in order. Append only: a released migration never changes. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'execution log: runs, steps, rule state, seen-sets, broadcast ledger, audit decisions', up: (db) => db.exec(EXECUTION_LOG_V1) },
  { version: 2, description: 'retention: runs by rule, status and start', up: (db) => db.exec(RETENTION_INDEX_V2) },
];

/** The schema version this build reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The file's schema version (`PRAGMA user_version`); 0 for a new file. */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** The versions a migrate call moved between. */
export interface MigrationResult {
  from: number;
  to: number;
}

/**
 * Brings the file up to the last of `migrations`, one transaction per migration, and
 * refuses a file of a newer version with `STORE_SCHEMA_TOO_NEW` (an older build must not
 * write a schema it does not know). A migration that throws is rolled back and reported
 * as `STORE_MIGRATION_FAILED`; the ones before it stay applied.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): MigrationResult {
  assertOrdered(migrations);
  const target = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  const from = schemaVersion(db);
  if (from > target) throw tooNew(db, from, target);

  for (const migration of migrations) {
    if (migration.version <= from) continue;
    // IMMEDIATE takes the write lock before reading the version, so two processes that
    // open a new file at once apply each migration exactly once.
    const apply = db.transaction(() => {
      const current = schemaVersion(db);
      if (current > target) throw tooNew(db, current, target);
      if (current >= migration.version) return;
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    });
    try {
      apply.immediate();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError(
        'STORE_MIGRATION_FAILED',
        `${db.name}: migration ${migration.version} (${migration.description}) failed and was rolled back`,
        { path: db.name, version: migration.version },
        { cause: err },
      );
    }
  }
  return { from, to: Math.max(from, target) };
}

/**
 * For a read-only open, which cannot migrate: refuses a file of another version than
 * this build's, with `STORE_SCHEMA_TOO_NEW` or `STORE_SCHEMA_OUTDATED`.
 */
export function assertSchemaCurrent(db: Database): void {
  const version = schemaVersion(db);
  if (version > SCHEMA_VERSION) throw tooNew(db, version, SCHEMA_VERSION);
  if (version < SCHEMA_VERSION) {
    throw new StoreError(
      'STORE_SCHEMA_OUTDATED',
      `${db.name} has schema version ${version}, older than this rulebot's (${SCHEMA_VERSION}); start the daemon once to migrate it`,
      { path: db.name, version, known: SCHEMA_VERSION },
    );
  }
}

function tooNew(db: Database, version: number, known: number): StoreError {
  return new StoreError(
    'STORE_SCHEMA_TOO_NEW',
    `${db.name} has schema version ${version}, newer than this rulebot knows (${known}); upgrade rulebot to use it`,
    { path: db.name, version, known },
  );
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration versions must run 1, 2, 3... without gaps; found ${migration.version} at position ${index + 1}`);
    }
  });
}
