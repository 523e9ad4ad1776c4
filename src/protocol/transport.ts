/**
 * The socket under the client, behind a small interface so the client holds no `ws`
 * specifics and a test or benchmark can put any connection under it. One transport is
 * one connection: it is opened by a factory and reports to the handlers it was given.
 */
import WebSocket from 'ws';

/** Largest frame accepted from the bridge; a bigger one makes `ws` close the connection with 1009. */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** What a transport reports, in order: open, then any number of messages and pongs, then close exactly once. */
export interface TransportHandlers {
  onOpen(): void;
  onMessage(data: string | Buffer): void;
  onPong(): void;
  /** An error from the socket or the frame parser; `close` follows. */
  onError(err: Error): void;
  onClose(code: number, reason: string): void;
}

export interface Transport {
  /** Whether a frame sent now would be written to the socket. */
  readonly isOpen: boolean;
  /** Writes one text frame. Only call while `isOpen`. */
  send(text: string): void;
  ping(): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
  /** Destroys the socket at once, without a closing handshake. */
  terminate(): void;
}

export interface TransportOptions {
  /** Gives up opening the connection after this long. */
  connectTimeoutMs: number;
}

export type TransportFactory = (url: string, handlers: TransportHandlers, options: TransportOptions) => Transport;

/** Error codes `ws` gives frames it refuses before any handler sees them (PROTOCOL.md, gap 10). */
const REJECTED_FRAME_CODES: Readonly<Record<string, string>> = {
  WS_ERR_INVALID_UTF8: 'a text frame that is not valid UTF-8 (1007)',
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: `a frame larger than ${MAX_PAYLOAD_BYTES} bytes (1009)`,
};

/** Operator wording for a transport error: names the frames `ws` rejects, else the error message. */
export function describeTransportError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  const rejected = code ? REJECTED_FRAME_CODES[code] : undefined;
  return rejected ? `the bridge sent ${rejected}, which the WebSocket layer rejects` : err.message;
}

/** The `ws` implementation: bounded frames, no compression (frames are small; deflate would cost CPU on each). */
export const createWsTransport: TransportFactory = (url, handlers, options) => {
  const socket = new WebSocket(url, {
    perMessageDeflate: false,
    maxPayload: MAX_PAYLOAD_BYTES,
    handshakeTimeout: options.connectTimeoutMs,
  });
  socket.on('open', () => handlers.onOpen());
  // With the default binaryType every message, even a fragmented one, arrives as one Buffer.
  // Binary frames are read like text: the codec decides whether they make sense.
  socket.on('message', (data) => handlers.onMessage(data as Buffer));
  socket.on('pong', () => handlers.onPong());
  // Always listened to: an unhandled 'error' would crash the process.
  socket.on('error', (err) => handlers.onError(err));
  socket.on('close', (code, reason) => handlers.onClose(code, reason.toString()));

  return {
    get isOpen() {
      return socket.readyState === WebSocket.OPEN;
    },
    send(text) {
      socket.send(text);
    },
    ping() {
      if (socket.readyState === WebSocket.OPEN) socket.ping();
    },
    close(code, reason) {
      socket.close(code, reason);
    },
    terminate() {
      socket.terminate();
    },
  };
};
