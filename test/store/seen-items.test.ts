import assert from 'node:assert/strict';
import { test } from 'node:test';
import { T0, freshStore, openStore } from './support';

const request = (uid: string, msg: string) => ({ key: uid, item: { uid, nickName: `user ${uid}`, msg } });

test('a poll reports only the items never seen before', (t) => {
  const { store } = freshStore(t);
  assert.deepEqual(store.seen.add('friend-audit', 'friendRequests', [request('1', 'hi'), request('2', 'hello')]), ['1', '2']);
  assert.deepEqual(store.seen.add('friend-audit', 'friendRequests', [request('2', 'hello'), request('3', 'hey'), request('3', 'hey')]), ['3']);
  assert.deepEqual(store.seen.listKeys('friend-audit', 'friendRequests'), ['1', '2', '3']);

  // Each rule and each list has its own set.
  assert.deepEqual(store.seen.add('other-rule', 'friendRequests', [request('1', 'hi')]), ['1']);
  assert.deepEqual(store.seen.add('friend-audit', 'members:389284', [{ key: '1' }]), ['1']);
});

test('the seen-set survives a restart', (t) => {
  const { store, file, clock } = freshStore(t);
  store.seen.add('friend-audit', 'friendRequests', [request('1', 'hi'), request('2', 'hello')]);
  store.close();

  clock.advance(60_000);
  const reopened = openStore(t, file, { clock });
  assert.deepEqual(reopened.seen.listKeys('friend-audit', 'friendRequests'), ['1', '2']);
  assert.deepEqual(reopened.seen.add('friend-audit', 'friendRequests', [request('1', 'hi again'), request('4', 'new')]), ['4']);

  const [first] = reopened.seen.list('friend-audit', 'friendRequests');
  assert.deepEqual(first, {
    ruleId: 'friend-audit',
    list: 'friendRequests',
    key: '1',
    item: { uid: '1', nickName: 'user 1', msg: 'hi again' },
    firstSeen: T0,
    lastSeen: T0 + 60_000,
    removedAt: null,
  });
});

test('an item marked removed appears again when it comes back', (t) => {
  const { store, clock } = freshStore(t);
  store.seen.add('welcome', 'members:389284', [{ key: '7' }, { key: '8' }]);
  clock.advance(1000);
  assert.equal(store.seen.markRemoved('welcome', 'members:389284', ['7', 'not-there']), 1);
  assert.equal(store.seen.markRemoved('welcome', 'members:389284', ['7']), 0);

  assert.deepEqual(store.seen.listKeys('welcome', 'members:389284'), ['8']);
  assert.deepEqual(store.seen.listKeys('welcome', 'members:389284', { includeRemoved: true }), ['7', '8']);
  assert.equal(store.seen.list('welcome', 'members:389284', { includeRemoved: true })[0]!.removedAt, T0 + 1000);

  clock.advance(1000);
  assert.deepEqual(store.seen.add('welcome', 'members:389284', [{ key: '7' }, { key: '8' }]), ['7']);
  assert.deepEqual(store.seen.listKeys('welcome', 'members:389284'), ['7', '8']);
});

test('a poll is recorded whole or not at all', (t) => {
  const { store } = freshStore(t);
  const unwritable = { key: 'bad', item: { size: 10n } };
  assert.throws(() => store.seen.add('friend-audit', 'friendRequests', [request('1', 'hi'), unwritable]), /BigInt/);
  assert.deepEqual(store.seen.listKeys('friend-audit', 'friendRequests', { includeRemoved: true }), []);
});
