import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BridgeSimulator } from '../../src/sim/server';
import { RunStore } from '../../src/store/run-store';
import type { RunDetail, RunRecord, StepRecord } from '../../src/store/types';
import { CliProcess, runCli, tempDir } from './helpers';

const PAUSE_MS = 300;

/** A folder with a config pointing at `bridgeUrl`, a rules folder, and a database path. */
function workspace(bridgeUrl: string, rules: Record<string, string>): { dir: string; config: string; database: string } {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'rules'));
  for (const [name, text] of Object.entries(rules)) fs.writeFileSync(path.join(dir, 'rules', name), text);
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    config,
    [
      'bridge:',
      `  url: ${bridgeUrl}`,
      '  requestTimeout: 5s',
      'timezone: Asia/Shanghai',
      'rules: ./rules',
      'database: ./data/rulebot.db',
      'http: false',
      'rateLimit: { perMinute: 100, perTargetGap: 0s }',
      '',
    ].join('\n'),
  );
  return { dir, config, database: path.join(dir, 'data', 'rulebot.db') };
}

const GREETING = `
id: sales-greeting
description: Greets every sales group
trigger: { cron: "0 9 * * 1-5" }
actions:
  - send:
      to: { groupsMatching: "^sales" }
      text: "早上好，{{ target.name }}！"
      pause: ${PAUSE_MS}ms
`;

interface SentFrame {
  id: number;
  content: string;
  customMsgId: string;
  at: number;
}

function sentFrames(sim: BridgeSimulator): SentFrame[] {
  return sim.received('sendMsg').map((entry) => {
    const data = entry.frame.data as { id: number; custom_msg_id: string; list: Array<{ values: { content: string } }> };
    return { id: data.id, content: data.list[0]!.values.content, customMsgId: data.custom_msg_id, at: entry.at };
  });
}

function targetSteps(run: RunDetail): StepRecord[] {
  return run.steps.filter((step) => step.target !== null);
}

describe('rulebot run, runs and show against a bridge', () => {
  let sim: BridgeSimulator;
  before(async () => {
    sim = new BridgeSimulator({ edition: 'seed', port: 0, seed: 3, control: false });
    await sim.start();
  });
  after(async () => {
    await sim.stop();
  });

  it('runs a broadcast once: resolved targets in order, templated, paused; runs and show tell it all', async () => {
    const since = sim.received('sendMsg').length;
    const ws = workspace(sim.url, { 'greeting.yaml': GREETING });
    const salesGroups = [...sim.world.groups.values()].filter((g) => /^sales/.test(g.name));
    assert.ok(salesGroups.length >= 2, 'the simulated world has sales groups to broadcast to');

    const result = await runCli(['run', 'sales-greeting', '--config', ws.config, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const printed = JSON.parse(result.stdout) as { bridge: { url: string; simulated: boolean }; run: RunDetail };
    assert.equal(printed.run.status, 'ok');
    assert.equal(printed.bridge.simulated, false);

    const sent = sentFrames(sim).slice(since);
    assert.deepEqual(
      sent.map((m) => [m.id, m.content]),
      salesGroups.map((g) => [g.id, `早上好，${g.name}！`]),
    );
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.at - sent[i - 1]!.at >= PAUSE_MS - 50, `pause before target ${i}`);

    const runs = await runCli(['runs', '--config', ws.config, '--json']);
    assert.equal(runs.code, 0, runs.stderr);
    const listed = JSON.parse(runs.stdout) as RunRecord[];
    assert.deepEqual(
      listed.map((r) => [r.id, r.ruleId, r.triggerKind, r.status]),
      [[printed.run.id, 'sales-greeting', 'manual', 'ok']],
    );

    const show = await runCli(['show', String(printed.run.id), '--config', ws.config, '--json']);
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout) as RunDetail;
    const steps = targetSteps(shown);
    assert.deepEqual(
      steps.map((s) => [s.target, s.status, s.delivery, s.answer]),
      salesGroups.map((g) => [`group:${g.id}`, 'ok', 'accepted', 'success']),
    );
    assert.deepEqual(
      steps.map((s) => (s.frame as { data: { custom_msg_id: string } }).data.custom_msg_id),
      sent.map((m) => m.customMsgId),
      'the frames on record are the frames the bridge received',
    );
    assert.deepEqual(
      shown.ledger.map((e) => e.state),
      salesGroups.map(() => 'accepted'),
    );

    const table = await runCli(['runs', '--config', ws.config]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`│ ${printed.run.id}\\s+│ sales-greeting\\s+│ manual\\s+│ \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\s+│ [\\d.]+m?s\\s+│ ok`));
    const timeline = await runCli(['show', String(printed.run.id), '--config', ws.config]);
    assert.equal(timeline.code, 0);
    for (const group of salesGroups) assert.match(timeline.stdout, new RegExp(`actions/0  send  → group:${group.id}  ok  delivery accepted`));
    assert.match(timeline.stdout, /frame\s+\{"id":"[^"]+","type":"sendMsg"/);
  });

  it('in a dry run sends no frame that changes the world and prints the frames it would have sent', async () => {
    const ws = workspace(sim.url, { 'greeting.yaml': GREETING });
    const before = sim.worldChangingReceived().length;
    const reads = sim.received('getGroups').length;
    const result = await runCli(['run', 'sales-greeting', '--dry-run', '--config', ws.config]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(sim.worldChangingReceived().length, before, 'nothing that changes the world reached the bridge');
    assert.ok(sim.received('getGroups').length > reads, 'targets were resolved against the bridge');
    const salesGroups = [...sim.world.groups.values()].filter((g) => /^sales/.test(g.name));
    assert.match(result.stdout, new RegExp(`${salesGroups.length} frames would have been sent \\(none was\\)`));
    for (const group of salesGroups) {
      assert.ok(result.stdout.includes(`"data":{"id":${group.id},"type":"group"`), `the frame for ${group.id} is printed`);
      assert.ok(result.stdout.includes(`早上好，${group.name}！`));
    }
    assert.match(result.stdout, /Run \d+ of rule sales-greeting: DRY-RUN/);
  });

  it('a broadcast killed mid-way leaves an interrupted run that shows exactly which targets got the message, none twice', async () => {
    const bulk = Array.from({ length: 10 }, (_, i) => sim.world.addGroup({ name: `bulk-${i}`, hostId: 7237423 }));
    const ws = workspace(sim.url, {
      'bulk.yaml': `
id: bulk
trigger: { manual: true }
actions:
  - send:
      to: { groupsMatching: "^bulk-" }
      text: "notice for {{ target.name }}"
      pause: ${PAUSE_MS}ms
`,
    });
    const bulkIds = new Set(bulk.map((g) => g.id));
    const bulkSent = (): SentFrame[] => sentFrames(sim).filter((m) => bulkIds.has(m.id));

    const cli = new CliProcess(['run', 'bulk', '--config', ws.config]);
    const deadline = Date.now() + 15_000;
    while (bulkSent().length < 5) {
      if (Date.now() > deadline) assert.fail(`the broadcast did not get going:\n${cli.stdout}\n${cli.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    cli.child.kill('SIGKILL');
    const exit = await cli.exited;
    assert.equal(exit.signal, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS * 2));
    const received = bulkSent();
    assert.ok(received.length >= 5 && received.length < 10, `killed mid-way (${received.length} sent)`);
    assert.equal(new Set(received.map((m) => m.id)).size, received.length, 'no group received the message twice');
    for (const group of bulk) assert.ok(sim.world.messagesFor('group', group.id).length <= 1);

    const store = RunStore.open(ws.database, { markInterrupted: true });
    try {
      assert.equal(store.interruptedOnOpen?.runIds.length, 1);
      const [record] = store.listRuns({ ruleId: 'bulk' });
      const run = store.getRun(record!.id)!;
      assert.equal(run.status, 'interrupted');
      const steps = targetSteps(run);
      const withFrame = steps.filter((s) => s.frame !== null);
      const accepted = steps.filter((s) => s.delivery === 'accepted');
      const uncertain = steps.filter((s) => s.delivery === 'unknown');
      // Every message the bridge got has a step with its exact frame; every step the bridge
      // answered was received; at most the one in flight at the kill is left uncertain.
      const receivedIds = received.map((m) => m.customMsgId);
      assert.deepEqual(
        withFrame.map((s) => s.customMsgId).filter((id) => receivedIds.includes(id!)),
        receivedIds,
      );
      for (const step of accepted) assert.ok(receivedIds.includes(step.customMsgId!), `${step.target} was accepted and received`);
      assert.ok(uncertain.length <= 1);
      assert.equal(accepted.length + uncertain.length, withFrame.length);
      assert.ok(accepted.length >= received.length - 1);
      const ledger = new Map(run.ledger.map((e) => [e.target, e.state]));
      for (const step of accepted) assert.equal(ledger.get(step.target!), 'accepted');
      for (const step of uncertain) assert.equal(ledger.get(step.target!), 'unknown');
      const notSent = [...ledger.entries()].filter(([, state]) => state === 'planned').map(([target]) => target);
      assert.equal(notSent.length, 10 - withFrame.length, 'the rest are planned, never sent');
      for (const target of notSent) assert.ok(!received.some((m) => `group:${m.id}` === target));
    } finally {
      store.close();
    }
  });

  it('says clearly when the rule, the log or the run is not there', async () => {
    const ws = workspace(sim.url, { 'greeting.yaml': GREETING });
    const unknown = await runCli(['run', 'sales-greetin', '--config', ws.config]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no rule with id "sales-greetin" \(did you mean "sales-greeting"\?\)/);

    const runs = await runCli(['runs', '--config', ws.config]);
    assert.equal(runs.code, 0);
    assert.match(runs.stdout, /No execution log at .*rulebot\.db yet/);

    const missingEvent = await runCli(['run', 'sales-greeting', '--event', '[1]', '--config', ws.config]);
    assert.equal(missingEvent.code, 2);
    assert.match(missingEvent.stderr, /--event must be a JSON object/);

    await runCli(['run', 'sales-greeting', '--dry-run', '--config', ws.config]);
    const show = await runCli(['show', '999', '--config', ws.config]);
    assert.equal(show.code, 1);
    assert.match(show.stderr, /run 999 is not in the execution log/);
    const badStatus = await runCli(['runs', '--status', 'weird', '--config', ws.config]);
    assert.equal(badStatus.code, 2);
  });

  it('exits 1 when the bridge cannot be reached, and runs nothing', async () => {
    const ws = workspace('ws://127.0.0.1:9', { 'greeting.yaml': GREETING });
    fs.writeFileSync(ws.config, fs.readFileSync(ws.config, 'utf8').replace('requestTimeout: 5s', 'requestTimeout: 500ms'));
    const result = await runCli(['run', 'sales-greeting', '--config', ws.config]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach the bridge at ws:\/\/127\.0\.0\.1:9/);
  });
});
