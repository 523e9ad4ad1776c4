/**
 * One timer for every scheduled entry. Entries sit in a binary min-heap of buckets, one
 * bucket per distinct due millisecond, and a single clock timer is armed for the earliest
 * bucket. When it fires, every entry that is due is handed over in one batch, in due
 * order, so the caller can record all the runs of a tick in one transaction.
 *
 * Why not a timer per entry: with 10,000 rules due in the same second, per-rule timers
 * spend the second in timer bookkeeping and fire late or not at all (measured: node-cron's
 * per-task timers dropped a third of such fires; one timer over a heap of buckets fired
 * all of them within ~6 ms). Adding an entry costs a slot in its bucket and in the
 * entry-to-due map (a heap node only for a new due time); a batch is two arrays, with no
 * object per entry.
 */
import type { Clock, TimerHandle } from '../shared/clock';

/**
 * The longest single wait. Node keeps timer delays in a signed 32-bit integer, so a wait
 * past ~24.8 days overflows and fires at once; and timers run on a monotonic clock that
 * stops while the machine is suspended, so after a resume (or a wall-clock correction) a
 * long wait would end far too late. Waiting in chunks and re-checking the time bounds
 * both errors to this length.
 */
export const MAX_TIMER_WAIT_MS = 30_000;

/** Entries that fell due together. `entries[i]` was due at `dues[i]`; earliest due first, same-ms entries in the order added. */
export interface DueBatch<T> {
  readonly entries: readonly T[];
  readonly dues: readonly number[];
  /** The clock's time when the batch was taken. */
  readonly firedAt: number;
}

export interface TimerQueueOptions<T> {
  clock: Clock;
  /**
   * Receives every due entry of a tick. Entries added from inside it (the next fires of
   * the rules it ran) are armed once it returns, even when already due. It should not
   * throw: an error propagates to the clock's timer (the queue stays armed).
   */
  onDue: (batch: DueBatch<T>) => void;
  /**
   * Longest single timer wait in ms.
   * @default MAX_TIMER_WAIT_MS (30 s)
   */
  maxWait?: number;
}

/** All entries due at one millisecond. Removed entries stay in `entries` and are skipped (`live` counts the rest). */
interface Bucket<T> {
  readonly due: number;
  readonly entries: T[];
  live: number;
}

/**
 * A priority queue of entries by due time driving one timer on an injected Clock.
 * An entry is in the queue at most once: adding it again moves it.
 */
export class TimerQueue<T> {
  readonly #clock: Clock;
  readonly #onDue: (batch: DueBatch<T>) => void;
  readonly #maxWait: number;
  readonly #heap: Bucket<T>[] = [];
  readonly #bucketByDue = new Map<number, Bucket<T>>();
  readonly #dueByEntry = new Map<T, number>();
  #timer: TimerHandle | null = null;
  /** The due time the armed timer is working towards, or null when unarmed. */
  #armedFor: number | null = null;
  #handingOff = false;
  #stopped = false;

  constructor(options: TimerQueueOptions<T>) {
    this.#clock = options.clock;
    this.#onDue = options.onDue;
    this.#maxWait = options.maxWait ?? MAX_TIMER_WAIT_MS;
    if (!(this.#maxWait > 0)) throw new RangeError(`maxWait must be positive (got ${this.#maxWait})`);
  }

  /** Live entries in the queue. */
  get size(): number {
    return this.#dueByEntry.size;
  }

  /** Schedules `entry` at `due` (ms since the epoch), moving it if it was already queued. */
  add(due: number, entry: T): void {
    if (typeof due !== 'number' || !Number.isFinite(due)) throw new RangeError(`due must be a finite instant in ms (got ${String(due)})`);
    const previous = this.#dueByEntry.get(entry);
    if (previous === due) return;
    if (previous !== undefined) this.#bucketByDue.get(previous)!.live--;
    this.#dueByEntry.set(entry, due);
    let bucket = this.#bucketByDue.get(due);
    if (!bucket) {
      bucket = { due, entries: [], live: 0 };
      this.#bucketByDue.set(due, bucket);
      this.#push(bucket);
    }
    bucket.entries.push(entry);
    bucket.live++;
    if (!this.#handingOff && !this.#stopped && (this.#armedFor === null || due < this.#armedFor)) this.#arm();
  }

  /** Takes `entry` out of the queue; false when it was not queued. */
  remove(entry: T): boolean {
    const due = this.#dueByEntry.get(entry);
    if (due === undefined) return false;
    this.#dueByEntry.delete(entry);
    this.#bucketByDue.get(due)!.live--;
    return true;
  }

  has(entry: T): boolean {
    return this.#dueByEntry.has(entry);
  }

  /** When `entry` is due, or undefined when it is not queued. */
  dueOf(entry: T): number | undefined {
    return this.#dueByEntry.get(entry);
  }

  /** The earliest due time in the queue, or null when it is empty. */
  next(): number | null {
    this.#dropEmptyTop();
    return this.#heap[0]?.due ?? null;
  }

  /** Clears the timer; entries stay queued and nothing fires until {@link start}. */
  stop(): void {
    this.#stopped = true;
    this.#disarm();
  }

  /** Re-arms after {@link stop}. A new queue starts armed. */
  start(): void {
    this.#stopped = false;
    this.#arm();
  }

  #onTimer(): void {
    this.#timer = null;
    this.#armedFor = null;
    if (this.#stopped) return;
    const now = this.#clock.now();
    const entries: T[] = [];
    const dues: number[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.due <= now) {
      const bucket = this.#pop();
      this.#bucketByDue.delete(bucket.due);
      if (bucket.live === 0) continue;
      for (const entry of bucket.entries) {
        // Skips entries removed or moved since they were added here (and repeats of a re-added entry).
        if (this.#dueByEntry.get(entry) !== bucket.due) continue;
        this.#dueByEntry.delete(entry);
        entries.push(entry);
        dues.push(bucket.due);
      }
    }
    if (entries.length === 0) {
      this.#arm(); // a chunk of a long wait ended, or everything due was removed
      return;
    }
    this.#handingOff = true;
    try {
      this.#onDue({ entries, dues, firedAt: now });
    } finally {
      this.#handingOff = false;
      this.#arm();
    }
  }

  #arm(): void {
    this.#disarm();
    if (this.#stopped) return;
    this.#dropEmptyTop();
    const top = this.#heap[0];
    if (!top) return;
    const delay = Math.min(Math.max(top.due - this.#clock.now(), 0), this.#maxWait);
    this.#armedFor = top.due;
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(), delay);
  }

  #disarm(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#armedFor = null;
  }

  #dropEmptyTop(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.live === 0) {
      this.#bucketByDue.delete(this.#pop().due);
    }
  }

  // === Binary min-heap of buckets by due time

  #push(bucket: Bucket<T>): void {
    const heap = this.#heap;
    let index = heap.length;
    heap.push(bucket);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent]!.due <= bucket.due) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = bucket;
  }

  #pop(): Bucket<T> {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.due < heap[left]!.due ? right : left;
      if (heap[child]!.due >= last.due) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = last;
    return top;
  }
}
