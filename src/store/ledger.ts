import type { Database, Statement } from 'better-sqlite3';
import type { Clock } from '../shared/clock';
import type { LedgerEntry, LedgerKey, LedgerRefs, LedgerState, SettledDelivery } from './types';

/**
 * The states each transition may start from. A target only moves forward, so a late
 * write cannot undo a later fact: the bridge's answer (`accepted`) arriving after the
 * delivery push (`delivered`) leaves `delivered`. A target left `unknown` by a crash can
 * still be settled by a delivery push that arrives after the restart.
 */
export const LEDGER_TRANSITIONS: Readonly<Record<Exclude<LedgerState, 'planned'>, readonly LedgerState[]>> = {
  sending: ['planned'],
  accepted: ['sending'],
  delivered: ['sending', 'accepted', 'unknown'],
  failed: ['planned', 'sending', 'accepted', 'unknown'],
  unknown: ['sending'],
};

/** The ledger of one run's targets, for `getRun`. */
export const SELECT_LEDGER_OF_RUN_SQL = 'SELECT * FROM broadcast_targets WHERE run_id = ? ORDER BY path, target';

interface LedgerRow {
  run_id: number;
  path: string;
  target: string;
  state: string;
  custom_msg_id: string | null;
  step_id: number | null;
  updated_at: number;
}

type TransitionParams = [state: LedgerState, customMsgId: string | null, stepId: number | null, now: number, runId: number, path: string, target: string];

/**
 * The per-target ledger of broadcasts: which targets of a send were planned, which are
 * being sent, and what became of each, so that a restart or a resume never sends to a
 * target twice. Reached as `RunStore.ledger`.
 */
export class BroadcastLedger {
  readonly #clock: Clock;
  readonly #plan: Statement<[runId: number, path: string, target: string, now: number]>;
  readonly #transitions: Record<Exclude<LedgerState, 'planned'>, Statement<TransitionParams>>;
  readonly #settles: Record<SettledDelivery, Statement<[state: SettledDelivery, now: number, customMsgId: string]>>;
  readonly #markSendingUnknown: Statement<[now: number], { run_id: number; path: string; target: string }>;
  readonly #listOfRun: Statement<[runId: number], LedgerRow>;
  readonly #listOfAction: Statement<[runId: number, path: string], LedgerRow>;
  readonly #planMany: (runId: number, path: string, targets: readonly string[], now: number) => number;

  constructor(db: Database, clock: Clock) {
    this.#clock = clock;
    this.#plan = db.prepare(
      `INSERT INTO broadcast_targets (run_id, path, target, state, updated_at) VALUES (?, ?, ?, 'planned', ?)
       ON CONFLICT (run_id, path, target) DO NOTHING`,
    );
    const transition = (to: Exclude<LedgerState, 'planned'>): Statement<TransitionParams> =>
      db.prepare(
        `UPDATE broadcast_targets
            SET state = ?, custom_msg_id = COALESCE(?, custom_msg_id), step_id = COALESCE(?, step_id), updated_at = ?
          WHERE run_id = ? AND path = ? AND target = ? AND state IN (${sqlList(LEDGER_TRANSITIONS[to])})`,
      );
    this.#transitions = {
      sending: transition('sending'),
      accepted: transition('accepted'),
      delivered: transition('delivered'),
      failed: transition('failed'),
      unknown: transition('unknown'),
    };
    const settle = (to: SettledDelivery): Statement<[SettledDelivery, number, string]> =>
      db.prepare(`UPDATE broadcast_targets SET state = ?, updated_at = ? WHERE custom_msg_id = ? AND state IN (${sqlList(LEDGER_TRANSITIONS[to])})`);
    this.#settles = { delivered: settle('delivered'), failed: settle('failed') };
    // A target can only be `sending` while its run is running, so the running runs (found
    // by the status index) bound the search instead of a scan of the whole ledger.
    this.#markSendingUnknown = db.prepare(
      `UPDATE broadcast_targets SET state = 'unknown', updated_at = ?
        WHERE state = 'sending' AND run_id IN (SELECT id FROM runs WHERE status = 'running')
        RETURNING run_id, path, target`,
    );
    this.#listOfRun = db.prepare(SELECT_LEDGER_OF_RUN_SQL);
    this.#listOfAction = db.prepare('SELECT * FROM broadcast_targets WHERE run_id = ? AND path = ? ORDER BY target');
    this.#planMany = db.transaction((runId: number, path: string, targets: readonly string[], now: number) => {
      let planned = 0;
      for (const target of targets) planned += this.#plan.run(runId, path, target, now).changes;
      return planned;
    });
  }

  /**
   * Records the targets of one broadcast action as `planned`, in one transaction, before
   * any is sent. Targets already in the ledger keep their state, so planning again after
   * a restart is harmless. Returns how many were new.
   */
  plan(runId: number, path: string, targets: readonly string[]): number {
    return this.#planMany(runId, path, targets, this.#clock.now());
  }

  /**
   * Moves one target to `state` if LEDGER_TRANSITIONS allows it from where it is, and
   * records the message id and step with it. Returns false, changing nothing, when the
   * target is not in the ledger or is already past that state.
   */
  setState(key: LedgerKey, state: Exclude<LedgerState, 'planned'>, refs: LedgerRefs = {}): boolean {
    const info = this.#transitions[state].run(state, refs.customMsgId ?? null, refs.stepId ?? null, this.#clock.now(), key.runId, key.path, key.target);
    return info.changes > 0;
  }

  /** The ledger of a run, or of one of its actions, ordered by path and target. */
  list(runId: number, path?: string): LedgerEntry[] {
    const rows = path === undefined ? this.#listOfRun.all(runId) : this.#listOfAction.all(runId, path);
    return rows.map(toLedgerEntry);
  }

  /** Applies a delivery push to the targets sent with `customMsgId`; returns how many moved. */
  settle(customMsgId: string, state: SettledDelivery): number {
    return this.#settles[state].run(state, this.#clock.now(), customMsgId).changes;
  }

  /** Marks every `sending` target of a running run `unknown`; part of `RunStore.markInterrupted`. */
  markSendingUnknown(): LedgerKey[] {
    return this.#markSendingUnknown.all(this.#clock.now()).map((row) => ({ runId: row.run_id, path: row.path, target: row.target }));
  }
}

/** A ledger row as the store returns it. */
export function toLedgerEntry(row: LedgerRow): LedgerEntry {
  return {
    runId: row.run_id,
    path: row.path,
    target: row.target,
    state: row.state as LedgerState,
    customMsgId: row.custom_msg_id,
    stepId: row.step_id,
    updatedAt: row.updated_at,
  };
}

// States are constants of this module, never input, so they may be written into SQL.
function sqlList(values: readonly string[]): string {
  return values.map((value) => `'${value}'`).join(', ');
}
