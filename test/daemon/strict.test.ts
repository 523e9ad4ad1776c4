import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { DaemonProcess, daemonFolder, httpRequest, readRuns, startSimulator, waitFor } from './helpers';

const rules = {
  'good.yaml': 'id: good\ntrigger: { every: 1s }\nactions:\n  - log: { message: fine }\n',
  // Line 2, column 11: not a cron expression.
  'bad.yaml': 'id: bad\ntrigger: { cron: "every day" }\nactions:\n  - log: { message: never }\n',
};

describe('an invalid rule at start', () => {
  it('is reported at file:line:col and left out; the other rules run', { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const folder = daemonFolder({ bridgeUrl: sim.url, http: true, rules });
    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    const problem = await daemon.waitForLog('the rule problem', (line) => line.msg.startsWith('rule problem: rules/bad.yaml:'));
    assert.match(problem.msg, /^rule problem: rules\/bad\.yaml:2:\d+ {2}/);
    await waitFor('a run of the good rule', () => readRuns(folder.dbFile, { ruleId: 'good', status: 'ok' }).length > 0);
    const health = JSON.parse((await httpRequest(`${await daemon.opsUrl()}/healthz`)).body) as { status: string; rules: { loaded: number; invalid: Array<{ file: string; line: number }> } };
    assert.equal(health.rules.loaded, 1);
    assert.deepEqual(
      health.rules.invalid.map((entry) => [entry.file, entry.line]),
      [['rules/bad.yaml', 2]],
    );
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
  });

  it('makes `start --strict` refuse to start, exit 1, before it touches the database', { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const folder = daemonFolder({ bridgeUrl: sim.url, rules });
    const daemon = new DaemonProcess(folder, { args: ['--strict'] });
    const { code } = await daemon.exitedWithin(30_000);
    assert.equal(code, 1);
    assert.match(daemon.stderr, /^rulebot: 1 problem\(s\) in the rules in .*; --strict refuses to start:\n {2}rules\/bad\.yaml:2:\d+ {2}.+\n$/);
    assert.equal(fs.existsSync(folder.dbFile), false);
    assert.equal(sim.connections, 0, 'it never connected to the bridge');
  });
});
