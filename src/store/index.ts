// The execution log: runs and their steps, and what rules keep between runs.

// === The store ===
export { RunStore, type RunStoreOptions } from './run-store';
export { openDatabase, type OpenDatabaseOptions } from './db';
export { StoreError, type StoreErrorCode } from './errors';

// === Parts reached through RunStore ===
export { RuleStateStore } from './rule-state';
export { SeenItemStore } from './seen-items';
export { BroadcastLedger, LEDGER_TRANSITIONS } from './ledger';
export { AuditDecisionStore } from './audit';

// === Retention ===
export {
  pruneRuns,
  RETENTION_CLASS,
  PRUNABLE_STATUSES,
  DEFAULT_KEEP_PER_RULE_AND_STATUS,
  DEFAULT_PRUNE_BATCH_SIZE,
  type PruneBatch,
  type PruneCounts,
  type PruneOptions,
  type PrunePolicy,
  type PruneResult,
  type RetentionClass,
} from './prune';

// === Schema ===
export { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion, type Migration, type MigrationResult } from './migrations';

// === Helpers for writers ===
export { toStoredError } from './json';

// === Types ===
export {
  AUDIT_STATES,
  AUDIT_VERDICTS,
  DELIVERY_STATES,
  LEDGER_STATES,
  RUN_STATUSES,
  STEP_STATUSES,
  TRIGGER_KINDS,
  type AuditDecision,
  type AuditDecisionInput,
  type AuditFilter,
  type AuditResolution,
  type AuditState,
  type AuditVerdict,
  type ConditionRecord,
  type DeliveryState,
  type FinalAuditVerdict,
  type FinishedRunInput,
  type FinishedRunStatus,
  type FinishedStepStatus,
  type InterruptedSummary,
  type JsonValue,
  type LedgerEntry,
  type LedgerKey,
  type LedgerRefs,
  type LedgerState,
  type RunCount,
  type RunDetail,
  type RunFilter,
  type RunFinish,
  type RunRecord,
  type RunStart,
  type RunStatus,
  type SeenItemInput,
  type SeenItemRecord,
  type SettledDelivery,
  type SettleResult,
  type StepFinish,
  type StepRecord,
  type StepStart,
  type StepStatus,
  type StoredError,
  type TriggerKind,
} from './types';
