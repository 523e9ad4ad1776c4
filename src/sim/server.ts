import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { EDITIONS, HELLO_MESSAGE, type BridgeEdition, type ChatKind, type PushFrame, type WireError } from '../protocol/wire';
import { systemClock, type Clock, type TimerHandle } from '../shared/clock';
import { createControlHandler } from './control';
import { BUSY_ERROR, SimError, SimOptionError } from './errors';
import { FaultPlan, type FaultDecision, type FaultRates, type ScriptedFault } from './faults';
import { apiNameOf, checkEnvelope, handleFrame, changesWorld, type HandlerContext, type IncomingFrame, type Outcome } from './handlers';
import { FrameRecord, type MutableRecordedFrame, type RecordedFrame } from './record';
import { deliveryPush, msgNewPush } from './shapes';
import { World, type SimMessage } from './world';

/** The subset of a pino logger the simulator writes to. */
export interface SimLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

const silentLogger: SimLogger = { debug: () => {}, info: () => {}, warn: () => {} };

export interface BridgeSimulatorOptions {
  /** Which edition of the bridge to play (PROTOCOL.md). @default 'seed' */
  edition?: BridgeEdition;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  /** Seeds the world's ids and the fault decisions. @default 1 */
  seed?: number;
  faults?: Partial<FaultRates>;
  /** What getApiUrl answers. @default 'https://webbiz.qika.xyz' */
  apiUrl?: string;
  clock?: Clock;
  logger?: SimLogger;
  /** Time between a sendMsg and its delivery result. @default 20 */
  deliveryDelayMs?: number;
  /** How long the restart verb keeps new connections out. @default 500 */
  restartDowntimeMs?: number;
  /** Frames kept in `record`; older ones are forgotten. 0 keeps none. @default 100000 */
  recordLimit?: number;
  /** Messages kept in the world's log. @default 100000 */
  messageLimit?: number;
  /** Serve the HTTP control interface on the same port. @default true */
  control?: boolean;
}

/** A message pushed in from another user (or a friend), as `injectMessage` takes it. */
export interface InjectMessageInput {
  chat: ChatKind;
  groupId?: number;
  /** The friend of a friend chat; defaults to the sender. */
  friendId?: number;
  senderId: number;
  content: string;
  /** docs/msg.md's msgType. @default 0 */
  msgType?: number;
  atUids?: number[];
}

/** An incoming frame that passed the envelope checks, with where and when it came in. */
export interface ReceivedFrame extends RecordedFrame {
  readonly frame: { id: string; type: string; data?: unknown };
}

export const DEFAULT_API_URL = 'https://webbiz.qika.xyz';

/**
 * A real text frame whose bytes are not UTF-8: `ws` on the client side closes the
 * connection with 1007 before any handler sees it (PROTOCOL.md, gap 10).
 */
const INVALID_UTF8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);

interface Connection {
  readonly id: number;
  readonly socket: WebSocket;
}

/**
 * A stateful fake of the chat bridge on a real WebSocket server: it speaks PROTOCOL.md
 * (either edition), keeps a World that frames change, records every frame, and injects
 * faults from a seeded plan or a script. One port serves both the WebSocket and a small
 * HTTP control interface (README.md in this folder).
 */
export class BridgeSimulator {
  readonly world: World;
  readonly edition: BridgeEdition;

  readonly #options: Required<Pick<BridgeSimulatorOptions, 'host' | 'port' | 'apiUrl' | 'deliveryDelayMs' | 'restartDowntimeMs' | 'control'>>;
  readonly #clock: Clock;
  readonly #log: SimLogger;
  readonly #faults: FaultPlan;
  readonly #record: FrameRecord;
  readonly #context: HandlerContext;
  readonly #connections = new Map<WebSocket, Connection>();
  readonly #timers = new Set<TimerHandle>();
  readonly #pushes: boolean;
  #http: Server | undefined;
  #wss: WebSocketServer | undefined;
  #port = 0;
  #connectionSeq = 0;
  #pongs = true;
  #refusing = false;
  #reopenTimer: TimerHandle | undefined;

  constructor(options: BridgeSimulatorOptions = {}) {
    this.edition = options.edition ?? 'seed';
    if (!(this.edition in EDITIONS)) throw new SimOptionError(`unknown edition "${String(this.edition)}" (seed or 68)`);
    this.#options = {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      apiUrl: options.apiUrl ?? DEFAULT_API_URL,
      deliveryDelayMs: options.deliveryDelayMs ?? 20,
      restartDowntimeMs: options.restartDowntimeMs ?? 500,
      control: options.control ?? true,
    };
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger ?? silentLogger;
    const seed = options.seed ?? 1;
    this.#faults = new FaultPlan(seed, options.faults);
    this.#record = new FrameRecord(options.recordLimit ?? 100_000);
    this.world = new World({ seed, clock: this.#clock, messageLimit: options.messageLimit });
    this.#context = { world: this.world, edition: this.edition, apiUrl: this.#options.apiUrl };
    this.#pushes = EDITIONS[this.edition].pushes;
  }

  // === Lifecycle ===

  async start(): Promise<void> {
    if (this.#http) throw new SimOptionError('the simulator is already started');
    const control = this.#options.control ? createControlHandler(this) : undefined;
    const http = createServer((req, res) => {
      if (control) control(req, res);
      else res.writeHead(404).end();
    });
    const wss = new WebSocketServer({ noServer: true, autoPong: false, perMessageDeflate: false, clientTracking: false });
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(wss, req, socket, head));
    this.#http = http;
    this.#wss = wss;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.#options.port, this.#options.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    this.#port = (http.address() as AddressInfo).port;
    this.#log.info({ url: this.url, edition: this.edition }, 'bridge simulator listening');
  }

  async stop(): Promise<void> {
    for (const handle of this.#timers) this.#clock.clearTimeout(handle);
    this.#timers.clear();
    this.#reopenTimer = undefined;
    this.#refusing = false;
    for (const socket of this.#connections.keys()) socket.terminate();
    this.#connections.clear();
    const http = this.#http;
    this.#http = undefined;
    this.#wss?.close();
    this.#wss = undefined;
    if (!http) return;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    this.#log.info({ port: this.#port }, 'bridge simulator stopped');
  }

  get port(): number {
    return this.#port;
  }

  /** ws://host:port, once started. */
  get url(): string {
    const host = this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host;
    return `ws://${host}:${this.#port}`;
  }

  /** http://host:port: the control interface. */
  get controlUrl(): string {
    return this.url.replace(/^ws:/, 'http:');
  }

  /** Open client sockets. */
  get connections(): number {
    return this.#connections.size;
  }

  // === Inspection ===

  /** Every frame in and out, oldest first (the last `recordLimit`). */
  get record(): readonly RecordedFrame[] {
    return this.#record.entries();
  }

  /** Frames recorded after `seq`. */
  recordSince(seq: number): RecordedFrame[] {
    return this.#record.since(seq);
  }

  /** Incoming frames that passed the envelope checks, optionally only of a frame type or ApiName. */
  received(type?: string): ReceivedFrame[] {
    return this.#record.entries().filter((entry): entry is ReceivedFrame => {
      if (entry.direction !== 'in' || !isFrameLike(entry.frame)) return false;
      return type === undefined || entry.frame.type === type || apiNameOf(entry.frame) === type;
    });
  }

  /** Incoming sendMsg, sendFile, GroupUpdate, GroupMemberShutup, UpdateContactsApply and restart frames. */
  worldChangingReceived(): ReceivedFrame[] {
    return this.received().filter((entry) => changesWorld(entry.frame));
  }

  get faults(): Readonly<FaultRates> {
    return this.#faults.rates;
  }

  /** Scripted faults not yet used up. */
  get scriptedFaults(): readonly ScriptedFault[] {
    return this.#faults.scripted;
  }

  // === Control ===

  setFaults(partial: Partial<FaultRates>): void {
    this.#faults.setRates(partial);
  }

  scriptFault(fault: ScriptedFault): void {
    this.#faults.script(fault);
  }

  clearScriptedFaults(): void {
    this.#faults.clearScripted();
  }

  /** When false, pings go unanswered: a silent peer. */
  setPongs(enabled: boolean): void {
    this.#pongs = enabled;
  }

  /** Terminates every client socket; returns how many there were. */
  dropConnections(): number {
    const count = this.#connections.size;
    for (const socket of this.#connections.keys()) socket.terminate();
    if (count > 0) this.#log.info({ count }, 'dropped every connection');
    return count;
  }

  /** Sends raw text (or bytes, as a text frame) to every client. */
  sendRaw(raw: string | Buffer): void {
    for (const connection of this.#connections.values()) this.#sendRaw(connection, raw);
  }

  /** Sends a push frame to every client, whatever the edition. */
  push(frame: PushFrame): void {
    this.#broadcast(frame);
  }

  /**
   * A message from another user: stored in the world and, in edition 68, pushed as msgNew
   * (isSelf false). The seed edition documents no pushes, so there it is only stored.
   */
  injectMessage(input: InjectMessageInput): SimMessage {
    let targetId: number;
    if (input.chat === 'group') {
      if (input.groupId === undefined) throw new SimError('INVALID_DATA', 'a group message needs a groupId');
      targetId = input.groupId;
    } else {
      targetId = input.friendId ?? input.senderId;
      if (targetId !== input.senderId && input.senderId !== this.world.botUid) {
        throw new SimError('INVALID_DATA', `a friend message comes from the friend (friendId ${targetId}, senderId ${input.senderId})`);
      }
    }
    const msgType = input.msgType ?? 0;
    const message = this.world.recordMessage({
      chat: input.chat,
      targetId,
      senderUid: input.senderId,
      chatType: msgType,
      msgType,
      content: input.content,
      ...(input.atUids ? { atUids: input.atUids } : {}),
    });
    message.status = 'delivered';
    if (this.#pushes) this.#broadcast(msgNewPush(this.world, message));
    return message;
  }

  /**
   * What the restart verb does: drops every connection and refuses new ones for
   * `restartDowntimeMs`, then accepts again.
   */
  restartApp(): void {
    this.#refusing = true;
    if (this.#reopenTimer) this.#cancel(this.#reopenTimer);
    this.#reopenTimer = this.#schedule(() => {
      this.#refusing = false;
      this.#reopenTimer = undefined;
      this.#log.info({}, 'accepting connections again after restart');
    }, this.#options.restartDowntimeMs);
    this.dropConnections();
  }

  /** True while a restart keeps connections out. */
  get restarting(): boolean {
    return this.#refusing;
  }

  // === Connections ===

  #upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.#refusing) {
      // The chat app is restarting: nobody listens behind the bridge yet.
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws));
  }

  #accept(socket: WebSocket): void {
    const connection: Connection = { id: ++this.#connectionSeq, socket };
    this.#connections.set(socket, connection);
    socket.on('message', (data, isBinary) => this.#onMessage(connection, data, isBinary));
    socket.on('ping', (data) => {
      if (this.#pongs) socket.pong(data);
    });
    socket.on('close', () => {
      this.#connections.delete(socket);
      this.#log.debug({ connectionId: connection.id }, 'client disconnected');
    });
    socket.on('error', (err) => this.#log.warn({ connectionId: connection.id, err }, 'client socket error'));
    this.#log.debug({ connectionId: connection.id }, 'client connected');
    if (EDITIONS[this.edition].greets) this.#send(connection, { message: HELLO_MESSAGE });
  }

  // === Frames ===

  #onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    const raw = rawText(data);
    const at = this.#clock.now();
    if (isBinary) {
      this.#record.add(at, connection.id, 'in', raw);
      this.#sendError(connection, {}, new SimError('BAD_FRAME', 'binary frames are not accepted: send each frame as JSON text').wireError);
      return;
    }
    const check = checkEnvelope(raw, this.edition);
    if (!check.ok) {
      this.#record.add(at, connection.id, 'in', raw);
      this.#log.debug({ connectionId: connection.id, error: check.error.message }, 'frame refused');
      this.#sendError(connection, check, check.error.wireError);
      return;
    }
    const frame = check.frame;
    const entry = this.#record.add(at, connection.id, 'in', raw);
    const worldChanging = changesWorld(frame);
    const fault = this.#faults.decide(frame.type, apiNameOf(frame), worldChanging);
    const delay = fault && typeof fault.action === 'object' && 'delayMs' in fault.action ? fault.action.delayMs : this.#faults.delay();
    if (fault && fault.name === 'delay') entry.fault = fault.name;
    if (delay > 0) {
      this.#schedule(() => this.#process(connection, frame, entry, fault, worldChanging), delay);
    } else {
      this.#process(connection, frame, entry, fault, worldChanging);
    }
  }

  #process(
    connection: Connection,
    frame: IncomingFrame,
    entry: MutableRecordedFrame,
    fault: FaultDecision | undefined,
    worldChanging: boolean,
  ): void {
    if (fault && fault.name !== 'delay') {
      entry.fault = fault.name;
      let outcome: Outcome | undefined;
      if (worldChanging) {
        // The ambiguous case: the bridge may have acted, then failed to say so.
        outcome = fault.acted ? this.#tryHandle(frame) : undefined;
        entry.actedBeforeFault = outcome !== undefined;
      }
      this.#log.debug({ connectionId: connection.id, id: frame.id, type: frame.type, fault: fault.name, acted: entry.actedBeforeFault }, 'fault');
      this.#applyFault(connection, frame, fault);
      if (outcome) this.#afterEffects(outcome, entry);
      return;
    }
    let outcome: Outcome;
    try {
      outcome = handleFrame(this.#context, frame);
    } catch (err) {
      this.#sendError(connection, frame, toWireError(err, this.#log));
      return;
    }
    const answer = { id: frame.id, type: frame.type, data: outcome.data };
    if (outcome.restart) {
      // Answer first, restart once the answer is on its way.
      if (!this.#send(connection, answer, () => this.restartApp())) this.restartApp();
      return;
    }
    this.#send(connection, answer);
    this.#afterEffects(outcome, entry);
  }

  #tryHandle(frame: IncomingFrame): Outcome | undefined {
    try {
      return handleFrame(this.#context, frame);
    } catch (err) {
      if (!(err instanceof SimError)) this.#log.warn({ err }, 'simulator failed on a frame');
      return undefined;
    }
  }

  #afterEffects(outcome: Outcome, entry: MutableRecordedFrame): void {
    for (const push of outcome.pushes) this.#broadcast(push);
    for (const message of outcome.sent) {
      const fails = this.#faults.deliveryFails();
      if (fails) entry.fault ??= 'delivery-failure';
      this.#schedule(() => {
        message.status = fails ? 'failed' : 'delivered';
        if (this.#pushes) this.#broadcast(deliveryPush(message, !fails, this.#clock.now()));
      }, this.#options.deliveryDelayMs);
    }
    if (outcome.restart) this.restartApp();
  }

  #applyFault(connection: Connection, frame: IncomingFrame, fault: FaultDecision): void {
    const action = fault.action;
    if (typeof action === 'object') {
      if ('error' in action) this.#sendError(connection, frame, action.error);
      return;
    }
    switch (action) {
      case 'busy':
        this.#sendError(connection, frame, BUSY_ERROR);
        return;
      case 'silence':
        return;
      case 'drop':
        connection.socket.terminate();
        return;
      case 'garbage':
        // Cut mid-answer: it starts like the real answer, id included, and is not JSON.
        this.#sendRaw(connection, `{"id":${JSON.stringify(frame.id)},"type":${JSON.stringify(frame.type)},"data":{"commonRes`);
        return;
      case 'invalid-utf8':
        this.#sendRaw(connection, INVALID_UTF8);
        return;
    }
  }

  /** An error frame, echoing whichever of id and type were readable (key order as the bridge writes it). */
  #sendError(connection: Connection, echo: { id?: string; type?: string }, error: WireError): void {
    this.#send(connection, {
      ...(echo.id !== undefined ? { id: echo.id } : {}),
      ...(echo.type !== undefined ? { type: echo.type } : {}),
      error,
    });
  }

  /** Sends one frame to one client; false when its socket is no longer open. */
  #send(connection: Connection, frame: object, onSent?: () => void): boolean {
    const socket = connection.socket;
    if (socket.readyState !== WebSocket.OPEN) return false;
    const raw = JSON.stringify(frame);
    this.#record.add(this.#clock.now(), connection.id, 'out', raw);
    socket.send(raw, onSent && (() => onSent()));
    return true;
  }

  #sendRaw(connection: Connection, raw: string | Buffer): void {
    const socket = connection.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    this.#record.add(this.#clock.now(), connection.id, 'out', typeof raw === 'string' ? raw : raw.toString('utf8'));
    socket.send(raw, { binary: false });
  }

  #broadcast(frame: object): void {
    if (this.#connections.size === 0) return;
    const raw = JSON.stringify(frame);
    const at = this.#clock.now();
    for (const connection of this.#connections.values()) {
      if (connection.socket.readyState !== WebSocket.OPEN) continue;
      this.#record.add(at, connection.id, 'out', raw);
      connection.socket.send(raw);
    }
  }

  #schedule(fn: () => void, ms: number): TimerHandle {
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(handle);
      fn();
    }, ms);
    // Pending deliveries must not keep a finished test or CLI alive.
    handle.unref?.();
    this.#timers.add(handle);
    return handle;
  }

  #cancel(handle: TimerHandle): void {
    this.#clock.clearTimeout(handle);
    this.#timers.delete(handle);
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function isFrameLike(frame: object | undefined): frame is { id: string; type: string; data?: unknown } {
  if (frame === undefined) return false;
  const { id, type } = frame as { id?: unknown; type?: unknown };
  return typeof id === 'string' && typeof type === 'string';
}

function toWireError(err: unknown, log: SimLogger): WireError {
  if (err instanceof SimError) return err.wireError;
  log.warn({ err }, 'simulator failed on a frame');
  return new SimError('INTERNAL', `the simulator failed on this frame: ${err instanceof Error ? err.message : String(err)}`).wireError;
}
