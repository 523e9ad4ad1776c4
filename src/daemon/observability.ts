/**
 * What the daemon tells the ops endpoint: its health report and the sources of its
 * pulled metrics, read from the parts that already keep them (the bridge client, the
 * scheduler, the watcher, the rule set, the outbound limiter).
 */
import type { OutboundLimiter } from '../engine/ratelimit';
import type { Scheduler } from '../engine/scheduler';
import type { Watcher } from '../engine/watch';
import { collectDaemonMetrics, type DaemonMetrics } from '../ops/daemon-metrics';
import type { ErrorInfo, HealthReport } from '../ops/health';
import type { BridgeClient } from '../protocol/client';
import type { RuleSource } from './rules-source';
import type { RuleRunner } from './runner';

/** The parts whose state makes the daemon's health. */
export interface HealthSources {
  bridge: BridgeClient;
  scheduler: Scheduler;
  watcher: Watcher;
  rules: RuleSource;
  runner: RuleRunner;
}

/** Socket states in which the connection is open (ready or still greeting / discovering). */
const CONNECTED_STATES: ReadonlySet<string> = new Set(['greeting', 'discovering', 'ready']);

/** The daemon's health now. */
export function healthReport(sources: HealthSources): HealthReport {
  const bridge = sources.bridge.metrics();
  const scheduler = sources.scheduler.status();
  const rules = sources.rules.snapshot;
  const watchErrors = sources.watcher
    .status()
    .flatMap((status) => (status.lastError !== null && status.lastError.at > 0 ? [{ message: `rule ${status.ruleId}: ${status.lastError.message}`, at: status.lastError.at }] : []));
  return {
    bridge: {
      connected: CONNECTED_STATES.has(bridge.state),
      ready: bridge.state === 'ready',
      lastAnswerAt: bridge.lastAnswerAt ?? null,
      lastError: bridge.lastError ?? null,
    },
    scheduler: { alive: scheduler.alive, lastTickAt: scheduler.lastTickAt, queued: scheduler.queued },
    rules: {
      loaded: rules.rules.length,
      invalid: rules.problems.map((problem) => ({ file: problem.file, line: problem.line, col: problem.col, message: problem.message })),
    },
    lastError: newest([bridge.lastError ?? null, sources.runner.lastError, ...watchErrors]),
  };
}

/** Points the daemon's pulled metrics at their sources. */
export function collectMetricsFrom(metrics: DaemonMetrics, sources: HealthSources & { limiter: OutboundLimiter }): void {
  collectDaemonMetrics(metrics, {
    bridge: () => sources.bridge.metrics(),
    rateLimit: () => sources.limiter.stats,
    rules: () => {
      const snapshot = sources.rules.snapshot;
      return { loaded: snapshot.rules.length, invalid: snapshot.invalidDocuments };
    },
    schedulerQueueSize: () => sources.scheduler.status().queued,
  });
}

function newest(errors: ReadonlyArray<ErrorInfo | null>): ErrorInfo | null {
  let found: ErrorInfo | null = null;
  for (const error of errors) if (error !== null && (found === null || error.at > found.at)) found = error;
  return found;
}
