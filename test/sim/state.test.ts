import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/shared/clock';
import { BridgeSimulator } from '../../src/sim';
import { TestClient, requestFrame, sendMsgFrame } from './helpers';

const START = Date.parse('2025-12-21T02:00:00Z');
const BOT = 4008697;

describe('frames change the world, and reads show the change', () => {
  let clock: ManualClock;
  let sim: BridgeSimulator;
  let client: TestClient;
  let seq = 0;
  const id = () => `s${++seq}`;

  beforeEach(async () => {
    await client?.close();
    await sim?.stop();
    clock = new ManualClock(START);
    sim = new BridgeSimulator({ clock, seed: 3 });
    await sim.start();
    client = await TestClient.connect(sim.url);
  });

  after(async () => {
    await client.close();
    await sim.stop();
  });

  const groupUpdate = (op: number, groupParam: Record<string, unknown>) =>
    client.call(requestFrame(id(), 'GroupUpdate', '/group/groupUpdate', { op, groupParam }));
  const groupDetail = (groupId: number) =>
    client.call(requestFrame(id(), 'GroupDetail', '/group/groupDetail', { groupId }));
  const getGroups = () => client.call({ id: id(), type: 'getGroups' });

  it('GroupUpdate op 11 turns the whole-group mute on and off, as getGroups shows', async () => {
    const huimei = async () => (await getGroups()).data.find((g: { id: number }) => g.id === 389284);
    assert.equal((await huimei()).bfShutup, false);
    assert.equal((await groupUpdate(11, { shutup: true, groupId: 389284 })).data.commonResult.errCode, 200);
    assert.equal((await huimei()).bfShutup, true);
    await groupUpdate(11, { shutup: false, groupId: 389284 });
    assert.equal((await huimei()).bfShutup, false);
    assert.deepEqual(
      sim.world.changes.map((c) => c.kind === 'groupShutup' && c.bfShutup),
      [true, false],
    );
  });

  it('GroupUpdate op 12 sets the notice (edited by the bot, released now); op 13 clears it', async () => {
    clock.advance(5000);
    const set = await groupUpdate(12, { notice: '新的群通知', bfAll: true, groupId: 389284 });
    const noticeId = set.data.noticeId;
    assert.match(noticeId, /^\d+$/);
    const detail = (await groupDetail(389284)).data;
    assert.equal(detail.groupNotice.notice, '新的群通知');
    assert.equal(detail.groupNotice.noticeId, noticeId);
    assert.equal(detail.groupNotice.releaseTime, String(START + 5000));
    assert.equal(detail.groupNotice.editUser.user.uid, String(BOT));
    const again = await groupUpdate(12, { notice: '第二条', groupId: 389284 });
    assert.ok(Number(again.data.noticeId) > Number(noticeId), 'notice ids grow');

    await groupUpdate(13, { groupId: 389284 });
    assert.equal((await groupDetail(389284)).data.groupNotice, '');
    const listed = (await getGroups()).data.find((g: { id: number }) => g.id === 389284);
    assert.equal(listed.groupNotice, '');
  });

  it('GroupMemberShutup mutes a member until now + shutupTime; 0 lifts it', async () => {
    const mute = (targetUid: number, shutupTime: number, groupId = 441298) =>
      client.call(requestFrame(id(), 'GroupMemberShutup', '/group/groupMemberShutup', { targetUid, shutupTime, groupId }));
    assert.equal((await mute(7128348, 60)).data.commonResult.errCode, 200);
    assert.equal(sim.world.member(441298, 7128348).mutedUntil, START + 60_000);
    assert.equal(sim.world.isMuted(441298, 7128348), true);
    clock.advance(60_000);
    assert.equal(sim.world.isMuted(441298, 7128348), false, 'the mute ends on time');
    await mute(7128348, 3600);
    await mute(7128348, 0);
    assert.equal(sim.world.isMuted(441298, 7128348), false);

    const host = await mute(6102007, 60);
    assert.equal(host.error.errorCode, 406, 'the host cannot be muted');
    const stranger = await mute(5858052, 60);
    assert.equal(stranger.error.errorCode, 404, 'only members can be muted');
    assert.match(stranger.error.errorDesc, /5858052/);
  });

  it('UpdateContactsApply op 8 accepts a pending request: it moves to recordList and the user becomes a contact', async () => {
    const applyList = async () => (await client.call(requestFrame(id(), 'ContactsApplyList', '/contacts/contactsApplyList'))).data;
    const contacts = async () =>
      (await client.call(requestFrame(id(), 'ContactsList', '/contacts/contactsList', {}))).data.contactsList.map(
        (c: { userInfo: { uid: string } }) => c.userInfo.uid,
      );
    const pendingBefore = (await applyList()).unRecordList.map((r: { userInfo: { uid: string } }) => r.userInfo.uid);
    assert.ok(pendingBefore.includes('6203001'));
    assert.ok(!(await contacts()).includes('6203001'));

    const answer = await client.call(
      requestFrame(id(), 'UpdateContactsApply', '/contacts/updateContactsApply', { applyUid: 6203001, op: 8 }),
    );
    assert.equal(answer.data.commonResult.errCode, 200);
    const after = await applyList();
    assert.ok(!after.unRecordList.some((r: { userInfo: { uid: string } }) => r.userInfo.uid === '6203001'));
    assert.ok(after.recordList.some((r: { userInfo: { uid: string } }) => r.userInfo.uid === '6203001'));
    assert.ok((await contacts()).includes('6203001'));

    const reject = await client.call(
      requestFrame(id(), 'UpdateContactsApply', '/contacts/updateContactsApply', { applyUid: 6203002, op: 9 }),
    );
    assert.equal(reject.data.commonResult.errCode, 200);
    assert.equal(sim.world.friendRequests.get(6203002)?.state, 'rejected');
    assert.ok(!(await contacts()).includes('6203002'), 'a rejected applicant is no contact');

    const twice = await client.call(
      requestFrame(id(), 'UpdateContactsApply', '/contacts/updateContactsApply', { applyUid: 6203001, op: 8 }),
    );
    assert.equal(twice.error.errorCode, 404, 'a handled request cannot be answered again');
  });

  it('sendMsg appends to the target conversation; a repeated custom_msg_id is refused', async () => {
    clock.advance(1234);
    const first = await client.call(sendMsgFrame(id(), { group: 512301 }, '早上好', { custom_msg_id: '31415926535' }));
    assert.equal(first.data, 'success');
    const log = sim.world.messagesFor('group', 512301);
    assert.equal(log.length, 1);
    assert.deepEqual(
      { content: log[0]!.content, chatType: log[0]!.chatType, customMsgId: log[0]!.customMsgId, time: log[0]!.time, sender: log[0]!.senderUid },
      { content: '早上好', chatType: 0, customMsgId: '31415926535', time: START + 1234, sender: BOT },
    );
    const repeat = await client.call(sendMsgFrame(id(), { group: 512302 }, '再发一次', { custom_msg_id: '31415926535' }));
    assert.equal(repeat.error.errorCode, 409);
    assert.equal(sim.world.messagesFor('group', 512302).length, 0, 'a refused frame changes nothing');

    const friend = await client.call(sendMsgFrame(id(), { friend: 5858052 }, '你好'));
    assert.equal(friend.data, 'success');
    assert.equal(sim.world.messagesFor('friend', 5858052).length, 1);
    const stranger = await client.call(sendMsgFrame(id(), { friend: 6203003 }, '你好'));
    assert.equal(stranger.error.errorCode, 404, 'only contacts can be messaged');
  });

  it('members, contacts and groups added to the world show in the reads', async () => {
    const member = sim.world.addMember(389284, { nickName: '新人', uid: 7000001 });
    assert.equal(member.role, 'NORMAL');
    const list = await client.call(
      requestFrame(id(), 'GroupMemberList', '/group/groupMemberListV2', { groupId: 389284, pageSize: 2, pageNum: 3 }, 'group'),
    );
    assert.equal(list.data.count, '5');
    assert.deepEqual(
      list.data.members.map((m: { user: { uid: string } }) => m.user.uid),
      ['7000001'],
      'page 3 of size 2 holds the fifth member',
    );
    const group = sim.world.addGroup({ name: 'sales-4', hostId: 6102001, memberIds: [6102002] });
    const groups = (await getGroups()).data;
    const listed = groups.find((g: { id: number }) => g.id === group.id);
    assert.equal(listed.name, 'sales-4');
    assert.equal(listed.memberCount, 3, 'host, bot and one member');
    assert.equal(listed.memberType, 1);
  });
});

describe('a world without the bot as admin', () => {
  let sim: BridgeSimulator;
  let client: TestClient;

  before(async () => {
    sim = new BridgeSimulator();
    await sim.start();
    client = await TestClient.connect(sim.url);
  });

  after(async () => {
    await client.close();
    await sim.stop();
  });

  it('refuses admin actions with errorCode 406 and changes nothing', async () => {
    sim.world.setRole(512301, BOT, 'NORMAL');
    const answer = await client.call(
      requestFrame('p1', 'GroupUpdate', '/group/groupUpdate', { op: 11, groupParam: { shutup: true, groupId: 512301 } }),
    );
    assert.equal(answer.error.errorCode, 406);
    assert.equal(sim.world.group(512301).bfShutup, false);
    const detail = await client.call(requestFrame('p2', 'GroupDetail', '/group/groupDetail', { groupId: 512301 }));
    assert.equal(detail.data.memberType, 'NORMAL');
    assert.deepEqual(detail.data.right, {});
  });
});
