import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RunStore, type RunStatus } from '../../src/store';
import { runCli, tempDir } from './helpers';

const DAY = 86_400_000;
/** The instant the CLI's clock starts at (RULEBOT_NOW), so ages are exact. */
const NOW = Date.UTC(2025, 0, 6, 1, 0, 0);
const NOW_ENV = { RULEBOT_NOW: new Date(NOW).toISOString() };

/** The runs of every log here: [status, age in days]. */
const RUNS: ReadonlyArray<[RunStatus, number]> = [
  ['ok', 1],
  ['ok', 20],
  ['ok', 40],
  ['skipped', 12],
  ['failed', 1],
  ['failed', 50],
  ['failed', 200],
  ['interrupted', 150],
  ['running', 300],
];

interface Setup {
  dir: string;
  config: string;
  database: string;
}

/** A config (retention ok 10d, failed 100d) and a log holding RUNS of rule `r`. */
function setup(): Setup {
  const dir = tempDir();
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, 'bridge:\n  url: sim://\ndatabase: ./data/rulebot.db\nretention: { ok: 10d, failed: 100d }\n');
  const database = path.join(dir, 'data', 'rulebot.db');
  const store = RunStore.open(database);
  const insert = store.database.prepare<[number, number | null, string]>(
    "INSERT INTO runs (rule_id, rule_hash, trigger_kind, started_at, finished_at, status) VALUES ('r', 'sha256:r', 'cron', ?, ?, ?)",
  );
  for (const [status, days] of RUNS) insert.run(NOW - days * DAY, status === 'running' ? null : NOW - days * DAY + 5, status);
  store.close();
  return { dir, config, database };
}

/** What is left in the log, as [status, age in days], oldest first. */
function remaining(database: string): Array<[string, number]> {
  const store = RunStore.open(database, { readonly: true });
  try {
    return store.database
      .prepare<[], { status: string; started_at: number }>('SELECT status, started_at FROM runs ORDER BY started_at, id')
      .all()
      .map((row) => [row.status, (NOW - row.started_at) / DAY]);
  } finally {
    store.close();
  }
}

interface JsonReport {
  dryRun: boolean;
  policy: { ok: string; failed: string; okMs: number; failedMs: number; keepPerRuleAndStatus: number };
  deleted: Record<string, number>;
  total: number;
  keptByFloor: number;
}

async function pruneJson(args: readonly string[]): Promise<JsonReport> {
  const result = await runCli(['prune', ...args, '--json'], { env: NOW_ENV });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as JsonReport;
}

describe('rulebot prune', () => {
  it('takes its ages from the config, and keeps the newest 20 of each rule and status by default', async () => {
    const { config, database } = setup();
    const report = await pruneJson(['--config', config]);
    assert.deepEqual(report.policy, { okMs: 10 * DAY, failedMs: 100 * DAY, ok: '10d', failed: '100d', keepPerRuleAndStatus: 20 });
    assert.equal(report.total, 0);
    // ok 20d, ok 40d, skipped 12d, failed 200d, interrupted 150d: past their age, kept by the floor.
    assert.equal(report.keptByFloor, 5);
    assert.equal(remaining(database).length, RUNS.length);
  });

  it('--dry-run reports what would go and leaves the file as it was', async () => {
    const { config, database } = setup();
    const before = fs.readFileSync(database);
    const result = await runCli(['prune', '--config', config, '--keep', '0', '--dry-run'], { env: NOW_ENV });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Would delete 5 runs from /);
    assert.match(result.stdout, /^ {2}ok +2 {2}older than 10d$/m);
    assert.match(result.stdout, /^ {2}skipped +1 {2}older than 10d$/m);
    assert.match(result.stdout, /^ {2}failed +1 {2}older than 100d$/m);
    assert.match(result.stdout, /^ {2}interrupted +1 {2}older than 100d$/m);
    assert.deepEqual(fs.readFileSync(database), before);
    assert.equal(remaining(database).length, RUNS.length);
  });

  it('deletes per status by the config ages with --keep 0, never a running run', async () => {
    const { config, database } = setup();
    const result = await runCli(['prune', '--config', config, '--keep', '0'], { env: NOW_ENV });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Deleted 5 runs from .* in 1 batch:$/m);
    assert.deepEqual(remaining(database), [
      ['running', 300],
      ['failed', 50],
      ['ok', 1],
      ['failed', 1],
    ]);
    // Lifetime totals are unchanged.
    const store = RunStore.open(database, { readonly: true });
    try {
      assert.deepEqual(
        store.countRuns('r').map(({ status, count }) => [status, count]),
        [['failed', 3], ['interrupted', 1], ['ok', 3], ['running', 1], ['skipped', 1]],
      );
    } finally {
      store.close();
    }
  });

  it('--older-than alone sets both ages; --failed-older-than sets the failures apart', async () => {
    const both = await pruneJson(['--config', setup().config, '--keep', '0', '--older-than', '30d', '--dry-run']);
    assert.deepEqual([both.policy.ok, both.policy.failed], ['30d', '30d']);
    assert.deepEqual([both.deleted.ok, both.deleted.skipped, both.deleted.failed, both.deleted.interrupted], [1, 0, 2, 1]);

    const apart = await pruneJson(['--config', setup().config, '--keep', '0', '--older-than', '30d', '--failed-older-than', '180d', '--dry-run']);
    assert.deepEqual([apart.policy.ok, apart.policy.failed], ['30d', '180d']);
    assert.deepEqual([apart.deleted.ok, apart.deleted.failed, apart.deleted.interrupted], [1, 1, 0]);

    const failedOnly = await pruneJson(['--config', setup().config, '--keep', '0', '--failed-older-than', '2d', '--dry-run']);
    assert.deepEqual([failedOnly.policy.ok, failedOnly.policy.failed], ['10d', '2d']);
    assert.deepEqual([failedOnly.deleted.ok, failedOnly.deleted.failed, failedOnly.deleted.interrupted], [2, 2, 1]);
  });

  it('--keep keeps the newest n of each rule and status', async () => {
    const { config, database } = setup();
    const report = await pruneJson(['--config', config, '--keep', '1']);
    // ok 20d and 40d go (ok 1d is the newest), and failed 200d (failed 1d is); the only
    // skipped and the only interrupted run are past their age but the newest of theirs.
    assert.deepEqual([report.deleted.ok, report.deleted.failed, report.total, report.keptByFloor], [2, 1, 3, 2]);
    assert.equal(remaining(database).length, RUNS.length - 3);
  });

  it('with no log yet, says there is nothing to prune and creates no file', async () => {
    const dir = tempDir();
    const config = path.join(dir, 'config.yaml');
    fs.writeFileSync(config, 'bridge:\n  url: sim://\ndatabase: ./data/rulebot.db\n');
    const result = await runCli(['prune', '--config', config]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /nothing to prune/);
    assert.equal(fs.existsSync(path.join(dir, 'data')), false);
  });

  it('a bad duration or count is a usage error (exit 2) that says what is expected', async () => {
    const { config } = setup();
    const duration = await runCli(['prune', '--config', config, '--older-than', 'ninety days']);
    assert.equal(duration.code, 2);
    assert.equal(
      duration.stderr,
      "rulebot: option '--older-than <duration>' argument 'ninety days' is invalid. expected a duration such as 500ms, 10s or 2m. (see rulebot prune --help)\n",
    );
    const failed = await runCli(['prune', '--config', config, '--failed-older-than', '-3d']);
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /^rulebot: option '--failed-older-than <duration>' argument '-3d' is invalid/);
    const keep = await runCli(['prune', '--config', config, '--keep', 'all']);
    assert.equal(keep.code, 2);
    assert.match(keep.stderr, /^rulebot: option '--keep <n>' argument 'all' is invalid\. expected a whole number of 0 or more\./);
  });

  it('a missing config fails with exit 1', async () => {
    const dir = tempDir();
    const result = await runCli(['prune', '--config', path.join(dir, 'nope.yaml')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^rulebot: config file .*nope\.yaml not found/);
  });

  it('--help explains which age applies to which status', async () => {
    const result = await runCli(['prune', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: rulebot prune /m);
    assert.match(result.stdout, /ok, skipped, missed, dry-run +--older-than, else retention\.ok/);
    assert.match(result.stdout, /failed, partial, interrupted +--failed-older-than, else --older-than,/);
  });
});
