import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { executeRun, type ExecuteRunOptions } from '../../src/engine/executor';
import { LAST_SLOT_KEY, Scheduler, type EngineLogger, type RunScheduledRule, type ScheduledTrigger } from '../../src/engine/scheduler';
import { silentLogger } from '../../src/shared/log';
import { ManualClock, type Clock } from '../../src/shared/clock';
import type { LoadedRule } from '../../src/rules/load';
import { RateTracker } from '../../src/engine/conditions';
import { RunStore } from '../../src/store/run-store';
import type { RunRecord } from '../../src/store/types';
import { memoryLogger, startBench } from './harness';
import { iso, quietLogger, RecordingRunner, rule, rules, runsOf, settle, tempStore, withId } from './trigger-fixtures';

const byNumber = (a: number, b: number): number => a - b;

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

function bench(start: string, options: { file?: string; defaultTimezone?: string } = {}) {
  const clock = new ManualClock(Date.parse(start));
  const { store, file } = tempStore(clock, options.file);
  const runner = new RecordingRunner<ScheduledTrigger>(store);
  const scheduler = new Scheduler({ clock, store, runRule: runner.run, logger: quietLogger, defaultTimezone: options.defaultTimezone ?? 'UTC' });
  return { clock, store, file, runner, scheduler };
}

// The process logger must fit where the scheduler wants one (checked by the compiler).
export const pinoIsAnEngineLogger: EngineLogger = silentLogger();
// And the executor where it wants a runner.
export const executorAsRunner = (deps: ExecuteRunOptions['deps']): RunScheduledRule => (loaded, trigger, runId) => executeRun({ loaded, trigger, deps, runId });

const everyTenSeconds = (extra = ''): LoadedRule =>
  rule(`
id: ten
trigger: { cron: "*/10 * * * * *" }
${extra}
actions:
  - log: { message: tick }
`);

describe('Scheduler: firing on time', () => {
  it('fires a 6-field cron at each slot, one call per slot with its slot', async () => {
    const { clock, runner, scheduler } = bench('2026-05-04T10:00:03Z');
    scheduler.load([everyTenSeconds()]);
    scheduler.start();
    assert.equal(runner.calls.length, 0, 'nothing fires at start: the first slot is 10:00:10');

    for (let i = 0; i < 6; i++) {
      clock.advance(10 * SECOND);
      await settle();
    }
    assert.deepEqual(
      runner.calls.map((call) => iso(call.trigger.slot)),
      ['10:00:10', '10:00:20', '10:00:30', '10:00:40', '10:00:50', '10:01:00'].map((t) => `2026-05-04T${t}.000Z`),
    );
    assert.ok(runner.calls.every((call) => call.trigger.kind === 'cron'));
    assert.deepEqual(runner.calls[0]!.trigger.data, { slot: '2026-05-04T10:00:10.000Z' });
    assert.equal(scheduler.status().lastTickAt, Date.parse('2026-05-04T10:01:00Z'));
  });

  it('persists the last slot of each fire', async () => {
    const { clock, store, scheduler } = bench('2026-05-04T10:00:03Z');
    scheduler.load([everyTenSeconds()]);
    scheduler.start();
    clock.advance(20 * SECOND);
    await settle();
    assert.equal(store.ruleState.get('ten', LAST_SLOT_KEY), Date.parse('2026-05-04T10:00:20Z'));
  });

  it('reports its status and the next fires of its rules', () => {
    const { scheduler } = bench('2026-05-04T10:00:03Z');
    scheduler.load([everyTenSeconds()]);
    assert.equal(scheduler.status().alive, false);
    scheduler.start();
    const status = scheduler.status();
    assert.equal(status.alive, true);
    assert.equal(status.queued, 1);
    assert.equal(status.inFlight, 0);
    assert.deepEqual(scheduler.nextFires('ten', 2)[0]!.fires.map(iso), ['2026-05-04T10:00:10.000Z', '2026-05-04T10:00:20.000Z']);
    assert.deepEqual(scheduler.nextFires('nope'), []);
    scheduler.stop();
    assert.equal(scheduler.status().alive, false);
  });

  it('fires nothing after stop, while a run in flight finishes', async () => {
    const { clock, runner, scheduler } = bench('2026-05-04T10:00:03Z');
    scheduler.load([everyTenSeconds()]);
    scheduler.start();
    runner.hold = true;
    clock.advance(7 * SECOND);
    assert.equal(runner.calls.length, 1);
    assert.equal(scheduler.status().inFlight, 1);
    scheduler.stop();
    clock.advance(HOUR);
    assert.equal(runner.calls.length, 1);
    await runner.releaseAll();
    assert.equal(scheduler.status().inFlight, 0);
    await scheduler.gates.whenIdle();
  });

  it('fires a window rule at start (reconcile), at opening and at closing', async () => {
    const { clock, runner, scheduler } = bench('2026-05-04T20:00:00Z');
    scheduler.load([
      rule(`
id: night
timezone: UTC
trigger:
  window: { start: "23:00", end: "07:00" }
actions:
  - log: { message: "{{ window.inside }}" }
`),
    ]);
    scheduler.start();
    await settle();
    clock.advance(4 * HOUR); // 00:00: opened at 23:00
    await settle();
    clock.advance(8 * HOUR); // 08:00: closed at 07:00
    await settle();
    const fires = runner.calls.map((call) => ({ slot: iso(call.trigger.slot), data: call.trigger.data }));
    assert.deepEqual(fires, [
      {
        slot: '2026-05-04T07:00:00.000Z',
        data: { inside: false, edge: 'reconcile', start: '23:00', end: '07:00', openedOn: '2026-05-03', nextEdge: '2026-05-04T23:00:00.000Z' },
      },
      {
        slot: '2026-05-04T23:00:00.000Z',
        data: { inside: true, edge: 'open', start: '23:00', end: '07:00', openedOn: '2026-05-04', nextEdge: '2026-05-05T07:00:00.000Z' },
      },
      {
        slot: '2026-05-05T07:00:00.000Z',
        data: { inside: false, edge: 'close', start: '23:00', end: '07:00', openedOn: '2026-05-04', nextEdge: '2026-05-05T23:00:00.000Z' },
      },
    ]);
    assert.ok(runner.calls.every((call) => call.trigger.kind === 'window'));
  });

  it('leaves out disabled rules and rules of other triggers', () => {
    const { scheduler } = bench('2026-05-04T10:00:03Z');
    const changes = scheduler.load(
      rules(`
id: off
enabled: false
trigger: { cron: "* * * * *" }
actions: [ { log: { message: x } } ]
---
id: chat
trigger: { message: { chat: group } }
actions: [ { log: { message: x } } ]
---
id: hourly
trigger: { every: 1h }
actions: [ { log: { message: x } } ]
`),
    );
    assert.deepEqual(changes.added, ['hourly']);
    assert.deepEqual(
      scheduler.nextFires().map((upcoming) => upcoming.ruleId),
      ['hourly'],
    );
  });

  it('counts every slots from local midnight in the rule zone', () => {
    const { scheduler } = bench('2026-01-10T00:10:00Z');
    scheduler.load([
      rule(`
id: kolkata
timezone: Asia/Kolkata
trigger: { every: { interval: 1h, offset: 5m } }
actions: [ { log: { message: x } } ]
`),
    ]);
    // Kolkata is UTC+05:30: five past each local hour is 35 past each UTC hour.
    assert.deepEqual(scheduler.nextFires('kolkata', 2)[0]!.fires.map(iso), ['2026-01-10T00:35:00.000Z', '2026-01-10T01:35:00.000Z']);
  });
});

describe('Scheduler: daylight saving', () => {
  const daily = (): LoadedRule =>
    rule(`
id: daily
timezone: America/New_York
trigger: { cron: "30 2 * * *" }
actions: [ { log: { message: x } } ]
`);

  it('fires a daily 02:30 in New York once on the spring-forward day, at 03:00 EDT', async () => {
    const { clock, runner, scheduler } = bench('2026-03-07T12:00:00Z');
    scheduler.load([daily()]);
    scheduler.start();
    clock.advance(36 * HOUR); // to 2026-03-09T00:00Z
    await settle();
    assert.deepEqual(runner.calls.map((call) => iso(call.trigger.slot)), ['2026-03-08T07:00:00.000Z']);
  });

  it('fires a daily 02:30 in New York once on the fall-back day', async () => {
    const { clock, runner, scheduler } = bench('2026-10-31T12:00:00Z');
    scheduler.load([daily()]);
    scheduler.start();
    clock.advance(36 * HOUR); // to 2026-11-02T00:00Z
    await settle();
    assert.deepEqual(runner.calls.map((call) => iso(call.trigger.slot)), ['2026-11-01T07:30:00.000Z']);
  });
});

describe('Scheduler: concurrency', () => {
  it('skip: records one skipped run while the rule is blocked, however many ticks pass', async () => {
    const { clock, store, runner, scheduler } = bench('2026-05-04T10:00:03Z');
    scheduler.load([everyTenSeconds()]);
    scheduler.start();
    runner.hold = true;
    clock.advance(7 * SECOND); // 10:00:10 starts and blocks
    clock.advance(60 * SECOND); // six more slots while it runs
    await settle();
    assert.equal(runner.calls.length, 1);
    const skipped = runsOf(store, 'ten', 'skipped');
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]!.reason, `concurrency: already running (run ${runner.calls[0]!.runId})`);
    assert.equal(skipped[0]!.slot, Date.parse('2026-05-04T10:00:20Z'));

    await runner.releaseAll();
    clock.advance(10 * SECOND); // runs again, and blocks again
    clock.advance(20 * SECOND); // a new stretch of skips: one more row
    await settle();
    assert.equal(runner.calls.length, 2);
    assert.equal(runsOf(store, 'ten', 'skipped').length, 2);
    await runner.releaseAll();
  });

  it('queue: runs one at a time with up to max waiting; the overflow is skipped', async () => {
    const { clock, store, runner, scheduler } = bench('2026-05-04T10:00:03Z');
    scheduler.load([everyTenSeconds('concurrency: { mode: queue, max: 2 }')]);
    scheduler.start();
    runner.hold = true;
    clock.advance(47 * SECOND); // slots :10 .. :50: one runs, two wait, two are turned away
    await settle();
    assert.equal(runner.calls.length, 1);
    assert.deepEqual(scheduler.gates.get('ten')!.load, { running: 1, waiting: 2, skippedInStretch: 2 });
    const skipped = runsOf(store, 'ten', 'skipped');
    assert.equal(skipped.length, 1);
    assert.match(skipped[0]!.reason!, /^concurrency: queue full \(2 waiting\) \(run \d+\)$/);

    runner.calls[0]!.release();
    await settle();
    assert.equal(runner.calls.length, 2, 'the first waiting fire runs when the running one ends');
    assert.equal(runner.calls[1]!.trigger.slot, Date.parse('2026-05-04T10:00:20Z'));
    await runner.releaseAll();
    await runner.releaseAll();
    assert.equal(runner.calls.length, 3);
    await runner.releaseAll();
    assert.ok(scheduler.gates.get('ten')!.idle);
  });

  it('parallel: runs up to max at once; the overflow is skipped', async () => {
    const { clock, store, runner, scheduler } = bench('2026-05-04T10:00:03Z');
    scheduler.load([everyTenSeconds('concurrency: { mode: parallel, max: 3 }')]);
    scheduler.start();
    runner.hold = true;
    clock.advance(57 * SECOND); // six slots: three run, three are turned away
    await settle();
    assert.equal(runner.calls.length, 3);
    assert.equal(scheduler.status().inFlight, 3);
    assert.equal(runsOf(store, 'ten', 'skipped').length, 1);
    assert.match(runsOf(store, 'ten', 'skipped')[0]!.reason!, /^concurrency: 3 runs already running \(parallel max 3\)/);
    await runner.releaseAll();
    clock.advance(10 * SECOND);
    await settle();
    assert.equal(runner.calls.length, 4);
    await runner.releaseAll();
  });
});

describe('Scheduler: many rules', () => {
  it('fires 10,000 rules due at the same instant, each once, and takes every slot', async () => {
    const clock = new ManualClock(Date.parse('2026-05-04T10:00:03Z'));
    const { store } = tempStore(clock);
    // The runner writes no rows here: the count of calls is what is checked.
    const runner = new RecordingRunner<ScheduledTrigger>(store, { writeRuns: false });
    const scheduler = new Scheduler({ clock, store, runRule: runner.run, logger: quietLogger, defaultTimezone: 'UTC' });
    const base = everyTenSeconds();
    const many = Array.from({ length: 10_000 }, (_, i) => withId(base, `rule-${i}`));
    scheduler.load(many);
    scheduler.start();
    clock.advance(7 * SECOND);
    await settle();
    assert.equal(runner.calls.length, 10_000);
    assert.equal(new Set(runner.calls.map((call) => call.ruleId)).size, 10_000);
    const taken = store.database.prepare('SELECT COUNT(*) AS n FROM rule_state WHERE key = ? AND value = ?').get(LAST_SLOT_KEY, String(Date.parse('2026-05-04T10:00:10Z'))) as { n: number };
    assert.equal(taken.n, 10_000);
    clock.advance(10 * SECOND);
    await settle();
    assert.equal(runner.calls.length, 20_000);
  });
});

describe('Scheduler: the start records of a tick', () => {
  it('writes the running rows of a tick in one transaction, before any run is handed over', async () => {
    const manual = new ManualClock(Date.parse('2026-05-04T10:00:03Z'));
    // While on, every read of the time moves it on 1 ms: rows written one by one would differ.
    let ticking = false;
    let drift = 0;
    const clock: Clock = {
      now: () => manual.now() + (ticking ? ++drift : drift),
      setTimeout: (fn, ms) => manual.setTimeout(fn, ms),
      clearTimeout: (handle) => manual.clearTimeout(handle),
    };
    const { store, file } = tempStore(clock);
    // A second connection sees only what is committed.
    const reader = RunStore.open(file, { readonly: true });
    const runner = new RecordingRunner<ScheduledTrigger>(store);
    let committedAtFirstCall: RunRecord[] | undefined;
    const runRule: RunScheduledRule = (loaded, trigger, runId) => {
      if (ticking && committedAtFirstCall === undefined) committedAtFirstCall = reader.listRuns({ status: 'running', limit: 1000 });
      return runner.run(loaded, trigger, runId);
    };
    const scheduler = new Scheduler({ clock, store, runRule, logger: quietLogger, defaultTimezone: 'UTC' });
    const base = everyTenSeconds();
    const plain = Array.from({ length: 20 }, (_, i) => withId(base, `plain-${i}`));
    scheduler.load([...plain, withId(base, 'busy'), withId(everyTenSeconds('concurrency: { mode: queue, max: 1 }'), 'waiting')]);
    scheduler.start();

    runner.hold = true;
    manual.advance(7 * SECOND); // 10:00:10: everything runs; busy and waiting stay running
    for (const call of runner.calls) if (call.ruleId !== 'busy' && call.ruleId !== 'waiting') call.release();
    await settle();

    const batches: Array<{ size: number; inTransaction: boolean }> = [];
    const startRuns = store.startRuns.bind(store);
    store.startRuns = (inputs) => {
      batches.push({ size: inputs.length, inTransaction: store.database.inTransaction });
      return startRuns(inputs);
    };
    let single = 0;
    const startRun = store.startRun.bind(store);
    store.startRun = (input) => {
      single++;
      return startRun(input);
    };
    const slot = Date.parse('2026-05-04T10:00:20Z');
    ticking = true;
    manual.advance(10 * SECOND); // 10:00:20: 20 start, busy is skipped, waiting queues
    ticking = false;

    assert.deepEqual(batches, [{ size: 20, inTransaction: true }], 'one batch, inside the tick transaction with the last slots');
    assert.equal(single, 0, 'no run row of its own');
    const handed = runner.calls.filter((call) => call.trigger.slot === slot);
    assert.equal(handed.length, 20);
    assert.ok(handed.every((call) => call.preStarted && call.ruleId.startsWith('plain-')));
    const committed = (committedAtFirstCall ?? []).filter((run) => run.slot === slot);
    assert.deepEqual(committed.map((run) => run.id).sort(byNumber), handed.map((call) => call.runId).sort(byNumber), 'every row committed before the first run was handed over');
    assert.equal(new Set(committed.map((run) => run.startedAt)).size, 1, 'one start time: one batch');

    assert.equal(runsOf(store, 'busy').filter((run) => run.slot === slot).map((run) => run.status).join(), 'skipped', 'a skipped fire has no running row');
    assert.deepEqual(runsOf(store, 'waiting').filter((run) => run.slot === slot), [], 'a queued fire has no row while it waits');
    assert.equal(scheduler.gates.get('waiting')!.load.waiting, 1);

    runner.of('waiting')[0]!.release();
    await settle();
    const queued = runner.of('waiting')[1]!;
    assert.equal(queued.trigger.slot, slot);
    assert.equal(queued.preStarted, false, 'its row is written when it starts');
    assert.equal(single, 1);
    assert.equal(runsOf(store, 'waiting').filter((run) => run.slot === slot).length, 1);

    await runner.releaseAll();
    await runner.releaseAll();
    reader.close();
  });

  it('hands the executor the row it wrote: one row per run, finished by the run', async () => {
    const clock = new ManualClock(Date.parse('2026-05-04T10:00:03Z'));
    const bench = await startBench({ clock });
    try {
      const deps = { api: bench.api, store: bench.store, clock, limiter: bench.limiter, logger: memoryLogger(), config: bench.config, rates: new RateTracker() };
      const scheduler = new Scheduler({ clock, store: bench.store, runRule: executorAsRunner(deps), logger: quietLogger, defaultTimezone: 'UTC' });
      scheduler.load(['a', 'b', 'c'].map((id) => withId(everyTenSeconds(), id)));
      scheduler.start();
      clock.advance(7 * SECOND);
      await scheduler.gates.whenIdle();
      scheduler.stop();
      const runs = ['a', 'b', 'c'].map((id) => runsOf(bench.store, id));
      assert.deepEqual(
        runs.map((list) => list.map((run) => ({ status: run.status, slot: iso(run.slot!) }))),
        ['a', 'b', 'c'].map(() => [{ status: 'ok', slot: '2026-05-04T10:00:10.000Z' }]),
      );
      for (const [run] of runs) assert.deepEqual(bench.store.getRun(run!.id)!.steps.map((step) => step.kind), ['log']);
    } finally {
      await bench.close();
    }
  });
});

describe('Scheduler: reload', () => {
  const set = (second: string): LoadedRule[] =>
    rules(`
id: steady
trigger: { cron: "*/10 * * * * *" }
actions: [ { log: { message: steady } } ]
---
id: moving
trigger: { cron: "${second} * * * * *" }
actions: [ { log: { message: moving } } ]
---
id: leaving
trigger: { cron: "*/10 * * * * *" }
actions: [ { log: { message: leaving } } ]
`);

  it('keeps unchanged rules, re-arms changed ones, drops removed ones', async () => {
    const { clock, store, runner, scheduler } = bench('2026-05-04T10:00:03Z');
    scheduler.load(set('5'));
    scheduler.start();
    runner.hold = true;
    clock.advance(7 * SECOND); // 10:00:05 moving, 10:00:10 steady and leaving: all three block
    assert.equal(runner.calls.length, 3);
    clock.advance(10 * SECOND); // 10:00:20: steady skipped (stretch begins)
    assert.equal(runsOf(store, 'steady', 'skipped').length, 1);

    const changes = scheduler.replace([
      ...set('7').filter((loaded) => loaded.rule.id !== 'leaving'),
      rule(`
id: arriving
trigger: { cron: "*/10 * * * * *" }
actions: [ { log: { message: arriving } } ]
`),
    ]);
    assert.deepEqual(changes, { added: ['arriving'], changed: ['moving'], removed: ['leaving'], unchanged: ['steady'], invalid: [] });
    assert.deepEqual(scheduler.nextFires('moving', 1)[0]!.fires.map(iso), ['2026-05-04T10:01:07.000Z']);
    assert.deepEqual(scheduler.nextFires('steady', 1)[0]!.fires.map(iso), ['2026-05-04T10:00:30.000Z']);

    clock.advance(10 * SECOND); // 10:00:30
    await settle();
    // steady is still in the same stretch (its run is in flight): no second skipped row.
    assert.equal(runsOf(store, 'steady', 'skipped').length, 1);
    assert.deepEqual(runner.of('leaving').length, 1, 'a removed rule fires no more');
    assert.equal(runner.of('arriving').length, 1);
    assert.equal(scheduler.status().inFlight, 4, 'runs in flight are left alone by the reload');
    await runner.releaseAll();
    assert.equal(scheduler.status().inFlight, 0);
  });
});

describe('Scheduler: restart after downtime', () => {
  const hourly = (misfire: string): LoadedRule =>
    rule(`
id: hourly
trigger: { cron: "0 * * * *" }
misfire: ${misfire}
actions: [ { log: { message: x } } ]
`);
  // The daemon last took 05:00 and comes back at 10:30: 06:00 .. 10:00 were missed.
  const lastSlot = Date.parse('2026-05-04T05:00:00Z');
  const restart = (misfire: string) => {
    const parts = bench('2026-05-04T10:30:00Z');
    parts.store.ruleState.set('hourly', LAST_SLOT_KEY, lastSlot);
    parts.scheduler.load([hourly(misfire)]);
    parts.scheduler.start();
    return parts;
  };
  const missed = (store: RunStore) => runsOf(store, 'hourly', 'missed').map((run) => [new Date(run.slot!).toISOString().slice(11, 16), run.reason]);

  it('skip: runs none and records each missed slot', () => {
    const { store, runner } = restart('{ policy: skip }');
    assert.equal(runner.calls.length, 0);
    assert.deepEqual(
      missed(store).map(([slot]) => slot),
      ['06:00', '07:00', '08:00', '09:00', '10:00'],
    );
    assert.match(String(missed(store)[0]![1]), /^misfire: policy skip runs no missed slot \(while the daemon was down\)$/);
    assert.equal(store.ruleState.get('hourly', LAST_SLOT_KEY), Date.parse('2026-05-04T10:00:00Z'));
  });

  it('latest: runs the newest slot within grace; older ones are superseded or outside grace', () => {
    const { store, runner } = restart('{ policy: latest, grace: 2h }');
    assert.deepEqual(runner.calls.map((call) => iso(call.trigger.slot)), ['2026-05-04T10:00:00.000Z']);
    assert.deepEqual(runner.calls[0]!.trigger.data, { slot: '2026-05-04T10:00:00.000Z', catchUp: true });
    assert.deepEqual(missed(store), [
      ['06:00', 'misfire: older than the grace of 2h (policy latest) (while the daemon was down)'],
      ['07:00', 'misfire: older than the grace of 2h (policy latest) (while the daemon was down)'],
      ['08:00', 'misfire: older than the grace of 2h (policy latest) (while the daemon was down)'],
      ['09:00', 'misfire: superseded by a later slot (policy latest) (while the daemon was down)'],
    ]);
  });

  it('all: runs the newest slots up to the cap, spaced out, and records the rest', async () => {
    const { clock, store, runner } = restart('{ policy: all, grace: 6h, cap: 3, spacing: 10s }');
    assert.deepEqual(runner.calls.map((call) => iso(call.trigger.slot)), ['2026-05-04T08:00:00.000Z'], 'the first catch-up runs at once');
    assert.equal(store.ruleState.get('hourly', LAST_SLOT_KEY), Date.parse('2026-05-04T08:00:00Z'));
    await settle();
    clock.advance(10 * SECOND);
    await settle();
    clock.advance(10 * SECOND);
    await settle();
    assert.deepEqual(
      runner.calls.map((call) => iso(call.trigger.slot)),
      ['2026-05-04T08:00:00.000Z', '2026-05-04T09:00:00.000Z', '2026-05-04T10:00:00.000Z'],
    );
    assert.equal(store.ruleState.get('hourly', LAST_SLOT_KEY), Date.parse('2026-05-04T10:00:00Z'));
    assert.deepEqual(missed(store), [
      ['06:00', 'misfire: beyond the cap of 3 catch-up runs (policy all) (while the daemon was down)'],
      ['07:00', 'misfire: beyond the cap of 3 catch-up runs (policy all) (while the daemon was down)'],
    ]);
    clock.advance(HOUR);
    await settle();
    assert.equal(runner.calls.at(-1)!.trigger.slot, Date.parse('2026-05-04T11:00:00Z'), 'then the schedule goes on');
  });

  it('summarises a long stretch of missed slots as one row with the count', () => {
    const { store, scheduler, runner } = bench('2026-05-05T00:00:00Z');
    store.ruleState.set('fast', LAST_SLOT_KEY, Date.parse('2026-05-04T00:00:00Z'));
    scheduler.load([
      rule(`
id: fast
trigger: { every: 1s }
actions: [ { log: { message: x } } ]
`),
    ]);
    scheduler.start();
    assert.equal(runner.calls.length, 0);
    const rows = runsOf(store, 'fast', 'missed');
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.reason!, /^misfire: 86400 slots from 2026-05-04T00:00:01\.000Z to 2026-05-05T00:00:00\.000Z, policy skip/);
    assert.deepEqual(rows[0]!.triggerData, { first: '2026-05-04T00:00:01.000Z', last: '2026-05-05T00:00:00.000Z', count: 86400, exact: true });
  });

  it('a rule seen for the first time has missed nothing', () => {
    const { store, runner } = (() => {
      const parts = bench('2026-05-04T10:30:00Z');
      parts.scheduler.load([hourly('{ policy: all, grace: 6h, cap: 3 }')]);
      parts.scheduler.start();
      return parts;
    })();
    assert.equal(runner.calls.length, 0);
    assert.equal(runsOf(store, 'hourly', 'missed').length, 0);
    assert.equal(store.ruleState.get('hourly', LAST_SLOT_KEY), Date.parse('2026-05-04T10:30:00Z'));
  });

  it('takes the slot before running it: a crash mid-run never fires that slot again', async () => {
    const first = bench('2026-05-04T09:59:00Z');
    const hourlyLatest = hourly('{ policy: latest, grace: 1h }');
    first.scheduler.load([hourlyLatest]);
    first.scheduler.start();
    first.runner.hold = true;
    first.clock.advance(MINUTE); // 10:00 fires and blocks
    assert.equal(first.runner.calls.length, 1);
    assert.equal(first.store.ruleState.get('hourly', LAST_SLOT_KEY), Date.parse('2026-05-04T10:00:00Z'));
    // The process dies here: the scheduler is dropped with the run still going.
    first.scheduler.stop();

    const second = bench('2026-05-04T10:05:00Z', { file: first.file });
    second.scheduler.load([hourlyLatest]);
    second.scheduler.start();
    assert.equal(second.runner.calls.length, 0, 'the slot of the interrupted run is not run again');
    assert.equal(runsOf(second.store, 'hourly', 'missed').length, 0);
    second.clock.advance(HOUR);
    await settle();
    assert.deepEqual(second.runner.calls.map((call) => iso(call.trigger.slot)), ['2026-05-04T11:00:00.000Z']);
    await first.runner.releaseAll();
  });

  it('treats a timer that fires far too late (the machine slept) as a misfire', async () => {
    const manual = new ManualClock(Date.parse('2026-05-04T09:59:00Z'));
    // Wall time that can jump ahead of the timers, as after a suspend.
    let slept = 0;
    const clock: Clock = { now: () => manual.now() + slept, setTimeout: (fn, ms) => manual.setTimeout(fn, ms), clearTimeout: (handle) => manual.clearTimeout(handle) };
    const { store } = tempStore(clock);
    const runner = new RecordingRunner<ScheduledTrigger>(store);
    const scheduler = new Scheduler({ clock, store, runRule: runner.run, logger: quietLogger, defaultTimezone: 'UTC' });
    scheduler.load([hourly('{ policy: latest, grace: 30m }')]);
    scheduler.start();
    slept = 3 * HOUR + 10 * MINUTE;
    manual.advance(30 * SECOND); // the first timer after waking, at 13:09:30
    await settle();
    assert.deepEqual(runner.calls.map((call) => iso(call.trigger.slot)), ['2026-05-04T13:00:00.000Z']);
    const rows = runsOf(store, 'hourly', 'missed');
    assert.deepEqual(rows.map((run) => iso(run.slot!)), ['2026-05-04T10:00:00.000Z', '2026-05-04T11:00:00.000Z', '2026-05-04T12:00:00.000Z']);
    assert.match(rows[0]!.reason!, /^misfire: older than the grace of 30m \(policy latest\) \(the timer fired 3h late\)$/);
    assert.deepEqual(scheduler.nextFires('hourly', 1)[0]!.fires.map(iso), ['2026-05-04T14:00:00.000Z']);
  });
});
