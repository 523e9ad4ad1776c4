/**
 * How the CLI reaches a running daemon: `findDaemon` probes the configured endpoint and
 * answers a client when a daemon is there, or null when nothing listens, which means
 * "no daemon: run in-process".
 *
 * @example
 * const daemon = await findDaemon({ listen: config.http ? config.http.listen : false, tokenFile });
 * const result = daemon ? await daemon.run({ rule: 'morning-greeting', dryRun: true }) : await runInProcess(...);
 */
import { request as httpRequest } from 'node:http';
import type { RunRequest, ResumeRequest } from './control';
import { ControlRequestError, OpsError } from './errors';
import type { HealthBody } from './health';
import { parseListenAddress } from './http-server';
import { readControlToken } from './token';

export interface FindDaemonOptions {
  /** The config's `http.listen`, or false when the endpoint is turned off (then there is never a daemon to find). */
  listen: string | false;
  /** The daemon's token file. */
  tokenFile: string;
  /** How long the probe waits for `/healthz`. @default 2000 */
  probeTimeoutMs?: number;
  /** How long a control request waits for its answer; 0 waits as long as the run takes. @default 0 */
  requestTimeoutMs?: number;
}

/** A running daemon, reached over its local endpoint. */
export interface ControlClient {
  /** `http://host:port` of the daemon's endpoint. */
  readonly url: string;
  /** Runs a rule in the daemon; resolves to the daemon's result. @throws ControlRequestError */
  run(request: RunRequest): Promise<unknown>;
  /** Resumes an interrupted run in the daemon. @throws ControlRequestError */
  resume(request: ResumeRequest): Promise<unknown>;
  /** The daemon's health, degraded or not. @throws ControlRequestError */
  health(): Promise<HealthBody>;
}

/** Errors that mean nothing listens at the address. */
const NOTHING_THERE = new Set(['ECONNREFUSED', 'EADDRNOTAVAIL']);

/**
 * The running daemon at `listen`, or null when nothing listens there.
 *
 * @throws ControlRequestError when something listens but does not answer like rulebot
 *   (`CONTROL_TIMEOUT`, `CONTROL_BAD_ANSWER`, `CONTROL_CONNECTION_LOST`): running
 *   in-process beside a daemon that may be up would bypass its concurrency and rate limit.
 * @throws OpsError `TOKEN_FILE_*` when a daemon answers but its token cannot be read.
 */
export async function findDaemon(options: FindDaemonOptions): Promise<ControlClient | null> {
  if (options.listen === false) return null;
  const url = baseUrl(options.listen);
  const probeTimeoutMs = options.probeTimeoutMs ?? 2000;
  let probe: Reply;
  try {
    probe = await send(url, 'GET', '/healthz', undefined, undefined, probeTimeoutMs);
  } catch (err) {
    if (err instanceof ControlRequestError && err.code === 'CONTROL_UNREACHABLE') return null;
    throw err;
  }
  if ((probe.status !== 200 && probe.status !== 503) || !isHealthBody(parseJson(probe.body))) {
    throw new ControlRequestError('CONTROL_BAD_ANSWER', `${url}/healthz did not answer like a rulebot daemon (HTTP ${probe.status}); is another program on ${options.listen}?`, probe.status);
  }
  let token: string;
  try {
    token = await readControlToken(options.tokenFile);
  } catch (err) {
    if (!(err instanceof OpsError)) throw err;
    throw new OpsError(err.code, `a rulebot daemon answers at ${url}, but its control token cannot be used: ${err.message}`, { ...err.details, url }, { cause: err });
  }
  const timeoutMs = options.requestTimeoutMs ?? 0;
  const control = async (path: string, body: unknown): Promise<unknown> => {
    const reply = await send(url, 'POST', path, JSON.stringify(body), token, timeoutMs);
    return answerOf(url, path, reply);
  };
  return {
    url,
    run: (request) => control('/control/run', request),
    resume: (request) => control('/control/resume', request),
    health: async () => {
      const reply = await send(url, 'GET', '/healthz', undefined, undefined, probeTimeoutMs);
      const body = parseJson(reply.body);
      if ((reply.status !== 200 && reply.status !== 503) || !isHealthBody(body)) {
        throw new ControlRequestError('CONTROL_BAD_ANSWER', `${url}/healthz answered HTTP ${reply.status} without a health report`, reply.status);
      }
      return body;
    },
  };
}

/** The URL to reach `listen` at: a wildcard address is reached through loopback. */
function baseUrl(listen: string): string {
  const { host, port } = parseListenAddress(listen);
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}`;
}

interface Reply {
  status: number;
  body: string;
}

/** One HTTP exchange; a connection refused is `CONTROL_UNREACHABLE`, for `findDaemon` to turn into null. */
function send(url: string, method: string, path: string, body: string | undefined, token: string | undefined, timeoutMs: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    // No agent: a kept-alive socket would hold the CLI's process open after the answer.
    const req = httpRequest(`${url}${path}`, { method, headers, agent: false });
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        req.destroy(new ControlRequestError('CONTROL_TIMEOUT', `${url}${path} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
    }
    const done = (): void => clearTimeout(timer);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        done();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        done();
        reject(lost(url, path, err));
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      done();
      if (err instanceof ControlRequestError) reject(err);
      else if (err.code !== undefined && NOTHING_THERE.has(err.code)) {
        reject(new ControlRequestError('CONTROL_UNREACHABLE', `nothing listens at ${url}`, undefined, { errno: err.code }, { cause: err }));
      } else reject(lost(url, path, err));
    });
    req.end(body);
  });
}

function lost(url: string, path: string, err: Error): ControlRequestError {
  return new ControlRequestError(
    'CONTROL_CONNECTION_LOST',
    `the connection to ${url}${path} broke before the answer (${err.message}); the daemon may have carried out the request: check \`rulebot runs\``,
    undefined,
    {},
    { cause: err },
  );
}

/** A 2xx answer's JSON, or the daemon's error as a ControlRequestError. */
function answerOf(url: string, path: string, reply: Reply): unknown {
  const value = parseJson(reply.body);
  if (reply.status >= 200 && reply.status < 300) {
    if (value === NOT_JSON) throw new ControlRequestError('CONTROL_BAD_ANSWER', `${url}${path} answered HTTP ${reply.status} with a body that is not JSON`, reply.status);
    return value;
  }
  if (typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'string') {
    const { code, error, details } = value as { code: string; error?: unknown; details?: unknown };
    const message = typeof error === 'string' ? error : `${path} failed with ${code}`;
    const extra = typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {};
    throw new ControlRequestError(code, message, reply.status, extra);
  }
  throw new ControlRequestError(`CONTROL_HTTP_${reply.status}`, `${url}${path} answered HTTP ${reply.status}`, reply.status);
}

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

function isHealthBody(value: unknown): value is HealthBody {
  if (typeof value !== 'object' || value === null) return false;
  const body = value as Record<string, unknown>;
  return (body.status === 'ok' || body.status === 'degraded') && typeof body.bridge === 'object' && typeof body.scheduler === 'object' && typeof body.rules === 'object';
}
