import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { DaemonProcess, daemonFolder, readRun, readRuns, sleep, startSimulator, waitFor } from './helpers';

const slowStartupRule = (delay: string) => `id: slow\ntrigger: { startup: {} }\nactions:\n  - log: { message: before }\n  - delay: { for: ${delay} }\n  - log: { message: after }\n`;

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the daemon stops gracefully', () => {
  it('on SIGTERM interrupts a run still in a long delay at the deadline, and exits 0', { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const folder = daemonFolder({ bridgeUrl: sim.url, shutdownTimeout: '1s', rules: { 'slow.yaml': slowStartupRule('60s') } });
    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    const run = await waitFor('the run in its delay', () => readRuns(folder.dbFile, { ruleId: 'slow', status: 'running' })[0]);
    await waitFor('the delay step', () => readRun(folder.dbFile, run.id)?.steps.some((step) => step.kind === 'delay'));

    const stoppedAt = Date.now();
    const { code } = await daemon.stop('SIGTERM', 20_000);
    assert.equal(code, 0, daemon.stderr);
    assert.ok(Date.now() - stoppedAt < 15_000, 'the deadline bounds the shutdown');
    const detail = readRun(folder.dbFile, run.id);
    assert.equal(detail?.status, 'interrupted');
    assert.equal(detail.steps.find((step) => step.kind === 'delay')?.status, 'interrupted');
    assert.equal(readRuns(folder.dbFile, { status: 'running' }).length, 0, 'nothing is left running');
    const messages = daemon.logLines().map((line) => line.msg);
    assert.ok(messages.includes('shutdown deadline passed; interrupting the runs still going'), messages.join(' | '));
    assert.equal(messages.at(-1), 'rulebot stopped');
    assert.equal(daemon.stderr, '');
  });

  it("on pm2's shutdown message lets a run finish within the deadline, and a second signal does not cut it short", { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const folder = daemonFolder({ bridgeUrl: sim.url, shutdownTimeout: '20s', rules: { 'slow.yaml': slowStartupRule('3s') } });
    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    const run = await waitFor('the run in its delay', () => readRuns(folder.dbFile, { ruleId: 'slow', status: 'running' })[0]);

    daemon.child.send('shutdown');
    await daemon.waitForLog('the shutdown', (line) => line.msg === 'stopping');
    daemon.child.kill('SIGINT');
    const { code } = await daemon.exitedWithin(30_000);
    assert.equal(code, 0, daemon.stderr);
    assert.equal(readRun(folder.dbFile, run.id)?.status, 'ok', 'the run finished within the deadline');
    const lines = daemon.logLines();
    assert.equal(lines.find((line) => line.msg === 'stopping')?.reason, 'shutdown message');
    assert.ok(lines.some((line) => line.msg === 'already stopping; the shutdown goes on' && line.reason === 'SIGINT'));
    assert.equal(lines.at(-1)?.msg, 'rulebot stopped');
  });

  it('tells pm2 it is ready even when the bridge is down, and still stops cleanly', { timeout: 60_000 }, async () => {
    const folder = daemonFolder({
      bridgeUrl: `ws://127.0.0.1:${await deadPort()}`,
      rules: { 'tick.yaml': 'id: tick\ntrigger: { every: 1s }\nactions:\n  - log: { message: tick }\n' },
    });
    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    // The scheduler runs without the bridge: rules that need no bridge go on.
    await waitFor('a run without the bridge', () => readRuns(folder.dbFile, { ruleId: 'tick', status: 'ok' }).length > 0);
    await sleep(500);
    assert.ok(!daemon.logLines().some((line) => line.msg === 'bridge ready'));
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
  });
});
