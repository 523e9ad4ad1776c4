/**
 * Process plumbing shared by the benchmarks: child processes that report one result,
 * procfs readings of CPU and memory, temporary folders that are always removed, and the
 * sub-millisecond wall clock BASELINES.md uses for lateness.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

// === Time and load ===

/** Wall-clock milliseconds with sub-millisecond resolution (Date.now() truncates to whole ms). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The 1, 5 and 15 minute load averages, two decimals. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [a, b, c].map((v) => Math.round((v ?? 0) * 100) / 100) as [number, number, number];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs V8's collector when the process was started with --expose-gc; a no-op otherwise. */
export function collectGarbage(times = 2): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) for (let i = 0; i < times; i++) gc();
}

// === procfs ===

const TICKS_PER_SECOND = 100;

/** User + system CPU time of another process, in ms (Linux procfs); null when it cannot be read. */
export function processCpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Resident set size of a process in MB (VmRSS), and its peak (VmHWM); null when unreadable. */
export function processRss(pid: number): { rssMb: number; peakMb: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

export function megabytes(bytes: number): number {
  return bytes / (1024 * 1024);
}

// === Paths ===

/** The repository root, from dist/bench/lib. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** A compiled child entry of the benchmarks (dist/bench/children/<name>.js). */
export function childScript(name: string): string {
  return path.resolve(__dirname, '..', 'children', `${name}.js`);
}

// === Temporary folders ===

const tempDirs = new Set<string>();

/** A fresh folder under the system temp dir, removed by {@link removeTempDir} or at exit at the latest. */
export function makeTempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `rulebot-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

process.once('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

// === Child processes ===

/** What a child sends back: its result, or why it failed. */
export type ChildReply<T> = { ok: true; result: T } | { ok: false; error: string };

export interface ChildOptions {
  /** Node flags of the child, e.g. --expose-gc. */
  execArgv?: string[];
  /** The child is killed past this. @default 120000 */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a benchmark child to completion: a fresh process per run, as BASELINES.md runs
 * each client, cron and pino run, so no state or garbage carries over between runs.
 */
export function runChild<T>(script: string, args: readonly string[], options: ChildOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(script, [...args], {
      execArgv: options.execArgv ?? [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: options.env ?? process.env,
    });
    let reply: ChildReply<T> | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} ${args.join(' ')} took longer than ${options.timeoutMs ?? 120_000} ms and was killed`));
    }, options.timeoutMs ?? 120_000);
    child.on('message', (message) => {
      reply = message as ChildReply<T>;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (reply?.ok) resolve(reply.result);
      else if (reply) reject(new Error(`${path.basename(script)} ${args.join(' ')}: ${reply.error}`));
      else reject(new Error(`${path.basename(script)} ${args.join(' ')} exited (${signal ?? code}) without a result`));
    });
  });
}

/** The body of a child entry: runs `main` with the arguments and sends its result to the parent. */
export function childMain<T>(main: (args: string[]) => Promise<T>): void {
  main(process.argv.slice(2)).then(
    (result) => reply({ ok: true, result }),
    (err: unknown) => reply({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
}

function reply<T>(message: ChildReply<T>): void {
  if (!process.send) {
    process.stdout.write(`${JSON.stringify(message)}\n`);
    process.exit(message.ok ? 0 : 1);
  }
  process.send(message, () => process.exit(message.ok ? 0 : 1));
}

/** Waits for a child's first message that satisfies `accept`, or fails when it exits first. */
export function nextMessage<T>(child: ChildProcess, accept: (message: unknown) => message is T, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      if (!accept(message)) return;
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`child exited (${signal ?? code}) before it reported`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no report from the child within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

// === Progress ===

/** A progress line on stderr, so a long run shows where it is; the table goes to stdout. */
export function progress(text: string): void {
  process.stderr.write(`    ${text}\n`);
}
