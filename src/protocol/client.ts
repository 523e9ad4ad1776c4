/**
 * The bridge client: one WebSocket connection kept alive until `stop()`, frames
 * correlated with their answers by id, pushes turned into events.
 *
 * Decisions that matter to callers:
 * - A world-changing frame (PROTOCOL.md, gap 6) is written at most once by this client:
 *   never resent after a timeout, a drop or a busy answer. Reads may be retried.
 * - A request made while the client is not ready waits for readiness within its own
 *   timeout; if it never leaves, it fails with BridgeUnavailableError (nothing was sent).
 * - Nothing the bridge sends can throw out of the client: odd frames are logged and emitted.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../shared/clock';
import { decodeServerFrame, encodeFrame, type DecodedAnswer, type OutgoingFrame } from './codec';
import {
  BridgeArgumentError,
  BridgeDisconnectedError,
  BridgeError,
  BridgeTimeoutError,
  BridgeUnavailableError,
  ProtocolViolationError,
  STOPPED_REASON,
  isTransient,
} from './errors';
import type { DeliveryEvent, GroupNotificationEvent, GroupUpdateEvent, MessageEvent, PushEvent, RecallEvent } from './events';
import { createWsTransport, describeTransportError, type Transport, type TransportFactory, type TransportHandlers } from './transport';
import {
  DEFAULT_NEWLINE_ENCODING,
  EDITIONS,
  isWorldChanging,
  type AnswerFrame,
  type BridgeEdition,
  type NewlineEncoding,
} from './wire';

// === Options ===

/** The subset of pino the client logs through. */
export interface BridgeLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const noop = (): void => undefined;
export const silentLogger: BridgeLogger = { debug: noop, info: noop, warn: noop, error: noop };

/** Reconnect backoff with full jitter: each delay is random(0, min(maxDelayMs, initialDelayMs * factor^attempt)). */
export interface ReconnectPolicy {
  /** @default 500 */
  initialDelayMs: number;
  /** @default 30000 */
  maxDelayMs: number;
  /** @default 2 */
  factor: number;
  /** A connection that stayed ready this long resets the backoff. @default 10000 */
  stableAfterMs: number;
}

/** WebSocket pings; a missing pong drops the connection, which then reconnects. */
export interface HeartbeatPolicy {
  /** Time between pings; 0 turns the heartbeat off. @default 15000 */
  intervalMs: number;
  /** How long to wait for the pong. @default 10000 */
  timeoutMs: number;
}

/** Retries of reads after transient failures (busy, timeout, drop). World-changing frames are never retried. */
export interface ReadRetryPolicy {
  /** Attempts in all, the first included; 1 turns retries off. @default 3 */
  attempts: number;
  /** @default 200 */
  baseDelayMs: number;
  /** @default 5000 */
  maxDelayMs: number;
}

export interface BridgeClientOptions {
  /** The bridge's WebSocket address, e.g. ws://127.0.0.1:5599. */
  url: string;
  /** Which edition of the bridge: greeting, restart verb (PROTOCOL.md, last section). @default 'seed' */
  edition?: BridgeEdition;
  /** `auto` asks the bridge (getApiUrl) after every connect; a URL is used as it is. @default 'auto' */
  apiUrl?: string;
  /** @default 15000 */
  requestTimeoutMs?: number;
  /** Timeouts per frame type or ApiName, e.g. `{ sendFile: 60000, GroupMemberList: 30000 }`. */
  timeouts?: Readonly<Record<string, number>>;
  /** How long opening the WebSocket may take. @default 10000 */
  connectTimeoutMs?: number;
  reconnect?: Partial<ReconnectPolicy>;
  heartbeat?: Partial<HeartbeatPolicy>;
  readRetry?: Partial<ReadRetryPolicy>;
  /** Edition 68: how long to wait for `{"message":"Hello"}` before going on without it. @default 3000 */
  greetingTimeoutMs?: number;
  /** How newlines travel in message text (PROTOCOL.md, gap 5). @default 'escaped' */
  newlineEncoding?: NewlineEncoding;
  clock?: Clock;
  logger?: BridgeLogger;
  /** Source of jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Opens the connection. @default the `ws` transport */
  transport?: TransportFactory;
}

export interface CallOptions {
  /** Overrides the configured timeout for this frame. */
  timeoutMs?: number;
  /**
   * Called with the exact frame just before it is written, so a caller can record it
   * durably first. If it throws, the frame is not written and the call fails with that error.
   */
  onPrepared?: (frame: OutgoingFrame) => void;
  /** Set false to make a read fail on its first transient failure. World-changing frames never retry. */
  retry?: boolean;
}

export interface RequestOptions extends CallOptions {
  protoType?: 'group';
}

// === State, events, metrics ===

export type ConnectionState = 'idle' | 'connecting' | 'greeting' | 'discovering' | 'ready' | 'reconnecting' | 'stopped';

export interface DisconnectInfo {
  reason: string;
  code: number;
}

/** Events of a BridgeClient; none is 'error', so nothing the bridge does can crash a process without listeners. */
export type BridgeClientEvents = {
  ready: [info: { apiUrl: string; connection: number }];
  disconnected: [info: DisconnectInfo];
  reconnecting: [info: { attempt: number; delayMs: number }];
  message: [event: MessageEvent];
  groupNotification: [event: GroupNotificationEvent];
  delivery: [event: DeliveryEvent];
  groupUpdate: [event: GroupUpdateEvent];
  recall: [event: RecallEvent];
  /** Every push, known or not. */
  push: [event: PushEvent];
  /** Valid JSON of no known shape. */
  unknownFrame: [value: unknown];
  /** A frame that is not JSON. */
  garbage: [info: { raw: string; reason: string }];
  /** An answer that matches no frame in flight (late, duplicated, or never asked). */
  unsolicited: [frame: AnswerFrame];
};

export interface ClientMetrics {
  state: ConnectionState;
  /** Frames written, by frame type. */
  framesSent: Record<string, number>;
  answers: number;
  pushes: number;
  unsolicited: number;
  garbage: number;
  unknownFrames: number;
  /** Reconnect attempts scheduled since start. */
  reconnects: number;
  /** Frames waiting for an answer or for readiness. */
  pending: number;
  lastAnswerAt: number | undefined;
  lastError: { message: string; at: number } | undefined;
}

// === Internals ===

/** Frame ids: a per-process prefix and a counter, so two clients in one process never share an id. */
const FRAME_ID_PREFIX = `${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}-`;
let frameCounter = 0;

/** Ids of frames given up on, kept so a late answer is not mistaken for another frame's (gap 2 fallback). */
const GIVEN_UP_MEMORY = 256;

/** How long stop() waits for the closing handshake before destroying the socket. */
const CLOSE_GRACE_MS = 1000;

interface Pending {
  id: string;
  type: string;
  apiName: string | undefined;
  /** For `request`: the path the url is built from when the frame is written, so a new apiUrl applies. */
  path: string | undefined;
  protoType: 'group' | undefined;
  data: unknown;
  worldChanging: boolean;
  timeoutMs: number;
  timer: TimerHandle | undefined;
  written: boolean;
  /** Attempt number, from 1; reads may get more. */
  attempt: number;
  retry: boolean;
  /** Handshake frames go out before the client is ready. */
  handshake: boolean;
  onPrepared: ((frame: OutgoingFrame) => void) | undefined;
  resolve: (frame: AnswerFrame) => void;
  reject: (err: Error) => void;
}

interface ReadyWaiter {
  resolve: () => void;
  reject: (err: Error) => void;
  timer: TimerHandle;
}

function unref(handle: TimerHandle): TimerHandle {
  handle.unref?.();
  return handle;
}

/** A URL safe to log: no credentials, no query string. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

function isWebSocketUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'ws:' || parsed.protocol === 'wss:') && parsed.host !== '';
  } catch {
    return false;
  }
}

/** Validates a backend base URL from configuration or getApiUrl; returns it without a trailing slash. */
export function normaliseApiUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim().replace(/\/+$/, '');
  return /^https?:\/\/[^\s/]+(\/[^\s]*)?$/i.test(trimmed) ? trimmed : undefined;
}

function milliseconds(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new BridgeArgumentError(`bridge option ${name} must be a number of milliseconds >= 0, got ${value}`);
  return value;
}

/**
 * Client of the bridge protocol. Create, `start()`, then call; `stop()` to finish.
 *
 * @example
 * const client = new BridgeClient({ url: 'ws://127.0.0.1:5599' });
 * client.start();
 * await client.waitReady();
 * const groups = await client.call('getGroups');
 */
export class BridgeClient extends EventEmitter<BridgeClientEvents> {
  readonly url: string;
  readonly edition: BridgeEdition;
  readonly newlineEncoding: NewlineEncoding;

  readonly #configuredApiUrl: string | undefined;
  readonly #requestTimeoutMs: number;
  readonly #timeouts: Readonly<Record<string, number>>;
  readonly #connectTimeoutMs: number;
  readonly #reconnect: ReconnectPolicy;
  readonly #heartbeat: HeartbeatPolicy;
  readonly #readRetry: ReadRetryPolicy;
  readonly #greetingTimeoutMs: number;
  readonly #clock: Clock;
  readonly #log: BridgeLogger;
  readonly #random: () => number;
  readonly #openTransport: TransportFactory;
  readonly #parseOptions: { newlineEncoding: NewlineEncoding };

  #state: ConnectionState = 'idle';
  #transport: Transport | undefined;
  /** Counts connections; callbacks of an older one are ignored. */
  #connection = 0;
  #apiUrl: string | undefined;
  #readyAt = 0;
  #backoffAttempt = 0;
  /** Why the current connection is being closed by us, for the disconnect report. */
  #closeReason: string | undefined;

  readonly #pending = new Map<string, Pending>();
  /** Frames waiting for readiness, in call order. */
  readonly #queued = new Set<Pending>();
  /** Reads between a transient failure and their next attempt. */
  readonly #retrying = new Map<Pending, TimerHandle>();
  readonly #givenUp = new Set<string>();
  readonly #readyWaiters = new Set<ReadyWaiter>();

  #reconnectTimer: TimerHandle | undefined;
  #greetingTimer: TimerHandle | undefined;
  #pingTimer: TimerHandle | undefined;
  #pongTimer: TimerHandle | undefined;
  #closed: Promise<void> | undefined;
  #resolveClosed: (() => void) | undefined;

  readonly #framesSent: Record<string, number> = Object.create(null) as Record<string, number>;
  #answers = 0;
  #pushes = 0;
  #unsolicited = 0;
  #garbage = 0;
  #unknownFrames = 0;
  #reconnects = 0;
  #lastAnswerAt: number | undefined;
  #lastError: { message: string; at: number } | undefined;

  constructor(options: BridgeClientOptions) {
    super();
    if (!isWebSocketUrl(options.url)) {
      throw new BridgeArgumentError(`bridge url must be a ws:// or wss:// address such as ws://127.0.0.1:5599, got "${options.url}"`);
    }
    this.url = options.url;
    this.edition = options.edition ?? 'seed';
    if (!(this.edition in EDITIONS)) throw new BridgeArgumentError(`unknown bridge edition "${String(this.edition)}" (use seed or 68)`);
    const apiUrl = options.apiUrl ?? 'auto';
    if (apiUrl !== 'auto') {
      this.#configuredApiUrl = normaliseApiUrl(apiUrl);
      if (!this.#configuredApiUrl) throw new BridgeArgumentError(`bridge apiUrl must be "auto" or an http(s) URL such as https://webbiz.example.com, got "${apiUrl}"`);
      this.#apiUrl = this.#configuredApiUrl;
    }
    this.#requestTimeoutMs = milliseconds(options.requestTimeoutMs, 15_000, 'requestTimeoutMs');
    this.#timeouts = { ...options.timeouts };
    for (const [key, ms] of Object.entries(this.#timeouts)) milliseconds(ms, 0, `timeouts.${key}`);
    this.#connectTimeoutMs = milliseconds(options.connectTimeoutMs, 10_000, 'connectTimeoutMs');
    this.#reconnect = {
      initialDelayMs: milliseconds(options.reconnect?.initialDelayMs, 500, 'reconnect.initialDelayMs'),
      maxDelayMs: milliseconds(options.reconnect?.maxDelayMs, 30_000, 'reconnect.maxDelayMs'),
      factor: Math.max(1, options.reconnect?.factor ?? 2),
      stableAfterMs: milliseconds(options.reconnect?.stableAfterMs, 10_000, 'reconnect.stableAfterMs'),
    };
    this.#heartbeat = {
      intervalMs: milliseconds(options.heartbeat?.intervalMs, 15_000, 'heartbeat.intervalMs'),
      timeoutMs: milliseconds(options.heartbeat?.timeoutMs, 10_000, 'heartbeat.timeoutMs'),
    };
    this.#readRetry = {
      attempts: Math.max(1, Math.floor(options.readRetry?.attempts ?? 3)),
      baseDelayMs: milliseconds(options.readRetry?.baseDelayMs, 200, 'readRetry.baseDelayMs'),
      maxDelayMs: milliseconds(options.readRetry?.maxDelayMs, 5_000, 'readRetry.maxDelayMs'),
    };
    this.#greetingTimeoutMs = milliseconds(options.greetingTimeoutMs, 3_000, 'greetingTimeoutMs');
    this.newlineEncoding = options.newlineEncoding ?? DEFAULT_NEWLINE_ENCODING;
    this.#parseOptions = { newlineEncoding: this.newlineEncoding };
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? silentLogger;
    this.#random = options.random ?? Math.random;
    this.#openTransport = options.transport ?? createWsTransport;
  }

  // === Lifecycle ===

  get state(): ConnectionState {
    return this.#state;
  }

  get isReady(): boolean {
    return this.#state === 'ready';
  }

  /** The backend base URL in use (configured, or the last one getApiUrl gave). */
  get apiUrl(): string | undefined {
    return this.#apiUrl;
  }

  /** Connects, and keeps reconnecting until `stop()`. Calling it again does nothing. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#log.info({ url: redactUrl(this.url), edition: this.edition }, 'connecting to the bridge');
    this.#connect();
  }

  /** Closes the connection and fails everything pending; the client cannot be started again. */
  stop(): Promise<void> {
    if (this.#state === 'stopped') return this.#closed ?? Promise.resolve();
    this.#state = 'stopped';
    this.#clearConnectionTimers();
    if (this.#reconnectTimer) this.#clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;

    for (const entry of [...this.#pending.values()]) this.#settleFailure(entry, this.#disconnectedError(entry, STOPPED_REASON), false);
    for (const [entry, timer] of this.#retrying) {
      this.#clock.clearTimeout(timer);
      entry.reject(this.#disconnectedError(entry, STOPPED_REASON));
    }
    this.#retrying.clear();
    for (const waiter of this.#readyWaiters) {
      this.#clock.clearTimeout(waiter.timer);
      waiter.reject(new BridgeUnavailableError(0, 'stopped'));
    }
    this.#readyWaiters.clear();

    const transport = this.#transport;
    if (!transport) return Promise.resolve();
    this.#closed = new Promise<void>((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#closeReason = STOPPED_REASON;
    const grace = unref(this.#clock.setTimeout(() => transport.terminate(), CLOSE_GRACE_MS));
    void this.#closed.then(() => this.#clock.clearTimeout(grace));
    try {
      transport.close(1000, 'rulebot stopping');
    } catch {
      transport.terminate();
    }
    return this.#closed;
  }

  /** Resolves once the client is ready; fails with BridgeUnavailableError after `timeoutMs` or on stop. */
  waitReady(timeoutMs: number = this.#requestTimeoutMs): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    if (this.#state === 'stopped') return Promise.reject(new BridgeUnavailableError(0, 'stopped'));
    return new Promise<void>((resolve, reject) => {
      const waiter: ReadyWaiter = {
        resolve,
        reject,
        timer: this.#clock.setTimeout(() => {
          this.#readyWaiters.delete(waiter);
          reject(new BridgeUnavailableError(timeoutMs, this.#state, this.#lastError?.message));
        }, timeoutMs),
      };
      this.#readyWaiters.add(waiter);
    });
  }

  /** A snapshot of the counters, for metrics and health. */
  metrics(): ClientMetrics {
    return {
      state: this.#state,
      framesSent: { ...this.#framesSent },
      answers: this.#answers,
      pushes: this.#pushes,
      unsolicited: this.#unsolicited,
      garbage: this.#garbage,
      unknownFrames: this.#unknownFrames,
      reconnects: this.#reconnects,
      pending: this.#pending.size + this.#retrying.size,
      lastAnswerAt: this.#lastAnswerAt,
      lastError: this.#lastError,
    };
  }

  // === Calls ===

  /**
   * Sends one frame of any type and resolves with its answer frame; fails with BridgeError
   * when the answer reports a failure. Reads are retried on transient failures; frames
   * that may change the world are written at most once.
   */
  call(type: string, data?: unknown, options?: CallOptions): Promise<AnswerFrame> {
    return this.#enqueue(type, undefined, undefined, undefined, data, options, false);
  }

  /**
   * Sends a `request` frame for a backend call. The url is `<apiUrl><path>`, built when the
   * frame is written, so it follows the apiUrl of the connection that carries it.
   */
  request(apiName: string, path: string, data?: Record<string, unknown>, options?: RequestOptions): Promise<AnswerFrame> {
    return this.#enqueue('request', apiName, path, options?.protoType, data, options, false);
  }

  /** Asks the bridge for the backend base URL; in `auto` mode the answer replaces the cached one. */
  async discoverApiUrl(options?: CallOptions): Promise<string> {
    const answer = await this.call('getApiUrl', undefined, options);
    const apiUrl = this.#acceptApiUrl(answer);
    if (!this.#configuredApiUrl) this.#apiUrl = apiUrl;
    return apiUrl;
  }

  #timeoutFor(type: string, apiName: string | undefined): number {
    return (apiName !== undefined ? this.#timeouts[apiName] : undefined) ?? this.#timeouts[type] ?? this.#requestTimeoutMs;
  }

  #enqueue(
    type: string,
    apiName: string | undefined,
    path: string | undefined,
    protoType: 'group' | undefined,
    data: unknown,
    options: CallOptions | undefined,
    handshake: boolean,
  ): Promise<AnswerFrame> {
    if (this.#state === 'stopped') return Promise.reject(new BridgeUnavailableError(0, 'stopped'));
    const worldChanging = isWorldChanging(type, apiName);
    return new Promise<AnswerFrame>((resolve, reject) => {
      const entry: Pending = {
        id: '',
        type,
        apiName,
        path,
        protoType,
        data,
        worldChanging,
        timeoutMs: options?.timeoutMs ?? this.#timeoutFor(type, apiName),
        timer: undefined,
        written: false,
        attempt: 1,
        retry: !worldChanging && options?.retry !== false && this.#readRetry.attempts > 1,
        handshake,
        onPrepared: options?.onPrepared,
        resolve,
        reject,
      };
      this.#dispatch(entry);
    });
  }

  /** Registers an attempt (id and timer first), then writes it or queues it for readiness. */
  #dispatch(entry: Pending): void {
    entry.id = FRAME_ID_PREFIX + (++frameCounter).toString(36);
    entry.written = false;
    entry.timer = this.#clock.setTimeout(() => this.#onTimeout(entry), entry.timeoutMs);
    this.#pending.set(entry.id, entry);
    if (this.#state === 'ready' || (entry.handshake && this.#transport?.isOpen)) this.#write(entry);
    else this.#queued.add(entry);
  }

  #write(entry: Pending): void {
    const transport = this.#transport;
    if (!transport || !transport.isOpen) {
      // The socket is closing; its close event is on the way and readiness will come back.
      this.#queued.add(entry);
      return;
    }
    const frame: OutgoingFrame = { id: entry.id, type: entry.type };
    if (entry.path !== undefined) {
      const requestData: Record<string, unknown> = { type: entry.apiName, url: this.#apiUrl + entry.path };
      if (entry.protoType) requestData.protoType = entry.protoType;
      if (entry.data !== undefined) requestData.data = entry.data;
      frame.data = requestData;
    } else if (entry.data !== undefined) {
      frame.data = entry.data;
    }
    let text: string;
    try {
      if (entry.onPrepared) entry.onPrepared(frame);
      text = encodeFrame(frame);
    } catch (err) {
      this.#settleFailure(entry, err instanceof Error ? err : new Error(String(err)), false);
      return;
    }
    transport.send(text);
    entry.written = true;
    this.#framesSent[entry.type] = (this.#framesSent[entry.type] ?? 0) + 1;
  }

  #onTimeout(entry: Pending): void {
    if (this.#pending.get(entry.id) !== entry) return;
    entry.timer = undefined;
    const err = entry.written
      ? new BridgeTimeoutError(this.#label(entry), entry.timeoutMs, true)
      : new BridgeUnavailableError(entry.timeoutMs, this.#state, this.#lastError?.message);
    if (entry.written) this.#log.warn({ frameId: entry.id, frameType: entry.type, apiName: entry.apiName, timeoutMs: entry.timeoutMs }, 'no answer from the bridge in time');
    // A frame that waited its whole timeout for readiness is not given another one.
    this.#settleFailure(entry, err, entry.written);
  }

  /** Takes an attempt out of the books and fails it, or schedules the next attempt of a read. */
  #settleFailure(entry: Pending, err: Error, mayRetry: boolean): void {
    if (this.#pending.get(entry.id) === entry) this.#pending.delete(entry.id);
    this.#queued.delete(entry);
    if (entry.timer !== undefined) this.#clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.written) this.#remember(entry.id);
    this.#noteError(err);
    if (mayRetry && entry.retry && entry.attempt < this.#readRetry.attempts && this.#state !== 'stopped' && isTransient(err)) {
      const cap = Math.min(this.#readRetry.maxDelayMs, this.#readRetry.baseDelayMs * 2 ** (entry.attempt - 1));
      const delayMs = Math.round(cap / 2 + (this.#random() * cap) / 2);
      this.#log.debug({ frameType: entry.type, apiName: entry.apiName, attempt: entry.attempt, delayMs, err }, 'read failed; retrying');
      entry.attempt += 1;
      const timer = this.#clock.setTimeout(() => {
        this.#retrying.delete(entry);
        this.#dispatch(entry);
      }, delayMs);
      this.#retrying.set(entry, timer);
      return;
    }
    entry.reject(err);
  }

  #remember(id: string): void {
    this.#givenUp.add(id);
    if (this.#givenUp.size > GIVEN_UP_MEMORY) {
      const oldest = this.#givenUp.values().next().value;
      if (oldest !== undefined) this.#givenUp.delete(oldest);
    }
  }

  #label(entry: Pending): { frameType: string; apiName?: string; frameId: string; worldChanging: boolean } {
    const label: { frameType: string; apiName?: string; frameId: string; worldChanging: boolean } = {
      frameType: entry.type,
      frameId: entry.id,
      worldChanging: entry.worldChanging,
    };
    if (entry.apiName !== undefined) label.apiName = entry.apiName;
    return label;
  }

  #disconnectedError(entry: Pending, reason: string): BridgeDisconnectedError {
    return new BridgeDisconnectedError(this.#label(entry), entry.written, reason);
  }

  #noteError(err: Error): void {
    this.#lastError = { message: err.message, at: this.#clock.now() };
  }

  // === Incoming frames ===

  #onMessage(connection: number, raw: string | Buffer): void {
    if (connection !== this.#connection) return;
    const decoded = decodeServerFrame(raw, this.#parseOptions);
    switch (decoded.kind) {
      case 'answer':
        this.#onAnswer(decoded);
        return;
      case 'push':
        this.#onPush(decoded.push);
        return;
      case 'hello':
        this.#onHello();
        return;
      case 'unknown':
        this.#unknownFrames += 1;
        this.#log.warn({ value: decoded.value }, 'the bridge sent JSON of no known shape; ignored');
        this.#emitSafely('unknownFrame', decoded.value);
        return;
      case 'garbage':
        this.#garbage += 1;
        this.#log.warn({ raw: decoded.raw, reason: decoded.reason }, 'the bridge sent a frame that is not JSON; ignored');
        this.#emitSafely('garbage', { raw: decoded.raw, reason: decoded.reason });
        return;
    }
  }

  #onAnswer(decoded: DecodedAnswer): void {
    const frame = decoded.frame;
    let entry = this.#pending.get(frame.id);
    if (entry === undefined || !entry.written) entry = this.#matchByType(frame);
    if (entry === undefined) {
      this.#unsolicited += 1;
      const late = this.#givenUp.has(frame.id);
      this.#log.warn({ frameId: frame.id, frameType: frame.type }, late ? 'late answer to a frame already given up on' : 'answer that matches no frame in flight');
      this.#emitSafely('unsolicited', frame);
      return;
    }
    this.#pending.delete(entry.id);
    if (entry.timer !== undefined) this.#clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    this.#answers += 1;
    this.#lastAnswerAt = this.#clock.now();
    if (decoded.failure === undefined) {
      entry.resolve(frame);
      return;
    }
    const label = this.#label(entry);
    this.#settleFailure(entry, new BridgeError(decoded.failure, label), true);
  }

  /**
   * PROTOCOL.md gap 2: an answer whose id matches nothing goes to the one frame of its
   * type in flight, if there is exactly one. Answers to frames already given up on are
   * never rematched. Scans only on this rare path.
   */
  #matchByType(frame: AnswerFrame): Pending | undefined {
    if (this.#givenUp.has(frame.id)) return undefined;
    let match: Pending | undefined;
    for (const entry of this.#pending.values()) {
      if (!entry.written || entry.type !== frame.type) continue;
      if (match !== undefined) return undefined;
      match = entry;
    }
    if (match !== undefined) {
      this.#log.warn({ answerId: frame.id, frameId: match.id, frameType: frame.type }, 'answer id matches no frame; matched to the only frame of its type in flight');
    }
    return match;
  }

  #onPush(push: PushEvent): void {
    this.#pushes += 1;
    switch (push.kind) {
      case 'message':
        this.#emitSafely('message', push);
        break;
      case 'groupNotification':
        this.#emitSafely('groupNotification', push);
        break;
      case 'deliveryReport':
        for (const delivery of push.deliveries) this.#emitSafely('delivery', delivery);
        break;
      case 'groupUpdate':
        this.#emitSafely('groupUpdate', push);
        break;
      case 'recall':
        this.#emitSafely('recall', push);
        break;
      case 'unknownPush':
        this.#log.debug({ operator: push.operator, reason: push.reason }, 'push not understood; emitted as it is');
        break;
    }
    this.#emitSafely('push', push);
  }

  /**
   * Calls each listener on its own: one listener's exception must neither unwind into the
   * socket's handler nor keep the other listeners from the event.
   */
  #emitSafely<K extends keyof BridgeClientEvents>(event: K, ...args: BridgeClientEvents[K]): void {
    if (this.listenerCount(event) === 0) return;
    for (const listener of this.rawListeners(event) as Array<(...args: unknown[]) => unknown>) {
      try {
        listener.apply(this, args);
      } catch (err) {
        this.#log.error({ err, event }, 'a listener of the bridge client threw');
      }
    }
  }

  // === Connection ===

  #connect(): void {
    if (this.#state === 'stopped') return;
    this.#reconnectTimer = undefined;
    const connection = ++this.#connection;
    this.#state = 'connecting';
    this.#closeReason = undefined;
    try {
      this.#transport = this.#openTransport(this.url, this.#handlersFor(connection), { connectTimeoutMs: this.#connectTimeoutMs });
    } catch (err) {
      // A transport that cannot even start counts as a failed connection attempt.
      const error = err instanceof Error ? err : new Error(String(err));
      this.#noteError(error);
      this.#log.error({ err: { message: error.message } }, 'could not open a connection to the bridge');
      this.#transport = undefined;
      this.#scheduleReconnect();
    }
  }

  /** What one connection reports to; callbacks of a connection that is no longer current are ignored. */
  #handlersFor(connection: number): TransportHandlers {
    let lastError: Error | undefined;
    let opened = false;
    return {
      onOpen: () => {
        if (connection !== this.#connection) return;
        opened = true;
        this.#onOpen(connection);
      },
      onMessage: (data) => this.#onMessage(connection, data),
      onPong: () => {
        if (connection === this.#connection) this.#onPong();
      },
      onError: (err) => {
        if (connection !== this.#connection) return;
        lastError = err;
        if (this.#state === 'stopped') {
          this.#log.debug({ err: { message: err.message } }, 'bridge connection error while stopping');
          return;
        }
        const described = describeTransportError(err);
        this.#closeReason ??= described;
        this.#noteError(err);
        this.#log.warn({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, `bridge connection error: ${described}`);
        // Don't wait out a closing handshake on a connection that just failed.
        if (opened) this.#transport?.terminate();
      },
      onClose: (code, reason) => {
        if (connection !== this.#connection) return;
        const why = this.#closeReason ?? (reason ? `closed by the bridge: ${reason} (${code})` : lastError ? lastError.message : `connection lost (${code})`);
        this.#onClose(code, why);
      },
    };
  }

  #onOpen(connection: number): void {
    this.#log.info({ url: redactUrl(this.url) }, 'connected to the bridge');
    this.#schedulePing();
    if (EDITIONS[this.edition].greets) {
      this.#state = 'greeting';
      this.#greetingTimer = this.#clock.setTimeout(() => {
        this.#greetingTimer = undefined;
        if (connection !== this.#connection || this.#state !== 'greeting') return;
        // Some builds may not greet; waiting forever would leave the daemon idle for nothing.
        this.#log.warn({ greetingTimeoutMs: this.#greetingTimeoutMs }, 'the bridge did not greet within the greeting timeout; going on without it');
        this.#discover(connection);
      }, this.#greetingTimeoutMs);
    } else {
      this.#discover(connection);
    }
  }

  #onHello(): void {
    if (this.#state !== 'greeting') {
      this.#log.debug({ state: this.#state }, 'greeting from the bridge outside the handshake; ignored');
      return;
    }
    if (this.#greetingTimer) this.#clock.clearTimeout(this.#greetingTimer);
    this.#greetingTimer = undefined;
    this.#discover(this.#connection);
  }

  /** Ready needs the apiUrl: configured, or asked of the bridge after every connect (gap 4). */
  #discover(connection: number): void {
    if (this.#configuredApiUrl) {
      this.#becomeReady();
      return;
    }
    this.#state = 'discovering';
    this.#enqueue('getApiUrl', undefined, undefined, undefined, undefined, { retry: false }, true).then(
      (answer) => {
        if (connection !== this.#connection || this.#state !== 'discovering') return;
        try {
          this.#apiUrl = this.#acceptApiUrl(answer);
        } catch (err) {
          this.#discoveryFailed(connection, err as Error);
          return;
        }
        this.#becomeReady();
      },
      (err: Error) => {
        if (connection === this.#connection && this.#state === 'discovering') this.#discoveryFailed(connection, err);
      },
    );
  }

  #acceptApiUrl(answer: AnswerFrame): string {
    const apiUrl = normaliseApiUrl(answer.data);
    if (!apiUrl) {
      throw new ProtocolViolationError(`the bridge answered getApiUrl with ${JSON.stringify(answer.data)?.slice(0, 100)}, which is not an http(s) URL`, {
        data: answer.data,
      });
    }
    return apiUrl;
  }

  #discoveryFailed(connection: number, err: Error): void {
    this.#noteError(err);
    if (this.#apiUrl) {
      this.#log.warn({ err, apiUrl: this.#apiUrl }, 'getApiUrl failed; going on with the apiUrl of the previous connection');
      this.#becomeReady();
      return;
    }
    this.#log.warn({ err }, 'getApiUrl failed and no apiUrl is known; dropping the connection to try again');
    if (connection === this.#connection) {
      this.#closeReason = `getApiUrl failed: ${err.message}`;
      this.#transport?.terminate();
    }
  }

  #becomeReady(): void {
    this.#state = 'ready';
    this.#readyAt = this.#clock.now();
    const apiUrl = this.#apiUrl ?? '';
    this.#log.info({ apiUrl, connection: this.#connection }, 'bridge ready');
    for (const waiter of this.#readyWaiters) {
      this.#clock.clearTimeout(waiter.timer);
      waiter.resolve();
    }
    this.#readyWaiters.clear();
    const queued = [...this.#queued];
    this.#queued.clear();
    for (const entry of queued) this.#write(entry);
    this.#emitSafely('ready', { apiUrl, connection: this.#connection });
  }

  #onClose(code: number, reason: string): void {
    const wasReady = this.#state === 'ready';
    this.#transport = undefined;
    this.#clearConnectionTimers();
    // A stopping client has failed its frames already; anything left was written on this socket.
    for (const entry of [...this.#pending.values()]) {
      if (entry.written) this.#settleFailure(entry, this.#disconnectedError(entry, reason), true);
    }
    if (this.#state === 'stopped') {
      this.#log.info({ code }, 'bridge connection closed');
      this.#emitSafely('disconnected', { reason, code });
      this.#resolveClosed?.();
      return;
    }
    if (wasReady && this.#clock.now() - this.#readyAt >= this.#reconnect.stableAfterMs) this.#backoffAttempt = 0;
    this.#log.warn({ code, reason }, 'bridge connection lost');
    this.#emitSafely('disconnected', { reason, code });
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'reconnecting';
    const { initialDelayMs, maxDelayMs, factor } = this.#reconnect;
    const cap = Math.min(maxDelayMs, initialDelayMs * factor ** this.#backoffAttempt);
    const delayMs = Math.round(this.#random() * cap);
    this.#backoffAttempt += 1;
    this.#reconnects += 1;
    this.#log.info({ attempt: this.#backoffAttempt, delayMs }, 'reconnecting to the bridge');
    this.#reconnectTimer = this.#clock.setTimeout(() => this.#connect(), delayMs);
    this.#emitSafely('reconnecting', { attempt: this.#backoffAttempt, delayMs });
  }

  // === Heartbeat ===

  #schedulePing(): void {
    if (this.#heartbeat.intervalMs <= 0) return;
    this.#pingTimer = unref(this.#clock.setTimeout(() => this.#ping(), this.#heartbeat.intervalMs));
  }

  #ping(): void {
    this.#pingTimer = undefined;
    const transport = this.#transport;
    if (!transport?.isOpen) return;
    const connection = this.#connection;
    this.#pongTimer = unref(
      this.#clock.setTimeout(() => {
        this.#pongTimer = undefined;
        if (connection !== this.#connection) return;
        this.#log.warn({ timeoutMs: this.#heartbeat.timeoutMs }, 'the bridge did not answer a ping in time; dropping the connection');
        this.#closeReason = `no pong within ${this.#heartbeat.timeoutMs}ms`;
        transport.terminate();
      }, this.#heartbeat.timeoutMs),
    );
    transport.ping();
  }

  #onPong(): void {
    if (this.#pongTimer === undefined) return;
    this.#clock.clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
    this.#schedulePing();
  }

  #clearConnectionTimers(): void {
    for (const timer of [this.#greetingTimer, this.#pingTimer, this.#pongTimer]) {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    }
    this.#greetingTimer = undefined;
    this.#pingTimer = undefined;
    this.#pongTimer = undefined;
  }
}
