import assert from 'node:assert/strict';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { LEDGER_STATES, LEDGER_TRANSITIONS, type LedgerKey, type LedgerState } from '../../src/store';
import { T0, cronRun, freshStore, openStore } from './support';

type Move = Exclude<LedgerState, 'planned'>;

/** A way to bring a fresh target to each state by allowed moves only. */
const ROUTES: Record<LedgerState, Move[]> = {
  planned: [],
  sending: ['sending'],
  accepted: ['sending', 'accepted'],
  delivered: ['sending', 'accepted', 'delivered'],
  failed: ['sending', 'failed'],
  unknown: ['sending', 'unknown'],
};

test('a broadcast target moves planned → sending → accepted → delivered, with its message id and step', (t) => {
  const { store, clock } = freshStore(t);
  const runId = store.startRun(cronRun('morning-greeting'));
  assert.equal(store.ledger.plan(runId, 'actions/0', ['group:1', 'group:2']), 2);
  const key: LedgerKey = { runId, path: 'actions/0', target: 'group:1' };
  const stepId = store.startStep(runId, { seq: 0, path: 'actions/0', kind: 'send', target: 'group:1' });

  clock.advance(10);
  assert.equal(store.ledger.setState(key, 'sending', { customMsgId: '12345678901', stepId }), true);
  clock.advance(10);
  assert.equal(store.ledger.setState(key, 'accepted'), true);
  clock.advance(10);
  assert.equal(store.ledger.setState(key, 'delivered'), true);

  assert.deepEqual(store.ledger.list(runId), [
    { ...key, state: 'delivered', customMsgId: '12345678901', stepId, updatedAt: T0 + 30 },
    { runId, path: 'actions/0', target: 'group:2', state: 'planned', customMsgId: null, stepId: null, updatedAt: T0 },
  ]);
});

test('every transition is allowed exactly when LEDGER_TRANSITIONS lists it', (t) => {
  const { store } = freshStore(t);
  const runId = store.startRun(cronRun('morning-greeting'));
  const moves = LEDGER_STATES.filter((state): state is Move => state !== 'planned');
  for (const from of LEDGER_STATES) {
    for (const to of moves) {
      const key: LedgerKey = { runId, path: `actions/${from}/${to}`, target: 'group:1' };
      store.ledger.plan(runId, key.path, [key.target]);
      for (const step of ROUTES[from]) assert.equal(store.ledger.setState(key, step), true, `route to ${from}`);

      const allowed = LEDGER_TRANSITIONS[to].includes(from);
      assert.equal(store.ledger.setState(key, to), allowed, `${from} → ${to}`);
      assert.equal(store.ledger.list(runId, key.path)[0]!.state, allowed ? to : from, `${from} → ${to}`);
    }
  }
});

test('planning again after a restart keeps every target where it was', (t) => {
  const { store, file, clock } = freshStore(t);
  const runId = store.startRun(cronRun('morning-greeting'));
  const targets = ['group:1', 'group:2', 'group:3'];
  store.ledger.plan(runId, 'actions/0', targets);
  store.ledger.setState({ runId, path: 'actions/0', target: 'group:1' }, 'sending');
  store.ledger.setState({ runId, path: 'actions/0', target: 'group:1' }, 'accepted');
  store.close();

  const reopened = openStore(t, file, { clock });
  assert.equal(reopened.ledger.plan(runId, 'actions/0', [...targets, 'group:4']), 1);
  assert.deepEqual(
    reopened.ledger.list(runId, 'actions/0').map((entry) => [entry.target, entry.state]),
    [
      ['group:1', 'accepted'],
      ['group:2', 'planned'],
      ['group:3', 'planned'],
      ['group:4', 'planned'],
    ],
  );
  assert.equal(reopened.ledger.setState({ runId, path: 'actions/0', target: 'group:9' }, 'sending'), false);
});

test('deleting a run, as retention will, takes its steps and ledger with it', (t) => {
  const { store, file } = freshStore(t);
  const runId = store.startRun(cronRun('morning-greeting'));
  store.ledger.plan(runId, 'actions/0', ['group:1']);
  store.startStep(runId, { seq: 0, path: 'actions/0', kind: 'send', target: 'group:1' });

  const raw = new Sqlite(file);
  t.after(() => raw.close());
  raw.pragma('foreign_keys = ON');
  raw.prepare('DELETE FROM runs WHERE id = ?').run(runId);

  assert.equal(store.getRun(runId), undefined);
  assert.deepEqual(store.ledger.list(runId), []);
  assert.equal(raw.prepare('SELECT COUNT(*) FROM steps').pluck().get(), 0);
});
