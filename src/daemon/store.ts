/**
 * The daemon's execution log. The scheduler and the dispatcher write the runs that are
 * born finished themselves (skips of a rule's concurrency, slots missed by the misfire
 * policy), so the daemon opens the log as a store that tells it about each of them:
 * metrics then count every recorded outcome, not only the runs the daemon executes.
 */
import type { Clock } from '../shared/clock';
import { openDatabase } from '../store/db';
import { RunStore } from '../store/run-store';
import type { FinishedRunInput, InterruptedSummary } from '../store/types';

/** Called with every run row recorded born finished. */
export type RecordedRunListener = (row: FinishedRunInput) => void;

/** A RunStore that reports the finished rows it records. */
class ObservedRunStore extends RunStore {
  readonly #onRecorded: RecordedRunListener;

  constructor(db: ReturnType<typeof openDatabase>, clock: Clock, onRecorded: RecordedRunListener) {
    super(db, clock);
    this.#onRecorded = onRecorded;
  }

  override recordRun(input: FinishedRunInput): number {
    const id = super.recordRun(input);
    this.#onRecorded(input);
    return id;
  }

  override recordRuns(inputs: readonly FinishedRunInput[]): number[] {
    const ids = super.recordRuns(inputs);
    for (const input of inputs) this.#onRecorded(input);
    return ids;
  }
}

/** The opened log and what opening it marked. */
export interface DaemonStore {
  store: RunStore;
  /** Runs a previous process left `running`, now `interrupted`. */
  interrupted: InterruptedSummary;
}

/**
 * Opens (creating and migrating as needed) the execution log for the daemon, and marks
 * what a previous process left running as interrupted: only the process that runs rules
 * may, and it must before its first run.
 */
export function openDaemonStore(file: string, clock: Clock, onRecorded: RecordedRunListener): DaemonStore {
  const db = openDatabase(file);
  try {
    const store = new ObservedRunStore(db, clock, onRecorded);
    return { store, interrupted: store.markInterrupted() };
  } catch (err) {
    db.close();
    throw err;
  }
}
