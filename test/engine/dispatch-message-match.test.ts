import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileMessageFilter, matchesMessage, type MatchableMessage, type MessageTriggerOptions } from '../../src/engine/message-match';

const groupMessage: MatchableMessage = {
  chat: 'group',
  groupId: '389284',
  senderId: '7128348',
  content: '加微 123，便宜代理',
  msgType: 0,
  isSelf: false,
};

const friendMessage: MatchableMessage = {
  chat: 'friend',
  friendId: '7237423',
  senderId: '7237423',
  content: 'What is the price?',
  msgType: 0,
  isSelf: false,
};

const matches = (options: MessageTriggerOptions, message: MatchableMessage): boolean => matchesMessage(compileMessageFilter(options), message);

describe('message filters', () => {
  it('an empty filter matches any message of anyone but the bot', () => {
    assert.equal(matches({}, groupMessage), true);
    assert.equal(matches({}, friendMessage), true);
  });

  it("never matches the bot's own messages, whatever the filter", () => {
    assert.equal(matches({}, { ...groupMessage, isSelf: true }), false);
    assert.equal(matches({ chat: 'group', groups: ['389284'], text: '加微' }, { ...groupMessage, isSelf: true }), false);
  });

  it('chat picks group or friend messages', () => {
    assert.equal(matches({ chat: 'group' }, groupMessage), true);
    assert.equal(matches({ chat: 'group' }, friendMessage), false);
    assert.equal(matches({ chat: 'friend' }, friendMessage), true);
    assert.equal(matches({ chat: 'any' }, friendMessage), true);
  });

  it('groups and friends name the conversations listened to', () => {
    assert.equal(matches({ groups: ['389284'] }, groupMessage), true);
    assert.equal(matches({ groups: ['512301'] }, groupMessage), false);
    assert.equal(matches({ groups: ['389284'] }, friendMessage), false, 'a friend message is not in a listed group');
    assert.equal(matches({ friends: ['7237423'] }, friendMessage), true);
    assert.equal(matches({ friends: ['7237423'] }, groupMessage), false);
    assert.equal(matches({ groups: ['389284'], friends: ['7237423'] }, groupMessage), true);
    assert.equal(matches({ groups: ['389284'], friends: ['7237423'] }, friendMessage), true);
  });

  it('senders and msgTypes', () => {
    assert.equal(matches({ senders: ['7128348'] }, groupMessage), true);
    assert.equal(matches({ senders: ['1'] }, groupMessage), false);
    assert.equal(matches({ msgTypes: [0, 1] }, groupMessage), true);
    assert.equal(matches({ msgTypes: [1] }, groupMessage), false);
  });

  it('text is a regex searched in the content', () => {
    assert.equal(matches({ text: '加微|代理' }, groupMessage), true);
    assert.equal(matches({ text: '^便宜' }, groupMessage), false);
    assert.equal(matches({ text: '(?i)PRICE' }, friendMessage), true);
  });

  it('contains needs one of its substrings, as written', () => {
    assert.equal(matches({ contains: ['价格', 'price'] }, friendMessage), true);
    assert.equal(matches({ contains: ['价格', 'Price'] }, friendMessage), false);
  });

  it('every filter given must match', () => {
    const options: MessageTriggerOptions = { chat: 'group', groups: ['389284'], senders: ['7128348'], msgTypes: [0], text: '代理', contains: ['加微'] };
    assert.equal(matches(options, groupMessage), true);
    assert.equal(matches(options, { ...groupMessage, msgType: 1 }), false);
    assert.equal(matches(options, { ...groupMessage, content: '代理' }), false);
  });

  it('a pattern RE2 cannot run is refused when the filter is compiled', () => {
    assert.throws(() => compileMessageFilter({ text: '(a)\\1' }), { code: 'REGEX_INVALID' });
  });
});
