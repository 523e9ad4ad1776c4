/**
 * The one outbound rate limit. Chat platforms ban fast senders, so every frame that
 * sends something to a chat (messages, files, announcements) passes through a single
 * limiter shared by all rules: at most `perMinute` sends in any sliding 60-second
 * window, and at least `perTargetGapMs` between two sends to the same target.
 *
 * Waiting goes through the injected clock, so tests drive it with a ManualClock.
 */
import type { Clock, TimerHandle } from '../shared/clock';
import { RulebotError } from '../shared/errors';

/** The window the per-minute budget counts over. */
const WINDOW_MS = 60_000;

export interface OutboundLimitOptions {
  /** Sends allowed in any 60-second window; 0 or less means no per-minute limit. @default 20 */
  perMinute?: number;
  /** Minimum gap between two sends to the same target, in milliseconds; 0 means none. @default 3000 */
  perTargetGapMs?: number;
  clock: Clock;
}

/** Counters for metrics: how often and how long senders waited. */
export interface OutboundLimitStats {
  /** Sends let through. */
  granted: number;
  /** Sends that had to wait (did not go at once). */
  waited: number;
  /** Total time spent waiting, in milliseconds. */
  waitedMs: number;
  /** Acquires given up through their abort signal. */
  aborted: number;
  /** Senders waiting right now. */
  pending: number;
}

/** An acquire was given up (its signal aborted) before the send was allowed. */
export class RateLimitAbortedError extends RulebotError {
  constructor(target: string) {
    super('RATE_LIMIT_ABORTED', `gave up waiting for the outbound rate limit (target ${target})`, { target });
  }
}

interface Waiter {
  target: string;
  queuedAt: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  detach: () => void;
}

/**
 * A sliding-window limiter with a per-target gap. Waiters are served in arrival order
 * where they can go; a waiter held back only by its own target's gap does not hold back
 * a waiter for another target.
 */
export class OutboundLimiter {
  readonly perMinute: number;
  readonly perTargetGapMs: number;
  readonly #clock: Clock;
  /** Grant times within the last window, oldest first. */
  readonly #recent: number[] = [];
  /** Last grant time per target (entries older than the gap are dropped). */
  readonly #lastByTarget = new Map<string, number>();
  readonly #queue: Waiter[] = [];
  #timer: TimerHandle | undefined;
  #timerDue = Infinity;
  #granted = 0;
  #waited = 0;
  #waitedMs = 0;
  #aborted = 0;

  constructor(options: OutboundLimitOptions) {
    this.perMinute = options.perMinute ?? 20;
    this.perTargetGapMs = Math.max(0, options.perTargetGapMs ?? 3000);
    this.#clock = options.clock;
  }

  /**
   * Resolves when a send to `target` may go, and counts it as sent. Rejects with
   * RateLimitAbortedError if `signal` aborts first.
   */
  acquire(target: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) {
      this.#aborted += 1;
      return Promise.reject(new RateLimitAbortedError(target));
    }
    const now = this.#clock.now();
    if (this.#queue.every((w) => w.target !== target) && this.#earliestFor(target, now) <= now) {
      this.#grant(target, now);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.#queue.indexOf(waiter);
        if (at >= 0) this.#queue.splice(at, 1);
        this.#aborted += 1;
        reject(new RateLimitAbortedError(target));
        this.#pump();
      };
      const waiter: Waiter = {
        target,
        queuedAt: now,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  /** When a send to `target` could go if asked now (ignoring other waiters), as an epoch ms. */
  nextFreeAt(target: string): number {
    const now = this.#clock.now();
    return Math.max(now, this.#earliestFor(target, now));
  }

  get stats(): OutboundLimitStats {
    return {
      granted: this.#granted,
      waited: this.#waited,
      waitedMs: this.#waitedMs,
      aborted: this.#aborted,
      pending: this.#queue.length,
    };
  }

  /** Rejects every waiter and cancels the timer (on shutdown). */
  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    for (const waiter of this.#queue.splice(0)) {
      waiter.detach();
      waiter.reject(new RateLimitAbortedError(waiter.target));
    }
  }

  #earliestFor(target: string, now: number): number {
    this.#forget(now);
    let at = now;
    if (this.perMinute > 0 && this.#recent.length >= this.perMinute) {
      // The window frees a slot when the send that filled it ages out.
      at = Math.max(at, this.#recent[this.#recent.length - this.perMinute]! + WINDOW_MS);
    }
    const last = this.#lastByTarget.get(target);
    if (last !== undefined && this.perTargetGapMs > 0) at = Math.max(at, last + this.perTargetGapMs);
    return at;
  }

  #grant(target: string, now: number): void {
    this.#recent.push(now);
    this.#lastByTarget.set(target, now);
    this.#granted += 1;
  }

  /** Drops what no longer constrains anything, so memory stays bounded by the window and the gap. */
  #forget(now: number): void {
    while (this.#recent.length > 0 && this.#recent[0]! + WINDOW_MS <= now) this.#recent.shift();
    if (this.#lastByTarget.size > 256) {
      for (const [target, at] of this.#lastByTarget) if (at + this.perTargetGapMs <= now) this.#lastByTarget.delete(target);
    }
  }

  #pump(): void {
    const now = this.#clock.now();
    let nextDue = Infinity;
    const blockedTargets = new Set<string>();
    for (let i = 0; i < this.#queue.length; ) {
      const waiter = this.#queue[i]!;
      // Per-target order: a later waiter for the same target never overtakes an earlier one.
      if (blockedTargets.has(waiter.target)) {
        i += 1;
        continue;
      }
      const at = this.#earliestFor(waiter.target, now);
      if (at <= now) {
        this.#queue.splice(i, 1);
        this.#grant(waiter.target, now);
        this.#waited += 1;
        this.#waitedMs += now - waiter.queuedAt;
        waiter.detach();
        waiter.resolve();
        continue;
      }
      blockedTargets.add(waiter.target);
      nextDue = Math.min(nextDue, at);
      i += 1;
    }
    this.#arm(nextDue, now);
  }

  #arm(due: number, now: number): void {
    if (due === this.#timerDue && this.#timer !== undefined) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = due;
    if (due === Infinity) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      this.#pump();
    }, due - now);
  }
}
