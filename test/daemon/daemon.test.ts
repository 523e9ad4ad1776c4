import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { parseConfigText } from '../../src/config';
import { Daemon } from '../../src/daemon/daemon';
import { RulebotError } from '../../src/shared/errors';
import { createLogger } from '../../src/shared/log';

/** A logger whose JSON lines the test reads back. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; messages: () => string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter((line) => line !== ''));
      done();
    },
  });
  return {
    logger: createLogger({ destination: stream }),
    messages: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
  };
}

function simConfig(extra = '') {
  return parseConfigText('config.yaml', `bridge:\n  url: sim://\n${extra}http: false\n`, '/tmp/rulebot-daemon-test/config.yaml', {});
}

describe('Daemon', () => {
  it('starts the embedded simulator, connects to it, and stops both', async () => {
    const { logger, messages } = capturedLogger();
    const daemon = new Daemon({ config: simConfig(), logger });
    await daemon.start();
    try {
      assert.equal(daemon.state, 'running');
      assert.match(daemon.bridgeUrl ?? '', /^ws:\/\/127\.0\.0\.1:\d+$/);
      await daemon.bridge?.waitReady(5000);
      const groups = await daemon.bridge?.call('getGroups');
      assert.ok(Array.isArray(groups?.data));
    } finally {
      await daemon.stop();
    }
    assert.equal(daemon.state, 'stopped');
    assert.deepEqual(
      messages().filter((msg) => ['rulebot started', 'bridge ready', 'rulebot stopped'].includes(msg)),
      ['rulebot started', 'bridge ready', 'rulebot stopped'],
    );
    // The simulator's port is free again.
    const port = Number(new URL(daemon.bridgeUrl ?? '').port);
    await new Promise<void>((resolve, reject) => {
      const server = net.createServer().once('error', reject);
      server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
    });
  });

  it('says which setting to change when bridge.sim.port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const daemon = new Daemon({ config: simConfig(`  sim: { port: ${port} }\n`), logger: capturedLogger().logger });
      await assert.rejects(daemon.start(), (err: unknown) => err instanceof RulebotError && err.code === 'SIM_PORT_IN_USE' && err.message.includes(`bridge.sim.port ${port} is in use`));
      assert.equal(daemon.state, 'stopped');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
