import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RunStore } from '../../src/store/run-store';
import { DaemonProcess, daemonFolder, httpRequest, readRuns, sentTexts, sleep, startSimulator, waitFor } from './helpers';

const HOST = 7237423;

/** The friend-request keys the rule's seen-set holds. */
function seenKeys(dbFile: string): string[] {
  const store = RunStore.open(dbFile, { readonly: true });
  try {
    return store.seen.listKeys('friends', 'friendRequests');
  } finally {
    store.close();
  }
}
const NEWCOMER = 8800777;

describe('a watch item that arrives while its rule is running', () => {
  it('waits for the run in progress (here a manual one) and is handled once, not lost to the skip', { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const group = sim.world.addGroup({ name: 'desk', hostId: HOST }).id;
    const folder = daemonFolder({
      bridgeUrl: sim.url,
      http: true,
      rules: {
        'friends.yaml': [
          'id: friends',
          'trigger: { watch: { list: friendRequests, every: 1s } }',
          // concurrency: skip (the default): a fire while the rule runs would be skipped.
          'actions:',
          // A manual run holds the rule for a while, long enough for a poll to find the request.
          '  - delay: { for: 4s }',
          '    if: { compare: { value: "{{ trigger.kind }}", op: eq, to: manual } }',
          `  - send: { to: { group: ${group} }, text: "{{ trigger.kind }} {{ request.uid }}" }`,
          '',
        ].join('\n'),
      },
    });
    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    const ops = await daemon.opsUrl();
    await daemon.waitForLog('the baseline', (line) => line.msg === 'watch baseline recorded' && line.rule === 'friends');

    const token = fs.readFileSync(path.join(folder.dir, 'data', 'control.token'), 'utf8').trim();
    const manual = httpRequest(`${ops}/control/run`, { method: 'POST', body: JSON.stringify({ rule: 'friends' }), headers: { authorization: `Bearer ${token}` } });
    await waitFor('the manual run holding the rule', () => readRuns(folder.dbFile, { ruleId: 'friends', status: 'running' }).some((run) => run.triggerKind === 'manual'));

    sim.world.addFriendRequest({ uid: NEWCOMER, nickName: '新朋友' });
    // A poll has recorded the request as seen, and so fired it, while the manual run still holds the rule.
    await waitFor('the request seen by a poll', () => seenKeys(folder.dbFile).some((key) => key.startsWith(`${NEWCOMER}@`)));
    assert.ok(
      readRuns(folder.dbFile, { ruleId: 'friends', status: 'running' }).some((run) => run.triggerKind === 'manual'),
      'the manual run was still going when the request was seen',
    );
    assert.deepEqual(sentTexts(sim), [], 'the watch run has not started while the manual one runs');

    const answer = await manual;
    assert.equal(answer.status, 200, answer.body);
    assert.equal((JSON.parse(answer.body) as { run: { status: string } }).run.status, 'ok');

    const watchRun = await waitFor('the watch run', () => readRuns(folder.dbFile, { ruleId: 'friends' }).find((run) => run.triggerKind === 'watch' && run.status !== 'running'));
    assert.equal(watchRun.status, 'ok');
    // A few more polls: the request is not handled again.
    await sleep(2500);
    assert.deepEqual(
      sentTexts(sim).map((sent) => sent.content),
      ['manual ', `watch ${NEWCOMER}`],
    );
    const runs = readRuns(folder.dbFile, { ruleId: 'friends' });
    assert.deepEqual(
      runs.map((run) => `${run.triggerKind} ${run.status}`).sort(),
      ['manual ok', 'watch ok'],
      'no skipped run: the item waited instead',
    );
    assert.ok(daemon.logLines().some((line) => line.msg === 'watch item waits for the run of its rule in progress' && line.rule === 'friends'));
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
  });
});
