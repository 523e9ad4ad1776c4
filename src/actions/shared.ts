/**
 * Building blocks the action handlers share: steps for local work, target resolution
 * as a step of its own, world-changing calls and messages under the step discipline,
 * and folding per-target results into an action outcome.
 */
import type { OutgoingFrame } from '../protocol/codec';
import type { SendTextOptions, TextSendResult } from '../protocol/api';
import type { ActionKind } from '../rules/types';
import { RulebotError } from '../shared/errors';
import { toStoredError } from '../store/json';
import type { StoredError } from '../store/types';
import { callBridge, retryPolicyOf, type CallResult } from '../engine/bridge-call';
import { withoutRaw } from '../engine/context';
import { RunInterruptedError, type ActionOutcome, type ActionStatus, type RunContext } from '../engine/run-context';
import type { StepHandle } from '../engine/steps';
import type { ResolvedTarget, TargetResolution, TargetSources, UnknownTarget } from '../engine/targets';
import type { ActionCall } from './types';

/** A failure of an action's own making, with a stable code. */
export class ActionError extends RulebotError {}

/** Writes a step for this action execution. */
export function beginStep<K extends ActionKind>(call: ActionCall<K>, input: unknown, target?: string | null): StepHandle {
  return call.run.steps.begin({ path: call.path, kind: call.kind, input, target: target ?? null });
}

export interface LocalResult {
  /** What the step records as its answer. */
  answer?: unknown;
  /** What `steps.<id>` gives; the answer when absent. */
  result?: unknown;
  status?: 'ok' | 'dry-run' | 'skipped';
  note?: string;
}

/**
 * An action that does its work in one step without the bridge (set, log, delay, stop):
 * the step is written, `body` runs, and the step is finished with its answer or error.
 */
export async function localStep<K extends ActionKind>(call: ActionCall<K>, input: unknown, body: (step: StepHandle) => Promise<LocalResult> | LocalResult): Promise<ActionOutcome> {
  const step = beginStep(call, input);
  try {
    const done = await body(step);
    const status = done.status ?? 'ok';
    step.finish({ status, answer: done.answer, note: done.note ?? null });
    return { status: status === 'skipped' ? 'ok' : status, result: done.result ?? done.answer };
  } catch (err) {
    if (err instanceof RunInterruptedError) throw err;
    const error = toStoredError(err);
    step.finish({ status: 'failed', error });
    return { status: 'failed', error };
  }
}

/** Target sources over the run's bridge API and config. */
export function sourcesOf(run: RunContext): TargetSources {
  return {
    groups: () => run.api.getGroups(),
    contacts: () => run.api.contacts(),
    admins: run.deps.config.admins,
    text: (value) => run.text(value),
  };
}

/**
 * Resolves an action's targets as a step of its own, so the trace shows which targets a
 * rule reached and which it named in vain. Returns the outcome instead when the
 * resolution itself failed (a read that failed, a template that did not render).
 */
export async function resolveInStep<K extends ActionKind>(
  call: ActionCall<K>,
  input: unknown,
  resolve: () => Promise<TargetResolution>,
): Promise<TargetResolution | ActionOutcome> {
  const step = beginStep(call, input);
  try {
    const resolution = await resolve();
    step.finish({
      status: 'ok',
      answer: {
        targets: resolution.targets.map((t) => ({ key: t.key, name: t.name })),
        ...(resolution.unknown.length > 0 && { unknown: resolution.unknown.map((u) => u.key) }),
      },
      note: `resolved ${resolution.targets.length} target${resolution.targets.length === 1 ? '' : 's'}${resolution.unknown.length > 0 ? `; ${resolution.unknown.length} unknown` : ''}`,
    });
    return resolution;
  } catch (err) {
    if (err instanceof RunInterruptedError) throw err;
    const error = toStoredError(err);
    step.finish({ status: 'failed', error, note: 'could not resolve the targets' });
    return { status: 'failed', error };
  }
}

export function isOutcome(value: TargetResolution | ActionOutcome): value is ActionOutcome {
  return 'status' in value;
}

/** One failed step per target the bridge does not know; nothing is sent to those. */
export function recordUnknownTargets<K extends ActionKind>(call: ActionCall<K>, unknown: readonly UnknownTarget[]): TargetResult[] {
  return unknown.map((target) => {
    const error = toStoredError(new ActionError('TARGET_UNKNOWN', target.reason, { target: target.key }));
    beginStep(call, { target: target.key }, target.key).finish({ status: 'failed', error, note: 'nothing was sent to it' });
    return { key: target.key, name: '', status: 'failed', error };
  });
}

/** The per-target result kept in `steps.<id>` and in the action's outcome. */
export interface TargetResult {
  key: string;
  name: string;
  status: 'ok' | 'failed' | 'skipped' | 'dry-run';
  customMsgId?: string;
  error?: StoredError;
}

/**
 * Folds per-target results into the action's status: all went → ok (or dry-run), none
 * went → failed, some → partial. Nothing to do at all is ok; skipped targets (already in
 * the wanted state, already sent) count as neither.
 */
export function foldTargets(results: readonly TargetResult[], dryRun: boolean): Pick<ActionOutcome, 'status' | 'error'> {
  const failures = results.filter((r) => r.status === 'failed');
  const went = results.filter((r) => r.status === 'ok' || r.status === 'dry-run').length;
  if (failures.length === 0) return { status: dryRun ? 'dry-run' : 'ok' };
  const status: ActionStatus = went === 0 ? 'failed' : 'partial';
  const error = failures[0]?.error;
  return error ? { status, error } : { status };
}

/** Waits between targets or iterations; a dry run notes the pause instead of waiting. */
export async function pause(run: RunContext, ms: number): Promise<void> {
  if (ms <= 0 || run.dryRun) return;
  await run.sleep(ms);
}

// === Calls that change the world ===

export interface WorldCallInput<T> {
  /** The limiter's and the trace's target key, e.g. `group:389284`. */
  target: string;
  input: unknown;
  /** Whether the frame is a chat message (its delivery is tracked). */
  message: boolean;
  call(onPrepared: (frame: OutgoingFrame) => void): Promise<T>;
  prepared?(step: StepHandle, customMsgId: string | undefined): void;
  answerOf?(value: T): unknown;
}

/** A world-changing call for this action, under the action's retry policy. */
export function worldCall<K extends ActionKind, T>(call: ActionCall<K>, spec: WorldCallInput<T>): Promise<CallResult<T>> {
  return callBridge(call.run, retryPolicyOf(call.action), {
    worldChanging: true,
    message: spec.message,
    limiterKey: spec.target,
    begin: () => beginStep(call, spec.input, spec.target),
    call: spec.call,
    ...(spec.prepared && { prepared: spec.prepared }),
    answerOf: spec.answerOf ?? ((value) => withoutRaw(value)),
  });
}

/** A read for this action (recorded as a step), under the action's retry policy. */
export function readCall<K extends ActionKind, T>(call: ActionCall<K>, input: unknown, read: (onPrepared: (frame: OutgoingFrame) => void) => Promise<T>, target?: string): Promise<CallResult<T>> {
  return callBridge(call.run, retryPolicyOf(call.action), {
    worldChanging: false,
    message: false,
    begin: () => beginStep(call, input, target ?? null),
    call: read,
    answerOf: (value) => withoutRaw(value),
  });
}

/** Sends one chat message (a send's text, or an announcement) to a target. */
export function sendMessage<K extends ActionKind>(
  call: ActionCall<K>,
  target: Pick<ResolvedTarget, 'chat' | 'id' | 'key'>,
  text: string,
  options: Omit<SendTextOptions, 'onPrepared'> & { input?: unknown; prepared?: (step: StepHandle, customMsgId: string | undefined) => void } = {},
): Promise<CallResult<TextSendResult>> {
  const { input, prepared, ...sendOptions } = options;
  return worldCall(call, {
    target: target.key,
    input: input ?? { text, ...(sendOptions.chatType ? { chatType: sendOptions.chatType } : {}) },
    message: true,
    call: (onPrepared) => call.run.api.sendText({ chat: target.chat, id: target.id }, text, { ...sendOptions, onPrepared }),
    ...(prepared && { prepared }),
    answerOf: (sent) => sent.answer,
  });
}

/** The outcome of an action that made one bridge call. */
export function outcomeOfCall(result: CallResult<unknown>, value?: unknown): ActionOutcome {
  switch (result.status) {
    case 'ok':
      return { status: 'ok', result: value ?? withoutRaw(result.value) };
    case 'dry-run':
      return { status: 'dry-run', result: value ?? { dryRun: true, frame: result.frame ?? null } };
    case 'failed':
      return { status: 'failed', error: result.error };
  }
}

/** A target's result from a call's result. */
export function targetResult(target: Pick<ResolvedTarget, 'key' | 'name'>, result: CallResult<unknown>, customMsgId?: string): TargetResult {
  const entry: TargetResult = { key: target.key, name: target.name, status: result.status === 'failed' ? 'failed' : result.status === 'dry-run' ? 'dry-run' : 'ok' };
  if (customMsgId !== undefined) entry.customMsgId = customMsgId;
  if (result.status === 'failed') entry.error = result.error;
  return entry;
}
