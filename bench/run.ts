/**
 * `npm run bench`: runs the benchmarks one after another, prints each figure beside the
 * baseline measured in the same run, and writes everything to bench/out/results-<time>.json.
 *
 *   node dist/bench/run.js [client] [store] [dispatch] [rules] [--reps N] [--quick]
 *
 * Misses are reported, never asserted: the exit status is 1 only when a benchmark
 * could not run at all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run as runClient } from './client';
import { run as runDispatch } from './dispatch';
import { formatTable } from './lib/report';
import { REPO_ROOT, loadAverage } from './lib/system';
import { run as runRules } from './rules';
import { run as runStore } from './store';
import type { BenchOptions, BenchResult, Benchmark } from './types';

const BENCHMARKS: ReadonlyArray<{ name: string; what: string; run: Benchmark }> = [
  { name: 'client', what: 'bridge client round trips against a raw ws client', run: runClient },
  { name: 'store', what: 'execution log writes and reads against raw better-sqlite3', run: runStore },
  { name: 'dispatch', what: '1,000 and 10,000 rules due in one second against a bare heap timer', run: runDispatch },
  { name: 'rules', what: 'validating and loading 10,000 rules, daemon start, memory', run: runRules },
];

interface BenchRecord {
  name: string;
  startedAt: string;
  durationMs: number;
  loadAverageBefore: [number, number, number];
  loadAverageAfter: [number, number, number];
  results: BenchResult[];
  error?: string;
}

const USAGE = `usage: node dist/bench/run.js [${BENCHMARKS.map((b) => b.name).join('] [')}] [--reps N] [--quick]

  With no names, every benchmark runs. --reps sets the repetitions of each
  configuration (each benchmark has its own default); --quick runs short windows
  once, as a smoke test rather than a measurement.`;

function parseArgs(argv: string[]): { names: string[]; options: BenchOptions } {
  const names: string[] = [];
  const options: BenchOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg === '--quick') {
      options.quick = true;
    } else if (arg === '--reps') {
      const reps = Number(argv[++i]);
      if (!Number.isInteger(reps) || reps < 1) usage(`--reps needs a whole number of at least 1`);
      options.reps = reps;
    } else if (BENCHMARKS.some((b) => b.name === arg)) {
      if (!names.includes(arg)) names.push(arg);
    } else {
      usage(`unknown argument "${arg}"`);
    }
  }
  return { names: names.length > 0 ? names : BENCHMARKS.map((b) => b.name), options };
}

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    totalMemoryMb: Math.round(os.totalmem() / (1024 * 1024)),
  };
}

async function main(): Promise<void> {
  const { names, options } = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const info = machine();
  process.stdout.write(
    `rulebot benchmarks — node ${process.version}, ${String(info.cpus)} × ${String(info.cpuModel)}, load average ${loadAverage().join(' ')}\n`,
  );
  if (options.quick) process.stdout.write('--quick: short windows, one repetition; the figures are a smoke test, not a measurement\n');

  const records: BenchRecord[] = [];
  for (const name of names) {
    const bench = BENCHMARKS.find((b) => b.name === name)!;
    const before = loadAverage();
    process.stderr.write(`\n== ${bench.name}: ${bench.what} (load average ${before.join(' ')})\n`);
    const t0 = Date.now();
    const record: BenchRecord = { name, startedAt: new Date(t0).toISOString(), durationMs: 0, loadAverageBefore: before, loadAverageAfter: before, results: [] };
    try {
      record.results = await bench.run(options);
    } catch (err) {
      record.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`${bench.name} failed: ${record.error}\n`);
    }
    record.durationMs = Date.now() - t0;
    record.loadAverageAfter = loadAverage();
    records.push(record);
    process.stderr.write(`== ${bench.name} took ${(record.durationMs / 1000).toFixed(1)} s (load average ${record.loadAverageAfter.join(' ')})\n`);
  }

  process.stdout.write(`\n${formatTable(records)}\n`);
  const file = writeResults(startedAt, info, options, records);
  process.stdout.write(`\nResults: ${path.relative(process.cwd(), file) || file}\n`);
  if (records.some((r) => r.error !== undefined)) process.exitCode = 1;
}

function writeResults(startedAt: Date, info: Record<string, unknown>, options: BenchOptions, records: BenchRecord[]): string {
  const dir = path.join(REPO_ROOT, 'bench', 'out');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `results-${stamp}.json`);
  const body = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: info,
    options,
    benchmarks: records,
  };
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
