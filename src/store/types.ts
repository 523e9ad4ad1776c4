/**
 * The shapes of the execution log: what is written (`*Start`, `*Finish`, `*Input`) and
 * what is read back (`*Record`). Timestamps are milliseconds since the epoch, taken from
 * the store's Clock. Ids of the chat platform (uids, custom message ids) are strings.
 */

// === JSON columns ===

/** A value that survives a JSON round trip: what every JSON column gives back. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** An error as the log keeps it: the stable code, the message, and any context. */
export interface StoredError {
  code: string;
  message: string;
  details?: { [key: string]: JsonValue };
}

/** The outcome of one condition of a rule's `when`, kept so "why didn't it fire?" has an answer. */
export interface ConditionRecord {
  /** Location in the rule, e.g. `when/0/any/1`. */
  path: string;
  /** The condition's kind, e.g. `match`, `rate`, `any`. */
  kind: string;
  passed: boolean;
  /** What the condition saw (the rendered value, the rate count...). */
  detail?: JsonValue;
}

// === Closed vocabularies ===

export const TRIGGER_KINDS = ['cron', 'every', 'window', 'watch', 'message', 'push', 'startup', 'manual', 'resume'] as const;
/** What started a run. */
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

export const RUN_STATUSES = ['running', 'ok', 'failed', 'partial', 'skipped', 'missed', 'interrupted', 'dry-run'] as const;
/**
 * A run's outcome. `skipped` and `missed` carry a `reason` (the condition or policy);
 * `interrupted` is what a crash or a shutdown deadline leaves behind.
 */
export type RunStatus = (typeof RUN_STATUSES)[number];
/** Every status but `running`: what a run can finish as. */
export type FinishedRunStatus = Exclude<RunStatus, 'running'>;

export const STEP_STATUSES = ['running', 'ok', 'failed', 'skipped', 'dry-run', 'interrupted'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export type FinishedStepStatus = Exclude<StepStatus, 'running'>;

export const DELIVERY_STATES = ['accepted', 'delivered', 'failed', 'unknown'] as const;
/**
 * What became of a sent message: `accepted` by the bridge's answer, then `delivered` or
 * `failed` by a later delivery push; `unknown` when the process died after the frame may
 * have left. A step that sent no message has no delivery state (null).
 */
export type DeliveryState = (typeof DELIVERY_STATES)[number];
/** The states a delivery push can settle a message in. */
export type SettledDelivery = Extract<DeliveryState, 'delivered' | 'failed'>;

export const LEDGER_STATES = ['planned', 'sending', 'accepted', 'delivered', 'failed', 'unknown'] as const;
/** One broadcast target's progress: planned → sending → accepted → delivered / failed / unknown. */
export type LedgerState = (typeof LEDGER_STATES)[number];

export const AUDIT_VERDICTS = ['accept', 'reject', 'flag', 'hold'] as const;
export type AuditVerdict = (typeof AUDIT_VERDICTS)[number];
/** The verdicts that end a hold. */
export type FinalAuditVerdict = Exclude<AuditVerdict, 'hold'>;

export const AUDIT_STATES = ['decided', 'held', 'resolved'] as const;
/** `held` until an admin or the fallback decides; then `resolved`. Other verdicts are `decided` at once. */
export type AuditState = (typeof AUDIT_STATES)[number];

// === Runs ===

/** What is known when a run starts. */
export interface RunStart {
  ruleId: string;
  /** Content hash of the rule as it was when the run started. */
  ruleHash: string;
  triggerKind: TriggerKind;
  /** The trigger's data: the message, the watched item, the window state... */
  triggerData?: unknown;
  /** The scheduled instant this run serves, for timed triggers. */
  slot?: number | null;
  /** The run this one resumes. */
  resumedFrom?: number | null;
}

/** How a run ended. */
export interface RunFinish {
  status: FinishedRunStatus;
  error?: StoredError | null;
  /** Why it was skipped or missed: the condition or policy. */
  reason?: string | null;
  conditions?: readonly ConditionRecord[] | null;
}

/** A run that is born finished (skipped, missed): its start and its end in one record. */
export type FinishedRunInput = RunStart & RunFinish;

export interface RunRecord {
  id: number;
  ruleId: string;
  ruleHash: string;
  triggerKind: TriggerKind;
  triggerData: JsonValue | null;
  slot: number | null;
  /** When the run started; for a run born finished, when it was recorded. */
  startedAt: number;
  finishedAt: number | null;
  status: RunStatus;
  reason: string | null;
  error: StoredError | null;
  conditions: ConditionRecord[] | null;
  /** Null while running, and for runs that never ran (born finished). */
  durationMs: number | null;
  resumedFrom: number | null;
}

/** A run with its trace: the steps in order and the broadcast ledger. */
export interface RunDetail extends RunRecord {
  steps: StepRecord[];
  ledger: LedgerEntry[];
}

/** Filters of `listRuns`; results are newest first. */
export interface RunFilter {
  ruleId?: string;
  status?: RunStatus;
  /** Runs started at or after this instant. */
  since?: number;
  /** Runs started before this instant. */
  until?: number;
  /** How many runs, 50 if not given. */
  limit?: number;
  /** Only runs older than this one: the cursor for the next page. */
  beforeId?: number;
}

/** A lifetime count of one rule's runs with one outcome. */
export interface RunCount {
  ruleId: string;
  status: RunStatus;
  count: number;
}

/** What `markInterrupted` changed. */
export interface InterruptedSummary {
  runIds: number[];
  stepIds: number[];
  /** Steps whose frame may have left: their delivery is now `unknown`. */
  unknownDeliveryStepIds: number[];
  /** Ledger targets that were `sending` and are now `unknown`. */
  unknownTargets: LedgerKey[];
}

// === Steps ===

/** What is known when a step starts. */
export interface StepStart {
  /** Order within the run. */
  seq: number;
  /** Location in the rule, e.g. `actions/2/then/0`. */
  path: string;
  /** The action kind, e.g. `send`, `muteMember`. */
  kind: string;
  /** The rendered input. */
  input?: unknown;
  /** The frame to send, when it is already built. */
  frame?: unknown;
  /** e.g. `group:389284`. */
  target?: string | null;
  customMsgId?: string | null;
}

/** How a step ended. */
export interface StepFinish {
  status: FinishedStepStatus;
  answer?: unknown;
  error?: StoredError | null;
  delivery?: DeliveryState | null;
  /** e.g. why a retry was not attempted. */
  note?: string | null;
}

export interface StepRecord {
  id: number;
  runId: number;
  seq: number;
  path: string;
  kind: string;
  status: StepStatus;
  input: JsonValue | null;
  frame: JsonValue | null;
  answer: JsonValue | null;
  error: StoredError | null;
  delivery: DeliveryState | null;
  customMsgId: string | null;
  target: string | null;
  note: string | null;
  startedAt: number;
  finishedAt: number | null;
  durationMs: number | null;
}

/** How many rows a delivery push settled. */
export interface SettleResult {
  steps: number;
  targets: number;
}

// === Broadcast ledger ===

/** Identifies one target of one broadcast action of one run. */
export interface LedgerKey {
  runId: number;
  /** The step path of the broadcast action. */
  path: string;
  target: string;
}

export interface LedgerEntry extends LedgerKey {
  state: LedgerState;
  customMsgId: string | null;
  stepId: number | null;
  updatedAt: number;
}

/** References recorded with a ledger transition. */
export interface LedgerRefs {
  customMsgId?: string | null;
  stepId?: number | null;
}

// === Rule state and seen-sets ===

/** One item of a watched listing. */
export interface SeenItemInput {
  /** The item's identity within the list, e.g. the requester's uid. */
  key: string;
  /** The item as last seen. */
  item?: unknown;
}

export interface SeenItemRecord {
  ruleId: string;
  list: string;
  key: string;
  item: JsonValue | null;
  firstSeen: number;
  lastSeen: number;
  removedAt: number | null;
}

// === Audit decisions ===

/** A friend-request decision as it is first recorded. */
export interface AuditDecisionInput {
  uid: string;
  /** The request's own time as the bridge reports it; with the uid, identifies the request. */
  requestTime: string;
  nickName?: string | null;
  message?: string | null;
  verdict: AuditVerdict;
  /** The condition that decided, e.g. `audit/rules/1`. */
  decidedBy?: string | null;
  /** What was carried out or planned (accept through the bridge, notify admins...). */
  actions?: unknown;
  ruleId?: string | null;
  runId?: number | null;
  /** For a hold: when the fallback decides. */
  holdUntil?: number | null;
}

export interface AuditDecision {
  id: number;
  uid: string;
  requestTime: string;
  nickName: string | null;
  message: string | null;
  verdict: AuditVerdict;
  decidedBy: string | null;
  decidedAt: number;
  actions: JsonValue | null;
  ruleId: string | null;
  runId: number | null;
  state: AuditState;
  holdUntil: number | null;
}

/** Filters of `audit.list`; results are newest decision first. */
export interface AuditFilter {
  verdict?: AuditVerdict;
  state?: AuditState;
  /** Decided at or after this instant. */
  since?: number;
  /** How many decisions, 100 if not given. */
  limit?: number;
}

/** How an admin or the fallback ends a hold. */
export interface AuditResolution {
  verdict: FinalAuditVerdict;
  /** Who or what decided: `admin:7237423`, `fallback`. */
  decidedBy: string;
  actions?: unknown;
}
