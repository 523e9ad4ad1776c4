import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CustomMsgIdSource, normaliseFriendRequest, normaliseGroup, toWireId } from '../../src/protocol/api';
import {
  BridgeArgumentError,
  BridgeDisconnectedError,
  BridgeError,
  BridgeTimeoutError,
  BridgeUnavailableError,
  ProtocolViolationError,
  STOPPED_REASON,
  isTransient,
  mightHaveActed,
} from '../../src/protocol/errors';
import { BUSY_ERROR_CODE, CUSTOM_MSG_ID_LENGTH, isWorldChanging } from '../../src/protocol/wire';
import { SEED_EXAMPLES } from './seed-examples';

/** A deterministic source of [0, 1) for repeatable ids. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('toWireId', () => {
  it('turns digit strings into JSON numbers', () => {
    assert.equal(toWireId('389284'), 389284);
    assert.equal(toWireId(' 7237423 '), 7237423);
    assert.equal(toWireId(4008697), 4008697);
    assert.equal(toWireId(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  });

  it('refuses what is not an id, naming what it was for', () => {
    for (const bad of ['', 'abc', '12a', '-1', '1e5', '1.5', -3, 2.5, Number.NaN]) {
      assert.throws(
        () => toWireId(bad, 'groupId'),
        (err: unknown) => err instanceof BridgeArgumentError && err.code === 'BRIDGE_INVALID_ARGUMENT' && err.message.startsWith('groupId'),
      );
    }
  });

  it('refuses ids a JSON number would change', () => {
    const unsafe = (BigInt(Number.MAX_SAFE_INTEGER) + 1n).toString();
    assert.throws(() => toWireId(unsafe, 'uid'), /uid 9007199254740992 is larger than 9007199254740991/);
  });
});

describe('CustomMsgIdSource', () => {
  it('issues ids of the configured length that never start with 0 and never repeat', () => {
    const source = new CustomMsgIdSource(seeded(7));
    const ids = Array.from({ length: 20_000 }, () => source.next());
    assert.ok(ids.every((id) => id.length === CUSTOM_MSG_ID_LENGTH && /^[1-9]\d+$/.test(id)));
    assert.equal(new Set(ids).size, ids.length);
  });

  it('walks the whole space of a short length without a repeat', () => {
    const source = new CustomMsgIdSource(seeded(3), 3);
    const ids = Array.from({ length: 900 }, () => source.next());
    assert.equal(new Set(ids).size, 900);
    assert.deepEqual(
      [...ids].sort(),
      Array.from({ length: 900 }, (_, i) => String(100 + i)),
    );
    assert.throws(() => source.next(), BridgeArgumentError);
  });

  it('differs between sources seeded differently', () => {
    assert.notEqual(new CustomMsgIdSource(seeded(1)).next(), new CustomMsgIdSource(seeded(2)).next());
  });
});

describe('normalisers', () => {
  it('reads the seed’s getGroups entry with string ids and the notice text', () => {
    const answer = JSON.parse(SEED_EXAMPLES.find((example) => example.title === 'getGroups')!.answer!) as { data: unknown[] };
    const group = normaliseGroup(answer.data[0]);
    assert.deepEqual(
      { id: group.id, name: group.name, hostId: group.hostId, memberCount: group.memberCount, muted: group.muted, notice: group.notice, noticeId: group.noticeId },
      { id: '389284', name: 'huimei', hostId: '7237423', memberCount: 4, muted: false, notice: 'asdd', noticeId: '1043631' },
    );
  });

  it('reads a group whose groupNotice is "" as having no notice', () => {
    assert.equal(normaliseGroup({ id: 1, groupNotice: '' }).notice, '');
  });

  it('reads the seed’s friend request record', () => {
    const answer = JSON.parse(SEED_EXAMPLES.find((example) => example.title === 'ContactsApplyList')!.answer!) as { data: { recordList: unknown[] } };
    const request = normaliseFriendRequest(answer.data.recordList[0]);
    assert.deepEqual(
      { uid: request.uid, nickName: request.nickName, msg: request.msg, createTime: request.createTime, modifyTime: request.modifyTime, type: request.type },
      { uid: '5138518', nickName: '八方来财4', msg: '验证:我是八方来财4', createTime: 1757214075000, modifyTime: 1759928661000, type: 'IDENTIFY' },
    );
  });
});

describe('world-changing frames and transient errors', () => {
  it('counts every frame as world-changing except the listed reads', () => {
    assert.equal(isWorldChanging('getGroups'), false);
    assert.equal(isWorldChanging('getApiUrl'), false);
    assert.equal(isWorldChanging('request', 'GroupDetail'), false);
    for (const type of ['sendMsg', 'sendFile', 'restartApp', 'restart68', 'somethingNew']) assert.equal(isWorldChanging(type), true, type);
    for (const apiName of ['GroupUpdate', 'GroupMemberShutup', 'UpdateContactsApply', 'NotInTheTable']) assert.equal(isWorldChanging('request', apiName), true, apiName);
    assert.equal(isWorldChanging('request'), true);
  });

  const read = { frameType: 'request', apiName: 'GroupDetail', frameId: 'r1', worldChanging: false };
  const write = { frameType: 'sendMsg', frameId: 'w1', worldChanging: true };

  it('calls busy transient, other codes permanent', () => {
    assert.equal(isTransient(new BridgeError({ errorCode: BUSY_ERROR_CODE, errorDesc: 'busy' }, read)), true);
    assert.equal(isTransient(new BridgeError({ errorCode: 500, errorDesc: 'no' }, read)), false);
  });

  it('calls timeouts and drops transient for reads and for frames never written', () => {
    assert.equal(isTransient(new BridgeTimeoutError(read, 10, true)), true);
    assert.equal(isTransient(new BridgeTimeoutError(write, 10, true)), false);
    assert.equal(isTransient(new BridgeDisconnectedError(read, true, 'closed')), true);
    assert.equal(isTransient(new BridgeDisconnectedError(write, true, 'closed')), false);
    assert.equal(isTransient(new BridgeDisconnectedError(write, false, 'closed')), true);
    assert.equal(isTransient(new BridgeDisconnectedError(read, true, STOPPED_REASON)), false);
    assert.equal(isTransient(new BridgeUnavailableError(10, 'reconnecting')), true);
    assert.equal(isTransient(new BridgeUnavailableError(0, 'stopped')), false);
    assert.equal(isTransient(new ProtocolViolationError('odd')), false);
    assert.equal(isTransient(new Error('plain')), false);
  });

  it('says when the bridge may have acted on a write', () => {
    assert.equal(mightHaveActed(new BridgeTimeoutError(write, 10, true)), true);
    assert.equal(mightHaveActed(new BridgeDisconnectedError(write, true, 'closed')), true);
    assert.equal(mightHaveActed(new BridgeDisconnectedError(write, false, 'closed')), false);
    assert.equal(mightHaveActed(new BridgeError({ errorCode: BUSY_ERROR_CODE, errorDesc: 'busy' }, write)), true);
    assert.equal(mightHaveActed(new BridgeTimeoutError(read, 10, true)), false);
    assert.equal(mightHaveActed(new BridgeUnavailableError(10, 'connecting')), false);
  });

  it('words each error for an operator, with its code', () => {
    const cases: Array<[Error & { code: string }, string, RegExp]> = [
      [new BridgeError({ errorCode: 300, errorDesc: '很抱歉,服务繁忙' }, read), 'BRIDGE_ERROR', /refused request GroupDetail \(frame r1\): 很抱歉,服务繁忙 \(errorCode 300\)/],
      [new BridgeTimeoutError(write, 15_000, true), 'BRIDGE_TIMEOUT', /no answer from the bridge to sendMsg \(frame w1\) within 15s; the bridge may still have acted/],
      [new BridgeDisconnectedError(write, false, 'closed by the bridge'), 'BRIDGE_DISCONNECTED', /had not been sent, so the bridge did not act/],
      [new BridgeUnavailableError(2_000, 'reconnecting', 'connect ECONNREFUSED'), 'BRIDGE_UNAVAILABLE', /not ready within 2s \(state reconnecting\); last error: connect ECONNREFUSED; nothing was sent/],
      [new ProtocolViolationError('the bridge answered getApiUrl with 42'), 'PROTOCOL_VIOLATION', /getApiUrl/],
    ];
    for (const [err, code, message] of cases) {
      assert.equal(err.code, code);
      assert.match(err.message, message);
    }
  });
});
