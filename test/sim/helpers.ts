/**
 * A plain `ws` client for talking to the simulator in tests: no reconnects, no
 * correlation beyond "wait for the frame that matches". Every wait has a timeout whose
 * timer never holds the process.
 */
import { WebSocket } from 'ws';

/** A frame as parsed from the socket; tests read into it freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
}

export class TestClient {
  /** Every text frame received, in order. */
  readonly raws: string[] = [];
  /** Every frame that parsed as a JSON object, in order. */
  readonly frames: Frame[] = [];
  /** Errors the socket reported (e.g. WS_ERR_INVALID_UTF8). */
  readonly errors: Array<Error & { code?: string }> = [];
  readonly #waiters = new Set<Waiter>();
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const raw = data.toString();
      this.raws.push(raw);
      let frame: unknown;
      try {
        frame = JSON.parse(raw);
      } catch {
        return;
      }
      if (typeof frame !== 'object' || frame === null) return;
      this.frames.push(frame as Frame);
      for (const waiter of this.#waiters) {
        if (waiter.match(frame as Frame)) {
          this.#waiters.delete(waiter);
          waiter.resolve(frame as Frame);
        }
      }
    });
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('error', (err) => this.errors.push(err));
  }

  /** Opens a connection; with `hello`, waits for the edition-68 greeting too. */
  static async connect(url: string, options: { hello?: boolean } = {}): Promise<TestClient> {
    const socket = new WebSocket(url);
    const client = new TestClient(socket);
    const greeting = options.hello ? client.waitFor((f) => f.message === 'Hello') : undefined;
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    await greeting;
    return client;
  }

  send(frame: object | string): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a frame and waits for the answer carrying its id. */
  async call(frame: Frame, timeoutMs = 2000): Promise<Frame> {
    // Only frames after this send count: the seed's examples reuse ids.
    const answer = this.waitFor((f) => f.id === frame.id, timeoutMs, this.frames.length);
    this.send(frame);
    return answer;
  }

  /** The first frame, already received (from index `since`) or still to come, that matches. */
  waitFor(match: (frame: Frame) => boolean, timeoutMs = 2000, since = 0): Promise<Frame> {
    const seen = this.frames.slice(since).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`no matching frame within ${timeoutMs} ms (received ${this.raws.length})`));
      }, timeoutMs);
      timer.unref();
      this.#waiters.add(waiter);
    });
  }

  /** Polls until `condition` holds (real time), failing after `timeoutMs`. */
  static async until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await TestClient.pause(2);
    }
  }

  /** Resolves after `ms` of real time; for checking that nothing arrives. */
  static pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.terminate();
    await this.closed;
  }
}

/** A `request` frame for an ApiName at any host. */
export function requestFrame(id: string, apiName: string, path: string, data?: Record<string, unknown>, protoType?: 'group'): Frame {
  return {
    id,
    type: 'request',
    data: { type: apiName, url: `https://webbiz.example.test${path}`, ...(protoType ? { protoType } : {}), ...(data ? { data } : {}) },
  };
}

/** A sendMsg frame with one text item. */
export function sendMsgFrame(id: string, target: { group?: number; friend?: number }, content: string, extra: Record<string, unknown> = {}): Frame {
  const chat = target.group !== undefined ? 'group' : 'friend';
  return {
    id,
    type: 'sendMsg',
    data: {
      id: target.group ?? target.friend,
      type: chat,
      ...extra,
      list: [{ type: 'text', values: { chatType: 0, content } }],
      quoteInfo: null,
    },
  };
}

/**
 * The structure of a JSON value, keys in order: objects map keys to shapes, arrays become
 * the shape of their first element, other values their type.
 */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [shapeOf(value[0])] : [];
  if (value === null) return 'null';
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, shapeOf(v)]));
  }
  return typeof value;
}
