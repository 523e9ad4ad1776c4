import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeServerFrame, encodeFrame, type DecodedFrame } from '../../src/protocol/codec';
import type { DeliveryEvent, MessageEvent, PushEvent } from '../../src/protocol/events';
import { SEED_EXAMPLES } from './seed-examples';
import {
  DELIVERY_DELIVERED,
  DELIVERY_FAILED,
  FILE_MESSAGE,
  FRIEND_MESSAGE,
  GROUP_MESSAGE,
  GROUP_RENAMED,
  IMAGE_MESSAGE,
  READ_CANCEL_NOTIFICATION,
  RECALL,
  SELF_TEXT_MESSAGE,
  groupShutupAll,
} from './push-examples';

function answerOf(decoded: DecodedFrame) {
  assert.equal(decoded.kind, 'answer');
  return decoded as Extract<DecodedFrame, { kind: 'answer' }>;
}

function pushOf(value: unknown): PushEvent {
  const decoded = decodeServerFrame(JSON.stringify(value));
  assert.equal(decoded.kind, 'push');
  return (decoded as Extract<DecodedFrame, { kind: 'push' }>).push;
}

function messageOf(value: unknown): MessageEvent {
  const push = pushOf(value);
  assert.equal(push.kind, 'message');
  return push as MessageEvent;
}

describe('decodeServerFrame: the seed examples', () => {
  const answered = SEED_EXAMPLES.filter((example) => example.answer !== undefined);

  for (const example of answered) {
    it(`decodes the ${example.title} answer with its id, type and data`, () => {
      const raw = example.answer!;
      const expected = JSON.parse(raw) as { id: string; type: string; data?: unknown; error?: unknown };
      const { frame, failure } = answerOf(decodeServerFrame(raw));
      assert.equal(frame.id, expected.id);
      assert.equal(frame.type, expected.type);
      assert.deepEqual(frame.data, expected.data);
      if (expected.error === undefined) assert.equal(failure, undefined);
      else assert.notEqual(failure, undefined);
    });
  }

  it('reads the error example as failure 300 with its description', () => {
    const errorExample = SEED_EXAMPLES.find((example) => example.title.startsWith('GroupReqList'))!;
    const { failure } = answerOf(decodeServerFrame(errorExample.answer!));
    assert.deepEqual(failure, { errorCode: 300, errorDesc: '很抱歉,服务繁忙,请联系客服 #A0030', source: 'error' });
  });

  it('decodes a Buffer the same as a string', () => {
    const raw = SEED_EXAMPLES[0]!.answer!;
    assert.deepEqual(decodeServerFrame(Buffer.from(raw, 'utf8')), decodeServerFrame(raw));
  });
});

describe('decodeServerFrame: answers', () => {
  it('treats a request answer whose commonResult.errCode is not 200 as a failure', () => {
    const raw = JSON.stringify({ id: 'a1', type: 'request', data: { commonResult: { errCode: 401, errMsg: 'not logged in' } } });
    const { failure } = answerOf(decodeServerFrame(raw));
    assert.deepEqual(failure, { errorCode: 401, errorDesc: 'not logged in', source: 'commonResult' });
  });

  it('accepts errCode 200 written as a string', () => {
    const raw = JSON.stringify({ id: 'a2', type: 'request', data: { commonResult: { errCode: '200' }, noticeId: '1' } });
    assert.equal(answerOf(decodeServerFrame(raw)).failure, undefined);
  });

  it('reads errCode only on request answers', () => {
    const raw = JSON.stringify({ id: 'a3', type: 'getGroups', data: { commonResult: { errCode: 500 } } });
    assert.equal(answerOf(decodeServerFrame(raw)).failure, undefined);
  });

  it('accepts success answers of shapes the seed does not show', () => {
    for (const data of [undefined, 'success', 'restarting', null, {}]) {
      const raw = JSON.stringify({ id: 'x', type: 'sendMsg', data });
      const decoded = answerOf(decodeServerFrame(raw));
      assert.equal(decoded.failure, undefined);
      assert.deepEqual(decoded.frame.data, data);
    }
  });

  it('hands a numeric id on as a string', () => {
    const { frame } = answerOf(decodeServerFrame('{"id":17,"type":"getApiUrl","data":"https://webbiz.qika.xyz"}'));
    assert.equal(frame.id, '17');
  });

  it('reads a malformed error body as a failure with unknown code', () => {
    const { failure } = answerOf(decodeServerFrame('{"id":"e","type":"sendMsg","error":"boom"}'));
    assert.deepEqual(failure, { errorCode: -1, errorDesc: 'boom', source: 'error' });
  });
});

describe('decodeServerFrame: greeting, unknown JSON and garbage', () => {
  it('recognises the greeting', () => {
    assert.deepEqual(decodeServerFrame('{"message":"Hello"}'), { kind: 'hello' });
    assert.deepEqual(decodeServerFrame('{\n\t"message": "Hello"\n}'), { kind: 'hello' });
  });

  it('reports valid JSON of no known shape as unknown, with the value', () => {
    for (const raw of ['[1,2,3]', '42', '"text"', 'null', 'true', '{"foo":1}', '{"message":"Bye"}', '{"id":"1"}', '{"type":"request"}']) {
      const decoded = decodeServerFrame(raw);
      assert.equal(decoded.kind, 'unknown', raw);
      assert.deepEqual((decoded as { value: unknown }).value, JSON.parse(raw));
    }
  });

  it('reports text that is not JSON as garbage with a reason', () => {
    for (const raw of ['', 'hello', '{"id":"1",', '{id:1}', '\u0000\u0001', 'undefined']) {
      const decoded = decodeServerFrame(raw);
      assert.equal(decoded.kind, 'garbage', JSON.stringify(raw));
      const garbage = decoded as Extract<DecodedFrame, { kind: 'garbage' }>;
      assert.equal(garbage.raw, raw);
      assert.ok(garbage.reason.length > 0);
    }
  });

  it('quotes only the start of long garbage', () => {
    const raw = `x${'y'.repeat(100_000)}`;
    const decoded = decodeServerFrame(raw) as Extract<DecodedFrame, { kind: 'garbage' }>;
    assert.equal(decoded.kind, 'garbage');
    assert.ok(decoded.raw.length < 300);
    assert.match(decoded.raw, /100001 chars/);
  });

  it('does not throw on huge values', () => {
    const content = '长'.repeat(4 * 1024 * 1024);
    const raw = JSON.stringify({ ...GROUP_MESSAGE, data: { ...GROUP_MESSAGE.data, content } });
    const message = messageOf(JSON.parse(raw));
    assert.equal(message.content.length, content.length);
  });

  it('does not throw on deeply nested values', () => {
    for (const depth of [1_000, 100_000]) {
      const nestedArray = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      assert.ok(['unknown', 'garbage'].includes(decodeServerFrame(nestedArray).kind));
      const nestedAnswer = `{"id":"d","type":"request","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
      assert.ok(['answer', 'garbage'].includes(decodeServerFrame(nestedAnswer).kind));
      const nestedPush = `{"operator":"msgNew","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
      assert.ok(['push', 'garbage'].includes(decodeServerFrame(nestedPush).kind));
    }
  });
});

describe('decodeServerFrame: pushes of the newer edition', () => {
  it('reads a group text message with string ids and the sender name', () => {
    const message = messageOf(GROUP_MESSAGE);
    assert.equal(message.chat, 'group');
    assert.equal(message.groupId, '389284');
    assert.equal(message.friendId, undefined);
    assert.equal(message.senderId, '7237423');
    assert.equal(message.senderName, 'Pwgen');
    assert.equal(message.content, 'hhh');
    assert.equal(message.msgType, 0);
    assert.equal(message.chatType, 0);
    assert.equal(message.msgId, '4626337038');
    assert.equal(message.customMsgId, '20298293316');
    assert.equal(message.isSelf, false);
    assert.deepEqual(message.atUids, []);
    assert.equal(message.sentAt, 1766115963742);
    assert.deepEqual(message.raw, GROUP_MESSAGE);
  });

  it('reads a friend message by its friendId', () => {
    const message = messageOf(FRIEND_MESSAGE);
    assert.equal(message.chat, 'friend');
    assert.equal(message.friendId, '4008697');
    assert.equal(message.groupId, undefined);
    assert.equal(message.senderId, '4008697');
    assert.equal(message.senderName, 'ID采集机器人🤖');
    assert.equal(message.content, 'Ffg');
  });

  it('marks the bot’s own messages with isSelf', () => {
    const message = messageOf(SELF_TEXT_MESSAGE);
    assert.equal(message.isSelf, true);
    assert.equal(message.customMsgId, '70790767392');
    assert.equal(message.senderName, 'ID采集机器人🤖');
  });

  it('keeps image and file contents in the bridge’s url||… form', () => {
    const image = messageOf(IMAGE_MESSAGE);
    assert.equal(image.msgType, 1);
    assert.equal(image.content.split('||').length, 4);
    const file = messageOf(FILE_MESSAGE);
    assert.equal(file.msgType, 7);
    assert.deepEqual(file.content.split('||').slice(1), ['ui.xml', '11994']);
  });

  it('reads at-mentions as string uids', () => {
    const message = messageOf({ ...GROUP_MESSAGE, data: { ...GROUP_MESSAGE.data, atUids: [4008697, '7128348'] } });
    assert.deepEqual(message.atUids, ['4008697', '7128348']);
  });

  it('decodes escaped newlines in text by default, and leaves them with real newlines', () => {
    const frame = { ...GROUP_MESSAGE, data: { ...GROUP_MESSAGE.data, content: 'line one\\nline two' } };
    assert.equal(messageOf(frame).content, 'line one\nline two');
    const decoded = decodeServerFrame(JSON.stringify(frame), { newlineEncoding: 'real' });
    assert.equal(((decoded as { push: MessageEvent }).push).content, 'line one\\nline two');
  });

  it('reads whole-group mute notifications, on and off', () => {
    for (const muted of [true, false]) {
      const push = pushOf(groupShutupAll(muted));
      assert.equal(push.kind, 'groupNotification');
      assert.deepEqual({ ...push, raw: undefined }, {
        kind: 'groupNotification',
        groupId: '389284',
        notification: 'groupShutupAll',
        muted,
        content: muted ? '管理员开启了全员禁言' : '管理员关闭了全员禁言',
        at: 1766116603039,
        raw: undefined,
      });
    }
  });

  it('reads the burn-after-read notification without a mute flag', () => {
    const push = pushOf(READ_CANCEL_NOTIFICATION);
    assert.equal(push.kind, 'groupNotification');
    if (push.kind !== 'groupNotification') return;
    assert.equal(push.notification, 'operatorReadCancel');
    assert.equal(push.muted, undefined);
  });

  it('reads delivery results, delivered and failed', () => {
    const delivered = pushOf(DELIVERY_DELIVERED);
    assert.equal(delivered.kind, 'deliveryReport');
    if (delivered.kind !== 'deliveryReport') return;
    assert.deepEqual(
      delivered.deliveries.map(({ raw: _raw, ...rest }) => rest),
      [{ kind: 'delivery', customMsgId: '10441859254', chat: 'group', targetId: '389284', state: 'delivered', msgId: '4667081534', at: 1766222907461 }],
    );
    const failed = pushOf(DELIVERY_FAILED);
    assert.equal(failed.kind, 'deliveryReport');
    if (failed.kind !== 'deliveryReport') return;
    const [entry] = failed.deliveries as [DeliveryEvent];
    assert.equal(entry.state, 'failed');
    assert.equal(entry.customMsgId, '30984532587');
    assert.equal(entry.msgId, undefined);
  });

  it('makes one delivery per list entry', () => {
    const two = {
      operator: 'msgListPropertyUpdate',
      data: {
        id: 7237423,
        type: 'friend',
        list: [
          { customMsgId: '11111111111', updated: { readStatus: 1, MsgID: 5 } },
          { customMsgId: '22222222222', updated: { readStatus: 0 } },
        ],
      },
    };
    const push = pushOf(two);
    assert.equal(push.kind, 'deliveryReport');
    if (push.kind !== 'deliveryReport') return;
    assert.deepEqual(
      push.deliveries.map((d) => [d.customMsgId, d.chat, d.targetId, d.state]),
      [
        ['11111111111', 'friend', '7237423', 'delivered'],
        ['22222222222', 'friend', '7237423', 'failed'],
      ],
    );
  });

  it('reads group updates and recalls', () => {
    const update = pushOf(GROUP_RENAMED);
    assert.equal(update.kind, 'groupUpdate');
    if (update.kind === 'groupUpdate') {
      assert.equal(update.groupId, '389284');
      assert.deepEqual(update.values, { name: '新的群名' });
    }
    const recall = pushOf(RECALL);
    assert.equal(recall.kind, 'recall');
    if (recall.kind === 'recall') assert.deepEqual(recall.messages, [{ msgId: '2565552547', targetId: '4008697', clearTime: 1773390253258 }]);
  });

  it('keeps pushes it cannot read as unknown pushes, with the reason', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ operator: 'memberJoin', data: {} }, /not known/],
      [{ operator: 'msgNew' }, /data/],
      [{ operator: 'msgNew', data: { type: 'group', content: 'x' } }, /sender/],
      [{ operator: 'msgNew', data: { type: 'channel', sendUid: 1 } }, /neither/],
      [{ operator: 'msgListPropertyUpdate', data: { list: [{}] } }, /no readable entry/],
      [{ operator: 'groupUpdate', data: { values: {} } }, /group id/],
      [{ operator: 'recall_msg', data: {} }, /no message/],
    ];
    for (const [frame, reason] of cases) {
      const push = pushOf(frame);
      assert.equal(push.kind, 'unknownPush', JSON.stringify(frame));
      if (push.kind === 'unknownPush') assert.match(push.reason, reason);
    }
  });
});

describe('encodeFrame', () => {
  for (const example of SEED_EXAMPLES) {
    it(`writes the ${example.title} request as the seed shows it`, () => {
      const frame = JSON.parse(example.request) as { id: string; type: string; data?: unknown };
      assert.equal(encodeFrame(frame), example.request);
    });
  }

  it('keeps an escaped newline as a backslash followed by n on the wire', () => {
    const text = encodeFrame({ id: '1', type: 'sendMsg', data: { content: 'a\\nb' } });
    assert.ok(text.includes('a\\\\nb'));
  });
});
