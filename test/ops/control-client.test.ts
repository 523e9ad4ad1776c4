import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findDaemon } from '../../src/ops/control-client';
import { ControlError, ControlRequestError, OpsError } from '../../src/ops/errors';
import type { HealthReport } from '../../src/ops/health';
import { startOpsServer, type OpsServer } from '../../src/ops/http-server';
import { MetricsRegistry } from '../../src/ops/metrics';
import { ensureControlToken } from '../../src/ops/token';
import { silentLogger } from '../../src/shared/log';
import { healthyReport } from './helpers';

function requestError(code: string, status?: number): (err: unknown) => boolean {
  return (err) => err instanceof ControlRequestError && err.code === code && (status === undefined || err.status === status);
}

/** A port nothing listens on: one the system just handed out and took back. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('findDaemon', () => {
  let dir: string;
  let tokenFile: string;
  let daemon: OpsServer;
  let report: HealthReport;
  const calls: unknown[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rulebot-client-'));
    tokenFile = join(dir, 'control.token');
    const token = await ensureControlToken(tokenFile);
    report = healthyReport();
    daemon = await startOpsServer({
      listen: '127.0.0.1:0',
      health: () => report,
      metrics: new MetricsRegistry(),
      token,
      logger: silentLogger(),
      control: {
        run: async (request) => {
          calls.push(['run', request]);
          if (request.rule === 'missing') throw new ControlError(404, 'RULE_NOT_FOUND', `no rule ${request.rule}`, { rule: request.rule });
          return { runId: 41, status: request.dryRun ? 'dry-run' : 'ok' };
        },
        resume: async (request) => {
          calls.push(['resume', request]);
          return { runId: 42, resumed: request.run };
        },
      },
    });
  });

  after(async () => {
    await daemon.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers null when the endpoint is turned off', async () => {
    assert.equal(await findDaemon({ listen: false, tokenFile }), null);
  });

  it('answers null when nothing listens: run in-process', async () => {
    assert.equal(await findDaemon({ listen: `127.0.0.1:${await freePort()}`, tokenFile }), null);
  });

  it('runs and resumes through a running daemon', async () => {
    const client = await findDaemon({ listen: `127.0.0.1:${daemon.port}`, tokenFile });
    assert.ok(client !== null);
    assert.equal(client.url, daemon.url);
    assert.deepEqual(await client.run({ rule: 'morning-greeting', dryRun: true }), { runId: 41, status: 'dry-run' });
    assert.deepEqual(await client.resume({ run: 9, resendUnknown: true }), { runId: 42, resumed: 9 });
    assert.deepEqual(calls.slice(-2), [
      ['run', { rule: 'morning-greeting', dryRun: true }],
      ['resume', { run: 9, resendUnknown: true }],
    ]);
  });

  it('reaches a daemon listening on every address through loopback', async () => {
    const client = await findDaemon({ listen: `0.0.0.0:${daemon.port}`, tokenFile });
    assert.equal(client?.url, `http://127.0.0.1:${daemon.port}`);
  });

  it('finds a degraded daemon too, and reads its health', async () => {
    report.bridge.ready = false;
    try {
      const client = await findDaemon({ listen: `127.0.0.1:${daemon.port}`, tokenFile });
      assert.ok(client !== null);
      const health = await client.health();
      assert.equal(health.status, 'degraded');
      assert.equal(health.bridge.ready, false);
    } finally {
      report.bridge.ready = true;
    }
  });

  it("throws the daemon's own code and status when it refuses a request", async () => {
    const client = await findDaemon({ listen: `127.0.0.1:${daemon.port}`, tokenFile });
    await assert.rejects(client!.run({ rule: 'missing' }), (err: unknown) => requestError('RULE_NOT_FOUND', 404)(err) && (err as ControlRequestError).details.rule === 'missing');
  });

  it('throws UNAUTHORIZED when the token file holds another token', async () => {
    const other = join(dir, 'other.token');
    await writeFile(other, `${'0'.repeat(64)}\n`, { mode: 0o600 });
    const client = await findDaemon({ listen: `127.0.0.1:${daemon.port}`, tokenFile: other });
    await assert.rejects(client!.run({ rule: 'a' }), requestError('UNAUTHORIZED', 401));
  });

  it('throws, rather than answering null, when a daemon is up but its token file is missing', async () => {
    await assert.rejects(
      findDaemon({ listen: `127.0.0.1:${daemon.port}`, tokenFile: join(dir, 'absent.token') }),
      (err: unknown) => err instanceof OpsError && err.code === 'TOKEN_FILE_MISSING' && /daemon answers/.test(err.message),
    );
  });

  it('throws CONTROL_BAD_ANSWER when another program holds the port', async () => {
    const other = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>not here</h1>'));
    const address = await listen(other);
    try {
      await assert.rejects(findDaemon({ listen: address, tokenFile }), requestError('CONTROL_BAD_ANSWER', 404));
    } finally {
      await closeServer(other);
    }
  });

  it('throws CONTROL_TIMEOUT when something accepts but never answers', async () => {
    const silent = createServer(() => {});
    const address = await listen(silent);
    try {
      await assert.rejects(findDaemon({ listen: address, tokenFile, probeTimeoutMs: 50 }), requestError('CONTROL_TIMEOUT'));
    } finally {
      await closeServer(silent);
    }
  });

  it('throws CONTROL_CONNECTION_LOST when the daemon goes away mid-request', async () => {
    let sockets = 0;
    const dying = createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', bridge: {}, scheduler: {}, rules: {} }));
        return;
      }
      sockets += 1;
      req.socket.destroy();
    });
    const address = await listen(dying);
    try {
      const client = await findDaemon({ listen: address, tokenFile });
      await assert.rejects(client!.run({ rule: 'a' }), requestError('CONTROL_CONNECTION_LOST'));
      assert.equal(sockets, 1);
    } finally {
      await closeServer(dying);
    }
  });
});
