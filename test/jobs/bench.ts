/**
 * The bench of the group-management jobs: the simulator over a real socket, a client and
 * its typed API, a real SQLite file in a temp folder that a "restart" closes and opens
 * again, a ManualClock that alone moves rule time (rate windows, holds, account ages),
 * and the engine's own triggers — a TriggerDispatcher on the client's pushes, a Watcher
 * on the listings — each running rules with `executeRun`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { RateTracker } from '../../src/engine/conditions';
import { TriggerDispatcher } from '../../src/engine/dispatch';
import { executeRun } from '../../src/engine/executor';
import { OutboundLimiter } from '../../src/engine/ratelimit';
import type { ExecutorConfig, ExecutorDeps, RunLogger } from '../../src/engine/run-context';
import type { TriggerInput } from '../../src/engine/context';
import { Watcher } from '../../src/engine/watch';
import { ChatApi } from '../../src/protocol/api';
import { BridgeClient } from '../../src/protocol/client';
import type { BridgeEdition } from '../../src/protocol/wire';
import { loadRules, loadRuleText, type LoadedRule } from '../../src/rules/load';
import { ManualClock } from '../../src/shared/clock';
import { BridgeSimulator, type ReceivedFrame } from '../../src/sim/server';
import { RunStore } from '../../src/store/run-store';
import type { RunDetail, RunRecord } from '../../src/store/types';

/** dist/test/jobs → the repository root. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** Tuesday 2025-06-03 02:00 in Shanghai: inside a 23:00–07:00 window opened on Monday. */
export const TUESDAY_0200 = Date.parse('2025-06-03T02:00:00+08:00');
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const JOBS_CONFIG: ExecutorConfig = {
  timezone: 'Asia/Shanghai',
  admins: { friends: ['7237423'], groups: [] },
  allowlist: [],
  friendRequests: { act: false, apiName: 'UpdateContactsApply', path: '/contacts/updateContactsApply', acceptOp: 8 },
};

export interface LogLine {
  level: string;
  obj: object;
  msg?: string;
}

/** A logger that keeps every line, for the engine's parts and for runs. */
export function memoryLogger(lines: LogLine[]): RunLogger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, ...(msg !== undefined && { msg }) });
    };
  const logger: RunLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

export interface JobsBenchOptions {
  edition?: BridgeEdition;
  /** Where rule time starts. @default TUESDAY_0200 */
  start?: number;
  config?: Partial<ExecutorConfig>;
}

export interface JobsBench {
  sim: BridgeSimulator;
  client: BridgeClient;
  api: ChatApi;
  clock: ManualClock;
  dir: string;
  dbFile: string;
  /** The store of the current "process"; `restart()` replaces it. */
  store: RunStore;
  config: ExecutorConfig;
  log: LogLine[];
  /** What a run gets, over the current store. */
  deps(): ExecutorDeps;
  /** Runs a rule once. */
  run(loaded: LoadedRule, trigger?: TriggerInput): Promise<RunDetail>;
  /** A dispatcher of message rules on the client's pushes, over the current store. */
  dispatch(rules: LoadedRule[]): TriggerDispatcher;
  /** A watcher of the watch rules, over the current store; polls when `poll()` moves the clock. */
  watch(rules: LoadedRule[]): Watcher;
  /** Polls every loaded watch rule now and waits for the fires. */
  poll(): Promise<void>;
  /** A restart: stops the dispatcher and watcher, closes the store, opens the file again. */
  restart(): Promise<void>;
}

/** Starts everything; it is all taken down when the test ends. */
export async function startJobsBench(t: TestContext, options: JobsBenchOptions = {}): Promise<JobsBench> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-jobs-'));
  const dbFile = path.join(dir, 'rulebot.db');
  const clock = new ManualClock(options.start ?? TUESDAY_0200);
  const edition = options.edition ?? 'seed';
  const sim = new BridgeSimulator({ edition, port: 0, seed: 11, deliveryDelayMs: 1, control: false });
  await sim.start();
  const client = new BridgeClient({
    url: sim.url,
    edition,
    requestTimeoutMs: 5000,
    heartbeat: { intervalMs: 0 },
    // No retries of its own: every fault the simulator makes reaches the engine.
    readRetry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
  });
  client.start();
  await client.waitReady(10_000);
  const api = new ChatApi(client);
  const limiter = new OutboundLimiter({ perMinute: 0, perTargetGapMs: 0, clock });
  const config: ExecutorConfig = { ...JOBS_CONFIG, ...options.config };
  const log: LogLine[] = [];
  const logger = memoryLogger(log);
  // One process's rate counters: a restart forgets them, as the daemon's would.
  let rates = new RateTracker();
  let dispatcher: TriggerDispatcher | undefined;
  let watcher: Watcher | undefined;

  const bench: JobsBench = {
    sim,
    client,
    api,
    clock,
    dir,
    dbFile,
    store: RunStore.open(dbFile, { clock }),
    config,
    log,
    deps: () => ({ api, store: bench.store, clock, limiter, logger, config, rates, random: () => 0.5 }),
    run: (loaded, trigger = { kind: 'manual' }) => executeRun({ loaded, trigger, deps: bench.deps() }),
    dispatch(rules) {
      dispatcher?.stop();
      dispatcher = new TriggerDispatcher({ store: bench.store, logger, clock, runRule: (loaded, trigger) => bench.run(loaded, trigger) });
      dispatcher.load(rules);
      dispatcher.start(client);
      return dispatcher;
    },
    watch(rules) {
      watcher = new Watcher({ api, store: bench.store, clock, logger, fire: (loaded, trigger) => bench.run(loaded, trigger) });
      watcher.load(rules);
      watcher.start();
      return watcher;
    },
    async poll() {
      if (!watcher) throw new Error('no watcher: call watch() first');
      await Promise.all(watcher.status().map((status) => watcher!.pollNow(status.ruleId)));
      await watcher.idle();
    },
    async restart() {
      if (dispatcher) {
        dispatcher.stop();
        await dispatcher.gates.whenIdle();
        dispatcher = undefined;
      }
      if (watcher) {
        await watcher.stop();
        watcher = undefined;
      }
      bench.store.close();
      bench.store = RunStore.open(dbFile, { clock });
      rates = new RateTracker();
    },
  };

  t.after(async () => {
    dispatcher?.stop();
    await dispatcher?.gates.whenIdle();
    await watcher?.stop();
    bench.store.close();
    limiter.close();
    api.dispose();
    await client.stop();
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return bench;
}

/** The example rules of rules/<file>, through the real loader; fails the test on any problem. */
export function exampleRules(file: string): LoadedRule[] {
  const result = loadRules([path.join('rules', file)], { cwd: repoRoot });
  if (result.problems.length > 0) throw new Error(result.problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('\n'));
  return result.rules;
}

/** One rule from YAML text, through the real loader. */
export function ruleFrom(yaml: string): LoadedRule {
  const result = loadRuleText('rules/test.yaml', yaml);
  if (result.problems.length > 0 || result.rules.length !== 1) throw new Error(result.problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('\n'));
  return result.rules[0]!;
}

/** Waits until `condition` holds, polling; fails after `timeoutMs` with `what`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Finished runs of a rule, oldest first. */
export function finishedRuns(store: RunStore, ruleId: string): RunRecord[] {
  return store
    .listRuns({ ruleId, limit: 1000 })
    .filter((run) => run.status !== 'running')
    .reverse();
}

/** A `request` frame the simulator received, as `{ api, data }`. */
export interface RequestFrame {
  api: string;
  data: Record<string, unknown>;
}

/** Every world-changing frame the simulator received, in order, in a readable form. */
export function worldFrames(sim: BridgeSimulator): Array<RequestFrame | { send: Record<string, unknown> }> {
  return sim.worldChangingReceived().map((entry: ReceivedFrame) => {
    if (entry.frame.type === 'request') {
      const data = entry.frame.data as { type: string; data?: Record<string, unknown> };
      return { api: data.type, data: data.data ?? {} };
    }
    const data = entry.frame.data as { id: number; type: string; list: Array<{ values: Record<string, unknown> }> };
    return { send: { to: `${data.type}:${data.id}`, ...data.list[0]!.values } };
  });
}

/** The GroupMemberShutup frames the simulator received, as `group:uid`. */
export function memberMutes(sim: BridgeSimulator): string[] {
  return sim
    .received('request')
    .map((entry) => entry.frame.data as { type: string; data?: { groupId?: number; targetUid?: number } })
    .filter((data) => data.type === 'GroupMemberShutup')
    .map((data) => `${data.data?.groupId}:${data.data?.targetUid}`);
}
