/**
 * The CLI as an operator meets it: a real `node bin/rulebot.js` child process. Every
 * child started here is killed when the test file ends, whatever happened.
 */
import { after } from 'node:test';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** dist/test/cli → the repository root. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
const bin = path.join(repoRoot, 'bin', 'rulebot.js');

const children = new Set<ChildProcessWithoutNullStreams>();
const tempDirs: string[] = [];

after(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temp folder removed when the file's tests end. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-cli-'));
  tempDirs.push(dir);
  return dir;
}

export interface CliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** The environment of a child: ours without anything that would point it at a real config. */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  if (extra.RULEBOT_CONFIG === undefined) delete env.RULEBOT_CONFIG;
  if (extra.RULEBOT_DEBUG === undefined) delete env.RULEBOT_DEBUG;
  return env;
}

/** A running `rulebot` child, with what it has printed so far. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: readonly string[], options: CliOptions = {}) {
    this.child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? repoRoot, env: childEnv(options.env) });
    children.add(this.child);
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        children.delete(this.child);
        resolve({ code, signal });
      });
    });
  }

  /** Resolves with the first stdout line that `matches`; fails after `timeoutMs` or if the child exits first. */
  waitForLine(matches: (line: string) => boolean, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = this.stdout.split('\n').find(matches);
        if (line === undefined) return false;
        cleanup();
        resolve(line);
        return true;
      };
      const onData = (): void => void check();
      const onClose = (): void => {
        if (!check()) fail('the process exited first');
      };
      const timer = setTimeout(() => fail(`nothing matched within ${timeoutMs}ms`), timeoutMs);
      const fail = (why: string): void => {
        cleanup();
        reject(new Error(`${why}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.child.stdout.off('data', onData);
        this.child.off('close', onClose);
      };
      this.child.stdout.on('data', onData);
      this.child.on('close', onClose);
      check();
    });
  }

  /** Parsed JSON log lines printed so far. */
  logLines(): Array<Record<string, unknown>> {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  elapsedMs: number;
}

/** Runs `rulebot ...args` to the end. */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const started = Date.now();
  const cli = new CliProcess(args, options);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr, elapsedMs: Date.now() - started };
}

/** A port nothing listens on right now: bound on 0, then released. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
