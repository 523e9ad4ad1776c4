/**
 * One call to the bridge under the step discipline:
 * - the step row is committed before the frame exists, and the exact frame (with its
 *   custom_msg_id) is recorded before the socket write;
 * - a world-changing frame waits for the outbound limiter, and in a dry run is built and
 *   recorded but never written;
 * - a failure is retried only where that is safe: reads and transient errors, or a
 *   world-changing frame that never left. A busy answer, a timeout or a drop after a
 *   world-changing frame was written is not retried (the bridge may have acted on it,
 *   PROTOCOL.md gaps 6 and 9), and the step's note says so.
 */
import type { OutgoingFrame } from '../protocol/codec';
import { BridgeDisconnectedError, BridgeError, BridgeTimeoutError, BridgeUnavailableError, isTransient, mightHaveActed } from '../protocol/errors';
import { BUSY_ERROR_CODE } from '../protocol/wire';
import type { Action } from '../rules/types';
import { parseDuration } from '../shared/duration';
import { toStoredError } from '../store/json';
import type { DeliveryState, StoredError } from '../store/types';
import { RateLimitAbortedError } from './ratelimit';
import { RunInterruptedError, type RunContext } from './run-context';
import type { StepHandle } from './steps';

// === Retry policy ===

/** The `retry` option of an action, defaults applied. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Wait before the second attempt; each later wait doubles. */
  delayMs: number;
  /** Retry a world-changing frame even when the bridge may have acted on it. */
  unsafe: boolean;
}

/** Wait before the first retry when `retry.delay` is not given. */
export const DEFAULT_RETRY_DELAY_MS = 2000;

/** The wait before attempt `attempt + 1`: the delay, doubling per attempt. */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return policy.delayMs * 2 ** (attempt - 1);
}

export function retryPolicyOf(action: Pick<Action, 'retry'>): RetryPolicy {
  const retry = action.retry;
  if (!retry) return { attempts: 1, delayMs: 0, unsafe: false };
  return {
    attempts: retry.attempts,
    delayMs: retry.delay !== undefined ? parseDuration(retry.delay) : DEFAULT_RETRY_DELAY_MS,
    unsafe: retry.unsafe === true,
  };
}

// === One call ===

export interface CallSpec<T> {
  /** Whether the frame changes the world (sendMsg, sendFile, GroupUpdate, GroupMemberShutup, restart...). */
  worldChanging: boolean;
  /** Whether the frame is a chat message, whose delivery state the step tracks. */
  message: boolean;
  /** The outbound limiter's key for a world-changing frame: `group:1`, `friend:2`, `bridge`. */
  limiterKey?: string;
  /** Writes the step row of an attempt (1, 2, ...). */
  begin(attempt: number): StepHandle;
  /** Makes the call, passing `onPrepared` to the API so the frame is recorded before it is written. */
  call(onPrepared: (frame: OutgoingFrame) => void): Promise<T>;
  /** After the frame is recorded and before it is written (the ledger's `sending`). */
  prepared?(step: StepHandle, customMsgId: string | undefined): void;
  /** The answer as the step records it. @default the value */
  answerOf?(value: T): unknown;
}

export type CallResult<T> =
  | { status: 'ok'; value: T; step: StepHandle; customMsgId: string | undefined }
  | { status: 'dry-run'; step: StepHandle; frame: OutgoingFrame | undefined }
  | {
      status: 'failed';
      error: StoredError;
      cause: unknown;
      step: StepHandle;
      /** What may have become of the message: `unknown` when the bridge may have acted, `failed` when it refused, null when nothing left. */
      delivery: DeliveryState | null;
      /** The frame was written and the bridge may have acted on it. */
      mightHaveActed: boolean;
      /** The frame was written at all. */
      written: boolean;
    };

/** Halts a dry run's frame in `onPrepared`, after it is recorded and before it is written. */
class DryRunHold extends Error {
  constructor() {
    super('dry run: the frame is built but not sent');
    this.name = 'DryRunHold';
  }
}

/**
 * Makes a bridge call, with as many attempts as the policy allows and safety permits.
 * Every attempt is its own step (a world-changing retry is a new frame); each step is
 * finished here. Throws RunInterruptedError when the run is aborted.
 */
export async function callBridge<T>(run: RunContext, policy: RetryPolicy, spec: CallSpec<T>): Promise<CallResult<T>> {
  for (let attempt = 1; ; attempt++) {
    run.throwIfAborted();
    const step = spec.begin(attempt);
    const result = await attemptOnce(run, step, spec);
    if (result.status !== 'failed') return result;

    const decision = retryDecision(result, spec.worldChanging, policy, attempt);
    result.step.finish({
      status: 'failed',
      error: result.error,
      delivery: spec.message ? result.delivery : null,
      note: decision.note ?? null,
    });
    if (!decision.retry) return result;
    run.log.warn({ path: step.path, attempt, err: result.error }, 'bridge call failed; retrying');
    await run.sleep(retryDelayMs(policy, attempt));
  }
}

async function attemptOnce<T>(run: RunContext, step: StepHandle, spec: CallSpec<T>): Promise<CallResult<T>> {
  let frame: OutgoingFrame | undefined;
  let written = false;
  let customMsgId: string | undefined;
  const onPrepared = (prepared: OutgoingFrame): void => {
    frame = prepared;
    customMsgId = customMsgIdOf(prepared);
    step.recordFrame(prepared, customMsgId);
    if (run.dryRun && spec.worldChanging) throw new DryRunHold();
    spec.prepared?.(step, customMsgId);
    // From here the client writes the frame: the bridge may act on it.
    written = true;
  };
  try {
    if (spec.worldChanging && !run.dryRun) await run.deps.limiter.acquire(spec.limiterKey ?? 'bridge', run.signal);
    const value = await spec.call(onPrepared);
    step.finish({ status: 'ok', answer: spec.answerOf ? spec.answerOf(value) : value, delivery: spec.message ? 'accepted' : null });
    return { status: 'ok', value, step, customMsgId };
  } catch (err) {
    if (err instanceof DryRunHold) {
      step.finish({ status: 'dry-run', note: 'dry run: the frame was built and recorded, not sent' });
      return { status: 'dry-run', step, frame };
    }
    if (err instanceof RateLimitAbortedError || err instanceof RunInterruptedError) throw new RunInterruptedError('while waiting to send');
    // Only a plain refusal proves the bridge did nothing; anything else after the write may hide an effect.
    const refused = err instanceof BridgeError && !err.transient;
    const acted = written && spec.worldChanging && (mightHaveActed(err) || !refused);
    return {
      status: 'failed',
      error: toStoredError(err),
      cause: err,
      step,
      delivery: !written ? null : acted ? 'unknown' : 'failed',
      mightHaveActed: acted,
      written,
    };
  }
}

function customMsgIdOf(frame: OutgoingFrame): string | undefined {
  const data = frame.data as { custom_msg_id?: unknown } | undefined;
  return typeof data?.custom_msg_id === 'string' ? data.custom_msg_id : undefined;
}

// === Whether to try again ===

interface RetryDecision {
  retry: boolean;
  /** For the step: why it was (or was not) retried. */
  note?: string;
}

function retryDecision(failed: Extract<CallResult<unknown>, { status: 'failed' }>, worldChanging: boolean, policy: RetryPolicy, attempt: number): RetryDecision {
  const err = failed.cause;
  const left = attempt < policy.attempts;
  const next = left ? `retrying in ${retryDelayMs(policy, attempt)}ms (attempt ${attempt + 1} of ${policy.attempts})` : '';

  if (worldChanging && failed.mightHaveActed) {
    const why = whyTheBridgeMayHaveActed(err);
    if (policy.unsafe && left) return { retry: true, note: `${why}; ${next} because retry.unsafe is set` };
    return {
      retry: false,
      note: `not retried: ${why}, so the bridge may have acted on it and a frame that changes the world is never resent blindly${policy.attempts > 1 ? ' (retry.unsafe allows it)' : ''}`,
    };
  }
  if (worldChanging && failed.written) {
    return { retry: false, note: 'not retried: the bridge refused the frame' };
  }
  const transient = isTransient(err) || (!failed.written && err instanceof BridgeUnavailableError);
  if (!transient) return { retry: false };
  if (left) {
    const sent = worldChanging ? 'the frame was never written, so nothing was sent; ' : '';
    return { retry: true, note: `${sent}${describeTransient(err)}; ${next}` };
  }
  if (policy.attempts > 1) return { retry: false, note: `gave up after ${policy.attempts} attempts: ${describeTransient(err)}` };
  return {
    retry: false,
    note: `${describeTransient(err)}; not retried: the action has no retry option`,
  };
}

function whyTheBridgeMayHaveActed(err: unknown): string {
  if (err instanceof BridgeError && err.errorCode === BUSY_ERROR_CODE) {
    return `the bridge answered busy (errorCode ${err.errorCode}) after the frame was written, which does not prove it did nothing`;
  }
  if (err instanceof BridgeError) return `the bridge answered errorCode ${err.errorCode}, which does not prove it did nothing`;
  if (err instanceof BridgeTimeoutError) return `no answer came within ${err.timeoutMs}ms after the frame was written`;
  if (err instanceof BridgeDisconnectedError) return `the connection dropped (${err.reason}) after the frame was written`;
  return `the call failed after the frame was written (${err instanceof Error ? err.message : String(err)})`;
}

function describeTransient(err: unknown): string {
  if (err instanceof BridgeError) return `the bridge answered errorCode ${err.errorCode} (${err.errorDesc || 'busy'})`;
  if (err instanceof BridgeTimeoutError) return `no answer within ${err.timeoutMs}ms`;
  if (err instanceof BridgeDisconnectedError) return `the connection dropped (${err.reason})`;
  if (err instanceof BridgeUnavailableError) return 'the bridge was not ready';
  return err instanceof Error ? err.message : String(err);
}
