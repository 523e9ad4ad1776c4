import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BridgeSimulator, SIM_ERRORS } from '../../src/sim';
import { TestClient, requestFrame, sendMsgFrame, type Frame } from './helpers';

interface Case {
  name: string;
  frame: Frame | string;
  errorCode: number;
  /** What the errorDesc must mention, so the sender knows what to fix. */
  mentions: RegExp;
  /** The id echoed on the error frame, when the frame had a readable one. */
  echoedId?: string;
}

const text = (content: string, values: Record<string, unknown> = {}) => [{ type: 'text', values: { chatType: 0, content, ...values } }];

const CASES: Case[] = [
  { name: 'not JSON', frame: '{"id":"1","type":', errorCode: 400, mentions: /not JSON/ },
  { name: 'a JSON array', frame: '[1,2]', errorCode: 400, mentions: /object/ },
  { name: 'no id', frame: { type: 'getGroups' }, errorCode: 400, mentions: /"id"/ },
  { name: 'a numeric id', frame: { id: 7, type: 'getGroups' }, errorCode: 400, mentions: /"id".*string/ },
  { name: 'no type', frame: { id: 'v1' }, errorCode: 400, mentions: /"type"/, echoedId: 'v1' },
  { name: 'an unknown frame type', frame: { id: 'v2', type: 'sendMessage' }, errorCode: 401, mentions: /sendMessage/, echoedId: 'v2' },
  { name: "the newer edition's restart verb", frame: { id: 'v3', type: 'restart68' }, errorCode: 401, mentions: /restartApp/, echoedId: 'v3' },
  {
    name: 'an unknown ApiName',
    frame: requestFrame('v4', 'GroupKick', '/group/groupKick', { groupId: 389284 }),
    errorCode: 402,
    mentions: /GroupKick/,
    echoedId: 'v4',
  },
  {
    name: "a url that does not end with the ApiName's path",
    frame: requestFrame('v5', 'GroupDetail', '/group/groupInfo', { groupId: 389284 }),
    errorCode: 403,
    mentions: /\/group\/groupDetail/,
    echoedId: 'v5',
  },
  {
    name: 'a url with a query string',
    frame: { id: 'v6', type: 'request', data: { type: 'UserInfo', url: 'https://h.test/user/userInfo?x=1' } },
    errorCode: 403,
    mentions: /\/user\/userInfo/,
    echoedId: 'v6',
  },
  {
    name: 'GroupMemberList without protoType',
    frame: requestFrame('v7', 'GroupMemberList', '/group/groupMemberListV2', { groupId: 389284, pageSize: 10, pageNum: 1 }),
    errorCode: 403,
    mentions: /protoType/,
    echoedId: 'v7',
  },
  {
    name: 'groupId as a string',
    frame: requestFrame('v8', 'GroupDetail', '/group/groupDetail', { groupId: '389284' }),
    errorCode: 422,
    mentions: /groupId.*number.*string "389284"/,
    echoedId: 'v8',
  },
  {
    name: 'a missing groupId',
    frame: requestFrame('v9', 'GroupDetail', '/group/groupDetail', {}),
    errorCode: 422,
    mentions: /groupId.*missing/,
    echoedId: 'v9',
  },
  {
    name: 'an unknown group',
    frame: requestFrame('v10', 'GroupDetail', '/group/groupDetail', { groupId: 999 }),
    errorCode: 404,
    mentions: /group 999/,
    echoedId: 'v10',
  },
  {
    name: 'a GroupUpdate op 11 without shutup',
    frame: requestFrame('v11', 'GroupUpdate', '/group/groupUpdate', { op: 11, groupParam: { groupId: 389284 } }),
    errorCode: 422,
    mentions: /shutup/,
    echoedId: 'v11',
  },
  {
    name: 'a GroupUpdate op the simulator does not implement',
    frame: requestFrame('v12', 'GroupUpdate', '/group/groupUpdate', { op: 7, groupParam: { groupId: 389284 } }),
    errorCode: 405,
    mentions: /op 7/,
    echoedId: 'v12',
  },
  {
    name: 'a sendMsg with an empty list',
    frame: { id: 'v13', type: 'sendMsg', data: { id: 389284, type: 'group', list: [] } },
    errorCode: 422,
    mentions: /list is empty/,
    echoedId: 'v13',
  },
  {
    name: 'a sendMsg item without chatType',
    frame: { id: 'v14', type: 'sendMsg', data: { id: 389284, type: 'group', list: [{ type: 'text', values: { content: 'x' } }] } },
    errorCode: 422,
    mentions: /list\[0\]\.values\.chatType.*missing/,
    echoedId: 'v14',
  },
  {
    name: 'a sendMsg to a chat kind that does not exist',
    frame: { id: 'v15', type: 'sendMsg', data: { id: 389284, type: 'channel', list: text('x') } },
    errorCode: 422,
    mentions: /"friend" or "group"/,
    echoedId: 'v15',
  },
  {
    name: 'a sendMsg to an unknown group',
    frame: sendMsgFrame('v16', { group: 123456 }, 'hi'),
    errorCode: 404,
    mentions: /group 123456/,
    echoedId: 'v16',
  },
  {
    name: 'a malformed custom_msg_id',
    frame: sendMsgFrame('v17', { group: 389284 }, 'hi', { custom_msg_id: '0123' }),
    errorCode: 422,
    mentions: /custom_msg_id/,
    echoedId: 'v17',
  },
  {
    name: 'a sendFile without a file',
    frame: { id: 'v18', type: 'sendFile', data: { type: 'group', id: 389284 } },
    errorCode: 422,
    mentions: /file/,
    echoedId: 'v18',
  },
  {
    name: 'a request without data',
    frame: { id: 'v19', type: 'request' },
    errorCode: 422,
    mentions: /request data must be an object/,
    echoedId: 'v19',
  },
];

describe('strict validation: every malformed frame gets an error frame that says what is wrong', () => {
  let sim: BridgeSimulator;
  let client: TestClient;

  before(async () => {
    sim = new BridgeSimulator({ edition: 'seed' });
    await sim.start();
    client = await TestClient.connect(sim.url);
  });

  after(async () => {
    await client.close();
    await sim.stop();
  });

  for (const c of CASES) {
    it(`refuses ${c.name} with errorCode ${c.errorCode}`, async () => {
      const since = client.frames.length;
      const answer = client.waitFor((f) => f.error !== undefined, 2000, since);
      client.send(c.frame);
      const frame = await answer;
      assert.equal(frame.error.errorCode, c.errorCode, frame.error.errorDesc);
      assert.match(frame.error.errorDesc, c.mentions);
      assert.equal(frame.id, c.echoedId);
      assert.notEqual(frame.error.errorCode, SIM_ERRORS.BUSY.errorCode, 'a permanent error never looks transient');
    });
  }

  it('changes nothing in the world on a refused frame', () => {
    assert.equal(sim.world.messages.length, 0);
    assert.equal(sim.world.changes.length, 0);
  });

  it('refuses binary frames', async () => {
    const answer = client.waitFor((f) => f.error?.errorCode === 400 && /binary/.test(f.error.errorDesc), 2000, client.frames.length);
    client.socket.send(Buffer.from('{"id":"b1","type":"getGroups"}'), { binary: true });
    assert.ok(await answer);
  });

  it('accepts any host in the url, http or https: the host rotates', async () => {
    for (const [n, url] of ['https://webbiz.angg1.com/user/userInfo', 'https://webbiz.kngg3.com/user/userInfo', 'http://10.0.0.1:8080/user/userInfo'].entries()) {
      const answer = await client.call({ id: `h${n}`, type: 'request', data: { type: 'UserInfo', url } });
      assert.equal(answer.data.commonResult.errCode, 200, url);
    }
  });

  it('keeps the connection open after refusals', async () => {
    const answer = await client.call({ id: 'after', type: 'getApiUrl' });
    assert.equal(answer.data, 'https://webbiz.qika.xyz');
  });
});
