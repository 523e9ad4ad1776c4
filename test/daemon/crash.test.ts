import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonProcess, daemonFolder, readRun, readRuns, sentTexts, startSimulator, waitFor } from './helpers';

const HOST = 7237423;
const GROUPS = 10;

describe('the daemon killed mid-broadcast', () => {
  it('marks the run interrupted, never sends a target twice, and keeps firing after the restart', { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const groupIds = Array.from({ length: GROUPS }, (_, i) => sim.world.addGroup({ name: `bc-${i + 1}`, hostId: HOST }).id);
    const folder = daemonFolder({
      bridgeUrl: sim.url,
      rules: {
        'broadcast.yaml': [
          'id: broadcast',
          // Second 0 of every minute: one fire during the test.
          'trigger: { cron: "0 * * * * *" }',
          'actions:',
          '  - send:',
          '      to: { groupsMatching: "^bc-" }',
          '      text: "broadcast of {{ trigger.slot }}"',
          '      pause: 1s',
          '',
        ].join('\n'),
        'heartbeat.yaml': 'id: heartbeat\ntrigger: { cron: "*/2 * * * * *" }\nactions:\n  - log: { message: beat }\n',
      },
    });
    const broadcastTo = () => sentTexts(sim).filter((sent) => groupIds.includes(sent.to));

    // Three seconds before the minute: the broadcast starts at 10:01:00.
    const startAt = Date.parse('2026-05-01T10:00:57Z');
    const spawnedAt = Date.now();
    const first = new DaemonProcess(folder, { now: new Date(startAt).toISOString() });
    await waitFor('four groups reached', () => broadcastTo().length >= 4);
    first.child.kill('SIGKILL');
    await first.exitedWithin(10_000);
    const sentBeforeCrash = broadcastTo().length;
    assert.ok(sentBeforeCrash < GROUPS, 'killed before the broadcast was over');

    // The clock goes on from where the first process left it.
    const restartedAt = startAt + (Date.now() - spawnedAt);
    const second = new DaemonProcess(folder, { now: new Date(restartedAt).toISOString() });
    await second.ready;
    const original = await waitFor('the interrupted run', () => readRuns(folder.dbFile, { ruleId: 'broadcast', status: 'interrupted' })[0]);
    assert.equal(original.slot, Date.parse('2026-05-01T10:01:00Z'));
    // The restart resumes the broadcast (resume.auto), sending only where it had not sent.
    const resumed = await waitFor('the resumed run', () => readRuns(folder.dbFile, { ruleId: 'broadcast' }).find((run) => run.resumedFrom === original.id && run.status !== 'running'), 30_000);
    assert.equal(resumed.status, 'ok', JSON.stringify(readRun(folder.dbFile, resumed.id)?.steps.map((step) => [step.path, step.status, step.note])));
    assert.equal(resumed.triggerKind, 'resume');

    const perGroup = new Map(groupIds.map((id) => [id, broadcastTo().filter((sent) => sent.to === id).length]));
    for (const [id, count] of perGroup) assert.ok(count <= 1, `group ${id} received the broadcast ${count} times`);
    // A target whose frame may have left when the process died is not sent again: at most that one misses out.
    const missing = [...perGroup].filter(([, count]) => count === 0).map(([id]) => id);
    assert.ok(missing.length <= 1, `groups never reached: ${missing.join(', ')}`);
    for (const id of missing) {
      const entry = readRun(folder.dbFile, original.id)?.ledger.find((target) => target.target === `group:${id}`);
      assert.equal(entry?.state, 'unknown', `group ${id} was skipped although its delivery was not in doubt`);
    }
    assert.ok(broadcastTo().every((sent) => sent.content === 'broadcast of 2026-05-01T10:01:00.000Z'));

    // The scheduler goes on: the heartbeat fires again after the restart.
    await waitFor('a heartbeat after the restart', () => readRuns(folder.dbFile, { ruleId: 'heartbeat', status: 'ok' }).some((run) => run.slot! > restartedAt));
    assert.equal(readRuns(folder.dbFile, { ruleId: 'broadcast' }).filter((run) => run.resumedFrom === null).length, 1, 'the slot was not fired a second time');
    assert.equal((await second.stop()).code, 0, second.stderr);
  });
});
