/**
 * A simulator and a client on a real socket, with small timeouts so each test runs in
 * milliseconds, and cleanup registered on the test so nothing outlives it.
 */
import type { TestContext } from 'node:test';
import { BridgeSimulator, type BridgeSimulatorOptions } from '../../src/sim';
import { ChatApi, type ChatApiOptions } from '../../src/protocol/api';
import { BridgeClient, type BridgeClientOptions, type BridgeLogger } from '../../src/protocol/client';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string;
}

/** A logger that keeps what it is told, so a test can check what the client said. */
export function recordingLogger(): BridgeLogger & { entries: LogEntry[]; messages(level?: LogEntry['level']): string[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (obj: object, msg: string): void => {
      entries.push({ level, obj, msg });
    };
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    messages: (level) => entries.filter((entry) => level === undefined || entry.level === level).map((entry) => entry.msg),
  };
}

/** Client options for tests: everything short, heartbeat off unless a test turns it on. */
export const FAST: Omit<BridgeClientOptions, 'url'> = {
  requestTimeoutMs: 1_000,
  connectTimeoutMs: 1_000,
  greetingTimeoutMs: 100,
  reconnect: { initialDelayMs: 10, maxDelayMs: 40 },
  heartbeat: { intervalMs: 0 },
  readRetry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
};

export async function startSim(t: TestContext, options: BridgeSimulatorOptions = {}): Promise<BridgeSimulator> {
  const sim = new BridgeSimulator({ port: 0, seed: 1, restartDowntimeMs: 30, ...options });
  await sim.start();
  t.after(() => sim.stop());
  return sim;
}

export interface Connected {
  client: BridgeClient;
  api: ChatApi;
  log: ReturnType<typeof recordingLogger>;
}

/** A started client (not yet necessarily ready) with a ChatApi over it; stopped after the test. */
export function connect(
  t: TestContext,
  url: string,
  options: Partial<BridgeClientOptions> = {},
  apiOptions: ChatApiOptions = {},
): Connected {
  const log = recordingLogger();
  const client = new BridgeClient({ ...FAST, logger: log, ...options, url });
  const api = new ChatApi(client, apiOptions);
  t.after(async () => {
    api.dispose();
    await client.stop();
  });
  client.start();
  return { client, api, log };
}

/** Connects and waits until ready. */
export async function ready(t: TestContext, url: string, options: Partial<BridgeClientOptions> = {}, apiOptions: ChatApiOptions = {}): Promise<Connected> {
  const connected = connect(t, url, options, apiOptions);
  await connected.client.waitReady(2_000);
  return connected;
}

/** Polls until `predicate` holds; fails after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port nothing listens on: bound, read, released. */
export async function closedPortUrl(): Promise<string> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `ws://127.0.0.1:${port}`;
}
