/**
 * Step rows of a run, written as they happen. A step is committed when it begins, and a
 * world-changing step records its exact frame before the socket write, so a crash leaves
 * a step that says what may have gone out.
 */
import type { RunStore } from '../store/run-store';
import type { StepFinish } from '../store/types';
import { traceValue } from './trace-value';

export interface StepBegin {
  /** Trace path, e.g. `actions/1/do/0[3]`. */
  path: string;
  kind: string;
  /** The rendered input; kept bounded in the log. */
  input?: unknown;
  /** `group:389284`, `friend:7237423`, `bridge`. */
  target?: string | null;
}

/** One step row being written. */
export class StepHandle {
  readonly id: number;
  readonly path: string;
  readonly kind: string;
  readonly target: string | null;
  readonly #store: RunStore;
  readonly #onSettled: (step: StepHandle) => void;
  #frameRecorded = false;
  #customMsgId: string | undefined;
  #finished = false;

  constructor(store: RunStore, id: number, begin: StepBegin, onSettled: (step: StepHandle) => void) {
    this.#store = store;
    this.id = id;
    this.path = begin.path;
    this.kind = begin.kind;
    this.target = begin.target ?? null;
    this.#onSettled = onSettled;
  }

  /** Records the exact frame about to be written (and its custom_msg_id); committed when this returns. */
  recordFrame(frame: unknown, customMsgId?: string): void {
    this.#store.setStepFrame(this.id, frame, customMsgId);
    this.#frameRecorded = true;
    if (customMsgId !== undefined) this.#customMsgId = customMsgId;
  }

  /** Whether a frame was recorded: after that, the bridge may have acted. */
  get frameRecorded(): boolean {
    return this.#frameRecorded;
  }

  get customMsgId(): string | undefined {
    return this.#customMsgId;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Records how the step ended; a second call is ignored. */
  finish(finish: StepFinish): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#store.finishStep(this.id, { ...finish, answer: finish.answer === undefined ? undefined : traceValue(finish.answer) });
    this.#onSettled(this);
  }
}

/** Numbers and writes the steps of one run. */
export class StepRecorder {
  readonly #store: RunStore;
  readonly #runId: number;
  readonly #open = new Set<StepHandle>();
  #seq = 0;

  constructor(store: RunStore, runId: number) {
    this.#store = store;
    this.#runId = runId;
  }

  /** Writes a `running` step row and returns its handle. */
  begin(begin: StepBegin): StepHandle {
    const seq = ++this.#seq;
    const id = this.#store.startStep(this.#runId, {
      seq,
      path: begin.path,
      kind: begin.kind,
      input: begin.input === undefined ? undefined : traceValue(begin.input),
      target: begin.target ?? null,
    });
    const step = new StepHandle(this.#store, id, begin, (settled) => this.#open.delete(settled));
    this.#open.add(step);
    return step;
  }

  /** Steps written so far. */
  get count(): number {
    return this.#seq;
  }

  /**
   * Finishes every step still open, e.g. after an action threw half-way. A step whose
   * frame was recorded may have been sent: its delivery is unknown.
   */
  finishOpen(finish: (step: StepHandle) => StepFinish): void {
    for (const step of [...this.#open]) step.finish(finish(step));
  }
}
