/**
 * `delay`: waits `for`, plus a random share of `jitter`, on the injected clock. A dry
 * run records the wait without waiting.
 */
import { parseDuration } from '../shared/duration';
import { localStep } from './shared';
import type { ActionHandler } from './types';

export const runDelay: ActionHandler<'delay'> = (call) => {
  const { run, options } = call;
  const baseMs = parseDuration(options.for);
  const jitterMs = options.jitter !== undefined ? Math.round(run.random() * parseDuration(options.jitter)) : 0;
  const ms = baseMs + jitterMs;
  return localStep(call, { for: options.for, ...(options.jitter !== undefined && { jitter: options.jitter }), ms }, async () => {
    if (run.dryRun) return { status: 'dry-run', answer: { waitedMs: 0 }, note: `dry run: would wait ${ms}ms` };
    await run.sleep(ms);
    return { answer: { waitedMs: ms } };
  });
};
