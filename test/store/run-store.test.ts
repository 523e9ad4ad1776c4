import assert from 'node:assert/strict';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { RulebotError } from '../../src/shared/errors';
import { StoreError, toStoredError, type FinishedRunStatus, type RunFilter, type RunRecord, type RunStart, type RunStatus } from '../../src/store';
import { listRunsQuery, SELECT_RUN_SQL, SELECT_STEPS_OF_RUN_SQL } from '../../src/store/run-store';
import { SELECT_LEDGER_OF_RUN_SQL } from '../../src/store/ledger';
import { T0, cronRun, freshStore, openStore } from './support';

function storeErrorWith(code: string): (err: unknown) => boolean {
  return (err) => err instanceof StoreError && err.code === code;
}

test('a run with its steps round-trips, JSON and timings included', (t) => {
  const { store, clock } = freshStore(t);
  const trigger = { message: { groupId: '389284', senderId: '7237423', content: '加微 123' } };
  const runId = store.startRun({ ruleId: 'anti-spam', ruleHash: 'sha256:aa', triggerKind: 'message', triggerData: trigger });

  clock.advance(5);
  const muteInput = { group: '389284', uid: '7237423', for: 3600 };
  const muteFrame = { id: '41', type: 'request', data: { type: 'GroupMemberShutup', data: { targetUid: 7237423, shutupTime: 3600, groupId: 389284 } } };
  const mute = store.startStep(runId, { seq: 0, path: 'actions/0', kind: 'muteMember', input: muteInput, frame: muteFrame, target: 'group:389284' });
  clock.advance(40);
  store.finishStep(mute, { status: 'ok', answer: { commonResult: { errCode: 200 } } });

  const sendInput = { to: { group: '389284' }, text: '已被禁言\n1 小时' };
  const send = store.startStep(runId, { seq: 1, path: 'actions/1', kind: 'send', input: sendInput, target: 'group:389284' });
  const sendFrame = { id: '42', type: 'sendMsg', data: { id: 389284, type: 'group', list: [{ type: 'text', values: { chatType: 0, content: '已被禁言' } }] } };
  store.setStepFrame(send, sendFrame, '51234567890');
  clock.advance(15_000);
  const busy = toStoredError(new RulebotError('BRIDGE_BUSY', 'service busy', { errorCode: 300 }));
  store.finishStep(send, { status: 'failed', error: busy, delivery: 'failed', note: 'not retried: sendMsg changes the world' });

  clock.advance(1);
  const conditions = [{ path: 'when/0', kind: 'any', passed: true, detail: { matched: 'match' } }];
  store.finishRun(runId, { status: 'partial', error: busy, conditions });

  const run = store.getRun(runId);
  assert.ok(run);
  const { steps, ledger, ...summary } = run;
  assert.deepEqual(
    summary,
    {
      id: runId,
      ruleId: 'anti-spam',
      ruleHash: 'sha256:aa',
      triggerKind: 'message',
      triggerData: trigger,
      slot: null,
      startedAt: T0,
      finishedAt: T0 + 5 + 40 + 15_000 + 1,
      status: 'partial',
      reason: null,
      error: { code: 'BRIDGE_BUSY', message: 'service busy', details: { errorCode: 300 } },
      conditions,
      durationMs: 5 + 40 + 15_000 + 1,
      resumedFrom: null,
    },
  );
  assert.deepEqual(ledger, []);
  assert.deepEqual(
    steps.map(({ id, ...step }) => step),
    [
      {
        runId,
        seq: 0,
        path: 'actions/0',
        kind: 'muteMember',
        status: 'ok',
        input: muteInput,
        frame: muteFrame,
        answer: { commonResult: { errCode: 200 } },
        error: null,
        delivery: null,
        customMsgId: null,
        target: 'group:389284',
        note: null,
        startedAt: T0 + 5,
        finishedAt: T0 + 45,
        durationMs: 40,
      },
      {
        runId,
        seq: 1,
        path: 'actions/1',
        kind: 'send',
        status: 'failed',
        input: sendInput,
        frame: sendFrame,
        answer: null,
        error: busy,
        delivery: 'failed',
        customMsgId: '51234567890',
        target: 'group:389284',
        note: 'not retried: sendMsg changes the world',
        startedAt: T0 + 45,
        finishedAt: T0 + 45 + 15_000,
        durationMs: 15_000,
      },
    ],
  );
  assert.equal(store.getRun(runId + 1), undefined);
});

test('a run born finished is recorded whole, with the reason and no duration', (t) => {
  const { store, clock } = freshStore(t);
  clock.advance(60_000);
  const skipped = store.recordRun({
    ...cronRun('morning-greeting'),
    status: 'skipped',
    reason: 'when/0: weekday is sat',
    conditions: [{ path: 'when/0', kind: 'weekdays', passed: false }],
  });
  const missed = store.recordRuns([
    { ...cronRun('notice-rotation', T0 - 86_400_000), status: 'missed', reason: 'misfire: skip' },
    { ...cronRun('notice-rotation', T0), status: 'missed', reason: 'misfire: skip' },
  ]);

  const run = store.getRun(skipped)!;
  assert.equal(run.status, 'skipped');
  assert.equal(run.reason, 'when/0: weekday is sat');
  assert.equal(run.startedAt, T0 + 60_000);
  assert.equal(run.finishedAt, T0 + 60_000);
  assert.equal(run.durationMs, null);
  assert.deepEqual(run.conditions, [{ path: 'when/0', kind: 'weekdays', passed: false }]);
  assert.deepEqual(
    missed.map((id) => store.getRun(id)!.slot),
    [T0 - 86_400_000, T0],
  );
});

test('startRuns writes the runs of one tick in one transaction: all or none', (t) => {
  const { store, file } = freshStore(t);
  const due = ['a', 'b', 'c', 'd'].map((rule) => cronRun(rule));
  const ids = store.startRuns(due);

  assert.equal(ids.length, 4);
  assert.deepEqual(
    ids.map((id) => store.getRun(id)!.ruleId),
    ['a', 'b', 'c', 'd'],
  );
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y));

  // The last entry breaks a NOT NULL constraint: the three before it must not stay.
  const broken = [cronRun('e'), cronRun('f'), cronRun('g'), { ...cronRun('h'), ruleHash: null as unknown as string }];
  assert.throws(() => store.startRuns(broken), /NOT NULL/);
  const raw = new Sqlite(file, { readonly: true });
  t.after(() => raw.close());
  assert.equal(raw.prepare('SELECT COUNT(*) FROM runs').pluck().get(), 4);
});

test('writes naming a run or step that does not exist are refused with a code', (t) => {
  const { store } = freshStore(t);
  assert.throws(() => store.finishRun(99, { status: 'ok' }), storeErrorWith('STORE_RUN_NOT_FOUND'));
  assert.throws(() => store.startStep(99, { seq: 0, path: 'actions/0', kind: 'send' }), storeErrorWith('STORE_RUN_NOT_FOUND'));
  assert.throws(() => store.setStepFrame(99, {}), storeErrorWith('STORE_STEP_NOT_FOUND'));
  assert.throws(() => store.finishStep(99, { status: 'ok' }), storeErrorWith('STORE_STEP_NOT_FOUND'));
});

test('listRuns filters by rule, status and time, newest first, and pages with beforeId', (t) => {
  const { store, clock } = freshStore(t);
  const rules = ['greet', 'mute', 'audit'];
  const outcomes: FinishedRunStatus[] = ['ok', 'failed', 'ok', 'skipped', 'ok'];
  const written: RunRecord[] = [];
  for (let i = 0; i < 60; i++) {
    // Every third tick starts two runs in the same millisecond: ties are ordered by id.
    const batch: RunStart[] = i % 3 === 0 ? [cronRun(rules[i % 3]!), cronRun(rules[(i + 1) % 3]!)] : [cronRun(rules[i % 3]!)];
    for (const id of store.startRuns(batch)) {
      store.finishRun(id, { status: outcomes[id % outcomes.length]! });
      const { steps, ledger, ...record } = store.getRun(id)!;
      written.push(record);
    }
    clock.advance(1000);
  }

  const newestFirst = (runs: RunRecord[]) => [...runs].sort((a, b) => b.startedAt - a.startedAt || b.id - a.id);
  const expectList = (filter: RunFilter, predicate: (run: RunRecord) => boolean) => {
    const expected = newestFirst(written.filter(predicate)).slice(0, filter.limit ?? 50);
    assert.deepEqual(store.listRuns(filter), expected, JSON.stringify(filter));
    assert.ok(expected.length > 0, `the fixture has runs for ${JSON.stringify(filter)}`);
  };

  expectList({}, () => true);
  expectList({ ruleId: 'mute' }, (run) => run.ruleId === 'mute');
  expectList({ status: 'failed' }, (run) => run.status === 'failed');
  expectList({ ruleId: 'greet', status: 'ok' }, (run) => run.ruleId === 'greet' && run.status === 'ok');
  expectList({ since: T0 + 20_000, until: T0 + 30_000 }, (run) => run.startedAt >= T0 + 20_000 && run.startedAt < T0 + 30_000);
  expectList({ status: 'ok', since: T0 + 50_000 }, (run) => run.status === 'ok' && run.startedAt >= T0 + 50_000);
  expectList({ ruleId: 'audit', until: T0 + 10_000, limit: 3 }, (run) => run.ruleId === 'audit' && run.startedAt < T0 + 10_000);

  // Paging through everything, 7 at a time, gives each run once, in order.
  const paged: RunRecord[] = [];
  for (let page = store.listRuns({ limit: 7 }); page.length > 0; page = store.listRuns({ limit: 7, beforeId: page[page.length - 1]!.id })) {
    paged.push(...page);
  }
  assert.deepEqual(paged, newestFirst(written));

  const greetPage = store.listRuns({ ruleId: 'greet', limit: 4 });
  const cursor = greetPage[greetPage.length - 1]!;
  const rest = newestFirst(written.filter((run) => run.ruleId === 'greet')).slice(4, 8);
  assert.deepEqual(store.listRuns({ ruleId: 'greet', limit: 4, beforeId: cursor.id }), rest);

  assert.throws(() => store.listRuns({ limit: 0 }), storeErrorWith('STORE_BAD_FILTER'));
  assert.throws(() => store.listRuns({ limit: 2.5 }), storeErrorWith('STORE_BAD_FILTER'));
});

test('every listRuns filter and every getRun query is served by an index, with no sort step', (t) => {
  const { store, file } = freshStore(t);
  store.finishRun(store.startRun(cronRun('greet')), { status: 'ok' });
  const raw = new Sqlite(file, { readonly: true });
  t.after(() => raw.close());
  const plan = (sql: string, params: unknown[]) =>
    raw
      .prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...params)
      .map((row) => (row as { detail: string }).detail)
      .join('; ');

  const cases: Array<[RunFilter, string]> = [
    [{}, 'runs_started'],
    [{ since: T0, until: T0 + 1 }, 'runs_started'],
    [{ beforeId: 1 }, 'runs_started'],
    [{ ruleId: 'greet' }, 'runs_rule_started'],
    [{ ruleId: 'greet', since: T0, beforeId: 1 }, 'runs_rule_started'],
    [{ ruleId: 'greet', status: 'failed' }, 'runs_rule_started'],
    [{ status: 'failed' }, 'runs_status_started'],
    [{ status: 'failed', since: T0 - 3_600_000 }, 'runs_status_started'],
  ];
  for (const [filter, index] of cases) {
    const { sql, params } = listRunsQuery(filter);
    const detail = plan(sql, params);
    // SCAN ... USING INDEX walks the index in order and stops at the limit; a bare SCAN
    // would read the table and a TEMP B-TREE would sort every match.
    assert.match(detail, new RegExp(`^(SEARCH|SCAN) runs USING INDEX ${index}\\b`), `${JSON.stringify(filter)}: ${detail}`);
    assert.doesNotMatch(detail, /TEMP B-TREE|SCAN runs(;|$)/, `${JSON.stringify(filter)}: ${detail}`);
  }

  assert.match(plan(SELECT_RUN_SQL, [1]), /SEARCH runs USING INTEGER PRIMARY KEY/);
  const steps = plan(SELECT_STEPS_OF_RUN_SQL, [1]);
  assert.match(steps, /SEARCH steps USING INDEX steps_run_seq \(run_id=\?\)/);
  assert.doesNotMatch(steps, /TEMP B-TREE/);
  assert.match(plan(SELECT_LEDGER_OF_RUN_SQL, [1]), /SEARCH broadcast_targets USING PRIMARY KEY \(run_id=\?\)/);
});

test('a delivery push settles the step and the ledger target by custom_msg_id, once', (t) => {
  const { store } = freshStore(t);
  const runId = store.startRun(cronRun('morning-greeting'));
  store.ledger.plan(runId, 'actions/0', ['group:1', 'group:2']);
  const targets = ['group:1', 'group:2'].map((target, seq) => {
    const customMsgId = `7000000000${seq}`;
    const stepId = store.startStep(runId, { seq, path: 'actions/0', kind: 'send', target, frame: { type: 'sendMsg' }, customMsgId });
    store.ledger.setState({ runId, path: 'actions/0', target }, 'sending', { customMsgId, stepId });
    return { target, customMsgId, stepId };
  });
  const [first, second] = targets as [(typeof targets)[0], (typeof targets)[0]];

  // The first target: answered, then delivered.
  store.finishStep(first.stepId, { status: 'ok', answer: 'success', delivery: 'accepted' });
  store.ledger.setState({ runId, path: 'actions/0', target: first.target }, 'accepted');
  assert.deepEqual(store.settleDelivery(first.customMsgId, 'delivered'), { steps: 1, targets: 1 });

  // The second: its failure push overtakes the answer, which must not undo it.
  assert.deepEqual(store.settleDelivery(second.customMsgId, 'failed'), { steps: 1, targets: 1 });
  store.finishStep(second.stepId, { status: 'ok', answer: 'success', delivery: 'accepted' });
  assert.equal(store.ledger.setState({ runId, path: 'actions/0', target: second.target }, 'accepted'), false);

  // A repeated or contradicting push, and an id that is not ours, change nothing.
  assert.deepEqual(store.settleDelivery(first.customMsgId, 'failed'), { steps: 0, targets: 0 });
  assert.deepEqual(store.settleDelivery('99999999999', 'delivered'), { steps: 0, targets: 0 });

  const run = store.getRun(runId)!;
  assert.deepEqual(
    run.steps.map((step) => [step.customMsgId, step.delivery]),
    [
      [first.customMsgId, 'delivered'],
      [second.customMsgId, 'failed'],
    ],
  );
  assert.deepEqual(
    run.ledger.map((entry) => [entry.target, entry.state, entry.customMsgId, entry.stepId]),
    [
      [first.target, 'delivered', first.customMsgId, first.stepId],
      [second.target, 'failed', second.customMsgId, second.stepId],
    ],
  );
});

test('reopening with markInterrupted closes what a previous process left running', (t) => {
  const { store, clock, file } = freshStore(t);
  const done = store.startRun(cronRun('done'));
  store.finishRun(done, { status: 'ok' });

  const sending = store.startRun(cronRun('broadcast'));
  const sent = store.startStep(sending, { seq: 0, path: 'actions/0', kind: 'send', frame: { type: 'sendMsg' }, customMsgId: '11111111111' });
  store.finishStep(sent, { status: 'ok', delivery: 'accepted' });
  const inFlight = store.startStep(sending, { seq: 1, path: 'actions/1', kind: 'send', frame: { type: 'sendMsg' }, customMsgId: '22222222222' });

  const waiting = store.startRun(cronRun('slow'));
  const delay = store.startStep(waiting, { seq: 0, path: 'actions/0', kind: 'delay', input: { for: '5m' } });
  store.close();

  clock.advance(3_600_000);
  const reopened = openStore(t, file, { clock, markInterrupted: true });
  assert.deepEqual(reopened.interruptedOnOpen, {
    runIds: [sending, waiting],
    stepIds: [inFlight, delay].sort((a, b) => a - b),
    unknownDeliveryStepIds: [inFlight],
    unknownTargets: [],
  });

  assert.equal(reopened.getRun(done)!.status, 'ok');
  const broadcast = reopened.getRun(sending)!;
  assert.equal(broadcast.status, 'interrupted');
  assert.equal(broadcast.finishedAt, null);
  assert.deepEqual(
    broadcast.steps.map((step) => [step.status, step.delivery]),
    [
      ['ok', 'accepted'],
      ['interrupted', 'unknown'],
    ],
  );
  assert.deepEqual(
    reopened.getRun(waiting)!.steps.map((step) => [step.status, step.delivery]),
    [['interrupted', null]],
  );

  // Nothing is left running, so a second pass changes nothing.
  assert.deepEqual(reopened.markInterrupted(), { runIds: [], stepIds: [], unknownDeliveryStepIds: [], unknownTargets: [] });
  assert.equal(openStore(t, file).interruptedOnOpen, null);
});

test('countRuns adds what retention pruned to the rows still in the log', (t) => {
  const { store, file } = freshStore(t);
  const statuses: FinishedRunStatus[] = ['ok', 'ok', 'failed', 'ok', 'skipped'];
  for (const status of statuses) store.finishRun(store.startRun(cronRun('greet')), { status });
  store.startRun(cronRun('mute'));

  const raw = new Sqlite(file);
  t.after(() => raw.close());
  raw.prepare("INSERT INTO run_counts (rule_id, status, count) VALUES ('greet', 'ok', 1000), ('gone', 'failed', 7)").run();

  const live = (status: RunStatus) => statuses.filter((s) => s === status).length;
  assert.deepEqual(store.countRuns('greet'), [
    { ruleId: 'greet', status: 'failed', count: live('failed') },
    { ruleId: 'greet', status: 'ok', count: 1000 + live('ok') },
    { ruleId: 'greet', status: 'skipped', count: live('skipped') },
  ]);
  assert.deepEqual(
    store.countRuns().filter((row) => row.ruleId !== 'greet'),
    [
      { ruleId: 'gone', status: 'failed', count: 7 },
      { ruleId: 'mute', status: 'running', count: 1 },
    ],
  );
});
