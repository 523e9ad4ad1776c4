/**
 * The ops endpoint: health, metrics and control of a running daemon over local HTTP,
 * and the client the CLI uses to reach it.
 */

// === Metrics ===
export {
  MetricsRegistry,
  Counter,
  Gauge,
  Histogram,
  METRICS_CONTENT_TYPE,
  type Labels,
  type Sample,
  type Collected,
  type HistogramSnapshot,
  type MetricsRegistryOptions,
} from './metrics';
export { createDaemonMetrics, collectDaemonMetrics, ACTION_DURATION_BUCKETS, type DaemonMetrics, type DaemonMetricSources } from './daemon-metrics';

// === Health ===
export { isHealthy, healthBody, type HealthReport, type HealthBody, type HealthStatus, type InvalidRule, type ErrorInfo } from './health';

// === Server ===
export { startOpsServer, isLoopbackHost, parseListenAddress, type OpsServer, type OpsServerOptions } from './http-server';
export type { ControlHandlers, RunRequest, ResumeRequest } from './control';

// === Control token and client ===
export { ensureControlToken, readControlToken, tokensEqual, defaultControlTokenFile } from './token';
export { findDaemon, type ControlClient, type FindDaemonOptions } from './control-client';

// === Errors ===
export { OpsError, ControlError, ControlRequestError, type OpsErrorCode } from './errors';
