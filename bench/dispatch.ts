/**
 * Dispatch: 1,000 and 10,000 rules due in the same second, through rulebot's TimerQueue
 * over compileSchedule and through its Scheduler with a store, against a bare heap timer
 * written inline (BASELINES.md §4, `wheel-memo`). Every run is a fresh process started
 * with --expose-gc; configurations run round-robin.
 */
import type { DispatchImpl, DispatchRunResult } from './children/dispatch';
import { baselineSpread, median, pairedRatio, round, roundOrNull, spread } from './lib/stats';
import { childScript, makeTempDir, progress, removeTempDir, runChild } from './lib/system';
import { figure, notMeasured, type BenchOptions, type BenchResult, type Target } from './types';

const BENCH = 'dispatch';
const SIZES = [1000, 10_000] as const;
const HANDOFF_TARGET: Target = { kind: 'at-most', value: 10 };
const RECORDED_TARGET: Target = { kind: 'at-most', value: 250 };
const EVERY_FIRE: Target = { kind: 'at-least', value: 100 };

interface Plan {
  impl: DispatchImpl;
  rules: number;
  /** Seconds between bursts. */
  period: number;
  warm: number;
  measured: number;
}

/**
 * The queue and the baseline fire every second, as BASELINES.md's `same` pattern does.
 * The scheduler's bursts are further apart: each of its runs is finished with a commit
 * of its own after the burst, and the figure is the lateness within one burst, not
 * whether the store can take 10,000 runs every second.
 */
function plans(quick: boolean): Plan[] {
  return SIZES.flatMap((rules) => [
    { impl: 'queue' as const, rules, period: 1, warm: 1, measured: quick ? 1 : 2 },
    { impl: 'wheel' as const, rules, period: 1, warm: 1, measured: quick ? 1 : 2 },
    rules >= 10_000
      ? { impl: 'scheduler' as const, rules, period: 4, warm: 1, measured: 1 }
      : { impl: 'scheduler' as const, rules, period: 2, warm: 1, measured: quick ? 1 : 2 },
  ]);
}

export async function run(options: BenchOptions = {}): Promise<BenchResult[]> {
  const quick = options.quick === true;
  const reps = options.reps ?? (quick ? 1 : 2);
  const results = new Map<string, DispatchRunResult[]>();
  const failures = new Map<string, string>();
  for (let rep = 0; rep < reps; rep++) {
    for (const plan of plans(quick)) {
      const key = keyOf(plan.impl, plan.rules);
      if (failures.has(key)) continue;
      const dbDir = plan.impl === 'scheduler' ? makeTempDir('dispatch') : undefined;
      try {
        const result = await runChild<DispatchRunResult>(
          childScript('dispatch'),
          [plan.impl, String(plan.rules), String(plan.period), String(plan.warm), String(plan.measured), ...(dbDir ? [dbDir] : [])],
          { execArgv: ['--expose-gc'], timeoutMs: (plan.warm + plan.measured + 2) * plan.period * 1000 + 60_000 },
        );
        results.set(key, [...(results.get(key) ?? []), result]);
        progress(
          `${plan.impl.padEnd(9)} ${String(plan.rules).padStart(5)} rules, run ${rep + 1}/${reps}: fired ${result.fired}/${result.expected}, ` +
            `hand-off p50 ${fixed(result.handoff.p50, 2)} / p99 ${fixed(result.handoff.p99, 2)} ms` +
            (result.recorded ? `, recorded p99 ${fixed(result.recorded.p99, 1)} ms` : '') +
            (result.afterCommit ? `, committed → runRule p99 ${fixed(result.afterCommit.p99, 1)} ms` : '') +
            `, +${fixed(result.rssGrowthMb, 1)} MB RSS, registered in ${fixed(result.registerMs, 0)} ms`,
        );
      } catch (err) {
        const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
        failures.set(key, message);
        progress(`${plan.impl} ${plan.rules} rules failed: ${message}`);
      } finally {
        if (dbDir) removeTempDir(dbDir);
      }
    }
  }
  return SIZES.flatMap((rules) => figuresFor(rules, results, failures));
}

function keyOf(impl: DispatchImpl, rules: number): string {
  return `${impl}:${rules}`;
}

function figuresFor(rules: number, results: Map<string, DispatchRunResult[]>, failures: Map<string, string>): BenchResult[] {
  const wheel = results.get(keyOf('wheel', rules)) ?? [];
  const size = rules.toLocaleString('en-US');
  const big = rules === 10_000;

  const compare = (
    impl: DispatchImpl,
    id: string,
    label: string,
    unit: string,
    pick: (r: DispatchRunResult) => number,
    target?: Target,
  ): BenchResult => {
    const runs = results.get(keyOf(impl, rules)) ?? [];
    const base = {
      bench: BENCH,
      id: `${BENCH}.${impl}.${id}.${rules}`,
      figure: `${impl === 'queue' ? 'TimerQueue' : 'Scheduler + store'}: ${size} rules due in one second, ${label}`,
      unit,
      ...(target && { target }),
    };
    if (runs.length === 0) return notMeasured(base, failures.get(keyOf(impl, rules)) ?? 'no run finished');
    const values = runs.map(pick);
    const baselines = wheel.map(pick);
    return figure({
      ...base,
      ...spread(values),
      ...(wheel.length > 0 && { baseline: { label: 'bare heap timer (wheel-memo)', ...baselineSpread(baselines) }, ratio: roundOrNull(pairedRatio(values, baselines)) }),
    });
  };
  const firedPercent = (r: DispatchRunResult): number => (100 * r.fired) / r.expected;

  const queueHandoff = compare('queue', 'handoff.p99', 'due → hand-off p99', 'ms', (r) => r.handoff.p99, big ? HANDOFF_TARGET : undefined);
  queueHandoff.details = { queue: summary(results.get(keyOf('queue', rules)) ?? []), wheel: summary(wheel) };
  const out = [
    compare('queue', 'handoff.p50', 'due → hand-off p50', 'ms', (r) => r.handoff.p50),
    queueHandoff,
    compare('queue', 'fired', 'fires that happened', '%', firedPercent, EVERY_FIRE),
    compare('queue', 'rss', 'RSS growth after registering', 'MB', (r) => r.rssGrowthMb),
  ];

  const schedulerRuns = results.get(keyOf('scheduler', rules)) ?? [];
  const schedulerHandoff = compare('scheduler', 'handoff.p99', 'due → runRule p99', 'ms', (r) => r.handoff.p99, big ? HANDOFF_TARGET : undefined);
  const recorded = compare('scheduler', 'recorded.p99', 'due → run row committed p99', 'ms', (r) => r.recorded?.p99 ?? NaN, big ? RECORDED_TARGET : undefined);
  // The baseline records nothing: the recorded figure stands alone.
  delete recorded.baseline;
  delete recorded.ratio;
  const afterCommit = compare('scheduler', 'afterCommit.p99', 'run rows committed → runRule p99', 'ms', (r) => r.afterCommit?.p99 ?? NaN);
  // The hand-off loop alone, after the tick's transaction: no baseline writes anything first.
  delete afterCommit.baseline;
  delete afterCommit.ratio;
  if (schedulerRuns.length > 0) {
    schedulerHandoff.details = { scheduler: summary(schedulerRuns) };
    recorded.note =
      "the tick's last slots and run rows are committed in one transaction (startRuns) before any run is handed over; runRule takes the row over and finishes it on the next turn of the event loop";
  }
  out.push(
    compare('scheduler', 'handoff.p50', 'due → runRule p50', 'ms', (r) => r.handoff.p50),
    schedulerHandoff,
    recorded,
    afterCommit,
    compare('scheduler', 'fired', 'fires that happened', '%', (r) => (100 * Math.min(r.fired, r.recorded?.count ?? r.fired)) / r.expected, EVERY_FIRE),
    compare('scheduler', 'rss', 'RSS growth after loading and starting', 'MB', (r) => r.rssGrowthMb),
  );
  return out;
}

/** Medians of everything a run reports, for the JSON file. */
function summary(runs: DispatchRunResult[]): Record<string, number | null> {
  const med = (pick: (r: DispatchRunResult) => number | undefined): number | null => {
    const values = runs.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
    return values.length === 0 ? null : round(median(values));
  };
  return {
    runs: runs.length,
    registerMs: med((r) => r.registerMs),
    rssMb: med((r) => r.rssMb),
    rssGrowthMb: med((r) => r.rssGrowthMb),
    heapGrowthMb: med((r) => r.heapGrowthMb),
    peakRssMb: med((r) => r.peakRssMb),
    handoffP50Ms: med((r) => r.handoff.p50),
    handoffP99Ms: med((r) => r.handoff.p99),
    handoffMaxMs: med((r) => r.handoff.max),
    recordedP50Ms: med((r) => r.recorded?.p50),
    recordedP99Ms: med((r) => r.recorded?.p99),
    recordedMaxMs: med((r) => r.recorded?.max),
    afterCommitP50Ms: med((r) => r.afterCommit?.p50),
    afterCommitP99Ms: med((r) => r.afterCommit?.p99),
    cpuPercent: med((r) => r.cpuPercent),
    eventLoopUtilisation: med((r) => r.eventLoopUtilisation),
  };
}

/** Percentiles of no samples arrive as null (NaN does not survive JSON). */
function fixed(value: number | null, digits: number): string {
  return value === null || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}
