/**
 * Errors of the ops endpoint: the metrics registry, the control token, the HTTP server
 * and the client the CLI uses to reach a running daemon.
 */
import { RulebotError } from '../shared/errors';

/**
 * The codes an OpsError carries:
 * - `METRIC_INVALID`: a metric or label name the exposition format does not allow, or bad buckets.
 * - `METRIC_DUPLICATE`: two metrics registered under one name.
 * - `METRIC_BAD_LABELS`: a sample whose label names differ from the metric's.
 * - `METRIC_BAD_VALUE`: a value that is not a finite number, or a counter asked to go down.
 * - `TOKEN_FILE_INSECURE`: the token file is readable or writable by others, not a regular
 *   file, or owned by another user; refused, never used or repaired silently.
 * - `TOKEN_FILE_INVALID`: the token file does not hold a token (64 hex digits).
 * - `TOKEN_FILE_MISSING`: no token file where one was expected.
 * - `TOKEN_FILE_FAILED`: the token file could not be created or read (the I/O error is the cause).
 * - `OPS_LISTEN_INVALID`: `http.listen` is not `host:port`.
 * - `OPS_LISTEN_NOT_LOOPBACK`: `http.listen` names an address other machines can reach.
 * - `OPS_LISTEN_FAILED`: the address could not be bound (in use, not local).
 * - `OPS_CONTROL_WITHOUT_TOKEN`: control routes were asked for without a token to guard them.
 */
export type OpsErrorCode =
  | 'METRIC_INVALID'
  | 'METRIC_DUPLICATE'
  | 'METRIC_BAD_LABELS'
  | 'METRIC_BAD_VALUE'
  | 'TOKEN_FILE_INSECURE'
  | 'TOKEN_FILE_INVALID'
  | 'TOKEN_FILE_MISSING'
  | 'TOKEN_FILE_FAILED'
  | 'OPS_LISTEN_INVALID'
  | 'OPS_LISTEN_NOT_LOOPBACK'
  | 'OPS_LISTEN_FAILED'
  | 'OPS_CONTROL_WITHOUT_TOKEN';

/** A misuse or failure of the ops endpoint's own parts, with a stable code. */
export class OpsError extends RulebotError {
  declare readonly code: OpsErrorCode;

  constructor(code: OpsErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}

/**
 * Thrown by a control handler to answer with a chosen HTTP status (404 for an unknown
 * rule, 409 for a run the rule's concurrency refuses, 503 while shutting down). Any other
 * RulebotError a handler throws is answered 422 with its code; anything else is 500.
 */
export class ControlError extends RulebotError {
  readonly status: number;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
    this.status = status;
  }
}

/**
 * A control request the daemon did not carry out, as the client sees it. `code` is the
 * daemon's code where it sent one (`UNAUTHORIZED`, a handler's own code), else one of:
 * - `CONTROL_UNREACHABLE`: nothing listens at the address (`findDaemon` answers null instead).
 * - `CONTROL_TIMEOUT`: the daemon accepted the connection but did not answer in time.
 * - `CONTROL_CONNECTION_LOST`: the connection broke before the answer; the request may
 *   have been carried out, so it must not simply be repeated in-process.
 * - `CONTROL_BAD_ANSWER`: the answer was not the JSON the endpoint sends (another program
 *   on the port?).
 * - `CONTROL_HTTP_<status>`: an error status without a code.
 */
export class ControlRequestError extends RulebotError {
  /** The HTTP status, or undefined when there was no answer. */
  readonly status: number | undefined;

  constructor(code: string, message: string, status?: number, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, { ...details, ...(status !== undefined && { status }) }, options);
    this.status = status;
  }
}
