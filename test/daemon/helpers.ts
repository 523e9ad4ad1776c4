/**
 * The daemon as pm2 runs it: a real `node bin/rulebot.js start` child process (with an
 * IPC channel), a bridge simulator in the test's own process on a real ws socket, and a
 * real SQLite file in a temp folder, read back read-only. Every child, simulator and
 * folder made here is cleaned up when the test file ends, whatever happened.
 */
import { after } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BridgeSimulator, type BridgeSimulatorOptions } from '../../src/sim';
import { RunStore } from '../../src/store/run-store';
import type { RunDetail, RunFilter, RunRecord } from '../../src/store/types';

/** dist/test/daemon → the repository root. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
const bin = path.join(repoRoot, 'bin', 'rulebot.js');

const children = new Set<ChildProcess>();
const simulators = new Set<BridgeSimulator>();
const tempDirs: string[] = [];

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([...simulators].map((sim) => sim.stop()));
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

// === Waiting ===

type Probed<T> = T | undefined | false | null;

/** Polls `probe` every 100 ms until it gives something other than undefined / false / null; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Probed<T> | Promise<Probed<T>>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await sleep(100);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// === Folders, configs and rules ===

/** A temp folder removed when the file's tests end. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-daemon-'));
  tempDirs.push(dir);
  return dir;
}

/** A daemon's folder: its config, its rules folder and its database. */
export interface DaemonFolder {
  dir: string;
  configFile: string;
  rulesDir: string;
  dbFile: string;
}

export interface DaemonFolderOptions {
  /** `bridge.url`: a test simulator's `ws://` address, or `sim://`. */
  bridgeUrl: string;
  /** @default 'seed' */
  edition?: 'seed' | '68';
  /** `http.listen` on a free port; false turns the endpoint off. @default false */
  http?: boolean;
  /**
   * `http.listen` on this port of 127.0.0.1 (overrides `http`): the CLI finds a daemon
   * by the config's address, which port 0 does not give.
   */
  httpPort?: number;
  /** @default 'UTC' */
  timezone?: string;
  /** @default '10s' */
  shutdownTimeout?: string;
  /** @default 'info' */
  logLevel?: 'info' | 'debug';
  /** Rule files by name. */
  rules: Record<string, string>;
}

/** Writes a config, its rules and a place for its database into a new temp folder. */
export function daemonFolder(options: DaemonFolderOptions): DaemonFolder {
  const dir = tempDir();
  const rulesDir = path.join(dir, 'rules');
  fs.mkdirSync(rulesDir);
  for (const [name, text] of Object.entries(options.rules)) fs.writeFileSync(path.join(rulesDir, name), text);
  const configFile = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    configFile,
    [
      'bridge:',
      `  url: ${options.bridgeUrl}`,
      `  edition: "${options.edition ?? 'seed'}"`,
      '  requestTimeout: 5s',
      `timezone: ${options.timezone ?? 'UTC'}`,
      'rules: ./rules',
      'database: ./data/rulebot.db',
      // Tests send often, to few targets: the limit must not be what they measure.
      'rateLimit: { perMinute: 1000, perTargetGap: 0s }',
      options.httpPort !== undefined ? `http: { listen: "127.0.0.1:${options.httpPort}" }` : options.http ? 'http: { listen: "127.0.0.1:0" }' : 'http: false',
      `shutdownTimeout: ${options.shutdownTimeout ?? '10s'}`,
      `log: { level: ${options.logLevel ?? 'info'}, pretty: false }`,
      '',
    ].join('\n'),
  );
  return { dir, configFile, rulesDir, dbFile: path.join(dir, 'data', 'rulebot.db') };
}

// === The bridge ===

/** A simulator on 127.0.0.1 (port 0 unless given), stopped when the file ends. */
export async function startSimulator(options: BridgeSimulatorOptions = {}): Promise<BridgeSimulator> {
  const sim = new BridgeSimulator({ host: '127.0.0.1', port: 0, ...options });
  await sim.start();
  simulators.add(sim);
  return sim;
}

/** The message texts the simulator received in sendMsg frames, with their target. */
export function sentTexts(sim: BridgeSimulator): Array<{ to: number; content: string }> {
  return sim.received('sendMsg').map((frame) => {
    const data = frame.frame.data as { id: number; list: Array<{ values: { content: string } }> };
    return { to: data.id, content: data.list.map((item) => item.values.content).join('') };
  });
}

// === The daemon process ===

/** One JSON log line of the daemon. */
export type LogLine = Record<string, unknown> & { msg: string };

export interface DaemonProcessOptions {
  /** `RULEBOT_NOW`: the instant the daemon's clock starts at. */
  now?: string;
  /** Extra arguments after `start --config <file>`. */
  args?: readonly string[];
}

/** A running `rulebot start` child with what it has logged so far. */
export class DaemonProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the child sends pm2's `ready`. */
  readonly ready: Promise<void>;
  stdout = '';
  stderr = '';

  constructor(folder: DaemonFolder, options: DaemonProcessOptions = {}) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.RULEBOT_CONFIG;
    delete env.RULEBOT_DEBUG;
    if (options.now === undefined) delete env.RULEBOT_NOW;
    else env.RULEBOT_NOW = options.now;
    this.child = spawn(process.execPath, [bin, 'start', '--config', folder.configFile, ...(options.args ?? [])], {
      cwd: folder.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    children.add(this.child);
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        children.delete(this.child);
        resolve({ code, signal });
      });
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (message) => {
        if (message === 'ready') resolve();
      });
      void this.exited.then(() => reject(new Error(`the daemon exited before it was ready\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)));
    });
    // A test that never awaits `ready` must not see its rejection as unhandled.
    this.ready.catch(() => undefined);
  }

  /** Parsed JSON log lines printed so far. */
  logLines(): LogLine[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  /** Resolves with the first log line that `matches`; fails after `timeoutMs` or when the daemon exits first. */
  async waitForLog(what: string, matches: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    return waitFor(
      what,
      () => {
        const line = this.logLines().find(matches);
        if (line) return line;
        if (exited) throw new Error(`the daemon exited\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
        return undefined;
      },
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nstdout (tail):\n${this.stdout.split('\n').slice(-30).join('\n')}\nstderr:\n${this.stderr}`);
    });
  }

  /** The ops endpoint's address, from the line it logs once listening. */
  async opsUrl(): Promise<string> {
    const line = await this.waitForLog('the ops endpoint', (entry) => entry.msg === 'ops endpoint listening');
    return String(line.url);
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.kill(signal);
    return this.exitedWithin(timeoutMs);
  }

  /** The exit, or a failure when it takes longer than `timeoutMs`. */
  exitedWithin(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the daemon did not exit within ${timeoutMs}ms\nstdout (tail):\n${this.stdout.split('\n').slice(-30).join('\n')}`)), timeoutMs);
    });
    return Promise.race([this.exited, timeout]).finally(() => clearTimeout(timer));
  }
}

// === The execution log ===

/** Runs in the daemon's database, newest first (an empty list while it does not exist yet). */
export function readRuns(dbFile: string, filter: RunFilter = {}): RunRecord[] {
  if (!fs.existsSync(dbFile)) return [];
  const store = RunStore.open(dbFile, { readonly: true });
  try {
    return store.listRuns({ limit: 1000, ...filter });
  } finally {
    store.close();
  }
}

/** One run with its steps and ledger. */
export function readRun(dbFile: string, id: number): RunDetail | undefined {
  const store = RunStore.open(dbFile, { readonly: true });
  try {
    return store.getRun(id);
  } finally {
    store.close();
  }
}

// === HTTP ===

export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** One request to the ops endpoint; a refused connection is an error. */
export function httpRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.end(options.body);
  });
}
