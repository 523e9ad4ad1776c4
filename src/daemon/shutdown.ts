/**
 * Draining the engine at shutdown: no new fires, fires waiting in a queue dropped, runs
 * in flight given until the deadline to finish, and the rest aborted — each ends
 * `interrupted` at its next step or wait, its ledger saying which targets were reached.
 */
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/log';
import type { RuleEngine } from './wiring';

/*
 * Past the shutdown deadline the daemon needs a few seconds more, and no more than
 * these, so a supervisor's kill timeout a little above the deadline never cuts it off
 * before the database is closed.
 */
/** How long aborted runs get to write their `interrupted` ending. */
export const ABORT_GRACE_MS = 2000;
/** How long control requests in progress get to be answered once the runs have ended. */
export const OPS_CLOSE_TIMEOUT_MS = 1000;
/** How long the last runs (failed by the client's stop) and polls get before the database closes. */
export const FINAL_SETTLE_MS = 1000;

/** What the drain did. */
export interface DrainResult {
  /** Every run finished before the deadline. */
  drained: boolean;
  /** Fires that were waiting their turn (queue mode), dropped unrun. */
  dropped: number;
  /** Runs aborted at the deadline. */
  aborted: number;
}

/** Resolves true when `work` settles within `ms`, false when the time runs out first. */
export function settlesWithin(work: Promise<unknown>, ms: number, clock: Clock): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const timer = clock.setTimeout(() => resolve(false), ms);
    const done = (): void => {
      clock.clearTimeout(timer);
      resolve(true);
    };
    work.then(done, done);
  });
}

/**
 * Stops the engine's intake and waits up to `deadlineMs` for the runs in flight; aborts
 * the rest and gives them {@link ABORT_GRACE_MS} to record how they ended.
 */
export async function drainEngine(engine: RuleEngine, deadlineMs: number, clock: Clock, log: Logger): Promise<DrainResult> {
  const dropped = engine.stopIntake();
  engine.runner.close();
  const running = engine.runner.inFlight;
  if (running > 0) log.info({ running, deadlineMs }, 'waiting for runs in flight');
  if (await settlesWithin(engine.gates.whenIdle(), deadlineMs, clock)) return { drained: true, dropped, aborted: 0 };
  const aborted = engine.runner.abortAll('the daemon is stopping and the shutdown deadline passed');
  log.warn({ aborted, deadlineMs }, 'shutdown deadline passed; interrupting the runs still going');
  await settlesWithin(engine.runner.whenSettled(), ABORT_GRACE_MS, clock);
  return { drained: false, dropped, aborted };
}
