import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MINUTE, T0, firesOf, rulesFrom, startWatchBench } from './watch-bench';

const FRIEND_AUDIT = `
id: friend-audit
trigger:
  watch: { list: friendRequests, every: 1m, removed: true }
actions:
  - log: { message: "{{ request.nickName }}" }
`;

const MEMBERS = `
id: members
trigger:
  watch: { list: members, group: 389284, every: 1m, removed: true }
actions:
  - log: { message: "{{ item.nickName }}" }
`;

test('a busy answer during a poll loses nothing: the request fires at the next successful poll', async (t) => {
  const bench = await startWatchBench(t, rulesFrom(FRIEND_AUDIT));
  await bench.tick();
  bench.sim.world.addFriendRequest({ uid: 8800101, nickName: '忙时来的' });

  bench.sim.scriptFault({ match: { apiName: 'ContactsApplyList' }, action: 'busy' });
  await bench.tick(MINUTE);
  assert.equal(bench.fires.length, 0, 'a failed poll fires nothing, neither added nor removed');
  let [status] = bench.watcher.status();
  assert.equal(status!.ok, false);
  assert.equal(status!.consecutiveFailures, 1);
  assert.equal(status!.lastError!.at, T0 + MINUTE);
  assert.equal(status!.nextPollAt, T0 + 2 * MINUTE, 'retried at the next slot');
  assert.ok(bench.log.some((line) => line.level === 'warn' && line.msg?.includes('watch poll failed')));

  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800101']);
  [status] = bench.watcher.status();
  assert.equal(status!.ok, true);
  assert.equal(status!.lastSuccessAt, T0 + 2 * MINUTE);
  assert.equal(status!.lastError!.at, T0 + MINUTE, 'the last failure stays visible');
});

test('a dropped connection during a poll fires nothing; the next poll after the reconnect catches up', async (t) => {
  const bench = await startWatchBench(t, rulesFrom(FRIEND_AUDIT));
  await bench.tick();
  bench.sim.world.addFriendRequest({ uid: 8800102, nickName: '断线时来的' });

  bench.sim.scriptFault({ match: { apiName: 'ContactsApplyList' }, action: 'drop' });
  await bench.tick(MINUTE);
  assert.equal(bench.fires.length, 0);
  assert.equal(bench.watcher.status()[0]!.ok, false);

  await bench.client.waitReady(10_000);
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800102']);
});

test('a member list whose paging fails halfway is discarded: no removals, no additions, until a whole read', async (t) => {
  // Two members a page: group 389284's four members take two pages, five take three.
  const bench = await startWatchBench(t, rulesFrom(MEMBERS), { api: { memberPageSize: 2 } });
  await bench.tick();
  assert.equal(bench.store.seen.listKeys('members', 'members:389284').length, 4);

  bench.sim.world.addMember(389284, { uid: 8800103, nickName: 'Late' });
  // Page 1 answers (held back a moment); page 2 is "busy".
  bench.sim.scriptFault({ match: { apiName: 'GroupMemberList' }, action: { delayMs: 1 } });
  bench.sim.scriptFault({ match: { apiName: 'GroupMemberList' }, action: 'busy' });
  await bench.tick(MINUTE);
  assert.equal(bench.fires.length, 0, 'half a list would have looked like members leaving');
  assert.equal(bench.sim.received('GroupMemberList').length, 2 + 2, 'the baseline read two pages, the failed poll two');
  assert.equal(bench.watcher.status()[0]!.consecutiveFailures, 1);
  assert.equal(bench.store.seen.listKeys('members', 'members:389284').length, 4, 'nothing recorded');

  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'members'), ['added 8800103']);
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'members'), ['added 8800103']);
});

test('a watch on a group that is not an id does not poll and says why', async (t) => {
  const bench = await startWatchBench(t, []);
  const changes = bench.watcher.replace(rulesFrom(MEMBERS.replace('group: 389284', 'group: "{{ vars.group }}"')));
  assert.deepEqual(changes.invalid, ['members']);
  await bench.tick(MINUTE);
  const [status] = bench.watcher.status();
  assert.equal(status!.ok, false);
  assert.equal(status!.lastError!.code, 'WATCH_BAD_GROUP');
  assert.equal(status!.nextPollAt, null);
  assert.equal(bench.sim.received('GroupMemberList').length, 0);
});
