/**
 * The engine's test bench: a simulator over a real socket, a client and its typed API, a
 * real SQLite file in a temp folder, and a fast clock, so a run that pauses for minutes
 * finishes in milliseconds while its timestamps still show the pauses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChatApi } from '../../src/protocol/api';
import { BridgeClient } from '../../src/protocol/client';
import type { BridgeEdition } from '../../src/protocol/wire';
import { loadRuleText, type LoadedRule } from '../../src/rules/load';
import type { Clock, TimerHandle } from '../../src/shared/clock';
import { BridgeSimulator } from '../../src/sim/server';
import { RunStore } from '../../src/store/run-store';
import { executeRun, type ExecuteRunOptions } from '../../src/engine/executor';
import { OutboundLimiter } from '../../src/engine/ratelimit';
import { RateTracker } from '../../src/engine/conditions';
import { recordDeliveries } from '../../src/engine/deliveries';
import type { ExecutorConfig, RunLogger } from '../../src/engine/run-context';
import type { TriggerInput } from '../../src/engine/context';
import type { RunDetail } from '../../src/store/types';

/**
 * Virtual time that never waits: each timer moves the clock forward by its delay and
 * fires on the next turn of the event loop. Every delay asked for is kept in `waits`.
 */
export class FastClock implements Clock {
  #now: number;
  readonly waits: number[] = [];
  readonly #cancelled = new Set<object>();

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = {};
    this.waits.push(ms);
    setImmediate(() => {
      if (this.#cancelled.delete(handle)) return;
      this.#now += Math.max(0, ms);
      fn();
    });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#cancelled.add(handle);
  }
}

const noop = (): void => undefined;

/** A logger that keeps lines in memory, for assertions. */
export function memoryLogger(lines: Array<{ level: string; obj: object; msg?: string }> = []): RunLogger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, ...(msg !== undefined && { msg }) });
    };
  const logger: RunLogger = { debug: noop, info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

export const TEST_CONFIG: ExecutorConfig = {
  timezone: 'Asia/Shanghai',
  admins: { friends: ['7237423'], groups: [] },
  allowlist: [],
  friendRequests: { act: false, apiName: 'UpdateContactsApply', path: '/contacts/updateContactsApply', acceptOp: 8 },
};

export interface BenchOptions {
  edition?: BridgeEdition;
  /** Where virtual time starts. @default 2025-06-02T01:00:00Z (a Monday, 09:00 in Shanghai) */
  start?: number;
  /** A clock of the test's own (a ManualClock to hold a run in a pause); a FastClock by default. */
  clock?: Clock;
  perMinute?: number;
  perTargetGapMs?: number;
  /** Client read retries (the client's own, below a rule's `retry`). @default 1 (none) */
  readAttempts?: number;
  config?: Partial<ExecutorConfig>;
}

/** Everything one engine test needs; `close()` takes it all down. */
export interface Bench {
  sim: BridgeSimulator;
  client: BridgeClient;
  api: ChatApi;
  store: RunStore;
  clock: Clock & { waits: number[] };
  limiter: OutboundLimiter;
  dir: string;
  dbFile: string;
  logLines: Array<{ level: string; obj: object; msg?: string }>;
  config: ExecutorConfig;
  /** Runs a rule given as YAML. */
  run(yaml: string, options?: { trigger?: TriggerInput; dryRun?: boolean; signal?: AbortSignal; resumedFrom?: number }): Promise<RunDetail>;
  close(): Promise<void>;
}

export async function startBench(options: BenchOptions = {}): Promise<Bench> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-engine-'));
  const dbFile = path.join(dir, 'rulebot.db');
  const clock = options.clock ? Object.assign(options.clock, { waits: [] as number[] }) : new FastClock(options.start ?? Date.parse('2025-06-02T01:00:00Z'));
  const sim = new BridgeSimulator({ edition: options.edition ?? 'seed', port: 0, seed: 7, deliveryDelayMs: 1, control: false });
  await sim.start();
  const client = new BridgeClient({
    url: sim.url,
    edition: options.edition ?? 'seed',
    requestTimeoutMs: 2000,
    heartbeat: { intervalMs: 0 },
    readRetry: { attempts: options.readAttempts ?? 1, baseDelayMs: 1, maxDelayMs: 1 },
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
  });
  client.start();
  await client.waitReady(5000);
  const api = new ChatApi(client);
  const store = RunStore.open(dbFile, { clock });
  const stopDeliveries = recordDeliveries(client, store);
  const limiter = new OutboundLimiter({ perMinute: options.perMinute ?? 0, perTargetGapMs: options.perTargetGapMs ?? 0, clock });
  const logLines: Bench['logLines'] = [];
  const config = { ...TEST_CONFIG, ...options.config };
  const rates = new RateTracker();
  return {
    sim,
    client,
    api,
    store,
    clock,
    limiter,
    dir,
    dbFile,
    logLines,
    config,
    run: (yaml, runOptions = {}) => {
      const loaded = loadRule(yaml);
      const execute: ExecuteRunOptions = {
        loaded,
        trigger: runOptions.trigger ?? { kind: 'manual' },
        deps: { api, store, clock, limiter, logger: memoryLogger(logLines), config, rates, random: () => 0.5 },
        ...(runOptions.dryRun !== undefined && { dryRun: runOptions.dryRun }),
        ...(runOptions.signal !== undefined && { signal: runOptions.signal }),
        ...(runOptions.resumedFrom !== undefined && { resumedFrom: runOptions.resumedFrom }),
      };
      return executeRun(execute);
    },
    close: async () => {
      stopDeliveries();
      limiter.close();
      api.dispose();
      await client.stop();
      await sim.stop();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One rule from YAML text, through the real loader; fails the test on any problem. */
export function loadRule(yaml: string): LoadedRule {
  const result = loadRuleText('test.yaml', yaml);
  if (result.problems.length > 0 || result.rules.length !== 1) {
    throw new Error(`test rule did not load: ${result.problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('; ')}`);
  }
  return result.rules[0]!;
}

/** sendMsg frames the simulator received, as `{ id, content }`, in order. */
export function sentMessages(sim: BridgeSimulator): Array<{ id: number; type: string; content: string; customMsgId: string | undefined; at: number }> {
  return sim.received('sendMsg').map((entry) => {
    const data = entry.frame.data as { id: number; type: string; custom_msg_id?: string; list: Array<{ values: { content: string } }> };
    return { id: data.id, type: data.type, content: data.list[0]!.values.content, customMsgId: data.custom_msg_id, at: entry.at };
  });
}
