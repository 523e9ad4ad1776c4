import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BridgeSimulator } from '../../src/sim';
import { DaemonProcess, daemonFolder, httpRequest, sentTexts, startSimulator, waitFor } from './helpers';

const GROUP = 389284;

async function healthStatus(ops: string): Promise<number> {
  return (await httpRequest(`${ops}/healthz`)).status;
}

describe('the daemon’s health, metrics and control endpoint', () => {
  it('turns unhealthy when the bridge goes, healthy when it is back, and re-applies window rules then', { timeout: 60_000 }, async () => {
    let sim = await startSimulator();
    const port = sim.port;
    const folder = daemonFolder({
      bridgeUrl: sim.url,
      http: true,
      rules: {
        // Inside the window all day: the group should be muted.
        'mute.yaml': `id: mute-window\ntrigger:\n  window: { start: "00:00", end: "23:59" }\nactions:\n  - groupMute: { groups: [${GROUP}], muted: "{{ window.inside }}" }\n`,
      },
    });
    const daemon = new DaemonProcess(folder, { now: '2026-05-01T12:00:00Z' });
    await daemon.ready;
    const ops = await daemon.opsUrl();
    await waitFor('the group muted at start', () => sim.world.group(GROUP).bfShutup);
    await waitFor('200 from /healthz', async () => (await healthStatus(ops)) === 200);

    // The bridge goes away: 503 within seconds.
    await sim.stop();
    await waitFor('503 from /healthz', async () => (await healthStatus(ops)) === 503, 10_000);
    const degraded = JSON.parse((await httpRequest(`${ops}/healthz`)).body) as { status: string; bridge: { ready: boolean } };
    assert.equal(degraded.status, 'degraded');
    assert.equal(degraded.bridge.ready, false);

    // A bridge comes back on the same port, its group not muted: healthy again, and the
    // window rule brings the group back to the state the window says.
    sim = await startSimulator({ port });
    assert.equal(sim.world.group(GROUP).bfShutup, false);
    await waitFor('200 again', async () => (await healthStatus(ops)) === 200, 45_000);
    await waitFor('the group muted again', () => sim.world.group(GROUP).bfShutup, 15_000);
    assert.ok(daemon.logLines().some((line) => line.msg === 'window rules reconciled'));

    // The reconcile run is counted once it has finished.
    const metrics = await waitFor('the reconcile run counted', async () => {
      const answer = await httpRequest(`${ops}/metrics`);
      return /^rulebot_runs_total\{rule="mute-window",status="ok"\} 2$/m.test(answer.body) ? answer : undefined;
    });
    assert.equal(metrics.status, 200);
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.body, /^rulebot_bridge_ready 1$/m);
    assert.match(metrics.body, /^rulebot_bridge_reconnects_total [1-9]\d*$/m);
    assert.match(metrics.body, /^rulebot_rules_loaded 1$/m);
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
  });

  it('serves Prometheus metrics, and runs a rule on a control request only with the token', { timeout: 60_000 }, async () => {
    const sim: BridgeSimulator = await startSimulator();
    const folder = daemonFolder({
      bridgeUrl: sim.url,
      http: true,
      rules: {
        'hello.yaml': `id: hello\ntrigger: { message: { chat: group, contains: [hello] } }\nactions:\n  - send: { to: { group: ${GROUP} }, text: "hello by hand" }\n`,
      },
    });
    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    const ops = await daemon.opsUrl();
    await daemon.waitForLog('the bridge', (line) => line.msg === 'bridge ready');

    const body = JSON.stringify({ rule: 'hello' });
    const refused = await httpRequest(`${ops}/control/run`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(refused.status, 401);
    const wrong = await httpRequest(`${ops}/control/run`, { method: 'POST', body, headers: { authorization: `Bearer ${'0'.repeat(64)}` } });
    assert.equal(wrong.status, 401);
    assert.equal(sentTexts(sim).length, 0, 'nothing ran');

    const token = fs.readFileSync(path.join(folder.dir, 'data', 'control.token'), 'utf8').trim();
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const answer = await httpRequest(`${ops}/control/run`, { method: 'POST', body, headers: auth });
    assert.equal(answer.status, 200, answer.body);
    const result = JSON.parse(answer.body) as { runId: number; run: { id: number; status: string; triggerKind: string } };
    assert.equal(result.run.id, result.runId);
    assert.equal(result.run.status, 'ok');
    assert.equal(result.run.triggerKind, 'manual');
    assert.deepEqual(sentTexts(sim), [{ to: GROUP, content: 'hello by hand' }]);

    const unknown = await httpRequest(`${ops}/control/run`, { method: 'POST', body: JSON.stringify({ rule: 'helo' }), headers: auth });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /did you mean \\"hello\\"/);
    const resumeUnknown = await httpRequest(`${ops}/control/resume`, { method: 'POST', body: JSON.stringify({ run: result.runId }), headers: auth });
    assert.equal(resumeUnknown.status, 409, resumeUnknown.body);

    const metrics = await httpRequest(`${ops}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^# TYPE rulebot_runs_total counter$/m);
    assert.match(metrics.body, /^rulebot_runs_total\{rule="hello",status="ok"\} 1$/m);
    assert.match(metrics.body, /^rulebot_frames_sent_total\{type="sendMsg"\} 1$/m);
    assert.match(metrics.body, /^rulebot_action_duration_seconds_count\{kind="send"\} 1$/m);
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
  });
});
