/**
 * The simulator's log of every frame in and out. Cheap on the hot path: one small object
 * per frame holding the raw text, parsed only when read (a string costs the garbage
 * collector nothing to trace; a hundred thousand parsed frames would). Bounded: the
 * oldest entries go once `limit` is passed.
 */

export type FrameDirection = 'in' | 'out';

/** One frame as it crossed the socket. */
export interface RecordedFrame {
  /** 1, 2, 3, ... over the simulator's life; never reused, so gaps show trimming. */
  readonly seq: number;
  /** Clock time (epoch ms). */
  readonly at: number;
  readonly connectionId: number;
  readonly direction: FrameDirection;
  readonly raw: string;
  /** The JSON object, when `raw` is one. */
  readonly frame?: object;
  /** The fault that struck this incoming frame (busy, silence, drop, garbage, invalid-utf8, delay, error, delivery-failure). */
  readonly fault?: string;
  /** For a world-changing frame struck by a fault: whether the bridge acted before failing. */
  readonly actedBeforeFault?: boolean;
}

const UNPARSED: unique symbol = Symbol('unparsed');

class Entry implements RecordedFrame {
  fault?: string;
  actedBeforeFault?: boolean;
  #frame: object | undefined | typeof UNPARSED = UNPARSED;

  constructor(
    readonly seq: number,
    readonly at: number,
    readonly connectionId: number,
    readonly direction: FrameDirection,
    readonly raw: string,
  ) {}

  get frame(): object | undefined {
    if (this.#frame === UNPARSED) {
      try {
        const parsed: unknown = JSON.parse(this.raw);
        this.#frame = typeof parsed === 'object' && parsed !== null ? parsed : undefined;
      } catch {
        this.#frame = undefined;
      }
    }
    return this.#frame;
  }

  toJSON(): RecordedFrame {
    const { seq, at, connectionId, direction, raw, frame, fault, actedBeforeFault } = this;
    return {
      seq,
      at,
      connectionId,
      direction,
      raw,
      ...(frame !== undefined ? { frame } : {}),
      ...(fault !== undefined ? { fault } : {}),
      ...(actedBeforeFault !== undefined ? { actedBeforeFault } : {}),
    };
  }
}

/** A frame entry the simulator may still annotate with the fault that struck it. */
export interface MutableRecordedFrame extends RecordedFrame {
  fault?: string;
  actedBeforeFault?: boolean;
}

export class FrameRecord {
  readonly #entries: Entry[] = [];
  readonly #limit: number;
  #seq = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Appends a frame; its parsed form is made on first read. */
  add(at: number, connectionId: number, direction: FrameDirection, raw: string): MutableRecordedFrame {
    const entry = new Entry(++this.#seq, at, connectionId, direction, raw);
    if (this.#limit > 0) {
      this.#entries.push(entry);
      // Trimmed in chunks so appending stays O(1) on average.
      if (this.#entries.length >= this.#limit + Math.max(64, this.#limit >> 2)) this.#trim();
    }
    return entry;
  }

  /** The last `limit` frames, oldest first. */
  entries(): readonly RecordedFrame[] {
    this.#trim();
    return this.#entries;
  }

  /** Frames with seq > `afterSeq`. */
  since(afterSeq: number): RecordedFrame[] {
    this.#trim();
    const entries = this.#entries;
    // seq grows by one per entry, so the start is found by arithmetic, not search.
    const first = entries.length > 0 ? entries[0]!.seq : 0;
    return entries.slice(Math.max(0, afterSeq - first + 1));
  }

  get lastSeq(): number {
    return this.#seq;
  }

  clear(): void {
    this.#entries.length = 0;
  }

  #trim(): void {
    const excess = this.#entries.length - this.#limit;
    if (excess > 0) this.#entries.splice(0, excess);
  }
}
