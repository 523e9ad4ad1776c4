/**
 * Retention while the daemon runs: the execution log is pruned by the config's
 * `retention` a minute after start and then once a day, in small batches (store/prune.ts)
 * so runs keep being written meanwhile. A prune in progress stops at shutdown.
 */
import type { Clock, TimerHandle } from '../shared/clock';
import type { Logger } from '../shared/log';
import { pruneRuns } from '../store/prune';
import type { RunStore } from '../store/run-store';

/** Time between two prunes. */
export const PRUNE_INTERVAL_MS = 24 * 60 * 60 * 1000;
/** The first prune waits this long, out of the way of startup and its catch-up runs. */
export const FIRST_PRUNE_DELAY_MS = 60_000;

export interface RetentionTimerOptions {
  store: RunStore;
  clock: Clock;
  /** Ages in ms after which runs that went well (`ok`) and failed runs (`failed`) go. */
  retention: { okMs: number; failedMs: number };
  logger: Logger;
}

/** Prunes the execution log on a daily timer. */
export class RetentionTimer {
  readonly #options: RetentionTimerOptions;
  #timer: TimerHandle | undefined;
  #controller: AbortController | undefined;
  #pruning: Promise<void> | undefined;
  #stopped = false;

  constructor(options: RetentionTimerOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    this.#arm(FIRST_PRUNE_DELAY_MS);
  }

  /** Cancels the timer and stops a prune in progress before its next batch. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#controller?.abort();
    await this.#pruning;
  }

  #arm(delayMs: number): void {
    const timer = this.#options.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#pruning = this.#prune().finally(() => {
        this.#pruning = undefined;
        if (!this.#stopped) this.#arm(PRUNE_INTERVAL_MS);
      });
    }, delayMs);
    // The daily timer alone must not keep the process alive.
    timer.unref?.();
    this.#timer = timer;
  }

  async #prune(): Promise<void> {
    const { store, clock, retention, logger } = this.#options;
    const controller = new AbortController();
    this.#controller = controller;
    try {
      const result = await pruneRuns(store, { ok: retention.okMs, failed: retention.failedMs }, clock.now(), { signal: controller.signal });
      const fields = { deleted: result.total, batches: result.batches, keptByFloor: result.keptByFloor, ...(result.aborted && { aborted: true }) };
      if (result.total > 0) logger.info(fields, 'old runs pruned');
      else logger.debug(fields, 'nothing to prune');
    } catch (err) {
      logger.warn({ err }, 'pruning old runs failed; trying again tomorrow');
    } finally {
      this.#controller = undefined;
    }
  }
}
