// The engine: running rules (conditions, the action pipeline, the outbound limit).

// === Running a rule ===
export { executeRun, ExecutorError, MAX_STEPS_PER_RUN, type ExecuteRunOptions, type RuleToRun } from './executor';
export { RunInterruptedError, type ExecutorDeps, type ExecutorConfig, type RunLogger, type ActionOutcome, type ActionStatus } from './run-context';
export type { TriggerInput } from './context';
export { recordDeliveries, type DeliverySource } from './deliveries';

// === The outbound rate limit ===
export { OutboundLimiter, RateLimitAbortedError, type OutboundLimitOptions, type OutboundLimitStats } from './ratelimit';

// === Conditions ===
export {
  compileConditions,
  compareValues,
  describeConditionFailure,
  flattenConditionResults,
  processRateTracker,
  ConditionError,
  RateTracker,
  type CompiledConditions,
  type ConditionResult,
  type ConditionScope,
  type ConditionsOutcome,
} from './conditions';
export { compiledRuleOf, type CompiledRule } from './compile';

// === Friend-request audits outside runs ===
export { HoldResolver, type HoldResolverDeps, type HoldResolverOptions, type HoldResolverLogger, type HoldCheckOutcome } from './audit-holds';
export { auditRecordOf, type AuditRecord, type AnswerRecord, type AnswerState, type HoldRecord } from './audit-record';

// === Targets ===
export { resolveSendTargets, resolveGroupTargets, targetKey, type ResolvedTarget, type TargetResolution, type UnknownTarget } from './targets';

// === Helpers other areas may share ===
export { zonedTime, type ZonedTime } from './zoned-time';
export { traceValue } from './trace-value';
export { retryPolicyOf, DEFAULT_RETRY_DELAY_MS, type RetryPolicy } from './bridge-call';
