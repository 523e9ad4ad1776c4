/**
 * The daemon: the composition root that `rulebot start` runs — rules, execution log,
 * bridge, engine, ops endpoint and retention, started and stopped in order.
 */

// === The daemon ===
export { Daemon, type DaemonOptions, type DaemonState } from './daemon';

// === Its parts, for tools and tests that assemble their own ===
export { RuleSource, RELOAD_DEBOUNCE_MS, type RuleSetChanges, type RuleSetSnapshot } from './rules-source';
export { RuleEngine, type RuleEngineOptions } from './wiring';
export { RuleRunner, fireThroughGate, type GatedFire, type GatedFireOptions, type RunOptions, type RuleRunnerOptions } from './runner';
export { RunResumer, type RunResumerOptions, type StartedResume } from './resume';
export { createControlHandlers, type ControlRunAnswer, type DaemonControlOptions } from './control';
export { healthReport, collectMetricsFrom, type HealthSources } from './observability';
export { RetentionTimer, PRUNE_INTERVAL_MS, FIRST_PRUNE_DELAY_MS, type RetentionTimerOptions } from './retention';
export { drainEngine, settlesWithin, ABORT_GRACE_MS, OPS_CLOSE_TIMEOUT_MS, FINAL_SETTLE_MS, type DrainResult } from './shutdown';
export { openDaemonStore, type DaemonStore, type RecordedRunListener } from './store';
export { startBridgeEndpoint, createBridgeClient, type BridgeEndpoint } from './bridge';
