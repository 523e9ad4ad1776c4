import assert from 'node:assert/strict';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { StoreError, type AuditDecisionInput } from '../../src/store';
import { T0, cronRun, freshStore, openStore } from './support';

const HOUR = 3_600_000;

function decision(uid: string, verdict: AuditDecisionInput['verdict'], extra: Partial<AuditDecisionInput> = {}): AuditDecisionInput {
  return { uid, requestTime: '1759928661000', nickName: `nick ${uid}`, message: '你好', verdict, decidedBy: 'audit/rules/2', ruleId: 'friend-audit', ...extra };
}

test('a request is decided once: the first decision stays, across a restart', (t) => {
  const { store, file, clock } = freshStore(t);
  const runId = store.startRun(cronRun('friend-audit'));
  assert.equal(store.audit.insert(decision('7237423', 'accept', { runId, actions: [{ kind: 'accept' }] })), true);
  store.close();

  const reopened = openStore(t, file, { clock });
  assert.equal(reopened.audit.insert(decision('7237423', 'reject')), false);
  // The same person asking again later is a new request.
  assert.equal(reopened.audit.insert(decision('7237423', 'reject', { requestTime: '1759999999000' })), true);

  const kept = reopened.audit.get('7237423', '1759928661000');
  assert.ok(kept);
  const { id, ...recorded } = kept;
  assert.deepEqual(
    recorded,
    {
      uid: '7237423',
      requestTime: '1759928661000',
      nickName: 'nick 7237423',
      message: '你好',
      verdict: 'accept',
      decidedBy: 'audit/rules/2',
      decidedAt: T0,
      actions: [{ kind: 'accept' }],
      ruleId: 'friend-audit',
      runId,
      state: 'decided',
      holdUntil: null,
    },
  );
  assert.deepEqual(reopened.audit.getById(id), kept);
});

test('a hold waits for an admin or the fallback, and is resolved once', (t) => {
  const { store, clock } = freshStore(t);
  store.audit.insert(decision('1', 'hold', { holdUntil: T0 + 24 * HOUR }));
  store.audit.insert(decision('2', 'hold', { holdUntil: T0 + 2 * HOUR }));
  store.audit.insert(decision('3', 'reject'));
  const [late, early] = [store.audit.get('1', '1759928661000')!, store.audit.get('2', '1759928661000')!];
  assert.deepEqual([late.state, early.state], ['held', 'held']);

  assert.deepEqual(store.audit.listDueHolds(), []);
  clock.advance(3 * HOUR);
  assert.deepEqual(
    store.audit.listDueHolds().map((held) => held.uid),
    ['2'],
  );

  assert.equal(store.audit.resolve(early.id, { verdict: 'reject', decidedBy: 'fallback', actions: [{ kind: 'reject' }] }), true);
  assert.equal(store.audit.resolve(early.id, { verdict: 'accept', decidedBy: 'admin:7237423' }), false);
  const rejected = store.audit.getById(early.id)!;
  assert.deepEqual(
    [rejected.state, rejected.verdict, rejected.decidedBy, rejected.decidedAt, rejected.actions],
    ['resolved', 'reject', 'fallback', T0 + 3 * HOUR, [{ kind: 'reject' }]],
  );

  // A decision that was never held cannot be resolved.
  assert.equal(store.audit.resolve(store.audit.get('3', '1759928661000')!.id, { verdict: 'accept', decidedBy: 'admin:1' }), false);
  clock.advance(24 * HOUR);
  assert.deepEqual(
    store.audit.listDueHolds().map((held) => held.uid),
    ['1'],
  );
});

test('decisions are listed newest first, by verdict, state and time, and counted for the daily cap', (t) => {
  const { store, clock } = freshStore(t);
  const verdicts = ['accept', 'reject', 'accept', 'flag', 'hold', 'accept'] as const;
  verdicts.forEach((verdict, i) => {
    store.audit.insert(decision(String(i), verdict));
    clock.advance(HOUR);
  });
  const uidsOf = (list: { uid: string }[]) => list.map((entry) => entry.uid);
  const expected = (keep: (verdict: (typeof verdicts)[number], i: number) => boolean) =>
    verdicts.map((verdict, i) => ({ verdict, uid: String(i), i })).filter(({ verdict, i }) => keep(verdict, i)).map(({ uid }) => uid).reverse();

  assert.deepEqual(uidsOf(store.audit.list()), expected(() => true));
  assert.deepEqual(uidsOf(store.audit.list({ verdict: 'accept' })), expected((verdict) => verdict === 'accept'));
  assert.deepEqual(uidsOf(store.audit.list({ state: 'held' })), expected((verdict) => verdict === 'hold'));
  assert.deepEqual(uidsOf(store.audit.list({ since: T0 + 2 * HOUR })), expected((_, i) => i >= 2));
  assert.deepEqual(uidsOf(store.audit.list({ verdict: 'accept', since: T0 + HOUR, limit: 1 })), expected((verdict, i) => verdict === 'accept' && i >= 1).slice(0, 1));
  assert.equal(store.audit.countVerdicts('accept', T0 + HOUR), verdicts.filter((verdict, i) => verdict === 'accept' && i >= 1).length);
  assert.throws(() => store.audit.list({ limit: -1 }), (err) => err instanceof StoreError && err.code === 'STORE_BAD_FILTER');
});

test('actions carried out are recorded on the decision', (t) => {
  const { store } = freshStore(t);
  store.audit.insert(decision('1', 'accept'));
  const { id } = store.audit.get('1', '1759928661000')!;
  assert.equal(store.audit.setActions(id, [{ kind: 'accept', answer: 'success' }, { kind: 'notify', admins: ['7237423'] }]), true);
  assert.deepEqual(store.audit.getById(id)!.actions, [{ kind: 'accept', answer: 'success' }, { kind: 'notify', admins: ['7237423'] }]);
  assert.equal(store.audit.setActions(id + 1, []), false);
});

test('a decision outlives the run that made it', (t) => {
  const { store, file } = freshStore(t);
  const runId = store.startRun(cronRun('friend-audit'));
  store.audit.insert(decision('1', 'reject', { runId }));

  const raw = new Sqlite(file);
  t.after(() => raw.close());
  raw.pragma('foreign_keys = ON');
  raw.prepare('DELETE FROM runs WHERE id = ?').run(runId);

  const kept = store.audit.get('1', '1759928661000')!;
  assert.deepEqual([kept.verdict, kept.runId], ['reject', null]);
  assert.equal(store.audit.insert(decision('1', 'accept')), false);
});
