/**
 * Client round trips: rulebot's BridgeClient against a raw `ws` client, both talking to
 * the simulator in its own process over 127.0.0.1, with 1 and 64 requests in flight.
 * Every run is a fresh client process; configurations run round-robin (BASELINES.md §1–2).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { ClientMode, ClientRunResult } from './children/ws-client';
import type { SimServerReady } from './children/sim-server';
import { baselineSpread, median, pairedRatio, round, roundOrNull, spread } from './lib/stats';
import { childScript, nextMessage, progress, runChild } from './lib/system';
import { figure, type BenchOptions, type BenchResult, type Target } from './types';

const BENCH = 'client';
const INFLIGHTS = [1, 64] as const;
/** Saturated throughput is where correlation costs show (BASELINES.md: ~0.88–0.92× raw for a Map + Promise + timer client). */
const THROUGHPUT_TARGET: Target = { kind: 'ratio-at-least', value: 0.85 };

interface Config {
  mode: ClientMode;
  inflight: number;
}

function isReady(message: unknown): message is SimServerReady {
  return (message as { kind?: unknown }).kind === 'listening';
}

async function startServer(): Promise<{ child: ChildProcess; ready: SimServerReady }> {
  const child = fork(childScript('sim-server'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    return { child, ready: await nextMessage(child, isReady, 15_000) };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send({ kind: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export async function run(options: BenchOptions = {}): Promise<BenchResult[]> {
  const reps = options.reps ?? (options.quick ? 1 : 3);
  const durationMs = options.quick ? 1000 : 3000;
  const warmupMs = 500;
  const { child, ready } = await startServer();
  const runs = new Map<string, ClientRunResult[]>();
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const inflight of INFLIGHTS) {
        // Alternate which client goes first, so neither always runs on a warmer server.
        const modes: ClientMode[] = rep % 2 === 0 ? ['raw', 'bridge'] : ['bridge', 'raw'];
        for (const mode of modes) {
          const config: Config = { mode, inflight };
          const result = await runChild<ClientRunResult>(
            childScript('ws-client'),
            [ready.url, mode, String(inflight), String(durationMs), String(warmupMs), String(ready.pid)],
            { timeoutMs: durationMs + warmupMs + 30_000 },
          );
          progress(
            `${mode.padEnd(6)} ${String(inflight).padStart(2)} in flight, run ${rep + 1}/${reps}: ${Math.round(result.perSecond)}/s, ` +
              `p50 ${result.latency.p50.toFixed(3)} ms, p99 ${result.latency.p99.toFixed(3)} ms, ${result.clientCpuUsPerRequest.toFixed(1)} µs CPU/request`,
          );
          const key = keyOf(config);
          runs.set(key, [...(runs.get(key) ?? []), result]);
        }
      }
    }
  } finally {
    await stopServer(child);
  }
  return INFLIGHTS.flatMap((inflight) => figuresFor(inflight, runs.get(keyOf({ mode: 'bridge', inflight })) ?? [], runs.get(keyOf({ mode: 'raw', inflight })) ?? []));
}

function keyOf(config: Config): string {
  return `${config.mode}:${config.inflight}`;
}

function figuresFor(inflight: number, bridge: ClientRunResult[], raw: ClientRunResult[]): BenchResult[] {
  const metric = (
    id: string,
    label: string,
    unit: string,
    pick: (r: ClientRunResult) => number,
    target?: Target,
  ): BenchResult => {
    const values = bridge.map(pick);
    const baselines = raw.map(pick);
    return figure({
      bench: BENCH,
      id: `${BENCH}.${id}.${inflight}`,
      figure: `BridgeClient ${label}, ${inflight} in flight`,
      unit,
      ...spread(values),
      baseline: { label: 'raw ws client', ...baselineSpread(baselines) },
      ratio: roundOrNull(pairedRatio(values, baselines)),
      ...(target && { target }),
    });
  };
  const context = {
    answerBytes: bridge[0]?.answerBytes ?? raw[0]?.answerBytes,
    windowMs: round(median(bridge.map((r) => r.windowMs))),
    bridge: summary(bridge),
    raw: summary(raw),
  };
  const throughput = metric('rps', 'round trips/s', '/s', (r) => r.perSecond, inflight === 64 ? THROUGHPUT_TARGET : undefined);
  throughput.details = context;
  return [
    throughput,
    metric('p50', 'p50 latency', 'ms', (r) => r.latency.p50),
    metric('p99', 'p99 latency', 'ms', (r) => r.latency.p99),
    metric('cpu', 'client CPU per round trip', 'µs', (r) => r.clientCpuUsPerRequest),
  ];
}

/** Medians of everything a run reports, for the JSON file. */
function summary(results: ClientRunResult[]): Record<string, number | null> {
  const med = (pick: (r: ClientRunResult) => number | null): number | null => {
    const values = results.map(pick).filter((v): v is number => v !== null);
    return values.length === 0 ? null : round(median(values));
  };
  return {
    runs: results.length,
    perSecond: med((r) => r.perSecond),
    p50Ms: med((r) => r.latency.p50),
    p99Ms: med((r) => r.latency.p99),
    p999Ms: med((r) => r.latency.p999),
    maxMs: med((r) => r.latency.max),
    clientCpuPercent: med((r) => r.clientCpuPercent),
    serverCpuPercent: med((r) => r.serverCpuPercent),
    clientCpuUsPerRequest: med((r) => r.clientCpuUsPerRequest),
  };
}
