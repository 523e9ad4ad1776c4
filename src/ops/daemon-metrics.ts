/**
 * The daemon's metrics, defined in one place so `/metrics`, the docs and the code that
 * counts agree on names, labels and buckets.
 *
 * Label cardinality is bounded by construction, so the registry (and every scrape) stays
 * small however long the daemon runs:
 * - `rule`: rule ids, bounded by the rule files (a rule removed by a reload keeps its
 *   series until the process restarts: bounded by what was loaded since start);
 * - `status`: the closed set of run statuses;
 * - `kind`: the closed set of action kinds;
 * - `type`: the frame types rulebot's own client writes.
 * Nothing that grows with traffic (group ids, uids, run ids, message text) is a label.
 */
import { Counter, Gauge, Histogram, MetricsRegistry, type MetricsRegistryOptions } from './metrics';

/** Upper bounds of `rulebot_action_duration_seconds`: from a local write (5 ms) to a slow bridge call near its timeout (30 s). */
export const ACTION_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The daemon's metrics; pushed ones are counted where the event happens, pulled ones read at scrape time. */
export interface DaemonMetrics {
  readonly registry: MetricsRegistry;
  /** `rulebot_runs_total{rule,status}`: finished runs (and recorded skips / misses), by rule id and status. */
  readonly runs: Counter<'rule' | 'status'>;
  /** `rulebot_action_duration_seconds{kind}`: how long each executed action took, in seconds. */
  readonly actionDuration: Histogram<'kind'>;
  /** `rulebot_frames_sent_total{type}`: frames written to the bridge, by frame type. */
  readonly framesSent: Counter<'type'>;
  /** `rulebot_bridge_reconnects_total`: reconnect attempts scheduled. */
  readonly bridgeReconnects: Counter;
  /** `rulebot_rate_limit_waits_total`: sends that waited for the outbound rate limit. */
  readonly rateLimitWaits: Counter;
  /** `rulebot_delivery_failures_total`: messages the bridge reported as not delivered. */
  readonly deliveryFailures: Counter;
  /** `rulebot_bridge_ready`: 1 while the bridge connection is ready, else 0. */
  readonly bridgeReady: Gauge;
  /** `rulebot_rules_loaded`: valid rules running. */
  readonly rulesLoaded: Gauge;
  /** `rulebot_rules_invalid`: rules left out because they are invalid. */
  readonly rulesInvalid: Gauge;
  /** `rulebot_scheduler_queue_size`: fires waiting in the scheduler's queue. */
  readonly schedulerQueueSize: Gauge;
}

/** Registers the daemon's metrics in a new registry. */
export function createDaemonMetrics(options: MetricsRegistryOptions = {}): DaemonMetrics {
  const registry = new MetricsRegistry(options);
  return {
    registry,
    runs: registry.counter({ name: 'rulebot_runs_total', help: 'Rule runs, by rule id and final status.', labelNames: ['rule', 'status'] }),
    actionDuration: registry.histogram({
      name: 'rulebot_action_duration_seconds',
      help: 'Time taken by each executed action, by action kind.',
      labelNames: ['kind'],
      buckets: ACTION_DURATION_BUCKETS,
    }),
    framesSent: registry.counter({ name: 'rulebot_frames_sent_total', help: 'Frames written to the bridge, by frame type.', labelNames: ['type'] }),
    bridgeReconnects: registry.counter({ name: 'rulebot_bridge_reconnects_total', help: 'Reconnect attempts to the bridge.' }),
    rateLimitWaits: registry.counter({ name: 'rulebot_rate_limit_waits_total', help: 'Sends that waited for the outbound rate limit.' }),
    deliveryFailures: registry.counter({ name: 'rulebot_delivery_failures_total', help: 'Messages the bridge reported as not delivered.' }),
    bridgeReady: registry.gauge({ name: 'rulebot_bridge_ready', help: '1 while the bridge connection is ready, else 0.' }),
    rulesLoaded: registry.gauge({ name: 'rulebot_rules_loaded', help: 'Valid rules loaded.' }),
    rulesInvalid: registry.gauge({ name: 'rulebot_rules_invalid', help: 'Rules left out because they are invalid.' }),
    schedulerQueueSize: registry.gauge({ name: 'rulebot_scheduler_queue_size', help: 'Fires waiting in the scheduler queue.' }),
  };
}

/**
 * Counters and state other modules already keep. Each source given becomes the collect
 * callback of its metrics, read at every scrape, so those modules need not know about
 * metrics. The shapes are structural: the bridge client's `metrics()` and the rate
 * limiter's `stats` fit as they are.
 */
export interface DaemonMetricSources {
  /** The bridge client's counters: feeds `frames_sent_total`, `bridge_reconnects_total`, `bridge_ready`. */
  bridge?: () => { state: string; framesSent: Readonly<Record<string, number>>; reconnects: number };
  /** The outbound limiter's counters: feeds `rate_limit_waits_total`. */
  rateLimit?: () => { waited: number };
  /** The rule set: feeds `rules_loaded` and `rules_invalid`. */
  rules?: () => { loaded: number; invalid: number };
  /** The scheduler: feeds `scheduler_queue_size`. */
  schedulerQueueSize?: () => number;
}

/** Points the pulled metrics at their sources; sources left out keep their pushed values. */
export function collectDaemonMetrics(metrics: DaemonMetrics, sources: DaemonMetricSources): void {
  const { bridge, rateLimit, rules, schedulerQueueSize } = sources;
  if (bridge !== undefined) {
    metrics.framesSent.collectFrom(() => Object.entries(bridge().framesSent).map(([type, value]) => ({ labels: { type }, value })));
    metrics.bridgeReconnects.collectFrom(() => bridge().reconnects);
    metrics.bridgeReady.collectFrom(() => (bridge().state === 'ready' ? 1 : 0));
  }
  if (rateLimit !== undefined) metrics.rateLimitWaits.collectFrom(() => rateLimit().waited);
  if (rules !== undefined) {
    metrics.rulesLoaded.collectFrom(() => rules().loaded);
    metrics.rulesInvalid.collectFrom(() => rules().invalid);
  }
  if (schedulerQueueSize !== undefined) metrics.schedulerQueueSize.collectFrom(schedulerQueueSize);
}
