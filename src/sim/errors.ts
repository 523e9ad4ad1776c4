import { RulebotError } from '../shared/errors';
import { BUSY_ERROR_CODE, type WireError } from '../protocol/wire';

/**
 * Every way the simulated bridge refuses something, with the `errorCode` it puts on the
 * wire. The real bridge documents only 300 (busy, transient); the others are the
 * simulator's own, all permanent, so a client can tell "try again" from "your frame is
 * wrong". README.md in this folder carries the same table for readers.
 */
export const SIM_ERRORS = {
  /** Service busy: the one transient code, taken from the bridge's own example. */
  BUSY: { code: 'SIM_BUSY', errorCode: BUSY_ERROR_CODE },
  /** Not JSON, not an object, binary, or `id` / `type` missing or not strings. */
  BAD_FRAME: { code: 'SIM_BAD_FRAME', errorCode: 400 },
  /** A frame `type` the bridge does not know, or the other edition's restart verb. */
  UNKNOWN_FRAME_TYPE: { code: 'SIM_UNKNOWN_FRAME_TYPE', errorCode: 401 },
  /** A `request` whose `data.type` is not an ApiName. */
  UNKNOWN_API: { code: 'SIM_UNKNOWN_API', errorCode: 402 },
  /** A `request` whose `url` is not `<http(s)://host><the ApiName's path>`, or a wrong `protoType`. */
  URL_MISMATCH: { code: 'SIM_URL_MISMATCH', errorCode: 403 },
  /** An unknown group, user, contact or pending friend request. */
  NOT_FOUND: { code: 'SIM_NOT_FOUND', errorCode: 404 },
  /** A well-formed call the simulator does not implement (e.g. GroupUpdate op 7). */
  NOT_SIMULATED: { code: 'SIM_NOT_SIMULATED', errorCode: 405 },
  /** The bot lacks the right: it is not host or admin of the group, or targets the host. */
  NO_PERMISSION: { code: 'SIM_NO_PERMISSION', errorCode: 406 },
  /** A `custom_msg_id` used before (the docs say it must never repeat). */
  DUPLICATE: { code: 'SIM_DUPLICATE', errorCode: 409 },
  /** A field of `data` missing, mistyped or out of range. */
  INVALID_DATA: { code: 'SIM_INVALID_DATA', errorCode: 422 },
  /** A fault of the simulator itself; never expected. */
  INTERNAL: { code: 'SIM_INTERNAL', errorCode: 500 },
} as const;

export type SimErrorKind = keyof typeof SIM_ERRORS;

/** The busy answer, word for word as the bridge sends it. */
export const BUSY_ERROR: Readonly<WireError> = Object.freeze({
  errorCode: BUSY_ERROR_CODE,
  errorDesc: '很抱歉，服务繁忙，请联系客服 #A0030',
});

/**
 * A refusal by the simulator. Thrown by the world and the frame validators alike: the
 * server turns it into an error frame (`wireError`), the control interface into an
 * HTTP 400 / 404.
 */
export class SimError extends RulebotError {
  readonly kind: SimErrorKind;

  constructor(kind: SimErrorKind, message: string, details: Record<string, unknown> = {}) {
    super(SIM_ERRORS[kind].code, message, details);
    this.kind = kind;
  }

  /** The error body this refusal puts on the wire. */
  get wireError(): WireError {
    return { errorCode: SIM_ERRORS[this.kind].errorCode, errorDesc: this.message };
  }
}

/** A bad simulator option (fault rates, ports, ...): a programming error of the caller. */
export class SimOptionError extends RulebotError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('SIM_OPTION_INVALID', message, details);
  }
}
