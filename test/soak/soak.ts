/**
 * The fault-injection soak. A seeded bridge simulator (edition 68) runs in this process
 * with faults on — busy answers, silences, delays, dropped connections, garbage frames,
 * failed deliveries, and one restart of the chat app half-way; the real daemon runs as
 * a `rulebot start` child against it with about fifty rules of every kind, while this
 * driver plays the users (messages, spam, floods, friend requests, new members). Then
 * the daemon is killed with SIGKILL in the middle of its work, started again, run a
 * little longer and stopped with SIGTERM. The checker (check.ts) then compares the
 * simulator's record with the execution log and the daemon's own logs.
 *
 * Everything the run leaves — config, rules, database, the daemon's stdout and stderr,
 * the report and the world-changing frames — stays in `logDir`, and the same seed
 * draws the same rules, world, faults and user actions (the timing of two processes
 * is never quite the same, so a replay is close, not identical).
 *
 * @example
 * const report = await runSoak({ seed: 7, durationMs: 90_000, killAndRestart: true, logDir: '/tmp/soak-7' });
 * if (report.violations.length > 0) console.log(formatReport(report));
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BridgeSimulator, mulberry32, type FaultRates, type Random } from '../../src/sim';
import { RunStore } from '../../src/store/run-store';
import type { AuditDecision, RunDetail } from '../../src/store/types';
import { WATCH_BASELINE_KEY } from '../../src/engine/watch';
import { checkSoak, type DaemonLife, type LogLine, type SoakEvidence, type Violation, type WatchedItem } from './check';
import {
  AUDIT_RULE,
  COLLEAGUE_PREFIX,
  FRIEND_ACCEPT_OP,
  FRIEND_REJECT_OP,
  KEYWORDS,
  SOAK_ADMINS,
  SOAK_FRIENDS,
  SOAK_GROUPS,
  SOAK_HOST,
  SOAK_MEMBERS,
  SPAM,
  WATCHED_GROUP,
  WELCOME_RULE,
  soakRules,
  type SoakRuleSet,
} from './rules';

/** dist/test/soak → the repository root. */
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const bin = path.join(repoRoot, 'bin', 'rulebot.js');

export interface SoakOptions {
  /** Seeds the world, the rules, the faults and the driver's actions. */
  seed: number;
  /** Activity before the kill -9 (or before the SIGTERM, without one). */
  durationMs: number;
  /** How many rules to write (at least one of each kind). @default 50 */
  rules?: number;
  /** Kill the daemon with SIGKILL mid-activity, start it again, go on, then SIGTERM. */
  killAndRestart: boolean;
  /** Where the config, rules, database, daemon logs and the report go; created if missing. */
  logDir: string;
  /** Activity after the restart. @default a fifth of durationMs, at least 8 s */
  afterRestartMs?: number;
  /** Fault rates; the soak's defaults otherwise. */
  faults?: Partial<FaultRates>;
  /** Progress lines, e.g. console.log. */
  progress?: (line: string) => void;
}

export interface SoakReport {
  seed: number;
  ok: boolean;
  violations: Violation[];
  notes: string[];
  stats: Record<string, unknown>;
  driver: DriverStats;
  logDir: string;
  /** Milliseconds, for the record. */
  timings: Record<string, number>;
}

/** What the driver did to the world. */
export interface DriverStats {
  actions: number;
  keywordMessages: number;
  chatter: number;
  spam: number;
  floods: number;
  friendMessages: number;
  friendRequests: number;
  newMembers: number;
  drops: number;
  appRestarts: number;
  injectFailures: number;
}

/** Busy about 10 %, the rest rarer; every frame delayed a little. */
export const SOAK_FAULTS: Readonly<Partial<FaultRates>> = Object.freeze({
  busy: 0.1,
  silence: 0.01,
  drop: 0.0005,
  garbage: 0.01,
  deliveryFailure: 0.05,
  acted: 0.5,
  delayMs: [0, 40] as [number, number],
});

/** Upper bounds of every wait, so a stuck daemon fails the soak instead of hanging it. */
const READY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 30_000;
const KILL_WAIT_MS = 15_000;
/** The daemon's own shutdown deadline, written in its config. */
const SHUTDOWN_TIMEOUT_MS = 5000;
/** Error lines (and crash lines) kept per process; the full log is in logDir. */
const KEPT_LINES = 500;
const KEPT_STDERR = 64 * 1024;

// === The soak ===

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const began = Date.now();
  const progress = options.progress ?? (() => undefined);
  const random = mulberry32((options.seed ^ 0x2545f491) >>> 0);
  const logDir = path.resolve(options.logDir);
  fs.mkdirSync(logDir, { recursive: true });

  const sim = new BridgeSimulator({
    edition: '68',
    seed: options.seed,
    host: '127.0.0.1',
    port: 0,
    // The checker needs every frame: far more than a soak of minutes sends.
    recordLimit: 5_000_000,
    messageLimit: 5_000_000,
    restartDowntimeMs: 1500,
    deliveryDelayMs: 50,
  });
  await sim.start();
  const daemons: DaemonChild[] = [];
  const timings: Record<string, number> = {};
  const driver = newDriverStats();
  let killedAt: number | undefined;
  let restartReadyAt: number | undefined;
  let stoppedAt = Date.now();
  let rules: SoakRuleSet | undefined;
  const watched: WatchedItem[] = [];
  let edgeTimer: NodeJS.Timeout | undefined;
  let aborted: string | undefined;
  try {
    populateWorld(sim);
    // Far enough for the daemon to be up, near enough for a short soak to see the edge.
    const windowMinute = nextMinute(Date.now() + Math.min(20_000, options.durationMs / 3));
    rules = soakRules({ random, count: options.rules ?? 50, windowMinute });
    const folder = writeFolder(logDir, sim.url, rules.files);
    progress(`soak seed ${options.seed}: ${rules.ids.length} rules, simulator at ${sim.url}, logs in ${logDir}`);
    sim.setFaults({ ...SOAK_FAULTS, ...options.faults });

    const first = new DaemonChild(1, folder, logDir);
    daemons.push(first);
    await first.waitReady(READY_TIMEOUT_MS);
    timings.firstReadyMs = Date.now() - began;
    progress(`daemon 1 ready (pid ${first.pid}); ${Math.round(options.durationMs / 1000)}s of activity`);

    // A busy answer, the bridge doing nothing, to the updates at the windows' edge: the
    // daemon must see the group unchanged and try again, not wait for a reconnect.
    const toEdge = windowMinute.getTime() - 100 - Date.now();
    if (toEdge > 0 && toEdge < options.durationMs) {
      edgeTimer = setTimeout(() => sim.scriptFault({ match: { apiName: 'GroupUpdate' }, action: 'busy', acted: false, times: 4 }), toEdge);
    }
    const user = new UserDriver(sim, random, driver, watched);
    await user.play(options.durationMs, [
      { at: 0.3, what: () => user.dropConnections() },
      { at: 0.5, what: () => user.restartApp() },
      { at: 0.75, what: () => user.dropConnections() },
    ], () => first.exited);

    const afterRestartMs = options.afterRestartMs ?? Math.max(8000, Math.round(options.durationMs / 5));
    let last = first;
    if (options.killAndRestart) {
      // Mid-activity: right after the daemon wrote a frame that changes the world.
      const hit = await waitForWorldChangingFrame(sim, KILL_WAIT_MS);
      killedAt = Date.now();
      first.signal('SIGKILL');
      await first.waitExit(EXIT_TIMEOUT_MS);
      progress(`daemon 1 killed with SIGKILL ${hit ? `right after a ${hit} frame` : '(no world-changing frame came)'}`);
      await sleep(500 + Math.floor(random() * 1500));

      const second = new DaemonChild(2, folder, logDir);
      daemons.push(second);
      await second.waitReady(READY_TIMEOUT_MS);
      restartReadyAt = Date.now();
      progress(`daemon 2 ready (pid ${second.pid}); ${Math.round(afterRestartMs / 1000)}s more`);
      await user.play(afterRestartMs, [], () => second.exited);
      last = second;
    }

    stoppedAt = Date.now();
    last.signal('SIGTERM');
    const exit = await last.waitExit(EXIT_TIMEOUT_MS);
    timings.shutdownMs = Date.now() - stoppedAt;
    progress(`daemon ${last.index} stopped with SIGTERM: ${exit ? `code ${exit.code}` : 'did not exit in time'}`);
    timings.activityMs = Date.now() - began;
  } catch (err) {
    // A daemon that never got ready, say: still checked, with what there is.
    aborted = err instanceof Error ? err.message : String(err);
    progress(`soak aborted: ${aborted}`);
  } finally {
    clearTimeout(edgeTimer);
    for (const daemon of daemons) daemon.forceKill();
    await Promise.all(daemons.map((daemon) => daemon.waitExit(EXIT_TIMEOUT_MS)));
    await Promise.all(daemons.map((daemon) => daemon.closeLogs()));
    await sim.stop();
  }

  const dbFile = path.join(logDir, 'data', 'rulebot.db');
  const { runs, audit, baselines } = readExecutionLog(dbFile, [AUDIT_RULE, WELCOME_RULE]);
  const evidence: SoakEvidence = {
    record: sim.record,
    messages: sim.world.messages,
    changes: sim.world.changes,
    runs,
    audit,
    daemons: daemons.map((daemon) => daemon.life()),
    ...(killedAt !== undefined && { killedAt }),
    ...(restartReadyAt !== undefined && { restartReadyAt }),
    stoppedAt,
    timed: rules?.timed ?? [],
    messageRules: rules?.messages ?? [],
    watched,
    baselines,
    windows: rules?.windows ?? [],
    finalMuted: Object.fromEntries([...sim.world.groups.values()].map((group) => [String(group.id), group.bfShutup])),
    rotations: rules?.rotations ?? [],
    shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
  };
  const check = checkSoak(evidence);
  timings.totalMs = Date.now() - began;
  const violations: Violation[] = [...(aborted !== undefined ? [{ kind: 'SOAK_ABORTED' as const, message: aborted }] : []), ...check.violations];
  const report: SoakReport = {
    seed: options.seed,
    ok: violations.length === 0,
    violations,
    notes: check.notes,
    stats: check.stats,
    driver,
    logDir,
    timings,
  };
  writeArtifacts(logDir, report, sim);
  return report;
}

// === The world and the daemon's folder ===

function populateWorld(sim: BridgeSimulator): void {
  const add = (ids: readonly number[], prefix: string): void => {
    ids.forEach((id, i) => sim.world.addGroup({ id, name: `${prefix}${i + 1}`, hostId: SOAK_HOST, memberIds: [...SOAK_MEMBERS] }));
  };
  add(SOAK_GROUPS.broadcast, 'soak-b');
  add(SOAK_GROUPS.notices, 'soak-n');
  add(SOAK_GROUPS.windows, 'soak-w');
  add(SOAK_GROUPS.chat, 'soak-c');
}

interface Folder {
  configFile: string;
  dir: string;
}

function writeFolder(dir: string, bridgeUrl: string, files: Record<string, string>): Folder {
  const rulesDir = path.join(dir, 'rules');
  fs.rmSync(rulesDir, { recursive: true, force: true });
  fs.rmSync(path.join(dir, 'data'), { recursive: true, force: true });
  fs.mkdirSync(rulesDir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(rulesDir, name), text);
  const configFile = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    configFile,
    [
      'bridge:',
      `  url: ${bridgeUrl}`,
      '  edition: "68"',
      // Short, so silences end in timeouts within the soak.
      '  requestTimeout: 3s',
      'timezone: UTC',
      'rules: ./rules',
      'database: ./data/rulebot.db',
      `admins: { friends: [${SOAK_ADMINS.join(', ')}] }`,
      // The soak sends far more than a real bridge should take: the limiter must not be what it measures.
      'rateLimit: { perMinute: 5000, perTargetGap: 0s }',
      'http: false',
      `shutdownTimeout: ${SHUTDOWN_TIMEOUT_MS}ms`,
      'log: { level: info, pretty: false }',
      `friendRequests: { act: true, acceptOp: ${FRIEND_ACCEPT_OP}, rejectOp: ${FRIEND_REJECT_OP} }`,
      '',
    ].join('\n'),
  );
  return { configFile, dir };
}

function nextMinute(after: number): Date {
  return new Date(Math.ceil(after / 60_000) * 60_000);
}

// === The users ===

interface Scheduled {
  /** Fraction of the phase at which it happens. */
  at: number;
  what: () => void;
}

function newDriverStats(): DriverStats {
  return { actions: 0, keywordMessages: 0, chatter: 0, spam: 0, floods: 0, friendMessages: 0, friendRequests: 0, newMembers: 0, drops: 0, appRestarts: 0, injectFailures: 0 };
}

/** Plays the people around the bot: members who chat and spam, friends, applicants, newcomers. */
class UserDriver {
  readonly #sim: BridgeSimulator;
  readonly #random: Random;
  readonly #stats: DriverStats;
  /** Items a watch rule must fire for, with when they appeared. */
  readonly #watched: WatchedItem[];
  #nextUser = 0;

  constructor(sim: BridgeSimulator, random: Random, stats: DriverStats, watched: WatchedItem[]) {
    this.#sim = sim;
    this.#random = random;
    this.#stats = stats;
    this.#watched = watched;
  }

  /**
   * Acts every 150–450 ms for `durationMs`, and runs each scheduled event once its
   * moment comes. Ends early when `ended` settles (the daemon died: the checker says so).
   */
  async play(durationMs: number, scheduled: readonly Scheduled[], ended: () => Promise<unknown>): Promise<void> {
    const start = Date.now();
    const deadline = start + durationMs;
    const pending = [...scheduled].sort((a, b) => a.at - b.at);
    let over = false;
    void ended().then(() => (over = true));
    // Bounded by count as well as by time.
    const maxActions = Math.ceil(durationMs / 150) + 10;
    for (let i = 0; i < maxActions && !over && Date.now() < deadline; i++) {
      await sleep(150 + Math.floor(this.#random() * 300));
      const elapsed = (Date.now() - start) / durationMs;
      while (pending.length > 0 && pending[0]!.at <= elapsed) pending.shift()!.what();
      this.#act();
    }
  }

  dropConnections(): void {
    this.#stats.drops += this.#sim.dropConnections() > 0 ? 1 : 0;
  }

  restartApp(): void {
    this.#sim.restartApp();
    this.#stats.appRestarts++;
  }

  #act(): void {
    this.#stats.actions++;
    const roll = this.#random();
    try {
      if (roll < 0.3) this.#keyword();
      else if (roll < 0.42) this.#chatter();
      else if (roll < 0.52) this.#spam();
      else if (roll < 0.56) this.#flood();
      else if (roll < 0.66) this.#friendMessage();
      else if (roll < 0.8) this.#friendRequest();
      else if (roll < 0.88) this.#newMember();
      else this.#chatter();
    } catch {
      // A world refusal (a muted or departed sender...) is part of the game, not a failure of the daemon.
      this.#stats.injectFailures++;
    }
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)]!;
  }

  #groupMessage(groupId: number, senderId: number, content: string): void {
    this.#sim.injectMessage({ chat: 'group', groupId, senderId, content });
  }

  #keyword(): void {
    this.#groupMessage(this.#pick(SOAK_GROUPS.chat), this.#pick(SOAK_MEMBERS), `请问${this.#pick(KEYWORDS)}？`);
    this.#stats.keywordMessages++;
  }

  #chatter(): void {
    this.#groupMessage(this.#pick(SOAK_GROUPS.chat), this.#pick([SOAK_HOST, ...SOAK_MEMBERS]), `随便聊聊 ${Math.floor(this.#random() * 1000)}`);
    this.#stats.chatter++;
  }

  /** A fresh member of a chat group posts an advert. */
  #spam(): void {
    const groupId = this.#pick(SOAK_GROUPS.chat);
    const member = this.#addMember(groupId, `路人${++this.#nextUser}`);
    this.#groupMessage(groupId, member.uid, this.#pick(SPAM));
    this.#stats.spam++;
  }

  /** One member posts six messages at once: the rate condition trips from the fourth. */
  #flood(): void {
    const groupId = this.#pick(SOAK_GROUPS.chat);
    const member = this.#addMember(groupId, `话痨${++this.#nextUser}`);
    for (let i = 0; i < 6; i++) this.#groupMessage(groupId, member.uid, `刷屏 ${i}`);
    this.#stats.floods++;
  }

  #friendMessage(): void {
    const friend = this.#pick(SOAK_FRIENDS);
    this.#sim.injectMessage({ chat: 'friend', senderId: friend, content: this.#random() < 0.7 ? this.#pick(['状态', 'status']) : '你好' });
    this.#stats.friendMessages++;
  }

  /** An applicant: ordinary, young (held), advertising (rejected) or a colleague (accepted by its own rule). */
  #friendRequest(): void {
    const n = ++this.#nextUser;
    const kind = this.#random();
    const old = Date.now() - 400 * 86_400_000;
    const world = this.#sim.world;
    let request: { uid: number };
    if (kind < 0.35) request = world.addFriendRequest({ nickName: `申请人${n}`, msg: `你好，我是申请人${n}`, createTime: old });
    else if (kind < 0.55) request = world.addFriendRequest({ nickName: `新号${n}`, msg: '新注册的，想加个好友', createTime: Date.now() - 3_600_000 });
    else if (kind < 0.8) request = world.addFriendRequest({ nickName: `广告${n}`, msg: '兼职刷单，日结', createTime: old });
    else request = world.addFriendRequest({ nickName: `同事${n}`, msg: `${COLLEAGUE_PREFIX}，销售部的${n}`, createTime: old });
    this.#watched.push({ ruleId: AUDIT_RULE, uid: request.uid, at: Date.now() });
    this.#stats.friendRequests++;
  }

  /** A newcomer in the watched group; now and then one whose nickname advertises. */
  #newMember(): void {
    const advert = this.#random() < 0.4;
    this.#addMember(WATCHED_GROUP, advert ? `VX加我${++this.#nextUser}` : `新人${++this.#nextUser}`);
    this.#stats.newMembers++;
  }

  #addMember(groupId: number, nickName: string): { uid: number } {
    const member = this.#sim.world.addMember(groupId, { nickName });
    if (groupId === WATCHED_GROUP) this.#watched.push({ ruleId: WELCOME_RULE, uid: member.uid, at: Date.now() });
    return member;
  }
}

/** Resolves with the kind of the next world-changing frame the simulator receives, or undefined after `timeoutMs`. */
async function waitForWorldChangingFrame(sim: BridgeSimulator, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let seen = sim.record.at(-1)?.seq ?? 0;
  for (let polls = 0; polls < timeoutMs && Date.now() < deadline; polls++) {
    for (const entry of sim.recordSince(seen)) {
      seen = entry.seq;
      const frame = entry.frame as { type?: unknown; data?: { type?: unknown } } | undefined;
      if (entry.direction !== 'in' || !frame) continue;
      if (frame.type === 'sendMsg' || frame.type === 'sendFile') return String(frame.type);
      const api = frame.data?.type;
      if (frame.type === 'request' && (api === 'GroupUpdate' || api === 'GroupMemberShutup' || api === 'UpdateContactsApply')) return String(api);
    }
    await sleep(5);
  }
  return undefined;
}

// === The daemon process ===

/** A `rulebot start` child: its stdout and stderr go to files, and are scanned as they come. */
class DaemonChild {
  readonly index: number;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #startedAt = Date.now();
  readonly #ready: Promise<void>;
  readonly #out: fs.WriteStream;
  readonly #err: fs.WriteStream;
  #readyAt: number | undefined;
  #signal: { name: NodeJS.Signals; at: number } | undefined;
  #exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;
  #partial = '';
  #lines = 0;
  readonly #errorLines: LogLine[] = [];
  readonly #crashLines: string[] = [];
  #stderr = '';

  constructor(index: number, folder: Folder, logDir: string) {
    this.index = index;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.RULEBOT_CONFIG;
    delete env.RULEBOT_DEBUG;
    delete env.RULEBOT_NOW;
    this.#out = fs.createWriteStream(path.join(logDir, `daemon-${index}.stdout.log`));
    this.#err = fs.createWriteStream(path.join(logDir, `daemon-${index}.stderr.log`));
    this.child = spawn(process.execPath, [bin, 'start', '--config', folder.configFile], {
      cwd: folder.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#out.write(chunk);
      this.#scan(chunk);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.#err.write(chunk);
      if (this.#stderr.length < KEPT_STDERR) this.#stderr += chunk;
      if (/uncaught|unhandled|fatal error|^\s+at /im.test(chunk)) this.#crashLines.push(`stderr: ${chunk.slice(0, 2000)}`);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.#exit = { code, signal, at: Date.now() };
        resolve({ code, signal });
      });
    });
    this.#ready = new Promise<void>((resolve, reject) => {
      this.child.on('message', (message) => {
        if (message !== 'ready') return;
        this.#readyAt = Date.now();
        resolve();
      });
      void this.exited.then(({ code, signal }) => reject(new Error(`daemon ${index} exited before it was ready (code ${code}, signal ${signal}):\n${this.#stderr}`)));
    });
    this.#ready.catch(() => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  waitReady(timeoutMs: number): Promise<void> {
    return withTimeout(this.#ready, timeoutMs, `daemon ${this.index} was not ready within ${timeoutMs}ms`);
  }

  signal(name: NodeJS.Signals): void {
    if (this.#exit) return;
    this.#signal = { name, at: Date.now() };
    this.child.kill(name);
  }

  /** The exit, or undefined when it takes longer than `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    return withTimeout(this.exited, timeoutMs, '').catch(() => undefined);
  }

  /** SIGKILL if still alive (the clean-up after an aborted soak); an earlier signal stays the one the check sees. */
  forceKill(): void {
    if (this.#exit || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.#signal ??= { name: 'SIGKILL', at: Date.now() };
    this.child.kill('SIGKILL');
  }

  async closeLogs(): Promise<void> {
    this.#flushPartial();
    await Promise.all([this.#out, this.#err].map((stream) => new Promise<void>((resolve) => stream.end(() => resolve()))));
  }

  life(): DaemonLife {
    return {
      index: this.index,
      pid: this.child.pid,
      startedAt: this.#startedAt,
      ...(this.#readyAt !== undefined && { readyAt: this.#readyAt }),
      ...(this.#signal && { signal: this.#signal }),
      ...(this.#exit && { exit: this.#exit }),
      errorLines: this.#errorLines,
      crashLines: this.#crashLines,
      stderr: this.#stderr,
      lines: this.#lines,
    };
  }

  #scan(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line);
  }

  #flushPartial(): void {
    if (this.#partial !== '') this.#line(this.#partial);
    this.#partial = '';
  }

  #line(line: string): void {
    if (line.trim() === '') return;
    this.#lines++;
    let parsed: LogLine | undefined;
    try {
      const value: unknown = JSON.parse(line);
      if (value !== null && typeof value === 'object') parsed = value as LogLine;
    } catch {
      parsed = undefined;
    }
    const crash = /uncaughtException|unhandledRejection/.test(line) || (parsed !== undefined && typeof parsed.level === 'number' && parsed.level >= 60);
    if (crash && this.#crashLines.length < KEPT_LINES) this.#crashLines.push(line);
    if (parsed && typeof parsed.level === 'number' && parsed.level >= 50 && this.#errorLines.length < KEPT_LINES) this.#errorLines.push(parsed);
  }
}

// === The execution log ===

/** Every run with its steps and ledger, every audit decision, and when the watch rules took their baselines; read-only. */
function readExecutionLog(dbFile: string, watchRules: readonly string[]): { runs: RunDetail[]; audit: AuditDecision[]; baselines: Record<string, number> } {
  if (!fs.existsSync(dbFile)) return { runs: [], audit: [], baselines: {} };
  const store = RunStore.open(dbFile, { readonly: true });
  try {
    const runs: RunDetail[] = [];
    let beforeId: number | undefined;
    // Pages of a thousand, newest first; bounded so a runaway log cannot hang the check.
    for (let page = 0; page < 1000; page++) {
      const list = store.listRuns({ limit: 1000, ...(beforeId !== undefined && { beforeId }) });
      for (const run of list) {
        const detail = store.getRun(run.id);
        if (detail) runs.push(detail);
      }
      if (list.length < 1000) break;
      beforeId = list.at(-1)!.id;
    }
    runs.reverse();
    const baselines: Record<string, number> = {};
    for (const ruleId of watchRules) {
      const at = (store.ruleState.get(ruleId, WATCH_BASELINE_KEY) as { at?: unknown } | undefined)?.at;
      if (typeof at === 'number') baselines[ruleId] = at;
    }
    return { runs, audit: store.audit.list({ limit: 1_000_000 }), baselines };
  } finally {
    store.close();
  }
}

// === Artifacts and the report ===

function writeArtifacts(logDir: string, report: SoakReport, sim: BridgeSimulator): void {
  fs.writeFileSync(path.join(logDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  // Every frame in and out, one JSON object a line: what the checker compared.
  const out = sim.record.map((entry) => JSON.stringify(entry)).join('\n');
  fs.writeFileSync(path.join(logDir, 'sim-record.jsonl'), `${out}\n`);
}

/** The report as text: the verdict, each violation with its details, the notes and the figures. */
export function formatReport(report: SoakReport): string {
  const lines: string[] = [];
  lines.push(`soak seed ${report.seed}: ${report.ok ? 'PASS' : `FAIL, ${report.violations.length} violation(s)`}`);
  lines.push(`  replay: npm run soak -- --seed ${report.seed}`);
  lines.push(`  logs, database, frames and report: ${report.logDir}`);
  for (const [i, violation] of report.violations.entries()) {
    lines.push(`  ${i + 1}. [${violation.kind}] ${violation.message}`);
    if (violation.details) lines.push(indent(JSON.stringify(violation.details, null, 2), '       '));
  }
  if (report.notes.length > 0) {
    lines.push('  notes:');
    for (const note of report.notes) lines.push(`    - ${note}`);
  }
  lines.push(`  driver: ${JSON.stringify(report.driver)}`);
  lines.push(`  figures: ${JSON.stringify(report.stats)}`);
  lines.push(`  timings: ${JSON.stringify(report.timings)}`);
  return lines.join('\n');
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

// === Waiting ===

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
