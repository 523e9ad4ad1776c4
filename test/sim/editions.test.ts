import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/shared/clock';
import { BridgeSimulator, type BridgeSimulatorOptions } from '../../src/sim';
import { TestClient, requestFrame, sendMsgFrame, type Frame } from './helpers';

const START = Date.parse('2025-12-21T02:00:00Z');

/** One simulator and client per test, always torn down. */
function harness() {
  const open: Array<TestClient | BridgeSimulator> = [];
  afterEach(async () => {
    for (const item of open.splice(0).reverse()) {
      if (item instanceof TestClient) await item.close();
      else await item.stop();
    }
  });
  return async (options: BridgeSimulatorOptions, hello: boolean) => {
    const clock = new ManualClock(START);
    const sim = new BridgeSimulator({ clock, ...options });
    open.push(sim);
    await sim.start();
    const client = await TestClient.connect(sim.url, { hello });
    open.push(client);
    return { sim, client, clock, connect: async () => {
      const another = await TestClient.connect(sim.url, { hello });
      open.push(another);
      return another;
    } };
  };
}

describe('edition 68', () => {
  const setup = harness();

  it('greets each connection with {"message":"Hello"} before anything else', async () => {
    const { client, sim } = await setup({ edition: '68' }, true);
    assert.equal(client.raws[0], '{"message":"Hello"}');
    assert.equal(sim.record[0]?.direction, 'out');
    assert.equal(sim.record[0]?.raw, '{"message":"Hello"}');
  });

  it('answers sendMsg "success", echoes it as msgNew isSelf, then pushes the delivery result by custom_msg_id', async () => {
    const { client, clock } = await setup({ edition: '68', deliveryDelayMs: 50 }, true);
    const answer = await client.call(sendMsgFrame('m1', { group: 389284 }, '这里改成你的消息', { custom_msg_id: '10441859254' }));
    assert.equal(answer.data, 'success');
    const echo = await client.waitFor((f) => f.operator === 'msgNew');
    assert.equal(echo.data.isSelf, true);
    assert.equal(echo.data.customMsgId, '10441859254');
    assert.equal(echo.data.content, '这里改成你的消息');
    assert.equal(echo.data.groupId, 389284);
    assert.equal(echo.data.sendUid, 4008697);
    assert.equal(echo.data.sendMember.type, 'MANAGE');
    assert.equal(client.raws.indexOf(JSON.stringify(answer)) < client.raws.findIndex((r) => r.includes('"msgNew"')), true, 'answer before echo');

    await TestClient.pause(20);
    assert.equal(client.frames.some((f) => f.operator === 'msgListPropertyUpdate'), false, 'no result before the delay');
    clock.advance(50);
    const result = await client.waitFor((f) => f.operator === 'msgListPropertyUpdate');
    assert.deepEqual(result.data.list[0].customMsgId, '10441859254');
    assert.equal(result.data.list[0].updated.readStatus, 1);
    assert.equal(result.data.list[0].updated.MsgID, echo.data.msgId);
    assert.equal(result.data.readStatus, 1);
    assert.equal(result.data.id, 389284);
  });

  it('reports readStatus 0 when a delivery failure strikes, and the world records the failure', async () => {
    const { client, clock, sim } = await setup({ edition: '68', deliveryDelayMs: 10, faults: { deliveryFailure: 1 } }, true);
    await client.call(sendMsgFrame('m2', { friend: 7237423 }, 'hi', { custom_msg_id: '30984532587' }));
    clock.advance(10);
    const result = await client.waitFor((f) => f.operator === 'msgListPropertyUpdate');
    assert.deepEqual(result.data, { id: 7237423, type: 'friend', list: [{ customMsgId: '30984532587', updated: { readStatus: 0 } }], readStatus: 0 });
    assert.equal(sim.world.messagesFor('friend', 7237423)[0]?.status, 'failed');
    assert.equal(sim.received('sendMsg')[0]?.fault, 'delivery-failure');
  });

  it('pushes the groupShutupAll notification after GroupUpdate op 11', async () => {
    const { client } = await setup({ edition: '68' }, true);
    const answer = await client.call(
      requestFrame('g1', 'GroupUpdate', '/group/groupUpdate', { op: 11, groupParam: { shutup: true, groupId: 389284 } }),
    );
    assert.equal(answer.data.commonResult.errCode, 200);
    const note = await client.waitFor((f) => f.operatorType === 'groupShutupAll');
    assert.equal(note.operator, 'msgNew');
    assert.equal(note.data.bfShutup, true);
    assert.equal(note.data.groupId, 389284);
    assert.equal(note.data.chatType, 50);
    assert.equal(note.data.time, START);
  });

  it('pushes a message injected from another user as msgNew with isSelf false, to every client', async () => {
    const { client, sim, connect } = await setup({ edition: '68' }, true);
    const second = await connect();
    const message = sim.injectMessage({ chat: 'group', groupId: 389284, senderId: 7237423, content: 'hhh' });
    for (const c of [client, second]) {
      const push = await c.waitFor((f) => f.operator === 'msgNew');
      assert.equal(push.data.isSelf, false);
      assert.equal(push.data.content, 'hhh');
      assert.equal(push.data.sendUid, 7237423);
      assert.equal(push.data.msgId, message.msgId);
      assert.equal(push.data.sendMember.user.nickName, 'Pwgen');
    }
    sim.injectMessage({ chat: 'friend', senderId: 5858052, content: '在吗' });
    const friend = await client.waitFor((f) => f.operator === 'msgNew' && f.data.type === 'friend');
    assert.equal(friend.data.friendId, 5858052);
    assert.equal(friend.data.receiveUid, 4008697);
    assert.equal(friend.data.isSelf, false);
    assert.throws(() => sim.injectMessage({ chat: 'group', groupId: 389284, senderId: 5858052, content: 'x' }), /not a member/);
  });

  it('restart68 answers "restarting", drops every client and refuses new ones until the downtime ends', async () => {
    const { client, clock, sim, connect } = await setup({ edition: '68', restartDowntimeMs: 1000 }, true);
    const other = await connect();
    const answer = await client.call({ id: 'r1', type: 'restart68' });
    assert.equal(answer.data, 'restarting');
    await Promise.all([client.closed, other.closed]);
    assert.equal(sim.connections, 0);
    await assert.rejects(TestClient.connect(sim.url, { hello: true }), /503/);
    clock.advance(1000);
    const back = await connect();
    assert.equal(back.raws[0], '{"message":"Hello"}');
  });

  it('refuses the seed edition restart verb', async () => {
    const { client } = await setup({ edition: '68' }, true);
    const answer = await client.call({ id: 'r2', type: 'restartApp' });
    assert.equal(answer.error.errorCode, 401);
    assert.match(answer.error.errorDesc, /restart68/);
  });
});

describe('seed edition', () => {
  const setup = harness();

  it('sends no greeting and no pushes: a sendMsg gets its answer only, the world still tracks delivery', async () => {
    const { client, clock, sim } = await setup({ edition: 'seed', deliveryDelayMs: 10 }, false);
    const answer = await client.call(sendMsgFrame('m1', { group: 389284 }, 'hi'));
    assert.equal(answer.data, 'success');
    sim.injectMessage({ chat: 'group', groupId: 389284, senderId: 7237423, content: '只存不推' });
    clock.advance(10);
    await client.call({ id: 'after', type: 'getApiUrl' });
    assert.deepEqual(
      client.frames.map((f: Frame) => f.id),
      ['m1', 'after'],
      'nothing but answers',
    );
    assert.deepEqual(
      sim.world.messagesFor('group', 389284).map((m) => [m.content, m.status]),
      [
        ['hi', 'delivered'],
        ['只存不推', 'delivered'],
      ],
    );
  });

  it('restartApp drops the connection; a new one is accepted after the downtime', async () => {
    const { client, clock, sim, connect } = await setup({ edition: 'seed', restartDowntimeMs: 200 }, false);
    assert.equal((await client.call({ id: 'r1', type: 'restartApp' })).data, 'restarting');
    await client.closed;
    assert.equal(sim.restarting, true);
    clock.advance(200);
    assert.equal(sim.restarting, false);
    const again = await connect();
    assert.equal((await again.call({ id: 'x', type: 'getApiUrl' })).data, 'https://webbiz.qika.xyz');
  });
});
