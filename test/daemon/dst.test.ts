/**
 * Daylight saving in America/New_York, with the daemon's clock started just before the
 * instants that matter (RULEBOT_NOW):
 *
 * - 2026-03-08, spring forward: at 02:00 EST (07:00Z) clocks jump to 03:00 EDT, so
 *   02:30 never happens. A daily 02:30 fires once, right after the gap: 03:00 EDT = 07:00Z.
 *   The daemon starts at 06:59:55Z = 01:59:55 EST.
 * - 2026-11-01, fall back: at 02:00 EDT (06:00Z) clocks go back to 01:00 EST, so 01:00–01:59
 *   happens twice and 02:30 once, in EST: 02:30 EST = 07:30Z. The daemon starts at
 *   07:29:55Z = 02:29:55 EST. A daily 01:30 fires in the first 01:30 only (EDT, 05:30Z),
 *   not again in the second (EST, 06:30Z).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonProcess, daemonFolder, readRuns, sleep, startSimulator, waitFor } from './helpers';

const rule = (id: string, cron: string) => `id: ${id}\ntimezone: America/New_York\ntrigger: { cron: "${cron}" }\nactions:\n  - log: { message: "${id}" }\n`;

async function folderWith(id: string, cron: string) {
  const sim = await startSimulator();
  return daemonFolder({ bridgeUrl: sim.url, rules: { [`${id}.yaml`]: rule(id, cron) } });
}

describe('the daemon across daylight saving changes', { concurrency: true }, () => {
  it('fires a daily 02:30 once on the spring-forward day, at 03:00 EDT right after the gap', { timeout: 50_000 }, async () => {
    const folder = await folderWith('daily-0230', '30 2 * * *');
    const daemon = new DaemonProcess(folder, { now: '2026-03-08T06:59:55Z' });
    await waitFor('the run after the gap', () => readRuns(folder.dbFile, { ruleId: 'daily-0230' }).length > 0);
    await sleep(2000);
    const runs = readRuns(folder.dbFile, { ruleId: 'daily-0230' });
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
    assert.deepEqual(
      runs.map((run) => [run.status, new Date(run.slot!).toISOString()]),
      [['ok', '2026-03-08T07:00:00.000Z']],
    );
  });

  it('fires a daily 02:30 once on the fall-back day, at 02:30 EST', { timeout: 50_000 }, async () => {
    const folder = await folderWith('daily-0230', '30 2 * * *');
    const daemon = new DaemonProcess(folder, { now: '2026-11-01T07:29:55Z' });
    await waitFor('the 02:30 EST run', () => readRuns(folder.dbFile, { ruleId: 'daily-0230' }).length > 0);
    await sleep(2000);
    const runs = readRuns(folder.dbFile, { ruleId: 'daily-0230' });
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
    assert.deepEqual(
      runs.map((run) => [run.status, new Date(run.slot!).toISOString()]),
      [['ok', '2026-11-01T07:30:00.000Z']],
    );
  });

  it('fires a daily 01:30 in the first of the two 01:30s of the fall-back day only', { timeout: 50_000 }, async () => {
    const folder = await folderWith('daily-0130', '30 1 * * *');
    // 05:29:55Z = 01:29:55 EDT: the first 01:30 comes in five seconds.
    const first = new DaemonProcess(folder, { now: '2026-11-01T05:29:55Z' });
    await waitFor('the 01:30 EDT run', () => readRuns(folder.dbFile, { ruleId: 'daily-0130' }).length > 0);
    assert.equal((await first.stop()).code, 0, first.stderr);
    // 06:29:55Z = 01:29:55 EST, an hour later on the wall clock's second pass: nothing fires at 06:30Z.
    const second = new DaemonProcess(folder, { now: '2026-11-01T06:29:55Z' });
    await second.ready;
    await sleep(8000);
    assert.equal((await second.stop()).code, 0, second.stderr);
    const runs = readRuns(folder.dbFile, { ruleId: 'daily-0130' });
    assert.deepEqual(
      runs.map((run) => [run.status, new Date(run.slot!).toISOString()]),
      [['ok', '2026-11-01T05:30:00.000Z']],
    );
  });
});
