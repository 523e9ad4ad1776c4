import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ManualClock } from '../../src/shared/clock';
import type { BridgeSimulator, ReceivedFrame } from '../../src/sim';
import type { ChatApi } from '../../src/protocol/api';
import { toWireId } from '../../src/protocol/api';
import {
  BridgeArgumentError,
  BridgeDisconnectedError,
  BridgeError,
  BridgeTimeoutError,
  BridgeUnavailableError,
  isTransient,
  mightHaveActed,
} from '../../src/protocol/errors';
import type { DeliveryEvent, GroupNotificationEvent, MessageEvent } from '../../src/protocol/events';
import { MAX_PAYLOAD_BYTES } from '../../src/protocol/transport';
import { CUSTOM_MSG_ID_LENGTH, HELLO_MESSAGE, type AnswerFrame } from '../../src/protocol/wire';
import { FAST, closedPortUrl, connect, ready, sleep, startSim, waitFor } from './harness';
import { SEED_EXAMPLES } from './seed-examples';

type Frame = { id: string; type: string; data?: unknown; error?: unknown };

/** Frames the simulator received after `seq` of a frame type or ApiName. */
function receivedSince(sim: BridgeSimulator, seq: number, type: string): ReceivedFrame[] {
  return sim.received(type).filter((entry) => entry.seq > seq);
}

function lastSeq(sim: BridgeSimulator): number {
  return sim.record.at(-1)?.seq ?? 0;
}

/**
 * A frame as the seed would compare it: the id is ours to choose, the url's host rotates
 * (PROTOCOL.md), and custom_msg_id is the newer edition's addition.
 */
function comparable(frame: Frame): unknown {
  const { id: _id, ...rest } = frame;
  const copy = JSON.parse(JSON.stringify(rest)) as { type: string; data?: Record<string, unknown> };
  if (copy.data && typeof copy.data.url === 'string') copy.data.url = new URL(copy.data.url).pathname;
  if (copy.data) delete copy.data.custom_msg_id;
  return copy;
}

/** The JSON types along every key path of `example`, checked against `actual`. */
function assertSameShape(actual: unknown, example: unknown, path = 'data'): void {
  if (Array.isArray(example)) {
    assert.ok(Array.isArray(actual), `${path} should be an array`);
    if (example.length > 0 && actual.length > 0) assertSameShape(actual[0], example[0], `${path}[0]`);
    return;
  }
  if (example !== null && typeof example === 'object') {
    assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${path} should be an object`);
    for (const [key, value] of Object.entries(example)) {
      if (!(key in (actual as object))) continue; // optional in the bridge's answers (e.g. "online")
      assertSameShape((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
    return;
  }
  assert.equal(typeof actual, typeof example, `${path} should be a ${typeof example}`);
}

const GROUP = { chat: 'group', id: '389284' } as const;

/** The typed call that produces each seed example's request. */
const SEED_CALLS: Record<string, (api: ChatApi) => Promise<unknown>> = {
  UserInfo: (api) => api.userInfo(),
  ContactsList: (api) => api.contacts(),
  'GroupReqList (error example)': (api) => api.groupJoinRequests(0, 100),
  getGroups: (api) => api.getGroups(),
  'sendMsg to a friend': (api) => api.sendText({ chat: 'friend', id: '7237423' }, '这里改成你的消息'),
  'sendMsg to a group': (api) => api.sendText(GROUP, '这里改成你的消息'),
  'getGroups (second request example)': (api) => api.getGroups(),
  GroupMemberList: (api) => api.groupMembers('389284'),
  ContactsDetail: (api) => api.contactDetail('7237423'),
  ContactsApplyList: (api) => api.friendRequests(),
  GroupMemberOnLineStatusList: (api) => api.onlineStatus('389284', ['7237423', '4008697', '4017572', '7128348']),
  GroupDetail: (api) => api.groupDetail('389284'),
  sendFile: (api) => api.sendFile(GROUP, 'C:/Users/rtuge/Desktop/b.mp4'),
  getApiUrl: (api) => api.getApiUrl(),
  'sendMsg with several lines': (api) => api.sendText(GROUP, '发送多行文本\n123\n1234'),
  'GroupUpdate op 12 (notice)': (api) => api.setNotice('389284', '新的群通知', { announce: false }),
  'sendMsg chatType 8 (notice announcement)': (api) => api.sendText(GROUP, '新的群通知', { chatType: 8, bfAll: true }),
  'GroupUpdate op 11 (whole-group mute)': (api) => api.setGroupMute('389284', true),
  'sendMsg chatType 50 (mute announcement)': (api) => api.sendText(GROUP, '管理员开了全员禁言', { chatType: 50, bfShutup: true }),
  GroupMemberShutup: (api) => api.muteMember('441298', '7128348', 3600),
  restartApp: (api) => api.restart(),
};

describe('BridgeClient over a real socket: the seed examples', () => {
  it('sends every seed example frame as the seed shows it and reads the seed-shaped answers', async (t) => {
    const sim = await startSim(t);
    const { api, client } = await ready(t, sim.url);
    // The seed's error example is the busy answer to GroupReqList: make the simulator give it on every attempt.
    sim.scriptFault({ match: { apiName: 'GroupReqList' }, action: 'busy', times: 3 });

    for (const example of SEED_EXAMPLES) {
      const call = SEED_CALLS[example.title];
      assert.ok(call, `no typed call for the seed example ${example.title}`);
      await client.waitReady(2_000);
      const seq = lastSeq(sim);
      const expected = JSON.parse(example.request) as Frame;
      const result = await call(api).then(
        (value) => ({ value }),
        (err: unknown) => ({ err }),
      );
      const apiName = (expected.data as { type?: string } | undefined)?.type;
      const sent = receivedSince(sim, seq, expected.type === 'request' ? apiName! : expected.type);
      assert.ok(sent.length >= 1, `${example.title}: nothing sent`);
      assert.deepEqual(comparable(sent[0]!.frame as Frame), comparable(expected), example.title);
      // Ids are strings inside; here the wire carries them as the seed does: numbers where it sends numbers.
      assert.equal(typeof sent[0]!.frame!.id, 'string');
      if (expected.type === 'request') assert.ok((sent[0]!.frame as { data: { url: string } }).data.url.startsWith(client.apiUrl!));

      if (example.answer === undefined) continue;
      const seedAnswer = JSON.parse(example.answer) as Frame;
      if (seedAnswer.error !== undefined) {
        assert.ok('err' in result && result.err instanceof BridgeError, `${example.title} should fail`);
        assert.equal(result.err.errorCode, 300);
        assert.equal(result.err.transient, true);
        continue;
      }
      assert.ok('value' in result, `${example.title} failed: ${'err' in result ? String(result.err) : ''}`);
      const answers = sim.recordSince(seq).filter((entry) => entry.direction === 'out' && (entry.frame as Frame | undefined)?.id === sent[0]!.frame!.id);
      assert.equal(answers.length, 1, `${example.title}: one answer`);
      assertSameShape((answers[0]!.frame as Frame).data, seedAnswer.data);
    }
  });

  it('normalises answers to string ids and plain fields', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url);
    const groups = await api.getGroups();
    const huimei = groups.find((group) => group.id === '389284');
    assert.ok(huimei);
    const raw = huimei.raw as { id: number; hostId: number; memberCount: number; bfShutup: boolean };
    assert.equal(huimei.hostId, String(raw.hostId));
    assert.equal(huimei.memberCount, raw.memberCount);
    assert.equal(huimei.muted, raw.bfShutup);
    const detail = await api.groupDetail('389284');
    assert.equal(detail.id, huimei.id);
    assert.equal(detail.notice, huimei.notice);
    const members = await api.groupMembers('389284');
    assert.equal(members.length, detail.memberCount);
    assert.ok(members.every((member) => typeof member.uid === 'string' && /^\d+$/.test(member.uid)));
  });

  it('reads every page of a group’s members', async (t) => {
    const sim = await startSim(t);
    const { api, client } = await ready(t, sim.url, {}, { memberPageSize: 3 });
    const detail = await api.groupDetail('389284');
    const seq = lastSeq(sim);
    const members = await api.groupMembers('389284');
    assert.equal(members.length, detail.memberCount);
    assert.equal(new Set(members.map((m) => m.uid)).size, members.length);
    const pages = receivedSince(sim, seq, 'GroupMemberList').map((entry) => (entry.frame as { data: { data: { pageNum: number; pageSize: number } } }).data.data);
    assert.deepEqual(
      pages.map((page) => page.pageNum),
      Array.from({ length: Math.ceil(detail.memberCount / 3) }, (_, i) => i + 1),
    );
    assert.ok(pages.every((page) => page.pageSize === 3));
    assert.equal(client.metrics().framesSent.request, receivedSince(sim, 0, 'request').length);
  });
});

describe('BridgeClient: failures of the bridge', () => {
  it('retries a read answered "busy" and succeeds', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url);
    sim.scriptFault({ match: { apiName: 'GroupDetail' }, action: 'busy', times: 1 });
    const seq = lastSeq(sim);
    const detail = await api.groupDetail('389284');
    assert.equal(detail.id, '389284');
    assert.equal(receivedSince(sim, seq, 'GroupDetail').length, 2);
  });

  it('fails a read with a transient BridgeError 300 when its retries run out', async (t) => {
    const sim = await startSim(t);
    const { client } = await ready(t, sim.url, { readRetry: { attempts: 1 } });
    sim.scriptFault({ match: { type: 'getGroups' }, action: 'busy', times: 1 });
    const err = await client.call('getGroups').catch((e: unknown) => e);
    assert.ok(err instanceof BridgeError);
    assert.equal(err.code, 'BRIDGE_ERROR');
    assert.equal(err.errorCode, 300);
    assert.equal(err.transient, true);
    assert.equal(isTransient(err), true);
    assert.equal(mightHaveActed(err), false);
    assert.match(err.message, /busy/);
  });

  it('does not retry a send answered "busy"', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url);
    sim.scriptFault({ match: { type: 'sendMsg' }, action: 'busy', times: 1 });
    const seq = lastSeq(sim);
    const err = await api.sendText(GROUP, 'hello').catch((e: unknown) => e);
    assert.ok(err instanceof BridgeError);
    assert.equal(err.errorCode, 300);
    assert.equal(err.worldChanging, true);
    assert.equal(mightHaveActed(err), true);
    await sleep(60); // longer than every retry delay
    assert.equal(receivedSince(sim, seq, 'sendMsg').length, 1);
  });

  it('fails a request without an answer with BridgeTimeoutError', async (t) => {
    const sim = await startSim(t);
    const { client } = await ready(t, sim.url, { timeouts: { getGroups: 30 }, readRetry: { attempts: 1 } });
    sim.scriptFault({ match: { type: 'getGroups' }, action: 'silence', times: 1 });
    const started = Date.now();
    const err = await client.call('getGroups').catch((e: unknown) => e);
    assert.ok(err instanceof BridgeTimeoutError);
    assert.equal(err.code, 'BRIDGE_TIMEOUT');
    assert.equal(err.timeoutMs, 30);
    assert.equal(err.frameType, 'getGroups');
    assert.equal(err.written, true);
    assert.equal(isTransient(err), true);
    assert.ok(Date.now() - started >= 25);
    // The client stays usable.
    assert.ok(Array.isArray((await client.call('getGroups')).data));
  });

  it('times out by its injected clock', async (t) => {
    const sim = await startSim(t);
    const clock = new ManualClock(Date.now());
    const { client } = await ready(t, sim.url, { clock, requestTimeoutMs: 60_000, readRetry: { attempts: 1 } });
    sim.scriptFault({ match: { type: 'getGroups' }, action: 'silence', times: 1 });
    const seq = lastSeq(sim);
    let settled = false;
    const pending = client.call('getGroups').catch((e: unknown) => e).finally(() => (settled = true));
    await waitFor(() => receivedSince(sim, seq, 'getGroups').length === 1, 'getGroups on the wire');
    clock.advance(59_999);
    await sleep(5);
    assert.equal(settled, false);
    clock.advance(1);
    const err = await pending;
    assert.ok(err instanceof BridgeTimeoutError);
    assert.equal(err.timeoutMs, 60_000);
  });

  it('retries a read that timed out, and never a send', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url, { timeouts: { GroupDetail: 30, sendMsg: 30 } });
    sim.scriptFault({ match: { apiName: 'GroupDetail' }, action: 'silence', times: 1 });
    sim.scriptFault({ match: { type: 'sendMsg' }, action: 'silence', times: 1 });
    const seq = lastSeq(sim);
    assert.equal((await api.groupDetail('389284')).id, '389284');
    assert.equal(receivedSince(sim, seq, 'GroupDetail').length, 2);
    const err = await api.sendText(GROUP, 'are you there?').catch((e: unknown) => e);
    assert.ok(err instanceof BridgeTimeoutError);
    assert.equal(mightHaveActed(err), true);
    assert.equal(isTransient(err), false);
    assert.match(err.message, /not resent/);
    await sleep(60);
    assert.equal(receivedSince(sim, seq, 'sendMsg').length, 1);
  });

  it('fails a frame in flight with BridgeDisconnectedError when the connection drops, then reconnects with backoff', async (t) => {
    const sim = await startSim(t);
    const { api, client } = await ready(t, sim.url);
    const reconnecting: Array<{ attempt: number; delayMs: number }> = [];
    client.on('reconnecting', (info) => reconnecting.push(info));
    const disconnected = once(client, 'disconnected');
    sim.scriptFault({ match: { type: 'sendMsg' }, action: 'drop', times: 1 });
    const seq = lastSeq(sim);
    const err = await api.sendText(GROUP, 'one').catch((e: unknown) => e);
    assert.ok(err instanceof BridgeDisconnectedError);
    assert.equal(err.code, 'BRIDGE_DISCONNECTED');
    assert.equal(err.written, true);
    assert.equal(mightHaveActed(err), true);
    assert.match(err.message, /may have acted/);
    await disconnected;
    await once(client, 'ready');
    assert.equal(reconnecting.length, 1);
    assert.equal(reconnecting[0]!.attempt, 1);
    assert.ok(reconnecting[0]!.delayMs >= 0 && reconnecting[0]!.delayMs <= FAST.reconnect!.initialDelayMs!);
    await sleep(40);
    assert.equal(receivedSince(sim, seq, 'sendMsg').length, 1);
    assert.equal((await api.sendText(GROUP, 'two')).state, 'accepted');
  });

  it('retries a read whose connection dropped, on the next connection', async (t) => {
    const sim = await startSim(t);
    const { api, client } = await ready(t, sim.url);
    sim.scriptFault({ match: { apiName: 'GroupDetail' }, action: 'drop', times: 1 });
    const seq = lastSeq(sim);
    assert.equal((await api.groupDetail('389284')).id, '389284');
    const attempts = receivedSince(sim, seq, 'GroupDetail');
    assert.equal(attempts.length, 2);
    assert.notEqual(attempts[0]!.connectionId, attempts[1]!.connectionId);
    assert.equal(client.metrics().reconnects, 1);
  });

  it('sends no world-changing frame twice across drops and timeouts', async (t) => {
    const sim = await startSim(t);
    const { api, client } = await ready(t, sim.url, { timeouts: { request: 40, sendMsg: 40, sendFile: 40 } });
    const faults = ['drop', 'silence', 'busy'] as const;
    const writes: Array<[string, (fault: (typeof faults)[number]) => Promise<unknown>]> = [
      ['sendMsg', () => api.sendText(GROUP, 'hello')],
      ['sendFile', () => api.sendFile(GROUP, 'C:/a.txt')],
      ['GroupUpdate', () => api.setGroupMute('389284', true)],
      ['GroupMemberShutup', () => api.muteMember('389284', '7128348', 60)],
      ['UpdateContactsApply', () => api.answerFriendRequest('6203001', true)],
    ];
    const seq = lastSeq(sim);
    let calls = 0;
    for (const fault of faults) {
      for (const [name, write] of writes) {
        await client.waitReady(2_000);
        sim.scriptFault({ match: name === 'sendMsg' || name === 'sendFile' ? { type: name } : { apiName: name }, action: fault, times: 1 });
        calls += 1;
        await assert.rejects(write(fault));
      }
    }
    await sleep(80);
    const sent = sim.worldChangingReceived().filter((entry) => entry.seq > seq);
    assert.equal(sent.length, calls);
    assert.equal(new Set(sent.map((entry) => entry.frame.id)).size, calls);
  });

  it('emits a garbage frame and keeps working', async (t) => {
    const sim = await startSim(t);
    const { client, log } = await ready(t, sim.url);
    const garbage = once(client, 'garbage');
    sim.sendRaw('{"id":"1","type":"getGroups","data":[{');
    const [info] = (await garbage) as [{ raw: string; reason: string }];
    assert.equal(info.raw, '{"id":"1","type":"getGroups","data":[{');
    assert.ok(info.reason.length > 0);
    assert.ok(log.messages('warn').some((msg) => /not JSON/.test(msg)));
    const unknown = once(client, 'unknownFrame');
    sim.sendRaw('{"hello":"world"}');
    assert.deepEqual((await unknown)[0], { hello: 'world' });
    assert.equal(client.state, 'ready');
    assert.ok(Array.isArray((await client.call('getGroups')).data));
    const metrics = client.metrics();
    assert.equal(metrics.garbage, 1);
    assert.equal(metrics.unknownFrames, 1);
  });

  it('retries a read whose answer came back as garbage', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url, { timeouts: { GroupDetail: 30 } });
    sim.scriptFault({ match: { apiName: 'GroupDetail' }, action: 'garbage', times: 1 });
    const seq = lastSeq(sim);
    assert.equal((await api.groupDetail('389284')).id, '389284');
    assert.equal(receivedSince(sim, seq, 'GroupDetail').length, 2);
  });

  it('terminates a connection whose peer stops answering pings, and reconnects', async (t) => {
    const sim = await startSim(t);
    const { client } = await ready(t, sim.url, { heartbeat: { intervalMs: 10, timeoutMs: 20 } });
    await sleep(50); // a few pings answered: nothing happens
    assert.equal(client.state, 'ready');
    const disconnected = once(client, 'disconnected');
    sim.setPongs(false);
    const [info] = (await disconnected) as [{ reason: string }];
    assert.match(info.reason, /pong/);
    sim.setPongs(true);
    await once(client, 'ready');
    assert.ok(Array.isArray((await client.call('getGroups')).data));
  });

  it('treats a frame that is not valid UTF-8 as a drop: logged, reconnected', async (t) => {
    const sim = await startSim(t);
    const { client, log } = await ready(t, sim.url);
    const disconnected = once(client, 'disconnected');
    sim.sendRaw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    const [info] = (await disconnected) as [{ reason: string }];
    assert.match(info.reason, /UTF-8/);
    assert.ok(log.messages('warn').some((msg) => /UTF-8/.test(msg)));
    await once(client, 'ready');
    assert.ok(Array.isArray((await client.call('getGroups')).data));
  });

  it('treats a frame over the payload limit as a drop: logged, reconnected', async (t) => {
    const sim = await startSim(t);
    const { client, log } = await ready(t, sim.url);
    const disconnected = once(client, 'disconnected');
    sim.sendRaw(Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20));
    const [info] = (await disconnected) as [{ reason: string }];
    assert.match(info.reason, /larger than/);
    assert.ok(log.messages('warn').some((msg) => /1009/.test(msg)));
    await once(client, 'ready');
    assert.ok(Array.isArray((await client.call('getGroups')).data));
  });

  it('fails a read in flight when a frame is not valid UTF-8, then succeeds on retry', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url);
    sim.scriptFault({ match: { apiName: 'GroupDetail' }, action: 'invalid-utf8', times: 1 });
    assert.equal((await api.groupDetail('389284')).id, '389284');
  });
});

describe('BridgeClient: correlation', () => {
  it('matches 64 concurrent requests to their own answers', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url);
    const groups = await api.getGroups();
    const asked = Array.from({ length: 64 }, (_, i) => groups[i % groups.length]!.id);
    const details = await Promise.all(asked.map((id) => api.groupDetail(id)));
    assert.deepEqual(
      details.map((detail) => detail.id),
      asked,
    );
  });

  it('matches an answer with a foreign id to the only frame of its type in flight, and logs it', async (t) => {
    const sim = await startSim(t);
    const { client, log } = await ready(t, sim.url);
    sim.scriptFault({ match: { type: 'getGroups' }, action: 'silence', times: 1 });
    const seq = lastSeq(sim);
    const answer = client.call('getGroups');
    await waitFor(() => receivedSince(sim, seq, 'getGroups').length === 1, 'getGroups on the wire');
    // The seed's own example: a getGroups answered with "id": "1".
    sim.sendRaw(JSON.stringify({ id: '1', type: 'getGroups', data: [{ id: 389284, name: 'huimei' }] }));
    const frame = await answer;
    assert.equal(frame.id, '1');
    assert.deepEqual(frame.data, [{ id: 389284, name: 'huimei' }]);
    assert.ok(log.messages('warn').some((msg) => /only frame of its type/.test(msg)));
  });

  it('emits an answer it cannot match as unsolicited, and lets two frames of its type wait', async (t) => {
    const sim = await startSim(t);
    const { client } = await ready(t, sim.url, { timeouts: { getGroups: 60 }, readRetry: { attempts: 1 } });
    sim.scriptFault({ match: { type: 'getGroups' }, action: 'silence', times: 2 });
    const seq = lastSeq(sim);
    const first = client.call('getGroups').catch((e: unknown) => e);
    const second = client.call('getGroups').catch((e: unknown) => e);
    await waitFor(() => receivedSince(sim, seq, 'getGroups').length === 2, 'both getGroups on the wire');
    const unsolicited = once(client, 'unsolicited');
    sim.sendRaw(JSON.stringify({ id: 'not-ours', type: 'getGroups', data: [] }));
    assert.equal(((await unsolicited)[0] as AnswerFrame).id, 'not-ours');
    assert.ok((await first) instanceof BridgeTimeoutError);
    assert.ok((await second) instanceof BridgeTimeoutError);
    assert.equal(client.metrics().unsolicited, 1);
  });

  it('never matches a late answer to a newer frame of the same type', async (t) => {
    const sim = await startSim(t);
    const { client } = await ready(t, sim.url, { timeouts: { getGroups: 40 }, readRetry: { attempts: 1 } });
    sim.scriptFault({ match: { type: 'getGroups' }, action: 'silence', times: 2 });
    const seq = lastSeq(sim);
    assert.ok((await client.call('getGroups').catch((e: unknown) => e)) instanceof BridgeTimeoutError);
    const lateId = receivedSince(sim, seq, 'getGroups')[0]!.frame!.id;
    const newer = client.call('getGroups').catch((e: unknown) => e);
    await waitFor(() => receivedSince(sim, seq, 'getGroups').length === 2, 'second getGroups on the wire');
    const unsolicited = once(client, 'unsolicited');
    sim.sendRaw(JSON.stringify({ id: lateId, type: 'getGroups', data: [] }));
    assert.equal(((await unsolicited)[0] as AnswerFrame).id, lateId);
    assert.ok((await newer) instanceof BridgeTimeoutError);
  });

  it('keeps ids as strings inside and sends numbers on the wire', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url);
    const seq = lastSeq(sim);
    const sent = await api.sendText({ chat: 'friend', id: '7237423' }, 'hi');
    assert.equal(typeof sent.frameId, 'string');
    assert.match(sent.customMsgId, new RegExp(`^[1-9]\\d{${CUSTOM_MSG_ID_LENGTH - 1}}$`));
    const frame = receivedSince(sim, seq, 'sendMsg')[0]!.frame as { id: string; data: { id: unknown; custom_msg_id: unknown } };
    assert.equal(frame.id, sent.frameId);
    assert.equal(frame.data.id, 7237423);
    assert.equal(frame.data.custom_msg_id, sent.customMsgId);
    await api.onlineStatus('389284', ['7237423', '4008697']);
    const status = receivedSince(sim, seq, 'GroupMemberOnLineStatusList')[0]!.frame as { data: { data: { groupId: unknown; uids: unknown } } };
    assert.deepEqual(status.data.data, { groupId: 389284, uids: [7237423, 4008697] });
  });

  it('refuses ids that are not digits or beyond the safe integer range, and sends nothing', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url);
    const seq = lastSeq(sim);
    const tooBig = (BigInt(Number.MAX_SAFE_INTEGER) + 2n).toString();
    for (const id of [tooBig, '12a', '', '-5', '1.5']) {
      await assert.rejects(api.sendText({ chat: 'group', id }, 'x'), (err: unknown) => err instanceof BridgeArgumentError && err.code === 'BRIDGE_INVALID_ARGUMENT');
    }
    await assert.rejects(api.groupDetail(tooBig), /larger than 9007199254740991/);
    assert.equal(sim.recordSince(seq).filter((entry) => entry.direction === 'in').length, 0);
    assert.equal(toWireId(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  });

  it('never reuses a custom_msg_id', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url);
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => api.sendText(GROUP, `message ${i}`).then((sent) => sent.customMsgId)));
    assert.equal(new Set(ids).size, ids.length);
  });

  it('hands the frame to onPrepared before writing it, and writes nothing if it throws', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url);
    const seq = lastSeq(sim);
    let seenOnWireBefore = -1;
    const sent = await api.sendText(GROUP, 'recorded first', {
      onPrepared: (frame) => {
        seenOnWireBefore = receivedSince(sim, seq, 'sendMsg').length;
        assert.equal(typeof frame.id, 'string');
      },
    });
    assert.equal(seenOnWireBefore, 0);
    assert.equal(receivedSince(sim, seq, 'sendMsg').length, 1);
    assert.equal(receivedSince(sim, seq, 'sendMsg')[0]!.frame!.id, sent.frameId);
    await assert.rejects(
      api.sendText(GROUP, 'never sent', {
        onPrepared: () => {
          throw new Error('disk full');
        },
      }),
      /disk full/,
    );
    await sleep(20);
    assert.equal(receivedSince(sim, seq, 'sendMsg').length, 1);
  });
});

describe('BridgeClient: text encoding', () => {
  for (const [encoding, wire] of [
    ['escaped', 'first\\nsecond\\nthird'],
    ['real', 'first\nsecond\nthird'],
  ] as const) {
    it(`sends multi-line text with ${encoding} newlines`, async (t) => {
      const sim = await startSim(t);
      const { api } = await ready(t, sim.url, { newlineEncoding: encoding });
      const seq = lastSeq(sim);
      await api.sendText(GROUP, 'first\nsecond\r\nthird');
      const frame = receivedSince(sim, seq, 'sendMsg')[0]!;
      const data = (frame.frame as { data: { list: Array<{ values: { content: string } }> } }).data;
      assert.equal(data.list[0]!.values.content, wire);
      if (encoding === 'escaped') assert.ok(frame.raw.includes(String.raw`first\\nsecond`));
    });
  }
});

describe('BridgeClient: apiUrl', () => {
  it('asks getApiUrl after every connect and builds urls from the answer', async (t) => {
    const first = await startSim(t, { apiUrl: 'https://webbiz.angg1.com' });
    const { api, client } = await ready(t, first.url);
    assert.equal(client.apiUrl, 'https://webbiz.angg1.com');
    assert.equal(first.received('getApiUrl').length, 1);
    await api.userInfo();
    assert.equal((first.received('UserInfo')[0]!.frame as { data: { url: string } }).data.url, 'https://webbiz.angg1.com/user/userInfo');

    // The bridge comes back on the same port with another backend host.
    const port = first.port;
    const disconnected = once(client, 'disconnected');
    await first.stop();
    await disconnected;
    const second = await startSim(t, { port, apiUrl: 'https://webbiz.kngg3.com' });
    await once(client, 'ready');
    assert.equal(second.received('getApiUrl').length, 1);
    assert.equal(client.apiUrl, 'https://webbiz.kngg3.com');
    await api.groupDetail('389284');
    assert.equal((second.received('GroupDetail')[0]!.frame as { data: { url: string } }).data.url, 'https://webbiz.kngg3.com/group/groupDetail');
  });

  it('uses a configured apiUrl without asking', async (t) => {
    const sim = await startSim(t);
    const { api } = await ready(t, sim.url, { apiUrl: 'https://webbiz.example.com/' });
    await api.contacts();
    assert.equal(sim.received('getApiUrl').length, 0);
    assert.equal((sim.received('ContactsList')[0]!.frame as { data: { url: string } }).data.url, 'https://webbiz.example.com/contacts/contactsList');
  });

  it('drops and retries a connection whose getApiUrl fails while no apiUrl is known', async (t) => {
    const sim = await startSim(t);
    sim.scriptFault({ match: { type: 'getApiUrl' }, action: 'busy', times: 1 });
    const { client } = connect(t, sim.url);
    await client.waitReady(2_000);
    assert.equal(sim.received('getApiUrl').length, 2);
    assert.equal(new Set(sim.received('getApiUrl').map((entry) => entry.connectionId)).size, 2);
  });
});

describe('BridgeClient: lifecycle', () => {
  it('holds requests made before it is ready and writes them once ready', async (t) => {
    const sim = await startSim(t);
    const { client } = connect(t, sim.url);
    assert.notEqual(client.state, 'ready');
    const groups = await client.call('getGroups');
    assert.ok(Array.isArray(groups.data));
    const getApiUrl = sim.received('getApiUrl')[0]!;
    assert.ok(sim.received('getGroups')[0]!.seq > getApiUrl.seq);
  });

  it('fails with BridgeUnavailableError when the bridge is not there, having sent nothing', async (t) => {
    const url = await closedPortUrl();
    const { client, api } = connect(t, url, { requestTimeoutMs: 60 });
    await assert.rejects(client.waitReady(40), (err: unknown) => err instanceof BridgeUnavailableError && /not ready within 40ms/.test(err.message));
    const err = await api.sendText(GROUP, 'nobody home').catch((e: unknown) => e);
    assert.ok(err instanceof BridgeUnavailableError);
    assert.equal(err.code, 'BRIDGE_UNAVAILABLE');
    assert.equal(isTransient(err), true);
    assert.equal(mightHaveActed(err), false);
    assert.match(err.message, /nothing was sent/);
    assert.equal(client.metrics().framesSent.sendMsg, undefined);
  });

  it('backs off with full jitter, up to the cap', async (t) => {
    const url = await closedPortUrl();
    const policy = { initialDelayMs: 4, maxDelayMs: 20, factor: 2 };
    const { client } = connect(t, url, { reconnect: policy, random: () => 0.75 });
    const delays: number[] = [];
    client.on('reconnecting', (info) => delays.push(info.delayMs));
    await waitFor(() => delays.length >= 5, 'five reconnect attempts');
    const expected = [0, 1, 2, 3, 4].map((n) => Math.round(0.75 * Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** n)));
    assert.deepEqual(delays.slice(0, 5), expected);
  });

  it('resets the backoff after a stable connection only', async (t) => {
    const sim = await startSim(t);
    const attempts: number[] = [];
    const unstable = await ready(t, sim.url, { reconnect: { initialDelayMs: 2, maxDelayMs: 10, stableAfterMs: 60_000 } });
    unstable.client.on('reconnecting', (info) => attempts.push(info.attempt));
    for (let drop = 0; drop < 2; drop++) {
      sim.dropConnections();
      await once(unstable.client, 'ready');
    }
    assert.deepEqual(attempts, [1, 2]);
    await unstable.client.stop();

    const stableAttempts: number[] = [];
    const stable = await ready(t, sim.url, { reconnect: { initialDelayMs: 2, maxDelayMs: 10, stableAfterMs: 0 } });
    stable.client.on('reconnecting', (info) => stableAttempts.push(info.attempt));
    for (let drop = 0; drop < 2; drop++) {
      sim.dropConnections();
      await once(stable.client, 'ready');
    }
    assert.deepEqual(stableAttempts, [1, 1]);
  });

  it('stop() fails everything pending and closes the socket', async (t) => {
    const sim = await startSim(t);
    const { client } = await ready(t, sim.url);
    sim.scriptFault({ match: { type: 'getGroups' }, action: 'silence', times: 1 });
    const seq = lastSeq(sim);
    const pending = client.call('getGroups').catch((e: unknown) => e);
    await waitFor(() => receivedSince(sim, seq, 'getGroups').length === 1, 'getGroups on the wire');
    await client.stop();
    const err = await pending;
    assert.ok(err instanceof BridgeDisconnectedError);
    assert.equal(err.written, true);
    assert.equal(isTransient(err), false);
    assert.equal(client.state, 'stopped');
    await waitFor(() => sim.connections === 0, 'the socket to close');
    await assert.rejects(client.call('getGroups'), BridgeUnavailableError);
  });

  it('counts frames, answers and reconnects', async (t) => {
    const sim = await startSim(t);
    const { client, api } = await ready(t, sim.url);
    await api.getGroups();
    await api.sendText(GROUP, 'counted');
    const metrics = client.metrics();
    assert.equal(metrics.framesSent.getApiUrl, sim.received('getApiUrl').length);
    assert.equal(metrics.framesSent.getGroups, sim.received('getGroups').length);
    assert.equal(metrics.framesSent.sendMsg, sim.received('sendMsg').length);
    assert.equal(metrics.answers, sim.record.filter((entry) => entry.direction === 'out' && (entry.frame as Frame | undefined)?.id !== undefined).length);
    assert.ok(metrics.lastAnswerAt !== undefined && metrics.lastAnswerAt <= Date.now());
    assert.equal(metrics.pending, 0);
    assert.equal(metrics.state, 'ready');
  });

  it('restart() writes the edition’s verb once and reconnects after the drop', async (t) => {
    for (const edition of ['seed', '68'] as const) {
      const sim = await startSim(t, { edition });
      const { api, client } = await ready(t, sim.url, { edition });
      const verb = edition === 'seed' ? 'restartApp' : 'restart68';
      const result = await api.restart();
      assert.equal(result.verb, verb);
      await once(client, 'ready');
      assert.equal(sim.received(verb).length, 1);
      assert.equal(result.frameId, sim.received(verb)[0]!.frame!.id);
    }
  });

  it('survives a listener that throws', async (t) => {
    const sim = await startSim(t);
    const { client, log } = await ready(t, sim.url);
    client.on('garbage', () => {
      throw new Error('listener bug');
    });
    const garbage = once(client, 'garbage');
    sim.sendRaw('nope');
    await garbage;
    assert.ok(log.messages('error').some((msg) => /listener/.test(msg)));
    assert.ok(Array.isArray((await client.call('getGroups')).data));
  });
});

describe('BridgeClient: the newer edition (68)', () => {
  it('waits for the greeting before its first frame', async (t) => {
    const sim = await startSim(t, { edition: '68' });
    const { client } = await ready(t, sim.url, { edition: '68' });
    assert.equal(client.state, 'ready');
    const hello = sim.record.find((entry) => entry.direction === 'out' && (entry.frame as { message?: string } | undefined)?.message === HELLO_MESSAGE);
    const firstIn = sim.record.find((entry) => entry.direction === 'in');
    assert.ok(hello && firstIn);
    assert.ok(hello.seq < firstIn.seq);
  });

  it('goes on without a greeting after the greeting timeout, and says so', async (t) => {
    const sim = await startSim(t, { edition: 'seed' });
    const started = Date.now();
    const { client, log } = await ready(t, sim.url, { edition: '68', greetingTimeoutMs: 40 });
    assert.ok(Date.now() - started >= 35);
    assert.equal(client.state, 'ready');
    assert.ok(log.messages('warn').some((msg) => /did not greet/.test(msg)));
  });

  it('emits incoming messages with string ids, and marks its own echoes isSelf', async (t) => {
    const sim = await startSim(t, { edition: '68' });
    const { client, api } = await ready(t, sim.url, { edition: '68' });
    const messages: MessageEvent[] = [];
    client.on('message', (message) => messages.push(message));
    sim.injectMessage({ chat: 'group', groupId: 389284, senderId: 7237423, content: 'hi\\nthere' });
    await waitFor(() => messages.length === 1, 'the injected message');
    assert.deepEqual(
      { chat: messages[0]!.chat, groupId: messages[0]!.groupId, senderId: messages[0]!.senderId, content: messages[0]!.content, isSelf: messages[0]!.isSelf },
      { chat: 'group', groupId: '389284', senderId: '7237423', content: 'hi\nthere', isSelf: false },
    );
    const sent = await api.sendText(GROUP, 'my own words');
    await waitFor(() => messages.length === 2, 'the echo of our message');
    assert.equal(messages[1]!.isSelf, true);
    assert.equal(messages[1]!.customMsgId, sent.customMsgId);
    assert.equal(messages[1]!.content, 'my own words');
  });

  it('turns delivery results into delivered and failed', async (t) => {
    const sim = await startSim(t, { edition: '68', deliveryDelayMs: 5 });
    const { client, api } = await ready(t, sim.url, { edition: '68' });
    const deliveries: DeliveryEvent[] = [];
    client.on('delivery', (delivery) => deliveries.push(delivery));

    const delivered = await api.sendText(GROUP, 'will arrive');
    assert.equal(delivered.state, 'accepted');
    const outcome = await api.waitForDelivery(delivered.customMsgId, 1_000);
    assert.equal(outcome.state, 'delivered');
    assert.match(outcome.msgId ?? '', /^\d+$/);

    sim.setFaults({ deliveryFailure: 1 });
    const failed = await api.sendText(GROUP, 'will not arrive');
    assert.equal((await api.waitForDelivery(failed.customMsgId, 1_000)).state, 'failed');
    assert.deepEqual(
      deliveries.map((d) => [d.customMsgId, d.state, d.targetId]),
      [
        [delivered.customMsgId, 'delivered', '389284'],
        [failed.customMsgId, 'failed', '389284'],
      ],
    );
    // A result that already arrived is remembered.
    assert.equal((await api.waitForDelivery(delivered.customMsgId, 10)).state, 'delivered');
  });

  it('leaves a message accepted where no delivery result comes (the seed edition)', async (t) => {
    const sim = await startSim(t, { edition: 'seed' });
    const { api } = await ready(t, sim.url);
    const sent = await api.sendText(GROUP, 'no receipts here');
    assert.deepEqual(await api.waitForDelivery(sent.customMsgId, 30), { customMsgId: sent.customMsgId, state: 'accepted' });
  });

  it('announces mute and notice changes and emits the mute notification', async (t) => {
    const sim = await startSim(t, { edition: '68' });
    const { client, api } = await ready(t, sim.url, { edition: '68' });
    const notifications: GroupNotificationEvent[] = [];
    client.on('groupNotification', (event) => notifications.push(event));
    const seq = lastSeq(sim);
    const mute = await api.setGroupMute('389284', true, { announce: '管理员开了全员禁言' });
    assert.ok(mute.announcement);
    await waitFor(() => notifications.length >= 1, 'the mute notification');
    assert.equal(notifications[0]!.groupId, '389284');
    assert.equal(notifications[0]!.muted, true);
    const announcement = receivedSince(sim, seq, 'sendMsg')[0]!.frame as { data: { list: Array<{ values: object }> } };
    assert.deepEqual(announcement.data.list[0]!.values, { chatType: 50, content: '管理员开了全员禁言', bfShutup: true });
    assert.equal((await api.getGroups()).find((group) => group.id === '389284')!.muted, true);

    const notice = await api.setNotice('389284', '新的群通知');
    assert.ok(notice.announcement);
    assert.equal((await api.groupDetail('389284')).notice, '新的群通知');
  });

  it('does not announce a notice whose update failed', async (t) => {
    const sim = await startSim(t, { edition: '68' });
    const { api } = await ready(t, sim.url, { edition: '68' });
    sim.scriptFault({ match: { apiName: 'GroupUpdate' }, action: { error: { errorCode: 500, errorDesc: 'no right' } }, times: 1 });
    const seq = lastSeq(sim);
    await assert.rejects(api.setNotice('389284', 'x'), (err: unknown) => err instanceof BridgeError && err.errorCode === 500 && !err.transient);
    await sleep(20);
    assert.equal(receivedSince(sim, seq, 'sendMsg').length, 0);
    assert.equal(receivedSince(sim, seq, 'GroupUpdate').length, 1);
  });
});
