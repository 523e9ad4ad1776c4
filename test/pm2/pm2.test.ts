/**
 * rulebot under a real pm2, the way docs/operations.md runs it: `pm2 start
 * ecosystem.config.js` from the repository, with a PM2_HOME of its own in a temp folder
 * (no global pm2 state is touched, and `pm2 kill` ends it whatever happens), a config on
 * the embedded simulator, and the execution log read back read-only.
 *
 * The tests run in order against one pm2: start, reload, stop, then a start with a
 * bridge that is down.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RunStore } from '../../src/store/run-store';
import type { RunRecord } from '../../src/store/types';
import { waitFor as waitForCondition } from '../daemon/helpers';

/** dist/test/pm2 → the repository root. */
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const pm2Bin = path.join(repoRoot, 'node_modules', '.bin', 'pm2');
const ecosystemFile = path.join(repoRoot, 'ecosystem.config.js');
const execFileAsync = promisify(execFile);

// === Folders ===

/** Short on purpose: pm2's unix sockets live in PM2_HOME, and socket paths are limited to ~100 bytes. */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-pm2-'));
const pm2Home = path.join(work, 'home');

interface Folder {
  configFile: string;
  dbFile: string;
}

/** A config and its rules in `work/<name>`. */
function daemonFolder(name: string, bridgeUrl: string, rules: Record<string, string>): Folder {
  const dir = path.join(work, name);
  fs.mkdirSync(path.join(dir, 'rules'), { recursive: true });
  for (const [file, text] of Object.entries(rules)) fs.writeFileSync(path.join(dir, 'rules', file), text);
  const configFile = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    configFile,
    [
      'bridge:',
      `  url: ${bridgeUrl}`,
      '  requestTimeout: 5s',
      'timezone: UTC',
      'rules: ./rules',
      'database: ./data/rulebot.db',
      // One message a second to one group: the outbound limit must not be what is measured.
      'rateLimit: { perMinute: 1000, perTargetGap: 0s }',
      'http: false',
      // Far below the ecosystem's kill_timeout, and short enough for a test.
      'shutdownTimeout: 3s',
      'log: { level: info }',
      '',
    ].join('\n'),
  );
  return { configFile, dbFile: path.join(dir, 'data', 'rulebot.db') };
}

/** A run in flight at any time: it fires every second and waits a minute (later fires are skipped). */
const SLOW_RULE = 'id: slow\ntrigger: { cron: "*/1 * * * * *" }\nactions:\n  - log: { message: before }\n  - delay: { for: 60s }\n  - log: { message: after }\n';
/** A short run every second that talks to the bridge. */
const TICK_RULE = 'id: tick\ntrigger: { cron: "*/1 * * * * *" }\nactions:\n  - send: { to: { group: 530001 }, text: "tick {{ trigger.slot }}" }\n';

// === Waiting ===

/** pm2 starts and stops whole processes: its waits get longer than the daemon tests'. */
const PM2_WAIT_MS = 30_000;

function waitFor<T>(what: string, probe: Parameters<typeof waitForCondition<T>>[1], timeoutMs = PM2_WAIT_MS): Promise<T> {
  return waitForCondition(what, probe, timeoutMs);
}

// === pm2 ===

/** The environment of every pm2 command: this test's PM2_HOME, and nothing pm2 or rulebot would pick up from the caller's. */
function pm2Env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('PM2_') || key.startsWith('RULEBOT_') || key === 'NODE_TEST_CONTEXT' || key === 'pm_id') delete env[key];
  }
  return { ...env, PM2_HOME: pm2Home, ...extra };
}

/** Runs `pm2 <args>` and gives its output; a failing command fails with it. */
async function pm2(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout, stderr } = await execFileAsync(pm2Bin, [...args], { cwd: work, env: pm2Env(extraEnv), timeout: 90_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout + stderr;
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`pm2 ${args.join(' ')} failed: ${(err as Error).message}\nstdout:\n${stdout ?? ''}\nstderr:\n${stderr ?? ''}`);
  }
}

interface Pm2Process {
  pid: number;
  name: string;
  pm_id: number;
  pm2_env: Record<string, unknown> & {
    status: string;
    restart_time: number;
    unstable_restarts: number;
    pm_out_log_path: string;
    pm_err_log_path: string;
    env: Record<string, string>;
  };
}

/** `pm2 jlist`: the processes pm2 manages. */
async function jlist(): Promise<Pm2Process[]> {
  const output = await pm2(['jlist']);
  // pm2 may print warnings ("[PM2][WARN] ...") before the JSON line.
  const json = output.split('\n').find((line) => line.startsWith('[{') || line.trim() === '[]');
  if (json === undefined) throw new Error(`no JSON in pm2 jlist's output:\n${output}`);
  return JSON.parse(json) as Pm2Process[];
}

async function rulebotProcess(): Promise<Pm2Process> {
  const found = (await jlist()).find((proc) => proc.name === 'rulebot');
  if (!found) throw new Error('pm2 does not list rulebot');
  return found;
}

/** The daemon pids seen, killed by pid if `pm2 kill` ever fails. */
const appPids = new Set<number>();

/** What pm2's bus said, in the order pm2 published it. */
type BusEntry = { kind: 'subscribed' } | { kind: 'msg'; name: string; pmId: number; raw: unknown } | { kind: 'event'; name: string; pmId: number; event: string };

/**
 * A subscriber to pm2's event bus (the socket `pm2 logs` reads): the messages processes
 * send to pm2 (`process:msg`, among them `ready`) and pm2's process events (`online`,
 * `exit`, ...), one JSON line each, in the order pm2 published them.
 */
class Pm2Bus {
  readonly #child: ChildProcess;
  #output = '';

  constructor() {
    const script = `
      const pm2 = require(${JSON.stringify(path.join(repoRoot, 'node_modules', 'pm2'))});
      const out = (entry) => process.stdout.write(JSON.stringify(entry) + '\\n');
      pm2.launchBus((err, bus) => {
        if (err) throw err;
        bus.on('process:msg', (p) => out({ kind: 'msg', name: p.process.name, pmId: p.process.pm_id, raw: p.raw }));
        bus.on('process:event', (p) => out({ kind: 'event', name: p.process.name, pmId: p.process.pm_id, event: p.event }));
        out({ kind: 'subscribed' });
      });`;
    this.#child = spawn(process.execPath, ['-e', script], { env: pm2Env(), stdio: ['ignore', 'pipe', 'inherit'] });
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.#output += chunk));
  }

  entries(): BusEntry[] {
    return this.#output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as BusEntry);
  }

  async subscribed(): Promise<void> {
    await waitFor("the subscription to pm2's bus", () => this.entries().some((entry) => entry.kind === 'subscribed'));
  }

  stop(): void {
    this.#child.kill();
  }
}

// === What the daemon wrote ===

/** One line of pm2's out log, parsed. */
type LogLine = Record<string, unknown> & { msg: string; pid: number; time: string };

/** Every line of pm2's out log for rulebot, parsed (JSON lines without a prefix, or this throws). */
function outLog(file: string): LogLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogLine);
}

function linesOf(file: string, pid: number): LogLine[] {
  return outLog(file).filter((line) => line.pid === pid);
}

/** The lines of daemon `pid` once it has logged its last one, "rulebot stopped" (pm2 writes its log asynchronously). */
function stoppedLinesOf(file: string, pid: number): Promise<LogLine[]> {
  return waitFor(`"rulebot stopped" from pid ${pid}`, () => {
    const lines = linesOf(file, pid);
    return lines.at(-1)?.msg === 'rulebot stopped' && lines;
  });
}

/** Every run in the execution log, oldest first (none while the file does not exist). */
function allRuns(dbFile: string): RunRecord[] {
  if (!fs.existsSync(dbFile)) return [];
  const store = RunStore.open(dbFile, { readonly: true });
  try {
    return store.listRuns({ limit: 100_000 }).reverse();
  } finally {
    store.close();
  }
}

/** pm2's own log: where it says how each process exited, and whether it had to SIGKILL one. */
function pm2DaemonLog(): string {
  const file = path.join(pm2Home, 'pm2.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
}

const countOf = (text: string, pattern: RegExp): number => text.match(new RegExp(pattern.source, 'g'))?.length ?? 0;

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// === The tests ===

describe('rulebot under pm2 (ecosystem.config.js)', { timeout: 240_000 }, () => {
  const live = daemonFolder('live', 'sim://', { 'slow.yaml': SLOW_RULE, 'tick.yaml': TICK_RULE });
  let bus: Pm2Bus | undefined;
  let outLogFile = '';
  let firstPid = 0;
  let reloadedPid = 0;

  before(async () => {
    // The pm2 daemon first, so the bus has something to subscribe to before the start.
    await pm2(['ping']);
    bus = new Pm2Bus();
    await bus.subscribed();
  });

  after(async () => {
    bus?.stop();
    try {
      await pm2(['kill']);
    } catch (err) {
      // Never leave a pm2 daemon or a rulebot behind: end them by pid.
      console.error(err);
      const pidFile = path.join(pm2Home, 'pm2.pid');
      const godPid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : 0;
      for (const pid of [godPid, ...appPids].filter((pid) => pid > 0)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('pm2 start reports rulebot online only after the daemon sent ready', async () => {
    const output = await pm2(['start', ecosystemFile], { RULEBOT_CONFIG: live.configFile });
    const proc = await rulebotProcess();
    appPids.add(proc.pid);
    firstPid = proc.pid;
    outLogFile = proc.pm2_env.pm_out_log_path;

    // Without wait_ready pm2 declares a fork-mode process online as soon as it is spawned,
    // before it could send anything. With it, pm2 keeps the process "launching" until the
    // process's `ready` message (or listen_timeout, with no `ready` at all), and it
    // publishes that message on its bus before acting on it. So `ready` then `online` on
    // the bus is the order pm2 itself saw: online because of ready.
    const isReady = (entry: BusEntry): boolean => entry.kind === 'msg' && entry.name === 'rulebot' && entry.raw === 'ready';
    const isOnline = (entry: BusEntry): boolean => entry.kind === 'event' && entry.name === 'rulebot' && entry.event === 'online';
    const entries = await waitFor('ready and online on the bus', () => {
      const seen = bus!.entries();
      return seen.some(isReady) && seen.some(isOnline) && seen;
    });
    assert.ok(entries.findIndex(isReady) < entries.findIndex(isOnline), `online came before ready: ${JSON.stringify(entries)}`);

    // `pm2 start` took the option from the file, and waited.
    assert.match(output, /has option 'wait_ready' set, waiting for app to be ready/);

    assert.equal(proc.pm2_env.status, 'online');
    assert.equal(proc.pm2_env.restart_time, 0);
    // The file loaded (as CommonJS) with the settings that matter.
    const env = proc.pm2_env;
    assert.equal(env.exec_mode, 'fork_mode');
    assert.equal(env.instances, 1);
    assert.equal(env.wait_ready, true);
    assert.equal(env.shutdown_with_message, true);
    assert.equal(env.kill_timeout, 20000);
    assert.equal(env.merge_logs, true);
    assert.equal(env.watch, false);
    assert.equal(env.log_date_format, undefined);
    assert.equal(env.cwd, repoRoot);
    assert.deepEqual(env.args, ['start']);
    assert.equal(env.env.NODE_ENV, 'production');
    assert.equal(env.env.RULEBOT_CONFIG, live.configFile);

    // The daemon says it started just before it sends ready (pm2 writes the log asynchronously).
    const started = await waitFor('"rulebot started" in the out log', () => linesOf(outLogFile, proc.pid).find((line) => line.msg === 'rulebot started'));
    assert.equal(started.config, live.configFile);
    assert.equal(started.simulated, true);
  });

  it('pm2 reload stops the daemon gracefully: every run it started ends with a status, none vanishes', async () => {
    // Runs in flight: the slow rule in its delay, and ticks that reached the bridge.
    await waitFor('the slow run in its delay, and ticks', () => {
      const runs = allRuns(live.dbFile);
      return runs.some((run) => run.ruleId === 'slow' && run.status === 'running') && runs.filter((run) => run.ruleId === 'tick' && run.status === 'ok').length >= 2;
    });
    const snapshot = allRuns(live.dbFile);

    await pm2(['reload', 'rulebot']);
    const proc = await rulebotProcess();
    appPids.add(proc.pid);
    reloadedPid = proc.pid;
    assert.notEqual(reloadedPid, firstPid, 'fork mode: reload replaces the process');
    assert.equal(proc.pm2_env.status, 'online');
    assert.equal(proc.pm2_env.restart_time, 1);

    // pm2 asked with its shutdown message (shutdown_with_message works in fork mode), the
    // daemon stopped within kill_timeout and exited 0.
    const oldLines = await stoppedLinesOf(outLogFile, firstPid);
    assert.equal(oldLines.find((line) => line.msg === 'stopping')?.reason, 'shutdown message');
    assert.ok(oldLines.some((line) => line.msg === 'shutdown deadline passed; interrupting the runs still going'));
    const pm2Log = pm2DaemonLog();
    assert.equal(countOf(pm2Log, /App \[rulebot:\d+\] exited with code \[0\]/), 1, pm2Log);
    assert.doesNotMatch(pm2Log, /still alive after|SIGKILL/);

    const newLines = await waitFor('the new daemon started', () => {
      const lines = linesOf(outLogFile, reloadedPid);
      return lines.some((line) => line.msg === 'rulebot started') && lines;
    });
    // The old daemon left nothing for the new one to clean up.
    assert.ok(!newLines.some((line) => line.msg === 'runs a stopped process left running are marked interrupted'), JSON.stringify(newLines));

    const now = new Map(allRuns(live.dbFile).map((run) => [run.id, run]));
    for (const run of snapshot) assert.ok(now.has(run.id), `run ${run.id} vanished`);
    // The old daemon's runs: everything started before the new one's first line.
    const newStartedAt = Date.parse(newLines[0]!.time);
    const oldRuns = [...now.values()].filter((run) => run.startedAt < newStartedAt);
    assert.ok(oldRuns.length >= snapshot.length);
    for (const run of oldRuns) {
      assert.notEqual(run.status, 'running', `run ${run.id} (${run.ruleId}) left running`);
      // A finish time means the old daemon ended the run itself (a restart only flips the status).
      assert.notEqual(run.finishedAt, null, `run ${run.id} (${run.ruleId}) was not finished by its daemon`);
    }
    for (const run of snapshot.filter((run) => run.status === 'running')) {
      const ended = now.get(run.id)!;
      if (run.ruleId === 'slow') {
        assert.equal(ended.status, 'interrupted');
        assert.equal(ended.error?.code, 'RUN_INTERRUPTED');
      } else {
        assert.equal(ended.status, 'ok', `the short run ${run.id} finished within the deadline`);
      }
    }

    // And the new daemon goes on.
    await waitFor('a tick by the new daemon', () => allRuns(live.dbFile).some((run) => run.ruleId === 'tick' && run.status === 'ok' && run.startedAt > newStartedAt));
  });

  it('pm2 stop leaves no run running in the execution log and loses none', async () => {
    await waitFor('the new slow run in its delay', () => allRuns(live.dbFile).some((run) => run.ruleId === 'slow' && run.status === 'running'));
    const snapshot = allRuns(live.dbFile);

    await pm2(['stop', 'rulebot']);
    const proc = await rulebotProcess();
    assert.equal(proc.pm2_env.status, 'stopped');
    const lines = await stoppedLinesOf(outLogFile, reloadedPid);
    assert.equal(lines.find((line) => line.msg === 'stopping')?.reason, 'shutdown message');
    const pm2Log = pm2DaemonLog();
    assert.equal(countOf(pm2Log, /App \[rulebot:\d+\] exited with code \[0\]/), 2, pm2Log);
    assert.doesNotMatch(pm2Log, /still alive after|SIGKILL/);

    const runs = allRuns(live.dbFile);
    const ids = new Set(runs.map((run) => run.id));
    for (const run of snapshot) assert.ok(ids.has(run.id), `run ${run.id} vanished`);
    assert.ok(runs.length >= snapshot.length);
    // Nothing running, and every run ended by the daemon that ran it, across both processes.
    assert.deepEqual(
      runs.filter((run) => run.status === 'running' || run.finishedAt === null).map((run) => `${run.id} ${run.ruleId} ${run.status}`),
      [],
    );
    const statuses = new Set(runs.map((run) => run.status));
    for (const status of ['ok', 'interrupted', 'skipped'] as const) assert.ok(statuses.has(status), `no ${status} run in ${[...statuses].join(', ')}`);
    // Two daemons, each interrupting its slow run at its stop.
    assert.equal(runs.filter((run) => run.ruleId === 'slow' && run.status === 'interrupted').length, 2);
  });

  it("pm2's out log holds the daemon's JSON lines, with no timestamp prefix", () => {
    const raw = fs.readFileSync(outLogFile, 'utf8');
    const lines = raw.split('\n').filter((line) => line !== '');
    assert.ok(lines.length > 20, `only ${lines.length} lines`);
    for (const line of lines) {
      assert.ok(line.startsWith('{"level":'), `not a bare pino line: ${line}`);
      const parsed = JSON.parse(line) as LogLine;
      assert.equal(typeof parsed.msg, 'string');
      assert.ok(!Number.isNaN(Date.parse(parsed.time)), line);
    }
    // Both processes wrote to the one file (merge_logs), and nothing went to stderr.
    assert.deepEqual(new Set(outLog(outLogFile).map((line) => line.pid)), new Set([firstPid, reloadedPid]));
    const errLog = path.join(path.dirname(outLogFile), 'rulebot-error.log');
    assert.equal(fs.existsSync(errLog) ? fs.readFileSync(errLog, 'utf8') : '', '');
  });

  it('with the bridge down, rulebot still goes online and stays up without restarts', async () => {
    const down = daemonFolder('down', `ws://127.0.0.1:${await deadPort()}`, {
      'beat.yaml': 'id: beat\ntrigger: { every: 1s }\nactions:\n  - log: { message: beat }\n',
    });
    await pm2(['delete', 'rulebot']);
    const seenBefore = bus!.entries().length;

    await pm2(['start', ecosystemFile], { RULEBOT_CONFIG: down.configFile });
    const proc = await rulebotProcess();
    appPids.add(proc.pid);
    assert.equal(proc.pm2_env.status, 'online');
    // Online because of ready, as in the first test, not because listen_timeout ran out.
    const isReady = (entry: BusEntry): boolean => entry.kind === 'msg' && entry.pmId === proc.pm_id && entry.raw === 'ready';
    const isOnline = (entry: BusEntry): boolean => entry.kind === 'event' && entry.pmId === proc.pm_id && entry.event === 'online';
    const entries = await waitFor('ready and online on the bus', () => {
      const seen = bus!.entries().slice(seenBefore);
      return seen.some(isReady) && seen.some(isOnline) && seen;
    });
    assert.ok(entries.findIndex(isReady) < entries.findIndex(isOnline), `online came before ready: ${JSON.stringify(entries)}`);

    // The daemon keeps trying the bridge and running what needs no bridge, in one process.
    await waitFor('reconnect attempts', () => linesOf(proc.pm2_env.pm_out_log_path, proc.pid).filter((line) => line.msg === 'reconnecting to the bridge').length >= 2);
    await waitFor('a run without the bridge', () => allRuns(down.dbFile).some((run) => run.ruleId === 'beat' && run.status === 'ok'));
    const still = await rulebotProcess();
    assert.equal(still.pid, proc.pid);
    assert.equal(still.pm2_env.status, 'online');
    assert.equal(still.pm2_env.restart_time, 0);
    assert.equal(still.pm2_env.unstable_restarts, 0);
    assert.ok(!linesOf(proc.pm2_env.pm_out_log_path, proc.pid).some((line) => line.msg === 'bridge ready'));

    await pm2(['stop', 'rulebot']);
    await stoppedLinesOf(proc.pm2_env.pm_out_log_path, proc.pid);
  });
});
