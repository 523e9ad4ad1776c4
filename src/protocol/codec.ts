/**
 * Frames to and from text. Pure and total: decoding never throws, whatever the bridge
 * sends; the caller decides what to log and emit from the kind it gets back.
 */
import { parsePush, type ParsePushOptions, type PushEvent } from './events';
import { HELLO_MESSAGE, REQUEST_OK_CODE, type AnswerFrame, type PushFrame } from './wire';

/**
 * A frame as written: `{ id, type, data? }`. Wider than wire.ts's ClientFrame because a
 * raw call may name a frame type this version does not know.
 */
export interface OutgoingFrame {
  id: string;
  type: string;
  data?: unknown;
}

/** Why an answer is a failure: its own `error` body, or a `request` whose commonResult.errCode is not 200. */
export interface AnswerFailure {
  errorCode: number;
  errorDesc: string;
  source: 'error' | 'commonResult';
}

/** An answer to one of our frames: `failure` is set when it reports one. */
export interface DecodedAnswer {
  kind: 'answer';
  frame: AnswerFrame;
  failure: AnswerFailure | undefined;
}

export type DecodedFrame =
  | DecodedAnswer
  | { kind: 'hello' }
  | { kind: 'push'; push: PushEvent }
  /** Valid JSON of no shape we know. */
  | { kind: 'unknown'; value: unknown }
  /** Not JSON at all. */
  | { kind: 'garbage'; raw: string; reason: string };

/** The text of a frame we send. */
export function encodeFrame(frame: OutgoingFrame): string {
  return JSON.stringify(frame);
}

/** Garbage is logged; keep the quoted piece short. */
const GARBAGE_EXCERPT_CHARS = 200;

function excerpt(text: string): string {
  return text.length > GARBAGE_EXCERPT_CHARS ? `${text.slice(0, GARBAGE_EXCERPT_CHARS)}… (${text.length} chars)` : text;
}

function failureOf(frame: AnswerFrame): AnswerFailure | undefined {
  const error = frame.error as unknown;
  if (error !== undefined && error !== null) {
    const body = typeof error === 'object' ? (error as Record<string, unknown>) : {};
    const code = Number(body.errorCode);
    return {
      errorCode: Number.isFinite(code) ? code : -1,
      errorDesc: typeof body.errorDesc === 'string' ? body.errorDesc : typeof error === 'string' ? error : '',
      source: 'error',
    };
  }
  if (frame.type !== 'request') return undefined;
  const data = frame.data;
  if (typeof data !== 'object' || data === null) return undefined;
  const common = (data as Record<string, unknown>).commonResult;
  // A request answer without commonResult is accepted as it is (PROTOCOL.md, gap 8).
  if (typeof common !== 'object' || common === null) return undefined;
  const result = common as Record<string, unknown>;
  const code = Number(result.errCode);
  if (code === REQUEST_OK_CODE) return undefined;
  const desc = result.errMsg ?? result.errorDesc ?? result.msg;
  return {
    errorCode: Number.isFinite(code) ? code : -1,
    errorDesc: typeof desc === 'string' ? desc : '',
    source: 'commonResult',
  };
}

/**
 * Reads one text frame from the bridge. Answers carry an `id` (string or number, handed
 * on as a string) and a `type`; pushes an `operator` and no id; the greeting is
 * `{"message":"Hello"}`. Never throws.
 */
export function decodeServerFrame(raw: string | Buffer, options?: ParsePushOptions): DecodedFrame {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'garbage', raw: excerpt(text), reason: err instanceof Error ? err.message : 'not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'unknown', value };
  const obj = value as Record<string, unknown>;

  const id = obj.id;
  if ((typeof id === 'string' || typeof id === 'number') && typeof obj.type === 'string') {
    if (typeof id === 'number') obj.id = String(id);
    const frame = obj as unknown as AnswerFrame;
    return { kind: 'answer', frame, failure: failureOf(frame) };
  }
  if (typeof obj.operator === 'string' && id === undefined) {
    return { kind: 'push', push: parsePush(obj as unknown as PushFrame, options) };
  }
  if (obj.message === HELLO_MESSAGE && id === undefined) return { kind: 'hello' };
  return { kind: 'unknown', value };
}
