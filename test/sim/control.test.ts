import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/shared/clock';
import { BridgeSimulator, type WorldSnapshot } from '../../src/sim';
import { TestClient, requestFrame, type Frame } from './helpers';

const START = Date.parse('2025-12-21T02:00:00Z');

describe('the HTTP control interface on the WebSocket port', () => {
  const sim = new BridgeSimulator({ edition: '68', clock: new ManualClock(START) });
  let client: TestClient;

  async function http(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Frame }> {
    const res = await fetch(`${sim.controlUrl}${path}`, {
      method,
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    return { status: res.status, body: (await res.json()) as Frame };
  }

  before(async () => {
    await sim.start();
    client = await TestClient.connect(sim.url, { hello: true });
  });

  after(async () => {
    await client.close();
    await sim.stop();
  });

  it('GET / describes the simulator', async () => {
    const { status, body } = await http('GET', '/');
    assert.equal(status, 200);
    assert.equal(body.edition, '68');
    assert.equal(body.url, sim.url);
    assert.equal(body.connections, 1);
  });

  it('GET /world returns the state as JSON', async () => {
    const { status, body } = await http('GET', '/world');
    assert.equal(status, 200);
    const world = body as WorldSnapshot;
    assert.equal(world.botUid, 4008697);
    const huimei = world.groups.find((g) => g.id === 389284);
    assert.equal(huimei?.notice?.notice, 'asdd');
    assert.deepEqual(
      huimei?.members.map((m) => m.uid),
      [7237423, 4008697, 4017572, 7128348],
    );
  });

  it('POST /inject/message pushes msgNew to the client and stores the message', async () => {
    const { status, body } = await http('POST', '/inject/message', { chat: 'group', groupId: 512301, senderId: 6102002, content: '有优惠吗' });
    assert.equal(status, 200);
    const push = await client.waitFor((f) => f.operator === 'msgNew' && f.data.content === '有优惠吗');
    assert.equal(push.data.msgId, body.message.msgId);
    assert.equal(push.data.isSelf, false);
    assert.equal(sim.world.messagesFor('group', 512301).length, 1);
  });

  it('POST /inject/member adds a member that GroupMemberList then lists', async () => {
    const { status, body } = await http('POST', '/inject/member', { groupId: 389284, nickName: '加V看片', uid: 7500001 });
    assert.equal(status, 200);
    assert.equal(body.member.uid, 7500001);
    assert.equal(body.user.nickName, '加V看片');
    const list = await client.call(
      requestFrame('m1', 'GroupMemberList', '/group/groupMemberListV2', { groupId: 389284, pageSize: 1000, pageNum: 1 }, 'group'),
    );
    assert.ok(list.data.members.some((m: Frame) => m.user.uid === '7500001' && m.user.nickName === '加V看片'));
    assert.equal(list.data.count, '5');
  });

  it('POST /inject/friend-request adds a pending request under unRecordList', async () => {
    const { status, body } = await http('POST', '/inject/friend-request', { nickName: '新朋友', msg: '你好', createTime: START - 86_400_000 });
    assert.equal(status, 200);
    assert.equal(body.request.state, 'pending');
    const list = await client.call(requestFrame('f1', 'ContactsApplyList', '/contacts/contactsApplyList'));
    const entry = list.data.unRecordList.find((r: Frame) => r.userInfo.uid === String(body.request.uid));
    assert.equal(entry.msg, '你好');
    assert.equal(entry.userInfo.nickName, '新朋友');
    assert.equal(entry.userInfo.createTime, String(START - 86_400_000));
    assert.equal(entry.modifyTime, String(START));
  });

  it('POST /faults sets rates and scripts faults', async () => {
    const { status, body } = await http('POST', '/faults', { busy: 0, script: { match: { type: 'getApiUrl' }, action: 'busy' } });
    assert.equal(status, 200);
    assert.equal(body.scriptedFaults.length, 1);
    const answer = await client.call({ id: 'busy-1', type: 'getApiUrl' });
    assert.equal(answer.error.errorCode, 300);
    assert.equal(sim.scriptedFaults.length, 0);
  });

  it('GET /record returns frames after a seq, filtered by direction and limited', async () => {
    const lastSeq = sim.record[sim.record.length - 1]!.seq;
    await client.call({ id: 'rec-1', type: 'getApiUrl' });
    const { status, body } = await http('GET', `/record?since=${lastSeq}`);
    assert.equal(status, 200);
    assert.deepEqual(
      body.frames.map((f: Frame) => [f.direction, f.frame.id]),
      [
        ['in', 'rec-1'],
        ['out', 'rec-1'],
      ],
    );
    assert.equal(body.frames[0].seq, lastSeq + 1);
    const incoming = await http('GET', '/record?direction=in&limit=1');
    assert.deepEqual(
      incoming.body.frames.map((f: Frame) => f.raw),
      ['{"id":"rec-1","type":"getApiUrl"}'],
    );
  });

  it('answers 400 with a message naming the field for bad bodies', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['/inject/message', { chat: 'group', groupId: 389284, content: 'x' }, /senderId/],
      ['/inject/message', { chat: 'room', senderId: 1, content: 'x' }, /chat/],
      ['/inject/message', { chat: 'group', groupId: 1, senderId: 7237423, content: 'x' }, /no group 1/],
      ['/inject/member', { groupId: '389284' }, /groupId must be an integer/],
      ['/inject/member', { groupId: 389284, uid: 7237423 }, /already a member/],
      ['/faults', { busy: 2 }, /faults\.busy/],
      ['/faults', { script: { match: {}, action: 'nope' } }, /scripted fault action/],
      ['/inject/message', '{not json', /not JSON/],
      ['/inject/message', '[]', /JSON object/],
    ];
    for (const [path, body, message] of cases) {
      const res = await http('POST', path, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.match(res.body.error, message);
      assert.equal(typeof res.body.code, 'string');
    }
  });

  it('answers 404 for unknown routes and 405 for the wrong method', async () => {
    assert.equal((await http('GET', '/nope')).status, 404);
    assert.equal((await http('POST', '/world')).status, 405);
  });

  it('POST /drop closes every client', async () => {
    const { body } = await http('POST', '/drop');
    assert.equal(body.dropped, 1);
    await client.closed;
    assert.equal(sim.connections, 0);
  });
});
