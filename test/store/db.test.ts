import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { MIGRATIONS, RunStore, SCHEMA_VERSION, StoreError, migrate, openDatabase, schemaVersion, type Migration } from '../../src/store';
import { cronRun, openStore, tempDbFile, tempDir } from './support';

const TABLES = ['audit_decisions', 'broadcast_targets', 'rule_state', 'run_counts', 'runs', 'seen_items', 'steps'];

function schemaOf(db: Database): string[] {
  return db
    .prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all()
    .map((row) => row.sql);
}

function tableNames(db: Database): string[] {
  return db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as unknown as string[];
}

function storeErrorWith(code: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

test('a new file gets its folder, the whole schema at the current version, and the pragmas', (t) => {
  const file = tempDbFile(t);
  assert.equal(fs.existsSync(path.dirname(file)), false);

  const db = openDatabase(file);
  t.after(() => db.close());

  assert.equal(schemaVersion(db), SCHEMA_VERSION);
  assert.equal(SCHEMA_VERSION, MIGRATIONS[MIGRATIONS.length - 1]!.version);
  assert.deepEqual(tableNames(db), TABLES);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('synchronous', { simple: true }), 1); // NORMAL
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.equal(db.pragma('busy_timeout', { simple: true }), 5000);
});

test('reopening a migrated file changes no schema and keeps its rows', (t) => {
  const file = tempDbFile(t);
  const first = RunStore.open(file);
  const runId = first.startRun(cronRun('morning-greeting'));
  first.close();

  const raw = new Sqlite(file);
  t.after(() => raw.close());
  const before = schemaOf(raw);

  const db = openDatabase(file);
  assert.deepEqual(migrate(db), { from: SCHEMA_VERSION, to: SCHEMA_VERSION });
  db.close();

  assert.deepEqual(schemaOf(raw), before);
  const again = openStore(t, file);
  assert.equal(again.getRun(runId)?.ruleId, 'morning-greeting');
});

test('a file of a newer schema version is refused, read-write or read-only, and left as it was', (t) => {
  const file = tempDbFile(t);
  RunStore.open(file).close();
  const raw = new Sqlite(file);
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();

  assert.throws(() => RunStore.open(file), storeErrorWith('STORE_SCHEMA_TOO_NEW'));
  assert.throws(() => RunStore.open(file, { readonly: true }), storeErrorWith('STORE_SCHEMA_TOO_NEW'));

  const check = new Sqlite(file, { readonly: true });
  t.after(() => check.close());
  assert.equal(schemaVersion(check), SCHEMA_VERSION + 1);
});

test('migrations apply in order, once each, and a second pass does nothing', (t) => {
  const db = new Sqlite(path.join(tempDir(t), 'migrations.db'));
  t.after(() => db.close());
  const applied: number[] = [];
  const migrations: Migration[] = [1, 2, 3].map((version) => ({
    version,
    description: `step ${version}`,
    up: (target) => {
      applied.push(version);
      target.exec(`CREATE TABLE t${version} (x)`);
    },
  }));

  assert.deepEqual(migrate(db, migrations.slice(0, 1)), { from: 0, to: 1 });
  assert.deepEqual(migrate(db, migrations), { from: 1, to: 3 });
  assert.deepEqual(migrate(db, migrations), { from: 3, to: 3 });
  assert.deepEqual(applied, [1, 2, 3]);
  assert.deepEqual(tableNames(db), ['t1', 't2', 't3']);
});

test('a migration that throws is rolled back with its version, and reported', (t) => {
  const db = new Sqlite(path.join(tempDir(t), 'migrations.db'));
  t.after(() => db.close());
  const migrations: Migration[] = [
    { version: 1, description: 'first', up: (target) => target.exec('CREATE TABLE kept (x)') },
    {
      version: 2,
      description: 'second',
      up: (target) => {
        target.exec('CREATE TABLE half_done (x)');
        throw new Error('disk on fire');
      },
    },
  ];

  assert.throws(
    () => migrate(db, migrations),
    (err) => {
      storeErrorWith('STORE_MIGRATION_FAILED')(err);
      assert.equal((err as StoreError).details.version, 2);
      assert.equal(((err as StoreError).cause as Error).message, 'disk on fire');
      return true;
    },
  );
  assert.equal(schemaVersion(db), 1);
  assert.deepEqual(tableNames(db), ['kept']);
});

test('migration lists with gaps are a programming error', (t) => {
  const db = new Sqlite(':memory:');
  t.after(() => db.close());
  assert.throws(() => migrate(db, [{ version: 2, description: 'gap', up: () => {} }]), /without gaps/);
});

test('read-only: a missing file is reported and not created', (t) => {
  const file = tempDbFile(t);
  assert.throws(() => RunStore.open(file, { readonly: true }), storeErrorWith('STORE_NOT_FOUND'));
  assert.equal(fs.existsSync(file), false);
});

test('read-only: a file not yet migrated is refused rather than migrated', (t) => {
  const file = tempDbFile(t);
  fs.mkdirSync(path.dirname(file));
  new Sqlite(file).close();
  assert.throws(() => RunStore.open(file, { readonly: true }), storeErrorWith('STORE_SCHEMA_OUTDATED'));
  const raw = new Sqlite(file);
  t.after(() => raw.close());
  assert.equal(schemaVersion(raw), 0);
});

test('read-only: reads what a live writer committed, and cannot write', (t) => {
  const file = tempDbFile(t);
  const writer = openStore(t, file);
  const runId = writer.startRun(cronRun('night-mode'));

  const reader = openStore(t, file, { readonly: true });
  assert.equal(reader.readonly, true);
  assert.deepEqual(
    reader.listRuns().map((run) => [run.id, run.status]),
    [[runId, 'running']],
  );
  writer.finishRun(runId, { status: 'ok' });
  assert.equal(reader.getRun(runId)?.status, 'ok');
  assert.throws(() => reader.startRun(cronRun('night-mode')), (err) => (err as { code?: string }).code === 'SQLITE_READONLY');
  assert.throws(() => RunStore.open(file, { readonly: true, markInterrupted: true }), /writable/);
});

test('a file that is not a database is reported with its path', (t) => {
  const file = tempDbFile(t);
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, 'this is a text file, not SQLite, and it is long enough to have a header'.repeat(20));
  assert.throws(
    () => RunStore.open(file),
    (err) => storeErrorWith('STORE_OPEN_FAILED')(err) && (err as StoreError).message.includes(file),
  );
});
