import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { RUN_DROPPED, RuleGate, RunDroppedError } from '../../src/engine/concurrency';
import { MINUTE, firesOf, rulesFrom, startWatchBench } from './watch-bench';

/** A task the test ends when it likes. */
function held(): { task: () => Promise<string>; release: (value: string) => void; started: () => boolean } {
  let release: (value: string) => void = () => undefined;
  let started = false;
  const done = new Promise<string>((resolve) => (release = resolve));
  return {
    task: () => {
      started = true;
      return done;
    },
    release: (value) => release(value),
    started: () => started,
  };
}

describe('a fire admitted in turn (watch items)', () => {
  it('waits behind a running run of a skip rule instead of being skipped, and starts when it ends', async () => {
    const gate = new RuleGate('r', { mode: 'skip', max: 1 }, () => undefined, () => undefined);
    const manual = held();
    const first = gate.admit();
    assert.ok(first.admitted);
    const running = first.start(manual.task);

    const skipped = gate.admit();
    assert.equal(skipped.admitted, false, 'any other fire is skipped while the rule runs');

    const item = held();
    const turn = gate.admitInTurn();
    assert.equal(turn.queued, true);
    const waiting = turn.start(item.task);
    assert.equal(item.started(), false);
    assert.deepEqual(gate.load, { running: 1, waiting: 1, skippedInStretch: 1 });

    manual.release('manual');
    assert.equal(await running, 'manual');
    assert.equal(item.started(), true, 'its turn came when the run ended');
    item.release('item');
    assert.equal(await waiting, 'item');
    assert.equal(gate.idle, true);
  });

  it('starts at once when there is room, and waits even past a full queue', async () => {
    const idle = new RuleGate('r', { mode: 'skip', max: 1 }, () => undefined, () => undefined);
    assert.equal(idle.admitInTurn().queued, false);

    const gate = new RuleGate('q', { mode: 'queue', max: 1 }, () => undefined, () => undefined);
    const running = held();
    const first = gate.admit();
    assert.ok(first.admitted);
    void first.start(running.task);
    const queued = gate.admit();
    assert.ok(queued.admitted && queued.queued);
    void queued.start(() => Promise.resolve('queued'));
    assert.equal(gate.admit().admitted, false, 'the queue is full');
    const turn = gate.admitInTurn();
    assert.equal(turn.queued, true, 'a watch item waits beyond the queue’s max');
    const item = turn.start(() => Promise.resolve('item'));
    running.release('done');
    assert.equal(await item, 'item');
  });

  it('is dropped at shutdown like any waiting fire', async () => {
    const gate = new RuleGate('r', { mode: 'skip', max: 1 }, () => undefined, () => undefined);
    const running = held();
    const first = gate.admit();
    assert.ok(first.admitted);
    void first.start(running.task);
    const waiting = gate.admitInTurn().start(() => Promise.resolve('never'));
    assert.equal(gate.dropWaiting(), 1);
    await assert.rejects(waiting, (err: unknown) => err instanceof RunDroppedError && err.code === RUN_DROPPED);
    running.release('done');
  });
});

test('a watch item dropped unrun at shutdown is taken back from the seen-set, and fires at the next poll', async (t) => {
  let drop = true;
  const bench = await startWatchBench(
    t,
    rulesFrom(`
id: friend-audit
trigger:
  watch: { list: friendRequests, every: 1m }
actions:
  - log: { message: "{{ request.nickName }}" }
`),
    {
      onFire: () => {
        if (!drop) return;
        drop = false;
        throw new RunDroppedError('friend-audit');
      },
    },
  );
  await bench.tick();
  bench.sim.world.addFriendRequest({ uid: 8800001, nickName: '新朋友' });
  await bench.tick(MINUTE);
  assert.equal(firesOf(bench, 'friend-audit').length, 1, 'fired, and dropped unrun');
  assert.ok(bench.log.some((line) => line.msg === 'watch item dropped unrun at shutdown; it fires after the restart'));
  assert.ok(!bench.store.seen.listKeys('friend-audit', 'friendRequests').some((key) => key.startsWith('8800001@')), 'no longer counted as seen');

  await bench.tick(MINUTE);
  assert.deepEqual(firesOf(bench, 'friend-audit'), ['added 8800001', 'added 8800001'], 'fired again, and ran this time');
  await bench.tick(MINUTE);
  assert.equal(firesOf(bench, 'friend-audit').length, 2, 'and not again');
});
