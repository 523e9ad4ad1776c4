/**
 * The watch tests' bench: the simulator over a real socket, a client and its typed API
 * on real time (so answers and reconnects happen by themselves), a real SQLite file in
 * a temp folder, and a ManualClock that alone moves the watch slots.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { ChatApi, type ChatApiOptions } from '../../src/protocol/api';
import { BridgeClient } from '../../src/protocol/client';
import { loadRuleText, type LoadedRule } from '../../src/rules/load';
import { ManualClock } from '../../src/shared/clock';
import { BridgeSimulator } from '../../src/sim/server';
import { RunStore } from '../../src/store/run-store';
import { Watcher, type WatchLogger, type WatchTrigger } from '../../src/engine/watch';

/** 2025-01-06T01:00:00Z: a whole minute, so `every: 1m` slots fall on it. */
export const T0 = Date.UTC(2025, 0, 6, 1, 0, 0);
export const MINUTE = 60_000;

export interface Fire {
  ruleId: string;
  trigger: WatchTrigger;
}

export interface LogLine {
  level: string;
  obj: object;
  msg?: string;
}

export interface WatchBench {
  sim: BridgeSimulator;
  client: BridgeClient;
  api: ChatApi;
  clock: ManualClock;
  dbFile: string;
  store: RunStore;
  watcher: Watcher;
  fires: Fire[];
  log: LogLine[];
  /** Moves the manual clock by `ms` and waits for the polls that fell due to finish. */
  tick(ms?: number): Promise<void>;
  /** A restart: stops the watcher, closes the store, reopens the file and starts a new watcher with `rules`. */
  restart(rules: LoadedRule[]): Promise<void>;
}

export interface WatchBenchOptions {
  api?: ChatApiOptions;
  /** Called for each fire after it is recorded in `fires`; the fire settles when it does. */
  onFire?: (fire: Fire) => Promise<void> | void;
}

/** Rules from YAML, as the loader hands them out; fails the test on any problem. */
export function rulesFrom(yaml: string): LoadedRule[] {
  const loaded = loadRuleText('rules/watch.yaml', yaml);
  if (loaded.problems.length > 0) throw new Error(loaded.problems.map((p) => `${p.line}:${p.col} ${p.message}`).join('\n'));
  return loaded.rules;
}

function memoryLogger(lines: LogLine[]): WatchLogger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, ...(msg !== undefined && { msg }) });
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Starts everything; it is all taken down when the test ends. */
export async function startWatchBench(t: TestContext, rules: LoadedRule[], options: WatchBenchOptions = {}): Promise<WatchBench> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-watch-'));
  const dbFile = path.join(dir, 'rulebot.db');
  const clock = new ManualClock(T0);
  const sim = new BridgeSimulator({ port: 0, seed: 3, control: false });
  await sim.start();
  const client = new BridgeClient({
    url: sim.url,
    requestTimeoutMs: 5000,
    heartbeat: { intervalMs: 0 },
    // No retries of its own, so every fault the simulator is told to make reaches the watcher.
    readRetry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
  });
  client.start();
  await client.waitReady(10_000);
  const api = new ChatApi(client, options.api);
  const fires: Fire[] = [];
  const log: LogLine[] = [];

  const open = (): { store: RunStore; watcher: Watcher } => {
    const store = RunStore.open(dbFile, { clock });
    const watcher = new Watcher({
      api,
      store,
      clock,
      logger: memoryLogger(log),
      fire: async (loaded, trigger) => {
        const fire = { ruleId: loaded.rule.id, trigger };
        fires.push(fire);
        await options.onFire?.(fire);
      },
    });
    return { store, watcher };
  };

  const first = open();
  first.watcher.load(rules);
  first.watcher.start();
  const bench: WatchBench = {
    sim,
    client,
    api,
    clock,
    dbFile,
    store: first.store,
    watcher: first.watcher,
    fires,
    log,
    async tick(ms = 0) {
      clock.advance(ms);
      await bench.watcher.idle();
    },
    async restart(nextRules) {
      await bench.watcher.stop();
      bench.store.close();
      const next = open();
      bench.store = next.store;
      bench.watcher = next.watcher;
      next.watcher.load(nextRules);
      next.watcher.start();
    },
  };

  t.after(async () => {
    await bench.watcher.stop();
    bench.store.close();
    api.dispose();
    await client.stop();
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return bench;
}

/** The fires so far of one rule, as `change uid-or-id` lines, in order. */
export function firesOf(bench: WatchBench, ruleId: string): string[] {
  return bench.fires
    .filter((fire) => fire.ruleId === ruleId)
    .map(({ trigger }) => {
      const item = trigger.data.item;
      return `${trigger.data.change} ${'uid' in item ? item.uid : item.id}`;
    });
}
