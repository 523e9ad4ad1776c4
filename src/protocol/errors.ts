/**
 * What can go wrong between rulebot and the bridge, as typed errors with stable codes.
 * Every message says what happened in an operator's terms and, for frames that change
 * the world, whether the bridge may have acted: that decides whether a retry is safe.
 */
import { RulebotError } from '../shared/errors';
import { TRANSIENT_ERROR_CODES } from './wire';

/** Where a failure came from: a frame type and, for `request`, its ApiName. */
export interface FrameLabel {
  frameType: string;
  apiName?: string;
  frameId?: string;
}

function describeFrame(label: FrameLabel): string {
  const what = label.apiName ? `${label.frameType} ${label.apiName}` : label.frameType;
  return label.frameId ? `${what} (frame ${label.frameId})` : what;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms}ms` : `${+(ms / 1000).toFixed(1)}s`;
}

/** The bridge answered with a failure: an `error` body, or a `request` whose `commonResult.errCode` is not 200. */
export class BridgeError extends RulebotError {
  readonly errorCode: number;
  readonly errorDesc: string;
  /** True for codes the bridge uses for passing trouble (300, "service busy"). */
  readonly transient: boolean;
  readonly frameType: string;
  readonly apiName: string | undefined;
  readonly frameId: string | undefined;
  /** Whether the frame was world-changing: a busy answer to one does not prove the bridge did nothing. */
  readonly worldChanging: boolean;

  constructor(failure: { errorCode: number; errorDesc: string }, label: FrameLabel & { worldChanging?: boolean }) {
    const transient = TRANSIENT_ERROR_CODES.has(failure.errorCode);
    const hint = transient
      ? label.worldChanging
        ? '; the bridge reports itself busy, which does not prove it did nothing'
        : '; the bridge reports itself busy, a later retry may succeed'
      : '';
    super(
      'BRIDGE_ERROR',
      `the bridge refused ${describeFrame(label)}: ${failure.errorDesc || 'no description'} (errorCode ${failure.errorCode})${hint}`,
      { errorCode: failure.errorCode, errorDesc: failure.errorDesc, transient, ...label },
    );
    this.errorCode = failure.errorCode;
    this.errorDesc = failure.errorDesc;
    this.transient = transient;
    this.frameType = label.frameType;
    this.apiName = label.apiName;
    this.frameId = label.frameId;
    this.worldChanging = label.worldChanging ?? false;
  }
}

/** No answer arrived within the timeout. */
export class BridgeTimeoutError extends RulebotError {
  readonly frameType: string;
  readonly apiName: string | undefined;
  readonly frameId: string;
  readonly timeoutMs: number;
  /** The frame was written to the socket, so the bridge may have acted on it. */
  readonly written: boolean;
  readonly worldChanging: boolean;

  constructor(label: FrameLabel & { frameId: string; worldChanging: boolean }, timeoutMs: number, written: boolean) {
    const consequence = label.worldChanging
      ? '; the bridge may still have acted on it, so it is not resent'
      : '; it only reads, so a retry is safe';
    super(
      'BRIDGE_TIMEOUT',
      `no answer from the bridge to ${describeFrame(label)} within ${formatMs(timeoutMs)}${consequence}`,
      { ...label, timeoutMs, written },
    );
    this.frameType = label.frameType;
    this.apiName = label.apiName;
    this.frameId = label.frameId;
    this.timeoutMs = timeoutMs;
    this.written = written;
    this.worldChanging = label.worldChanging;
  }
}

/** The connection closed (or the client stopped) while a frame waited for its answer. */
export class BridgeDisconnectedError extends RulebotError {
  readonly frameType: string;
  readonly apiName: string | undefined;
  readonly frameId: string;
  /** The frame had been written to the socket: the bridge may have acted on it. */
  readonly written: boolean;
  readonly worldChanging: boolean;
  readonly reason: string;

  constructor(label: FrameLabel & { frameId: string; worldChanging: boolean }, written: boolean, reason: string) {
    const consequence = written
      ? label.worldChanging
        ? 'it had been sent, so the bridge may have acted on it'
        : 'it had been sent, but it only reads'
      : 'it had not been sent, so the bridge did not act on it';
    super(
      'BRIDGE_DISCONNECTED',
      `the connection to the bridge closed (${reason}) before ${describeFrame(label)} was answered; ${consequence}`,
      { ...label, written, reason },
    );
    this.frameType = label.frameType;
    this.apiName = label.apiName;
    this.frameId = label.frameId;
    this.written = written;
    this.worldChanging = label.worldChanging;
    this.reason = reason;
  }
}

/** The bridge sent something that breaks the protocol where no tolerance is possible. */
export class ProtocolViolationError extends RulebotError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('PROTOCOL_VIOLATION', message, details);
  }
}

/** The client was not connected and ready within the wait (or has been stopped); nothing was sent. */
export class BridgeUnavailableError extends RulebotError {
  readonly waitedMs: number;
  readonly state: string;

  constructor(waitedMs: number, state: string, lastError?: string) {
    const why = state === 'stopped' ? 'the bridge client is stopped' : `the bridge was not ready within ${formatMs(waitedMs)} (state ${state})`;
    super('BRIDGE_UNAVAILABLE', `${why}${lastError ? `; last error: ${lastError}` : ''}; nothing was sent`, {
      waitedMs,
      state,
      lastError,
    });
    this.waitedMs = waitedMs;
    this.state = state;
  }
}

/** A caller asked for something that cannot be put on the wire (an id that is not digits, a missing op). */
export class BridgeArgumentError extends RulebotError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('BRIDGE_INVALID_ARGUMENT', message, details);
  }
}

/**
 * Whether a failure is passing trouble worth a later retry: a busy answer, a timeout or a
 * dropped connection on a read, a frame that never left, or a bridge that was not ready.
 * Not the same as "safe to resend": see {@link mightHaveActed}.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof BridgeError) return err.transient;
  if (err instanceof BridgeUnavailableError) return err.state !== 'stopped';
  if (err instanceof BridgeTimeoutError) return !err.worldChanging || !err.written;
  if (err instanceof BridgeDisconnectedError) return (!err.worldChanging || !err.written) && err.reason !== STOPPED_REASON;
  return false;
}

/**
 * Whether the bridge may have carried out a world-changing frame despite the failure:
 * it was written and then timed out or lost its connection, or it was answered "busy".
 */
export function mightHaveActed(err: unknown): boolean {
  if (err instanceof BridgeTimeoutError || err instanceof BridgeDisconnectedError) return err.worldChanging && err.written;
  if (err instanceof BridgeError) return err.worldChanging && err.transient;
  return false;
}

/** The disconnect reason given to frames still waiting when the client is stopped. */
export const STOPPED_REASON = 'client stopped';
