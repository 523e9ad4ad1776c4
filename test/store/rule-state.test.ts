import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshStore, openStore } from './support';

test('rule state is kept per rule and key, across a restart', (t) => {
  const { store, file, clock } = freshStore(t);
  store.ruleState.set('notice-rotation', 'position', 2);
  store.ruleState.set('notice-rotation', 'order', { shuffled: [2, 0, 1], last: 0 });
  store.ruleState.set('morning-greeting', 'position', 5);
  store.close();

  const reopened = openStore(t, file, { clock });
  assert.equal(reopened.ruleState.get<number>('notice-rotation', 'position'), 2);
  assert.deepEqual(reopened.ruleState.list('notice-rotation'), { order: { shuffled: [2, 0, 1], last: 0 }, position: 2 });
  assert.deepEqual(reopened.ruleState.list('morning-greeting'), { position: 5 });
});

test('set replaces, delete removes, and a stored null is not a missing key', (t) => {
  const { store } = freshStore(t);
  store.ruleState.set('night-mode', 'lastSlot', 1000);
  store.ruleState.set('night-mode', 'lastSlot', 2000);
  assert.equal(store.ruleState.get('night-mode', 'lastSlot'), 2000);

  store.ruleState.set('night-mode', 'inside', null);
  assert.equal(store.ruleState.get('night-mode', 'inside'), null);
  assert.equal(store.ruleState.get('night-mode', 'never-set'), undefined);

  assert.equal(store.ruleState.delete('night-mode', 'lastSlot'), true);
  assert.equal(store.ruleState.delete('night-mode', 'lastSlot'), false);
  assert.deepEqual(store.ruleState.list('night-mode'), { inside: null });
});
