import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CliProcess, runCli, tempDir } from './helpers';

describe('rulebot start', () => {
  it('runs on the embedded simulator, reaches ready, and exits 0 on SIGTERM', async () => {
    const folder = tempDir();
    fs.writeFileSync(path.join(folder, 'config.yaml'), 'bridge:\n  url: sim://\n  edition: "68"\nhttp: false\nlog: { level: info }\n');
    const daemon = new CliProcess(['start', '--config', path.join(folder, 'config.yaml')]);
    await daemon.waitForLine((line) => line.includes('"msg":"bridge ready"'));

    const started = daemon.logLines().find((line) => line.msg === 'rulebot started');
    assert.equal(started?.simulated, true);
    assert.match(String(started?.bridge), /^ws:\/\/127\.0\.0\.1:\d+$/);

    daemon.child.kill('SIGTERM');
    const { code } = await daemon.exited;
    assert.equal(code, 0, daemon.stderr);
    const messages = daemon.logLines().map((line) => line.msg);
    assert.ok(messages.includes('rulebot stopped'), messages.join(', '));
    assert.equal(daemon.stderr, '');
  });

  it('exits 1 with every config problem at file:line:col', async () => {
    const folder = tempDir();
    fs.writeFileSync(path.join(folder, 'config.yaml'), 'bridge:\n  url: sim://\n  requestTimout: 5s\n');
    const result = await runCli(['start'], { cwd: folder });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^rulebot: config\.yaml has 1 problem:\n {2}config\.yaml:3:3 {2}unknown key "requestTimout" in bridge \(did you mean "requestTimeout"\?\)\n$/);
  });

  it('exits 1 naming a missing config file and the example to start from', async () => {
    const result = await runCli(['start'], { cwd: tempDir() });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^rulebot: config file config\.yaml not found; start from the example: cp config\.example\.yaml config\.yaml/);
  });
});
