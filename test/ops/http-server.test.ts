import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ControlError, OpsError } from '../../src/ops/errors';
import type { ControlHandlers, ResumeRequest, RunRequest } from '../../src/ops/control';
import type { HealthReport } from '../../src/ops/health';
import { isLoopbackHost, startOpsServer, type OpsServer } from '../../src/ops/http-server';
import { MetricsRegistry } from '../../src/ops/metrics';
import { RulebotError } from '../../src/shared/errors';
import { silentLogger } from '../../src/shared/log';
import { parseExposition, sampleValue } from './exposition';
import { TOKEN, healthyReport, json, request } from './helpers';

function code(expected: string): (err: unknown) => boolean {
  return (err) => err instanceof OpsError && err.code === expected;
}

/** Control handlers that record their calls and answer what the test sets. */
class RecordingControl implements ControlHandlers {
  runs: RunRequest[] = [];
  resumes: ResumeRequest[] = [];
  answer: () => unknown = () => ({ runId: 7, status: 'ok' });

  async run(request: RunRequest): Promise<unknown> {
    this.runs.push(request);
    return this.answer();
  }

  async resume(request: ResumeRequest): Promise<unknown> {
    this.resumes.push(request);
    return this.answer();
  }
}

describe('ops HTTP server', () => {
  let server: OpsServer;
  let report: HealthReport;
  let control: RecordingControl;
  const registry = new MetricsRegistry();
  const runs = registry.counter({ name: 'rulebot_runs_total', help: 'Runs.', labelNames: ['rule', 'status'] });
  const bearer = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    runs.inc({ rule: 'night-mode', status: 'ok' });
    server = await startOpsServer({
      listen: '127.0.0.1:0',
      health: () => report,
      metrics: registry,
      control: {
        run: (r) => control.run(r),
        resume: (r) => control.resume(r),
      },
      token: TOKEN,
      logger: silentLogger(),
    });
  });

  beforeEach(() => {
    report = healthyReport();
    control = new RecordingControl();
  });

  after(async () => {
    await server.close();
  });

  describe('GET /healthz', () => {
    it('answers 200 and the report when the bridge is ready and the scheduler alive', async () => {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(server.port, 0);
      const reply = await request(server.url, '/healthz');
      assert.equal(reply.status, 200);
      assert.match(String(reply.headers['content-type']), /^application\/json/);
      assert.deepEqual(json(reply), {
        status: 'ok',
        bridge: { connected: true, ready: true, lastAnswerAt: '2025-01-02T03:04:05.000Z', lastError: null },
        scheduler: { alive: true, lastTickAt: '2025-01-02T03:04:06.000Z', queued: 2 },
        rules: { loaded: 4, invalid: [] },
        lastError: null,
      });
    });

    it('answers 503 as the health callback turns degraded, and 200 again when it recovers', async () => {
      report.bridge.ready = false;
      report.bridge.lastError = { message: 'connection refused', at: Date.UTC(2025, 0, 2) };
      let reply = await request(server.url, '/healthz');
      assert.equal(reply.status, 503);
      assert.equal(json(reply).status, 'degraded');
      assert.deepEqual((json(reply).bridge as Record<string, unknown>).lastError, { message: 'connection refused', at: '2025-01-02T00:00:00.000Z' });

      report.bridge.ready = true;
      report.scheduler.alive = false;
      reply = await request(server.url, '/healthz');
      assert.equal(reply.status, 503);

      report.scheduler.alive = true;
      reply = await request(server.url, '/healthz');
      assert.equal(reply.status, 200);
      assert.equal(json(reply).status, 'ok');
    });

    it('reports invalid rules but stays 200 for them', async () => {
      report.rules.invalid = [{ file: 'rules/bad.yaml', line: 3, col: 5, message: 'unknown action kind "sned"' }];
      const reply = await request(server.url, '/healthz');
      assert.equal(reply.status, 200);
      assert.deepEqual((json(reply).rules as Record<string, unknown>).invalid, report.rules.invalid);
    });

    it('answers HEAD without a body', async () => {
      const reply = await request(server.url, '/healthz', { method: 'HEAD' });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, '');
    });
  });

  describe('GET /metrics', () => {
    it('serves the registry as text/plain version 0.0.4 that parses', async () => {
      const reply = await request(server.url, '/metrics');
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      const families = parseExposition(reply.body);
      assert.equal(sampleValue(families, 'rulebot_runs_total', { rule: 'night-mode', status: 'ok' }), 1);
    });
  });

  describe('POST /control/*', () => {
    it('answers 401 without a token, and does not call the handler', async () => {
      const reply = await request(server.url, '/control/run', { method: 'POST', body: JSON.stringify({ rule: 'x' }) });
      assert.equal(reply.status, 401);
      assert.equal(json(reply).code, 'UNAUTHORIZED');
      assert.match(String(reply.headers['www-authenticate']), /^Bearer/);
      assert.deepEqual(control.runs, []);
    });

    it('answers 401 to a wrong token, a token of another length, or another scheme', async () => {
      for (const authorization of [`Bearer ${'e'.repeat(64)}`, 'Bearer short', `Basic ${TOKEN}`, 'Bearer', `Bearer ${TOKEN} extra`]) {
        const reply = await request(server.url, '/control/run', { method: 'POST', headers: { authorization }, body: JSON.stringify({ rule: 'x' }) });
        assert.equal(reply.status, 401, authorization);
        assert.equal(json(reply).code, 'UNAUTHORIZED');
      }
      assert.deepEqual(control.runs, []);
    });

    it('asks for the token before saying whether a control route exists', async () => {
      assert.equal((await request(server.url, '/control/nothing', { method: 'POST' })).status, 401);
      assert.equal((await request(server.url, '/control/nothing', { method: 'POST', headers: bearer })).status, 404);
    });

    it('calls the run handler with the body and answers its result', async () => {
      const reply = await request(server.url, '/control/run', {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
        body: JSON.stringify({ rule: 'morning-greeting', event: { message: { content: 'hi' } }, dryRun: true }),
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(json(reply), { runId: 7, status: 'ok' });
      assert.deepEqual(control.runs, [{ rule: 'morning-greeting', event: { message: { content: 'hi' } }, dryRun: true }]);
    });

    it('takes the scheme in any case', async () => {
      const reply = await request(server.url, '/control/run', { method: 'POST', headers: { authorization: `bearer ${TOKEN}` }, body: '{"rule":"a"}' });
      assert.equal(reply.status, 200);
      assert.deepEqual(control.runs, [{ rule: 'a' }]);
    });

    it('calls the resume handler with the body', async () => {
      control.answer = () => undefined;
      const reply = await request(server.url, '/control/resume', { method: 'POST', headers: bearer, body: JSON.stringify({ run: 12, resendUnknown: false }) });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'null');
      assert.deepEqual(control.resumes, [{ run: 12, resendUnknown: false }]);
    });

    it('answers 400 to a body of the wrong shape, naming the field', async () => {
      const cases: Array<[string, unknown, RegExp]> = [
        ['/control/run', { rule: '' }, /rule/],
        ['/control/run', { rule: 'a', dry_run: true }, /dry_run/],
        ['/control/run', { rule: 'a', event: [1] }, /event/],
        ['/control/run', { rule: 'a', dryRun: 'yes' }, /dryRun/],
        ['/control/run', ['a'], /object/],
        ['/control/resume', { run: '12' }, /run/],
        ['/control/resume', { run: 0 }, /run/],
        ['/control/resume', { run: 1, resendUnknown: 1 }, /resendUnknown/],
      ];
      for (const [path, body, message] of cases) {
        const reply = await request(server.url, path, { method: 'POST', headers: bearer, body: JSON.stringify(body) });
        assert.equal(reply.status, 400, JSON.stringify(body));
        assert.equal(json(reply).code, 'BAD_REQUEST');
        assert.match(String(json(reply).error), message);
      }
      assert.deepEqual(control.runs, []);
      assert.deepEqual(control.resumes, []);
    });

    it('answers 400 to a body that is not JSON, or none', async () => {
      let reply = await request(server.url, '/control/run', { method: 'POST', headers: bearer, body: '{"rule": ' });
      assert.equal(reply.status, 400);
      assert.equal(json(reply).code, 'BAD_JSON');
      reply = await request(server.url, '/control/run', { method: 'POST', headers: bearer });
      assert.equal(reply.status, 400);
      assert.equal(json(reply).code, 'BAD_REQUEST');
    });

    it('answers 413 to a body over 64 KiB, declared or sent in chunks', async () => {
      const big = JSON.stringify({ rule: 'a', event: { text: 'x'.repeat(70 * 1024) } });
      let reply = await request(server.url, '/control/run', { method: 'POST', headers: bearer, body: big });
      assert.equal(reply.status, 413);
      assert.equal(json(reply).code, 'BODY_TOO_LARGE');
      reply = await request(server.url, '/control/run', { method: 'POST', headers: bearer, body: big, chunked: true });
      assert.equal(reply.status, 413);
      assert.deepEqual(control.runs, []);
      // The server is still there for the next request.
      assert.equal((await request(server.url, '/healthz')).status, 200);
    });

    it('answers with the status and code a handler chose, 422 for its other errors, 500 for the unexpected', async () => {
      control.answer = () => {
        throw new ControlError(404, 'RULE_NOT_FOUND', 'no rule "nope"', { rule: 'nope' });
      };
      let reply = await request(server.url, '/control/run', { method: 'POST', headers: bearer, body: '{"rule":"nope"}' });
      assert.equal(reply.status, 404);
      assert.deepEqual(json(reply), { error: 'no rule "nope"', code: 'RULE_NOT_FOUND', details: { rule: 'nope' } });

      control.answer = () => {
        throw new RulebotError('RUN_NOT_INTERRUPTED', 'run 3 finished ok; there is nothing to resume');
      };
      reply = await request(server.url, '/control/resume', { method: 'POST', headers: bearer, body: '{"run":3}' });
      assert.equal(reply.status, 422);
      assert.equal(json(reply).code, 'RUN_NOT_INTERRUPTED');

      control.answer = () => {
        throw new Error('secret internals');
      };
      reply = await request(server.url, '/control/run', { method: 'POST', headers: bearer, body: '{"rule":"a"}' });
      assert.equal(reply.status, 500);
      assert.equal(json(reply).code, 'INTERNAL');
      assert.doesNotMatch(reply.body, /secret internals/);
    });
  });

  describe('routing', () => {
    it('answers 404 to an unknown route', async () => {
      const reply = await request(server.url, '/nope');
      assert.equal(reply.status, 404);
      assert.equal(json(reply).code, 'NOT_FOUND');
    });

    it('answers 405 with Allow to a wrong method', async () => {
      let reply = await request(server.url, '/healthz', { method: 'POST', body: '{}' });
      assert.equal(reply.status, 405);
      assert.equal(reply.headers.allow, 'GET, HEAD');
      assert.equal(json(reply).code, 'METHOD_NOT_ALLOWED');
      reply = await request(server.url, '/control/run', { headers: bearer });
      assert.equal(reply.status, 405);
      assert.equal(reply.headers.allow, 'POST');
    });

    it('answers 403 to a Host header that does not name this machine', async () => {
      const reply = await request(server.url, '/healthz', { headers: { host: `rebound.example:${server.port}` } });
      assert.equal(reply.status, 403);
      assert.equal(json(reply).code, 'HOST_NOT_ALLOWED');
      assert.equal((await request(server.url, '/healthz', { headers: { host: `localhost:${server.port}` } })).status, 200);
    });

    it('answers 500 when the health callback throws', async () => {
      const failing = await startOpsServer({
        listen: '127.0.0.1:0',
        health: () => {
          throw new Error('boom');
        },
        metrics: registry,
        logger: silentLogger(),
      });
      try {
        const reply = await request(failing.url, '/healthz');
        assert.equal(reply.status, 500);
        assert.equal(json(reply).code, 'INTERNAL');
      } finally {
        await failing.close();
      }
    });
  });
});

describe('ops HTTP server without control', () => {
  let server: OpsServer;

  beforeEach(async () => {
    server = await startOpsServer({ listen: '127.0.0.1:0', health: healthyReport, metrics: new MetricsRegistry(), logger: silentLogger() });
  });

  afterEach(async () => {
    await server.close();
  });

  it('answers 404 to /control/*', async () => {
    const reply = await request(server.url, '/control/run', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{"rule":"a"}' });
    assert.equal(reply.status, 404);
  });

  it('closes more than once, and frees its port', async () => {
    await server.close();
    await server.close();
    await assert.rejects(request(server.url, '/healthz'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
  });
});

describe('startOpsServer', () => {
  const base = { health: healthyReport, metrics: new MetricsRegistry(), logger: silentLogger() };

  it('refuses to listen where other machines can reach it', async () => {
    for (const listen of ['0.0.0.0:9464', '[::]:9464', '192.168.1.10:9464', 'example.com:9464']) {
      await assert.rejects(startOpsServer({ ...base, listen }), code('OPS_LISTEN_NOT_LOOPBACK'), listen);
    }
  });

  it('refuses a listen that is not host:port', async () => {
    for (const listen of ['9464', '127.0.0.1', '127.0.0.1:99999', 'http://127.0.0.1:9464']) {
      await assert.rejects(startOpsServer({ ...base, listen }), code('OPS_LISTEN_INVALID'), listen);
    }
  });

  it('refuses control without a token', async () => {
    const control: ControlHandlers = { run: () => null, resume: () => null };
    await assert.rejects(startOpsServer({ ...base, listen: '127.0.0.1:0', control }), code('OPS_CONTROL_WITHOUT_TOKEN'));
  });

  it('says when the port is taken', async () => {
    const first = await startOpsServer({ ...base, listen: '127.0.0.1:0' });
    try {
      await assert.rejects(startOpsServer({ ...base, listen: `127.0.0.1:${first.port}` }), (err: unknown) => code('OPS_LISTEN_FAILED')(err) && /in use/.test((err as Error).message));
    } finally {
      await first.close();
    }
  });

  it('listens on localhost', async () => {
    const server = await startOpsServer({ ...base, listen: 'localhost:0' });
    try {
      assert.equal(isLoopbackHost(server.host), true);
      assert.equal((await request(server.url, '/healthz')).status, 200);
    } finally {
      await server.close();
    }
  });

  it('cuts a request still running when close() has waited closeTimeoutMs', async () => {
    let release: () => void = () => {};
    const server = await startOpsServer({
      ...base,
      listen: '127.0.0.1:0',
      token: TOKEN,
      closeTimeoutMs: 50,
      control: { run: () => new Promise<void>((resolve) => (release = resolve)), resume: () => null },
    });
    const pending = request(server.url, '/control/run', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{"rule":"slow"}' });
    const settled = pending.then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    await server.close();
    assert.equal(await settled, 'cut');
    release();
  });
});

describe('isLoopbackHost', () => {
  it('knows loopback addresses from the others', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'localhost.example.com', 'example.com', '']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});
