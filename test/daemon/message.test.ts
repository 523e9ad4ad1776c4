import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonProcess, daemonFolder, readRuns, sentTexts, sleep, startSimulator, waitFor } from './helpers';

const GROUP = 389284;

describe('the daemon answers messages', () => {
  it('answers each keyword message once, and never its own echo', { timeout: 60_000 }, async () => {
    const sim = await startSimulator({ edition: '68' });
    const folder = daemonFolder({
      bridgeUrl: sim.url,
      edition: '68',
      rules: {
        // The answer contains the keyword itself: were the bot's own echo (isSelf) to
        // trigger the rule, it would answer itself for ever.
        'ping.yaml': [
          'id: ping',
          'trigger:',
          `  message: { chat: group, groups: [${GROUP}], contains: [ping] }`,
          'concurrency: { mode: queue, max: 10 }',
          'actions:',
          '  - send:',
          '      to: { group: "{{ message.groupId }}" }',
          '      text: "pong to {{ message.senderId }}: ping received"',
          '',
        ].join('\n'),
      },
    });
    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    await daemon.waitForLog('the bridge', (line) => line.msg === 'bridge ready');

    const senders = [7237423, 4017572, 7128348];
    for (const senderId of senders) sim.injectMessage({ chat: 'group', groupId: GROUP, senderId, content: `ping from ${senderId}` });
    sim.injectMessage({ chat: 'group', groupId: GROUP, senderId: 4017572, content: 'nothing to see here' });

    await waitFor('three answers', () => sentTexts(sim).length >= 3);
    // Time for the echoes of the answers to come back and (wrongly) fire the rule again.
    await sleep(3000);
    const answers = sentTexts(sim);
    assert.deepEqual(
      answers.map((answer) => answer.content).sort(),
      senders.map((senderId) => `pong to ${senderId}: ping received`).sort(),
    );
    assert.ok(answers.every((answer) => answer.to === GROUP));

    // The echoes did reach the daemon: pushed back as the bot's own (isSelf) messages.
    const echoes = daemon.logLines().filter((line) => line.msg === 'push received' && (line.push as { isSelf?: boolean }).isSelf === true);
    assert.equal(echoes.length, 3, 'each answer came back once as an isSelf push');
    const runs = readRuns(folder.dbFile, { ruleId: 'ping' });
    assert.equal(runs.length, 3, JSON.stringify(runs.map((run) => [run.id, run.status, run.triggerData])));
    assert.ok(runs.every((run) => run.status === 'ok' && run.triggerKind === 'message'));
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
  });
});
