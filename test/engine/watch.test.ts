import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { WATCH_BASELINE_KEY, type WatchBaseline } from '../../src/engine/watch';
import type { WatchedFriendRequest } from '../../src/engine/watch-lists';
import { MINUTE, T0, firesOf, rulesFrom, startWatchBench } from './watch-bench';

const FRIEND_AUDIT = `
id: friend-audit
trigger:
  watch: { list: friendRequests, every: 1m }
actions:
  - log: { message: "{{ request.nickName }}" }
`;

const WELCOME = `
id: welcome
trigger:
  watch: { list: members, group: 389284, every: 1m }
actions:
  - log: { message: "{{ item.nickName }}" }
`;

test('the first poll is a baseline; a new friend request then fires exactly once, with the item', async (t) => {
  const bench = await startWatchBench(t, rulesFrom(FRIEND_AUDIT));
  await bench.tick();
  assert.equal(bench.fires.length, 0, 'the requests already there are the baseline');
  assert.deepEqual(bench.store.ruleState.get<WatchBaseline>('friend-audit', WATCH_BASELINE_KEY), { list: 'friendRequests', at: T0 });
  // Pending and handled requests are both in the seen-set.
  assert.equal(bench.store.seen.listKeys('friend-audit', 'friendRequests').length, 4);

  bench.sim.world.addFriendRequest({ uid: 8800001, nickName: '新朋友', msg: '你好，交个朋友', createTime: 1_700_000_000_000 });
  await bench.tick(MINUTE);
  assert.equal(bench.fires.length, 1);
  const { ruleId, trigger } = bench.fires[0]!;
  assert.equal(ruleId, 'friend-audit');
  assert.equal(trigger.kind, 'watch');
  assert.equal(trigger.data.list, 'friendRequests');
  assert.equal(trigger.data.change, 'added');
  const request = trigger.data.item as WatchedFriendRequest;
  assert.equal(request.uid, '8800001');
  assert.equal(request.nickName, '新朋友');
  assert.equal(request.msg, '你好，交个朋友');
  assert.equal(request.status, 'pending');
  assert.equal(request.createTime, 1_700_000_000_000);
  assert.ok(request.modifyTime > 0);
  assert.equal(typeof request.raw, 'object');

  await bench.tick(MINUTE);
  await bench.tick(MINUTE);
  assert.equal(bench.fires.length, 1, 'an item fires once, not on every poll');

  const [status] = bench.watcher.status();
  assert.equal(status!.ruleId, 'friend-audit');
  assert.equal(status!.ok, true);
  assert.equal(status!.lastPollAt, T0 + 3 * MINUTE);
  assert.equal(status!.nextPollAt, T0 + 4 * MINUTE);
  assert.equal(status!.baselineAt, T0);
  assert.equal(status!.lastError, null);
  assert.equal(status!.fired, 1);
});

test('a pending request answered (and stamped anew) is the same request: it does not fire again', async (t) => {
  const bench = await startWatchBench(t, rulesFrom(FRIEND_AUDIT));
  await bench.tick();
  bench.sim.world.addFriendRequest({ uid: 8800002, nickName: '阿明' });
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800002']);

  await sleep(5); // so the answer carries a later modifyTime than the request
  bench.sim.world.answerFriendRequest(8800002, 8);
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800002']);
  const moved = bench.log.filter((line) => line.msg === 'watched listing changed').at(-1);
  assert.deepEqual(moved?.obj, { rule: 'friend-audit', list: 'friendRequests', added: 0, removed: 0, continued: 1 }, 'its key moved');

  // Asking again later is a new request.
  bench.sim.world.addFriendRequest({ uid: 8800003, nickName: '阿华' });
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800002', 'added 8800003']);
});

test('a new member fires once, with a restart (new watcher, reopened store) between polls', async (t) => {
  const rules = rulesFrom(WELCOME);
  const bench = await startWatchBench(t, rules);
  await bench.tick();
  assert.equal(bench.fires.length, 0);

  bench.sim.world.addMember(389284, { uid: 8800010, nickName: 'Newcomer' });
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'welcome'), ['added 8800010']);
  const member = bench.fires[0]!.trigger.data.item;
  assert.ok('groupId' in member && member.groupId === '389284');

  // Another member joins while the daemon is down.
  await bench.restart(rules);
  bench.sim.world.addMember(389284, { uid: 8800011, nickName: 'Second' });
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'welcome'), ['added 8800010', 'added 8800011'], 'no baseline again, no repeat of the first');

  await bench.restart(rules);
  await bench.tick(MINUTE);
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'welcome'), ['added 8800010', 'added 8800011']);
});

test('an empty listing at baseline is remembered: what appears after a restart fires', async (t) => {
  const rules = rulesFrom(FRIEND_AUDIT);
  const bench = await startWatchBench(t, rules);
  bench.sim.world.friendRequests.clear();
  await bench.tick();
  assert.deepEqual(bench.store.seen.listKeys('friend-audit', 'friendRequests'), []);

  await bench.restart(rules);
  bench.sim.world.addFriendRequest({ uid: 8800020, nickName: 'First ever' });
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800020']);
});

test('removed items fire only for rules that ask for them', async (t) => {
  const bench = await startWatchBench(
    t,
    rulesFrom(`${WELCOME}
---
id: left
trigger:
  watch: { list: members, group: 389284, every: 1m, removed: true }
actions:
  - log: { message: "{{ item.nickName }} left" }
`),
  );
  await bench.tick();
  bench.sim.world.removeMember(389284, 7128348);
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'left'), ['removed 7128348']);
  assert.deepEqual(firesOf(bench, 'welcome'), []);
  const gone = bench.fires[0]!.trigger.data.item;
  assert.ok('nickName' in gone && gone.nickName === 'Lily', 'a removed item fires as last seen');

  // Back again: an addition for both rules.
  bench.sim.world.addMember(389284, { uid: 7128348 });
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'left'), ['removed 7128348', 'added 7128348']);
  assert.deepEqual(firesOf(bench, 'welcome'), ['added 7128348']);
});

test('existing: true fires once for each item already there', async (t) => {
  const bench = await startWatchBench(
    t,
    rulesFrom(`
id: all-groups
trigger:
  watch: { list: groups, every: 1m, existing: true }
actions:
  - log: { message: "{{ item.name }}" }
`),
  );
  await bench.tick();
  const expected = bench.sim.world.botGroups().map((group) => `added ${group.id}`);
  assert.ok(expected.length >= 6);
  assert.deepEqual([...firesOf(bench, 'all-groups')].sort(), [...expected].sort());

  await bench.tick(MINUTE);
  assert.equal(bench.fires.length, expected.length);
});

test('a rule that watches another group takes a new baseline; an unchanged one keeps its state', async (t) => {
  const bench = await startWatchBench(t, rulesFrom(`${WELCOME}\n---\n${FRIEND_AUDIT}`));
  await bench.tick();

  const changes = bench.watcher.replace(
    rulesFrom(`${WELCOME.replace('group: 389284', 'group: 441298')}\n---\n${FRIEND_AUDIT}`),
  );
  assert.deepEqual(changes.rebaselined, ['welcome']);
  assert.deepEqual(changes.unchanged, ['friend-audit']);
  const status = new Map(bench.watcher.status().map((s) => [s.ruleId, s]));
  assert.equal(status.get('friend-audit')!.nextPollAt, T0 + MINUTE, 'the unchanged rule keeps its slot');
  assert.equal(status.get('welcome')!.baselineAt, null);

  bench.sim.world.addFriendRequest({ uid: 8800030 });
  await bench.tick();
  assert.equal(bench.fires.length, 0, 'the first poll of the other group is its baseline');
  assert.equal(bench.watcher.status().find((s) => s.ruleId === 'welcome')!.baselineAt, T0);

  bench.sim.world.addMember(441298, { uid: 8800031 });
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'welcome'), ['added 8800031']);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800030']);

  // A rule no longer loaded stops polling.
  const removed = bench.watcher.replace(rulesFrom(FRIEND_AUDIT));
  assert.deepEqual(removed.removed, ['welcome']);
  bench.sim.world.addMember(441298, { uid: 8800032 });
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'welcome'), ['added 8800031']);
});

test('a poll never overlaps the one before: slots that pass while it runs are skipped', async (t) => {
  let release = (): void => undefined;
  let fired = (): void => undefined;
  const firing = new Promise<void>((resolve) => (fired = resolve));
  const bench = await startWatchBench(t, rulesFrom(FRIEND_AUDIT), {
    onFire: () => {
      fired();
      return new Promise<void>((resolve) => (release = resolve));
    },
  });
  await bench.tick();
  bench.sim.world.addFriendRequest({ uid: 8800040 });
  bench.clock.advance(MINUTE);
  await firing;

  bench.clock.advance(5 * MINUTE);
  let [status] = bench.watcher.status();
  assert.equal(status!.polling, true);
  assert.equal(status!.nextPollAt, null, 'no next poll is due while one runs');
  assert.equal(bench.sim.received('ContactsApplyList').length, 2);

  release();
  await bench.watcher.idle();
  [status] = bench.watcher.status();
  assert.equal(status!.polling, false);
  assert.equal(status!.nextPollAt, T0 + 7 * MINUTE, 'the next slot after the poll ended');
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800040']);
});

test('items a stopped poll did not fire yet are not recorded: they fire after the restart', async (t) => {
  const rules = rulesFrom(FRIEND_AUDIT);
  let stopOnFire = true;
  const bench = await startWatchBench(t, rules, {
    onFire: () => {
      // Shutdown arrives while the first of two new items runs.
      if (stopOnFire) void bench.watcher.stop();
      stopOnFire = false;
    },
  });
  await bench.tick();
  bench.sim.world.addFriendRequest({ uid: 8800050 });
  bench.sim.world.addFriendRequest({ uid: 8800051 });
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800050']);

  await bench.restart(rules);
  await bench.tick();
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800050', 'added 8800051']);
});

test('a fire that fails is logged; the other items still fire, and none fires twice', async (t) => {
  const bench = await startWatchBench(t, rulesFrom(FRIEND_AUDIT), {
    onFire: (fire) => {
      if ('uid' in fire.trigger.data.item && fire.trigger.data.item.uid === '8800060') throw new Error('the run could not start');
    },
  });
  await bench.tick();
  bench.sim.world.addFriendRequest({ uid: 8800060 });
  bench.sim.world.addFriendRequest({ uid: 8800061 });
  await bench.tick(MINUTE);
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800060', 'added 8800061']);
  assert.ok(bench.log.some((line) => line.level === 'error' && line.msg === 'watch fire failed'));
  assert.equal(bench.watcher.status()[0]!.ok, true, 'a failed run is not a failed poll');
});

test('a new interval moves the next poll and keeps the seen-set', async (t) => {
  const bench = await startWatchBench(t, rulesFrom(FRIEND_AUDIT));
  await bench.tick();
  const changes = bench.watcher.replace(rulesFrom(FRIEND_AUDIT.replace('every: 1m', 'every: 2m')));
  assert.deepEqual(changes.changed, ['friend-audit']);
  assert.equal(bench.watcher.status()[0]!.nextPollAt, T0 + 2 * MINUTE);
  assert.equal(bench.watcher.status()[0]!.baselineAt, T0);

  bench.sim.world.addFriendRequest({ uid: 8800070 });
  await bench.tick(MINUTE);
  assert.equal(bench.fires.length, 0, 'not due yet');
  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800070']);
});

test('rules polling the same listing at the same time share one read; each keeps its own seen-set', async (t) => {
  const second = FRIEND_AUDIT.replace('id: friend-audit', 'id: friend-audit-2');
  const bench = await startWatchBench(t, rulesFrom(`${FRIEND_AUDIT}\n---\n${second}`));
  await bench.tick();
  assert.equal(bench.sim.received('ContactsApplyList').length, 1, 'one request for both baselines');
  assert.equal(bench.store.seen.listKeys('friend-audit', 'friendRequests').length, 4);
  assert.equal(bench.store.seen.listKeys('friend-audit-2', 'friendRequests').length, 4);

  bench.sim.world.addFriendRequest({ uid: 8800050 });
  await bench.tick(MINUTE);
  assert.equal(bench.sim.received('ContactsApplyList').length, 2);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800050']);
  assert.deepEqual(firesOf(bench, 'friend-audit-2'), ['added 8800050']);
});
