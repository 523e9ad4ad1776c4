import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_WAIT_MS, TimerQueue, type DueBatch } from '../../src/schedule';
import { ManualClock, systemClock, type Clock } from '../../src/shared/clock';

const T0 = Date.parse('2026-03-06T10:00:00Z');

interface Fired<T> {
  entries: T[];
  dues: number[];
  firedAt: number;
}

/** A queue on a ManualClock that records every batch and every timer delay it asks for. */
function harness<T = string>(start = T0) {
  const manual = new ManualClock(start);
  const delays: number[] = [];
  const clock: Clock = {
    now: () => manual.now(),
    setTimeout: (fn, ms) => {
      delays.push(ms);
      return manual.setTimeout(fn, ms);
    },
    clearTimeout: (handle) => manual.clearTimeout(handle),
  };
  const batches: Array<Fired<T>> = [];
  let onBatch: (batch: DueBatch<T>) => void = () => {};
  const queue = new TimerQueue<T>({
    clock,
    onDue: (batch) => {
      batches.push({ entries: [...batch.entries], dues: [...batch.dues], firedAt: batch.firedAt });
      onBatch(batch);
    },
  });
  return {
    manual,
    delays,
    batches,
    queue,
    whenDue(handler: (batch: DueBatch<T>) => void) {
      onBatch = handler;
    },
  };
}

describe('TimerQueue on a manual clock', () => {
  it('fires entries in due order, each when it falls due', () => {
    const { manual, batches, queue } = harness();
    queue.add(T0 + 300, 'c');
    queue.add(T0 + 100, 'a');
    queue.add(T0 + 200, 'b');
    assert.equal(queue.next(), T0 + 100);
    manual.advance(99);
    assert.deepEqual(batches, []);
    manual.advance(1_000);
    assert.deepEqual(batches, [
      { entries: ['a'], dues: [T0 + 100], firedAt: T0 + 100 },
      { entries: ['b'], dues: [T0 + 200], firedAt: T0 + 200 },
      { entries: ['c'], dues: [T0 + 300], firedAt: T0 + 300 },
    ]);
    assert.equal(queue.size, 0);
    assert.equal(queue.next(), null);
  });

  it('hands every entry already due to one batch, earliest due first', () => {
    const { manual, batches, queue } = harness();
    queue.add(T0, 'now');
    queue.add(T0 - 20, 'late');
    queue.add(T0 - 50, 'later');
    queue.add(T0 + 10, 'future');
    manual.advance(0);
    assert.deepEqual(batches, [{ entries: ['later', 'late', 'now'], dues: [T0 - 50, T0 - 20, T0], firedAt: T0 }]);
    assert.equal(queue.size, 1);
  });

  it('keeps entries due at the same millisecond in one bucket, in the order added', () => {
    const { manual, batches, queue } = harness();
    for (const name of ['r1', 'r2', 'r3', 'r4']) queue.add(T0 + 1_000, name);
    queue.add(T0 + 2_000, 'other');
    assert.equal(queue.size, 5);
    manual.advance(1_000);
    assert.deepEqual(batches, [{ entries: ['r1', 'r2', 'r3', 'r4'], dues: Array(4).fill(T0 + 1_000), firedAt: T0 + 1_000 }]);
  });

  it('uses one timer however many entries are queued', () => {
    const { manual, queue } = harness();
    for (let i = 0; i < 1_000; i++) queue.add(T0 + 1_000 + (i % 7), `rule-${i}`);
    assert.equal(manual.pendingTimers, 1);
  });

  it('re-arms for an earlier entry added after the timer was set', () => {
    const { manual, batches, queue } = harness();
    queue.add(T0 + 10_000, 'late');
    queue.add(T0 + 1_000, 'early');
    assert.equal(manual.pendingTimers, 1);
    manual.advance(1_000);
    assert.deepEqual(batches.map((batch) => batch.entries), [['early']]);
  });

  it('removes entries (lazily) and never fires them', () => {
    const { manual, batches, queue } = harness();
    queue.add(T0 + 100, 'a');
    queue.add(T0 + 100, 'b');
    queue.add(T0 + 200, 'c');
    assert.equal(queue.remove('a'), true);
    assert.equal(queue.remove('a'), false);
    assert.equal(queue.remove('nobody'), false);
    assert.equal(queue.size, 2);
    assert.equal(queue.has('a'), false);
    manual.advance(1_000);
    assert.deepEqual(batches.map((batch) => batch.entries), [['b'], ['c']]);
  });

  it('skips a bucket whose entries were all removed and fires the next one on time', () => {
    const { manual, batches, queue } = harness();
    queue.add(T0 + 100, 'gone');
    queue.add(T0 + 500, 'kept');
    queue.remove('gone');
    assert.equal(queue.next(), T0 + 500);
    manual.advance(1_000);
    assert.deepEqual(batches, [{ entries: ['kept'], dues: [T0 + 500], firedAt: T0 + 500 }]);
  });

  it('adding a queued entry again moves it; removing and re-adding fires it once', () => {
    const { manual, batches, queue } = harness();
    queue.add(T0 + 100, 'moved');
    queue.add(T0 + 300, 'moved');
    assert.equal(queue.dueOf('moved'), T0 + 300);
    queue.add(T0 + 200, 'again');
    queue.remove('again');
    queue.add(T0 + 200, 'again');
    assert.equal(queue.size, 2);
    manual.advance(1_000);
    assert.deepEqual(batches.map((batch) => batch.entries), [['again'], ['moved']]);
  });

  it('never waits more than 30 s in one timer, re-checking the time in between', () => {
    const { manual, delays, batches, queue } = harness();
    queue.add(T0 + 95_000, 'far');
    manual.advance(90_000);
    assert.deepEqual(batches, []);
    assert.equal(manual.pendingTimers, 1);
    manual.advance(5_000);
    assert.deepEqual(batches, [{ entries: ['far'], dues: [T0 + 95_000], firedAt: T0 + 95_000 }]);
    assert.deepEqual(delays, [30_000, 30_000, 30_000, 5_000]);
    assert.ok(delays.every((delay) => delay <= MAX_TIMER_WAIT_MS));
  });

  it('a due time weeks away (past the 32-bit timer limit) is still chunked', () => {
    const { manual, delays, queue } = harness();
    queue.add(T0 + 40 * 86_400_000, 'next-month');
    assert.deepEqual(delays, [MAX_TIMER_WAIT_MS]);
    manual.advance(60_000);
    assert.deepEqual(delays, [MAX_TIMER_WAIT_MS, MAX_TIMER_WAIT_MS, MAX_TIMER_WAIT_MS]);
  });

  it('entries added while a batch is handed off wait for the next tick, even when already due', () => {
    const { manual, batches, queue, whenDue } = harness();
    whenDue((batch) => {
      for (const entry of batch.entries) if (entry === 'tick') queue.add(batch.firedAt, 'follow-up');
    });
    queue.add(T0 + 100, 'tick');
    manual.advance(100);
    assert.deepEqual(batches.map((batch) => batch.entries), [['tick'], ['follow-up']]);
    assert.equal(queue.size, 0);
  });

  it('stop() clears the timer; start() arms it again', () => {
    const { manual, batches, queue } = harness();
    queue.add(T0 + 100, 'a');
    queue.stop();
    assert.equal(manual.pendingTimers, 0);
    queue.add(T0 + 50, 'b');
    manual.advance(1_000);
    assert.deepEqual(batches, []);
    queue.start();
    manual.advance(0);
    assert.deepEqual(batches, [{ entries: ['b', 'a'], dues: [T0 + 50, T0 + 100], firedAt: T0 + 1_000 }]);
  });

  it('rejects a due time that is not a finite number', () => {
    const { queue } = harness();
    assert.throws(() => queue.add(Number.NaN, 'x'), RangeError);
  });
});

describe('TimerQueue on the real clock', () => {
  it('hands off 10,000 entries due at the same instant, all of them', async () => {
    const count = 10_000;
    const due = systemClock.now() + 50;
    const received = new Set<number>();
    let batches = 0;
    const done = new Promise<void>((resolve) => {
      const queue = new TimerQueue<number>({
        clock: systemClock,
        onDue: (batch) => {
          batches++;
          for (const entry of batch.entries) received.add(entry);
          if (received.size === count) {
            queue.stop();
            resolve();
          }
        },
      });
      for (let i = 0; i < count; i++) queue.add(due, i);
    });
    await done;
    assert.equal(received.size, count);
    assert.equal(batches, 1);
  });
});
