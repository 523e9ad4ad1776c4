/**
 * Starts the real daemon (`bin/rulebot.js start`) as pm2 would, with its IPC channel, and
 * times it from spawn to its `ready` message; then asks what it loaded (/healthz, else
 * the rule counts in its log), reads its RSS, and stops it with SIGTERM.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT, processRss, sleep } from './lib/system';

export interface DaemonProbe {
  readyMs: number;
  /** How many rules the daemon says it loaded; null when it says nothing about rules. */
  rulesReported: number | null;
  /** Where the count came from. */
  reportedBy: 'healthz' | 'log' | null;
  rssMb: number | null;
}

/** A port nobody listens on now, for the daemon's HTTP endpoint. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A config next to `rulesDir`: the embedded simulator, a database in `dir`, JSON logs. */
async function writeConfig(dir: string, rulesDir: string): Promise<string> {
  const port = await freePort();
  const file = path.join(dir, `config-${path.basename(rulesDir)}.yaml`);
  fs.writeFileSync(
    file,
    `bridge:
  url: sim://
  sim: { port: 0, seed: 1 }
timezone: Asia/Shanghai
rules: ${JSON.stringify(rulesDir)}
database: ${JSON.stringify(path.join(dir, `data-${path.basename(rulesDir)}`, 'rulebot.db'))}
http:
  listen: "127.0.0.1:${port}"
log:
  level: info
`,
  );
  return file;
}

function healthz(port: number): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

const COUNT_KEYS = ['rules', 'loaded', 'ruleCount', 'valid'];

/** The largest rule count any log line carries, e.g. `{"rules":1000,"msg":"rules loaded"}`. */
function countFromLog(lines: readonly string[]): number | null {
  let best: number | null = null;
  for (const line of lines) {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const key of COUNT_KEYS) {
      const value = entry[key];
      if (typeof value === 'number' && value > 0 && (best === null || value > best)) best = value;
    }
  }
  return best;
}

/**
 * Starts the daemon on `rulesDir`, waits for `ready`, reads what it reports after
 * `settleMs`, and stops it. Throws when it exits or stays silent instead of getting ready.
 */
export async function probeDaemon(dir: string, rulesDir: string, settleMs: number): Promise<DaemonProbe> {
  const config = await writeConfig(dir, rulesDir);
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(config, 'utf8'))![1]);
  const env = { ...process.env };
  delete env.RULEBOT_CONFIG;
  delete env.RULEBOT_NOW;
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rulebot.js'), 'start', '--config', config], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const lines: string[] = [];
  let pending = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop() ?? '';
    if (lines.length < 100_000) lines.push(...parts);
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  try {
    const readyMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the daemon did not get ready within 60 s')), 60_000);
      child.on('message', (message) => {
        if (message !== 'ready') return;
        clearTimeout(timer);
        resolve(performance.now() - t0);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the daemon exited (${String(code)}) before it was ready: ${stderr.trim().split('\n').slice(-3).join(' | ') || lines.slice(-3).join(' | ')}`));
      });
    });
    await sleep(settleMs);
    const health = (await healthz(port)) as { rules?: { loaded?: unknown } } | undefined;
    const fromHealth = typeof health?.rules?.loaded === 'number' ? health.rules.loaded : null;
    const fromLog = countFromLog(lines);
    return {
      readyMs,
      rulesReported: fromHealth ?? fromLog,
      reportedBy: fromHealth !== null ? 'healthz' : fromLog !== null ? 'log' : null,
      rssMb: child.pid === undefined ? null : (processRss(child.pid)?.rssMb ?? null),
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
  }
}
