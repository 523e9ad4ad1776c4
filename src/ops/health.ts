/**
 * The daemon's health: what it reports, the one definition of "healthy", and the JSON
 * `/healthz` answers with.
 */

/** A rule left out because it is invalid, where `rulebot validate` would point. */
export interface InvalidRule {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** The last error of a part, with when it happened (milliseconds since the epoch). */
export interface ErrorInfo {
  message: string;
  at: number;
}

/** What the daemon reports about itself; times are milliseconds since the epoch, null when never. */
export interface HealthReport {
  bridge: {
    /** The socket is open (it may still be greeting / discovering). */
    connected: boolean;
    /** Requests can be sent. */
    ready: boolean;
    lastAnswerAt: number | null;
    lastError: ErrorInfo | null;
  };
  scheduler: {
    /** The timer loop is running. */
    alive: boolean;
    lastTickAt: number | null;
    /** Fires waiting in the queue. */
    queued: number;
  };
  rules: {
    loaded: number;
    invalid: readonly InvalidRule[];
  };
  /** The daemon's most recent error of any part. */
  lastError: ErrorInfo | null;
}

export type HealthStatus = 'ok' | 'degraded';

/** An error as `/healthz` shows it: the time as ISO-8601. */
export interface ErrorBody {
  message: string;
  at: string;
}

/** The JSON of `/healthz`: the report with a status, times as ISO-8601 strings. */
export interface HealthBody {
  status: HealthStatus;
  bridge: { connected: boolean; ready: boolean; lastAnswerAt: string | null; lastError: ErrorBody | null };
  scheduler: { alive: boolean; lastTickAt: string | null; queued: number };
  rules: { loaded: number; invalid: InvalidRule[] };
  lastError: ErrorBody | null;
}

/**
 * The one definition of healthy: the bridge is ready and the scheduler is alive, so rules
 * fire and their actions reach the chat platform.
 *
 * Invalid rules are reported but do not make the daemon unhealthy: the valid rules run
 * (one bad rule never stops the others), and whatever acts on a 503 — a supervisor's
 * restart, a load balancer, an uptime alert — cannot fix a rule file; a restart would
 * only interrupt the rules that work. `rulebot validate`, `rules.invalid` here and the
 * `rulebot_rules_invalid` gauge are where a bad rule shows.
 */
export function isHealthy(report: HealthReport): boolean {
  return report.bridge.ready && report.scheduler.alive;
}

/** `/healthz`'s body for a report. */
export function healthBody(report: HealthReport): HealthBody {
  return {
    status: isHealthy(report) ? 'ok' : 'degraded',
    bridge: {
      connected: report.bridge.connected,
      ready: report.bridge.ready,
      lastAnswerAt: iso(report.bridge.lastAnswerAt),
      lastError: errorBody(report.bridge.lastError),
    },
    scheduler: { alive: report.scheduler.alive, lastTickAt: iso(report.scheduler.lastTickAt), queued: report.scheduler.queued },
    rules: { loaded: report.rules.loaded, invalid: report.rules.invalid.map((r) => ({ file: r.file, line: r.line, col: r.col, message: r.message })) },
    lastError: errorBody(report.lastError),
  };
}

function iso(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}

function errorBody(error: ErrorInfo | null): ErrorBody | null {
  return error === null ? null : { message: error.message, at: new Date(error.at).toISOString() };
}
