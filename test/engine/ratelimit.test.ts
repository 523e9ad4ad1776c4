import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/shared/clock';
import { OutboundLimiter, RateLimitAbortedError } from '../../src/engine/ratelimit';

/** Lets resolved promises run their continuations. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Starts an acquire and records the clock time at which it was granted. */
function track(limiter: OutboundLimiter, clock: ManualClock, target: string, grants: Array<[string, number]>, signal?: AbortSignal): Promise<void> {
  return limiter.acquire(target, signal).then(() => {
    grants.push([target, clock.now()]);
  });
}

describe('OutboundLimiter', () => {
  it('lets the first sends of a minute go at once and holds the next until a slot ages out', async () => {
    const clock = new ManualClock(1_000_000);
    const limiter = new OutboundLimiter({ perMinute: 3, perTargetGapMs: 0, clock });
    const grants: Array<[string, number]> = [];
    for (const t of ['a', 'b', 'c', 'd', 'e']) void track(limiter, clock, t, grants);
    await settle();
    assert.deepEqual(grants.map(([t]) => t), ['a', 'b', 'c']);

    clock.advance(59_999);
    await settle();
    assert.equal(grants.length, 3, 'the window has not moved on yet');

    clock.advance(1);
    await settle();
    assert.deepEqual(grants, [
      ['a', 1_000_000],
      ['b', 1_000_000],
      ['c', 1_000_000],
      ['d', 1_060_000],
      ['e', 1_060_000],
    ]);
    const stats = limiter.stats;
    assert.equal(stats.granted, 5);
    assert.equal(stats.waited, 2);
    assert.equal(stats.waitedMs, 120_000);
    assert.equal(stats.pending, 0);
  });

  it('keeps the gap between sends to one target without holding back other targets', async () => {
    const clock = new ManualClock(0);
    const limiter = new OutboundLimiter({ perMinute: 0, perTargetGapMs: 3000, clock });
    const grants: Array<[string, number]> = [];
    void track(limiter, clock, 'g1', grants);
    void track(limiter, clock, 'g1', grants);
    void track(limiter, clock, 'g2', grants);
    void track(limiter, clock, 'g1', grants);
    await settle();
    assert.deepEqual(grants, [
      ['g1', 0],
      ['g2', 0],
    ]);
    clock.advance(3000);
    await settle();
    clock.advance(3000);
    await settle();
    assert.deepEqual(grants, [
      ['g1', 0],
      ['g2', 0],
      ['g1', 3000],
      ['g1', 6000],
    ]);
  });

  it('takes the later of the window and the target gap', async () => {
    const clock = new ManualClock(0);
    const limiter = new OutboundLimiter({ perMinute: 2, perTargetGapMs: 90_000, clock });
    const grants: Array<[string, number]> = [];
    void track(limiter, clock, 'x', grants);
    void track(limiter, clock, 'y', grants);
    void track(limiter, clock, 'x', grants);
    void track(limiter, clock, 'z', grants);
    await settle();
    assert.equal(limiter.nextFreeAt('z'), 60_000);
    assert.equal(limiter.nextFreeAt('x'), 90_000);
    clock.advance(60_000);
    await settle();
    assert.deepEqual(grants.slice(2), [['z', 60_000]]);
    clock.advance(30_000);
    await settle();
    assert.deepEqual(grants.slice(3), [['x', 90_000]]);
  });

  it('rejects an aborted acquire and gives its turn to the next waiter', async () => {
    const clock = new ManualClock(0);
    const limiter = new OutboundLimiter({ perMinute: 1, perTargetGapMs: 0, clock });
    const grants: Array<[string, number]> = [];
    await track(limiter, clock, 'a', grants);
    const controller = new AbortController();
    const aborted = track(limiter, clock, 'b', grants, controller.signal);
    void track(limiter, clock, 'c', grants);
    controller.abort();
    await assert.rejects(aborted, RateLimitAbortedError);
    clock.advance(60_000);
    await settle();
    assert.deepEqual(grants, [
      ['a', 0],
      ['c', 60_000],
    ]);
    assert.equal(limiter.stats.aborted, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  it('close rejects every waiter and leaves no timer behind', async () => {
    const clock = new ManualClock(0);
    const limiter = new OutboundLimiter({ perMinute: 1, perTargetGapMs: 0, clock });
    await limiter.acquire('a');
    const waiting = limiter.acquire('b');
    limiter.close();
    await assert.rejects(waiting, (err: unknown) => err instanceof RateLimitAbortedError && err.code === 'RATE_LIMIT_ABORTED');
    assert.equal(clock.pendingTimers, 0);
  });
});
