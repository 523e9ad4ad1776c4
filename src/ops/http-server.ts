/**
 * The daemon's local HTTP endpoint: health for supervisors and uptime checks, metrics
 * for Prometheus, and control for the CLI (`rulebot run` / `resume` while the daemon
 * runs, so its concurrency and rate limit apply).
 *
 * Routes:
 * - `GET /healthz` → 200 when healthy, 503 when degraded; JSON body (health.ts).
 * - `GET /metrics` → the registry in the text exposition format 0.0.4.
 * - `POST /control/run` `{ rule, event?, dryRun? }`, `POST /control/resume` `{ run, resendUnknown? }`
 *   → the handler's result as JSON; every `/control/*` request needs `Authorization: Bearer <token>`.
 *
 * Errors are JSON `{ error, code }` with one of these codes (or a handler's own):
 * `UNAUTHORIZED` 401, `HOST_NOT_ALLOWED` 403, `NOT_FOUND` 404, `METHOD_NOT_ALLOWED` 405,
 * `BODY_TOO_LARGE` 413, `BAD_JSON` / `BAD_REQUEST` 400, `INTERNAL` 500.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type AddressInfo } from 'node:net';
import { isRulebotError } from '../shared/errors';
import type { Logger } from '../shared/log';
import { BadRequest, parseResumeRequest, parseRunRequest, type ControlHandlers } from './control';
import { ControlError, OpsError } from './errors';
import { healthBody, isHealthy, type HealthReport } from './health';
import { METRICS_CONTENT_TYPE } from './metrics';
import { tokensEqual } from './token';

export interface OpsServerOptions {
  /** `host:port`; the host must be a loopback address or `localhost`; port 0 picks a free one. */
  listen: string;
  /**
   * Allow a host other machines can reach (e.g. `0.0.0.0` for a scraper in another
   * container). Control still needs the token, but health and metrics (rule ids,
   * error messages) become readable to the network. @default false
   */
  allowNonLoopback?: boolean;
  /** Called for every `/healthz`. */
  health: () => HealthReport;
  /** Rendered for every `/metrics`. */
  metrics: { render(): string };
  /** The control routes; without them `/control/*` answers 404. */
  control?: ControlHandlers;
  /** The bearer token `/control/*` requires; needed when `control` is given. */
  token?: string;
  logger: Logger;
  /** Request bodies above this are refused with 413. @default 65536 */
  maxBodyBytes?: number;
  /** How long `close()` lets requests in progress (a long run) finish before cutting them. @default 5000 */
  closeTimeoutMs?: number;
}

/** A listening ops endpoint. */
export interface OpsServer {
  /** `http://host:port` of the bound address. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops listening, lets requests in progress finish (up to `closeTimeoutMs`), then resolves; safe to call twice. */
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** A refusal sent as `{ error, code }`. */
class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

type Method = 'GET' | 'HEAD' | 'POST';

interface Route {
  methods: readonly Method[];
  handle(req: IncomingMessage): Promise<Answer>;
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

// === Addresses ===

/** Splits `host:port`; an IPv6 host is bracketed (`[::1]:9464`). */
export function parseListenAddress(listen: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(listen);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new OpsError('OPS_LISTEN_INVALID', `http.listen ${JSON.stringify(listen)} is not host:port (e.g. 127.0.0.1:9464)`, { listen });
  }
  return { host: (match[1] ?? match[2])!, port };
}

/** Whether `host` names this machine only: 127.0.0.0/8, ::1 (also IPv4-mapped), or `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.split('.')[0] === '127';
  if (!isIPv6(h)) return false;
  // The URL parser spells an IPv6 address one way: ::1, and ::ffff:7fxx:xxxx for a mapped 127.x.
  const canonical = new URL(`http://[${h}]/`).hostname.slice(1, -1);
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

/**
 * Starts the endpoint. Resolves once it listens.
 *
 * @throws OpsError `OPS_LISTEN_INVALID`, `OPS_LISTEN_NOT_LOOPBACK` (unless `allowNonLoopback`),
 *   `OPS_LISTEN_FAILED` (address in use or not local), `OPS_CONTROL_WITHOUT_TOKEN`.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { host, port } = parseListenAddress(options.listen);
  const allowNonLoopback = options.allowNonLoopback ?? false;
  if (!allowNonLoopback && !isLoopbackHost(host)) {
    throw new OpsError(
      'OPS_LISTEN_NOT_LOOPBACK',
      `http.listen ${options.listen} can be reached from other machines; use 127.0.0.1:${port} (health, metrics and control are local), or turn the endpoint off with http: false`,
      { listen: options.listen },
    );
  }
  if (options.control !== undefined && (options.token === undefined || options.token === '')) {
    throw new OpsError('OPS_CONTROL_WITHOUT_TOKEN', 'the control routes need a token to guard them', {});
  }
  const log = options.logger;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const routes = buildRoutes(options, maxBodyBytes);

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      // Only writing the answer can get here; a rejection must not reach the process.
      log.error({ err }, 'ops answer failed');
      res.destroy();
    });
  });
  // Bodies are small: a client that trickles its request holds a socket for no reason.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const method = req.method ?? 'GET';
    const path = pathOf(req.url ?? '/');
    let answer: Answer;
    let headers: Record<string, string> = {};
    try {
      answer = await route(req, method, path);
    } catch (err) {
      const failure = toFailure(err, method, path);
      headers = { ...failure.headers };
      answer = jsonAnswer(failure.status, { error: failure.message, code: failure.code, ...details(err) });
    }
    if (answer.status === 413) {
      // An oversized body is not worth keeping the connection for: answer, close, and cut it
      // if the client is still sending past the drain limit.
      headers.connection = 'close';
      res.once('finish', () => {
        if (!req.complete) req.socket.destroy();
      });
    }
    res.writeHead(answer.status, {
      'content-type': answer.contentType,
      'content-length': Buffer.byteLength(answer.body),
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(answer.body);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    const line = { method, path, status: answer.status, ms: Math.round(ms * 10) / 10 };
    if (answer.status === 401 || answer.status === 403) log.warn(line, 'ops request refused');
    else if (path.startsWith('/control/')) log.info(line, 'control request');
    else log.debug(line, 'ops request');
  }

  async function route(req: IncomingMessage, method: string, path: string): Promise<Answer> {
    if (!allowNonLoopback) checkHost(req);
    if (path === '/control' || path.startsWith('/control/')) {
      if (options.token === undefined) throw new HttpFailure(404, 'NOT_FOUND', 'control is not enabled in this process');
      // Before anything else about the request: who is not allowed learns nothing, and no body is read.
      checkToken(req, options.token);
    }
    const found = routes.get(path);
    if (found === undefined) throw new HttpFailure(404, 'NOT_FOUND', `no route ${path}`);
    if (!(found.methods as readonly string[]).includes(method)) {
      throw new HttpFailure(405, 'METHOD_NOT_ALLOWED', `${path} takes ${found.methods.join(', ')}`, { allow: found.methods.join(', ') });
    }
    return found.handle(req);
  }

  function toFailure(err: unknown, method: string, path: string): HttpFailure {
    if (err instanceof HttpFailure) return err;
    if (err instanceof BadRequest) return new HttpFailure(400, 'BAD_REQUEST', err.message);
    if (err instanceof ControlError) return new HttpFailure(err.status >= 400 && err.status <= 599 ? err.status : 500, err.code, err.message);
    if (isRulebotError(err)) return new HttpFailure(422, err.code, err.message);
    log.error({ err, method, path }, 'ops request failed');
    return new HttpFailure(500, 'INTERNAL', "internal error; see the daemon's log");
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new OpsError(
          'OPS_LISTEN_FAILED',
          err.code === 'EADDRINUSE'
            ? `http.listen ${options.listen} is in use (is another rulebot running?); choose another port, or turn the endpoint off with http: false`
            : `cannot listen on http.listen ${options.listen}: ${err.message}`,
          { listen: options.listen, errno: err.code },
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'ops endpoint error'));

  const address = server.address() as AddressInfo;
  // `localhost` is resolved by the system: check what was actually bound.
  if (!allowNonLoopback && !isLoopbackHost(address.address)) {
    await closeServer(server, 0);
    throw new OpsError('OPS_LISTEN_NOT_LOOPBACK', `http.listen ${options.listen} bound ${address.address}, which is not a loopback address`, {
      listen: options.listen,
    });
  }
  const boundHost = address.address;
  const url = `http://${boundHost.includes(':') ? `[${boundHost}]` : boundHost}:${address.port}`;
  log.info({ url, control: options.control !== undefined }, 'ops endpoint listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    host: boundHost,
    port: address.port,
    close: () => (closing ??= closeServer(server, options.closeTimeoutMs ?? 5000)),
  };
}

// === Routes ===

function buildRoutes(options: OpsServerOptions, maxBodyBytes: number): Map<string, Route> {
  const routes = new Map<string, Route>();
  routes.set('/healthz', {
    methods: ['GET', 'HEAD'],
    handle: async () => {
      const report = options.health();
      return jsonAnswer(isHealthy(report) ? 200 : 503, healthBody(report));
    },
  });
  routes.set('/metrics', {
    methods: ['GET', 'HEAD'],
    handle: async () => ({ status: 200, contentType: METRICS_CONTENT_TYPE, body: options.metrics.render() }),
  });
  const control = options.control;
  if (control !== undefined) {
    routes.set('/control/run', {
      methods: ['POST'],
      handle: async (req) => jsonAnswer(200, (await control.run(parseRunRequest(await readJson(req, maxBodyBytes)))) ?? null),
    });
    routes.set('/control/resume', {
      methods: ['POST'],
      handle: async (req) => jsonAnswer(200, (await control.resume(parseResumeRequest(await readJson(req, maxBodyBytes)))) ?? null),
    });
  }
  return routes;
}

/** The path of a request target, query left out; a target the URL parser refuses is routed as it is (to a 404). */
function pathOf(target: string): string {
  try {
    return new URL(target, 'http://localhost').pathname;
  } catch {
    return target;
  }
}

function jsonAnswer(status: number, value: unknown): Answer {
  return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

/** A RulebotError's details go to the client too: they are written for operators. */
function details(err: unknown): { details?: Readonly<Record<string, unknown>> } {
  if (!isRulebotError(err) || Object.keys(err.details).length === 0) return {};
  try {
    JSON.stringify(err.details);
    return { details: err.details };
  } catch {
    return {};
  }
}

/**
 * Refuses a Host header that does not name this machine. A web page whose domain is
 * re-pointed at 127.0.0.1 (DNS rebinding) counts as same-origin to the browser and could
 * otherwise read health and metrics; it cannot forge the Host header.
 */
function checkHost(req: IncomingMessage): void {
  const header = req.headers.host;
  if (header === undefined) return;
  let hostname: string;
  try {
    hostname = new URL(`http://${header}/`).hostname;
  } catch {
    throw new HttpFailure(400, 'BAD_REQUEST', 'the Host header is not a host');
  }
  if (!isLoopbackHost(hostname)) throw new HttpFailure(403, 'HOST_NOT_ALLOWED', `this endpoint answers to 127.0.0.1 and localhost only, not ${hostname}`);
}

function checkToken(req: IncomingMessage, token: string): void {
  const header = req.headers.authorization;
  const challenge = { 'www-authenticate': 'Bearer realm="rulebot"' };
  if (header === undefined) throw new HttpFailure(401, 'UNAUTHORIZED', 'control requests need Authorization: Bearer <token> (the daemon\'s token file)', challenge);
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (match === null || !tokensEqual(match[1]!, token)) throw new HttpFailure(401, 'UNAUTHORIZED', 'the control token is wrong', challenge);
}

/** The request body as JSON. @throws HttpFailure 413 above `limit` bytes, 400 when not JSON */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const text = (await readBody(req, limit)).toString('utf8');
  if (text.trim() === '') throw new HttpFailure(400, 'BAD_REQUEST', 'the body must be a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpFailure(400, 'BAD_JSON', `the body is not JSON: ${(err as Error).message}`);
  }
}

/**
 * A body over the limit is still read, and thrown away, up to this many bytes: a client
 * that is still sending when the connection closes may see a reset instead of the 413.
 * Beyond it the connection is cut.
 */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = (): HttpFailure => new HttpFailure(413, 'BODY_TOO_LARGE', `the body is larger than ${limit} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > DRAIN_LIMIT_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (!over && size > limit) {
        over = true;
        chunks.length = 0;
      }
      if (!over) chunks.push(chunk);
      else if (size > DRAIN_LIMIT_BYTES) {
        req.pause();
        reject(tooLarge());
      }
    });
    req.once('end', () => (over ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new HttpFailure(400, 'BAD_REQUEST', 'the request was cut off'));
    });
  });
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
