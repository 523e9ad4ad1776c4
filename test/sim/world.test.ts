import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/shared/clock';
import { BOT_UID, SimError, World } from '../../src/sim';

const START = Date.parse('2025-12-21T02:00:00Z');

describe('World', () => {
  it('starts from the seed: the bot, huimei with its four members and notice, more groups with the bot in each', () => {
    const world = new World({ clock: new ManualClock(START) });
    assert.equal(world.bot.nickName, 'ID采集机器人🤖');
    const huimei = world.group(389284);
    assert.equal(huimei.hostId, 7237423);
    assert.deepEqual([...huimei.members.keys()], [7237423, BOT_UID, 4017572, 7128348]);
    assert.equal(huimei.members.get(BOT_UID)?.role, 'MANAGE');
    assert.deepEqual(huimei.notice, { noticeId: 1043631, notice: 'asdd', releaseTime: 1766201544598, editUid: 7237423 });
    const names = world.botGroups().map((g) => g.name);
    for (const name of ['huimei', 'sales-1', 'sales-2', 'sales-3', 'support']) assert.ok(names.includes(name), name);
    assert.ok(world.groups.has(441298));
    for (const group of world.groups.values()) {
      assert.ok(group.members.size >= 4 && group.members.size <= 6, `${group.name} has 3 to 6 members besides the bot`);
      assert.equal(group.members.get(group.hostId)?.role, 'HOST');
    }
    assert.ok(world.isFriend(5858052));
    assert.equal(world.friendRequests.get(5138518)?.state, 'accepted');
    assert.ok(world.pendingFriendRequests().length >= 2);
    for (const user of world.users.values()) assert.ok(user.createTime > 0);
  });

  it('draws the same ids for the same seed', () => {
    function draw(seed: number) {
      const world = new World({ seed, clock: new ManualClock(START) });
      const user = world.addUser({ nickName: 'a' });
      const group = world.addGroup({ name: 'g', hostId: user.uid });
      const message = world.recordMessage({ chat: 'group', targetId: group.id, senderUid: BOT_UID, content: 'x' });
      const notice = world.setNotice(group.id, 'n');
      return [user.uid, user.identify, group.id, group.aliasName, group.qrUrl, message.msgId, message.customMsgId, notice.noticeId];
    }
    assert.deepEqual(draw(5), draw(5));
    assert.notDeepEqual(draw(5), draw(6));
  });

  it('starts with the bot alone when populate is false', () => {
    const world = new World({ populate: false });
    assert.deepEqual([...world.users.keys()], [BOT_UID]);
    assert.equal(world.groups.size, 0);
  });

  it('refuses what the backend would refuse, with SimError kinds', () => {
    const world = new World({ clock: new ManualClock(START) });
    const kindOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        assert.ok(err instanceof SimError);
        return err.kind;
      }
      assert.fail('expected a SimError');
    };
    assert.equal(kindOf(() => world.group(1)), 'NOT_FOUND');
    assert.equal(kindOf(() => world.addMember(389284, { uid: 4017572 })), 'DUPLICATE');
    assert.equal(kindOf(() => world.muteMember(389284, 7237423, 60)), 'NO_PERMISSION');
    assert.equal(kindOf(() => world.muteMember(389284, BOT_UID, 60)), 'NO_PERMISSION');
    assert.equal(kindOf(() => world.answerFriendRequest(5138518, 8)), 'NOT_FOUND');
    assert.equal(kindOf(() => world.addFriendRequest({ uid: 6203001 })), 'DUPLICATE');
    assert.equal(kindOf(() => world.removeMember(389284, 7237423)), 'NO_PERMISSION');
    assert.equal(kindOf(() => world.recordMessage({ chat: 'friend', targetId: 6203003, senderUid: BOT_UID, content: 'x' })), 'NOT_FOUND');
  });

  it('records every change with its time', () => {
    const clock = new ManualClock(START);
    const world = new World({ clock });
    world.setGroupShutup(389284, true);
    clock.advance(1000);
    world.muteMember(389284, 4017572, 30);
    assert.deepEqual(world.changes, [
      { kind: 'groupShutup', groupId: 389284, bfShutup: true, at: START },
      { kind: 'memberMute', groupId: 389284, uid: 4017572, seconds: 30, until: START + 31_000, at: START + 1000 },
    ]);
  });

  it('forgets the oldest messages past messageLimit, and with them their custom_msg_ids', () => {
    const world = new World({ messageLimit: 10, clock: new ManualClock(START) });
    const first = world.recordMessage({ chat: 'group', targetId: 389284, senderUid: BOT_UID, content: 'first', customMsgId: '11111111111' });
    for (let i = 0; i < 20; i++) world.recordMessage({ chat: 'group', targetId: 389284, senderUid: BOT_UID, content: `m${i}` });
    assert.ok(world.messages.length <= 13);
    assert.ok(!world.messages.includes(first));
    assert.equal(world.messages.at(-1)?.content, 'm19');
    const reused = world.recordMessage({ chat: 'group', targetId: 389284, senderUid: BOT_UID, content: 'again', customMsgId: '11111111111' });
    assert.equal(reused.customMsgId, '11111111111', 'a forgotten id no longer counts as a repeat');
  });
});
