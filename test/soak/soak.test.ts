/**
 * The fault-injection soak in short: fifteen seconds of faults with a fixed seed, a kill
 * -9 mid-activity, a restart and a SIGTERM, and the same checker as `npm run soak`. The
 * soak's folder is kept when it fails, and the failure names it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatReport, runSoak } from './soak';

const SEED = 20261126;

describe('the fault-injection soak', () => {
  it('finds no violation in 15 s of faults, a kill -9, a restart and a stop', { timeout: 240_000 }, async () => {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-soak-test-'));
    const report = await runSoak({ seed: SEED, durationMs: 15_000, afterRestartMs: 8000, killAndRestart: true, logDir });
    assert.deepEqual(report.violations, [], formatReport(report));
    // Enough happened for the check to mean something.
    const runs = report.stats.runs as Record<string, number>;
    assert.ok((runs.ok ?? 0) > 50, formatReport(report));
    assert.ok(report.driver.actions > 20, formatReport(report));
    fs.rmSync(logDir, { recursive: true, force: true });
  });
});
