/**
 * Rules at scale: validating and loading 10,000 generated rules of every kind against
 * plain `yaml` parsing of the same files; the daemon's start to `ready` with 1,000 rules
 * against the same daemon with none; memory with 10,000 rules loaded.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { RulesLoadResult } from './children/rules-load';
import { probeDaemon, type DaemonProbe } from './daemon-probe';
import { writeRules } from './rule-gen';
import { baselineSpread, pairedRatio, roundOrNull, spread } from './lib/stats';
import { childScript, makeTempDir, progress, removeTempDir, runChild } from './lib/system';
import { figure, notMeasured, type BenchOptions, type BenchResult, type Target } from './types';

const BENCH = 'rules';
const MANY = 10_000;
const STARTUP = 1000;
const MEMORY_TARGET: Target = { kind: 'below', value: 150 };

export async function run(options: BenchOptions = {}): Promise<BenchResult[]> {
  const quick = options.quick === true;
  // Loading 10,000 rules takes seconds per run, three kinds of run per round: two rounds keep the whole bench within minutes.
  const reps = options.reps ?? (quick ? 1 : 2);
  const dir = makeTempDir('rules');
  try {
    const many = path.join(dir, `rules-${MANY}`);
    const some = path.join(dir, `rules-${STARTUP}`);
    const none = path.join(dir, 'rules-0');
    writeRules(many, MANY);
    writeRules(some, STARTUP);
    fs.mkdirSync(none);
    return [...(await loading(many, reps)), ...(await daemon(dir, { none, some, many }, reps))];
  } finally {
    removeTempDir(dir);
  }
}

// === validateSources / loadRules ===

async function loading(dir: string, reps: number): Promise<BenchResult[]> {
  // validateSources is loadRules plus a summary of what passed: timing both would only
  // repeat the same work. The daemon's own start (below) covers loadRules in place.
  const runs: Record<'yaml' | 'validate', RulesLoadResult[]> = { yaml: [], validate: [] };
  const modes = ['yaml', 'validate'] as const;
  for (let rep = 0; rep < reps; rep++) {
    for (const mode of rep % 2 === 0 ? modes : [...modes].reverse()) {
      const result = await runChild<RulesLoadResult>(childScript('rules-load'), [mode, dir], { execArgv: ['--expose-gc'], timeoutMs: 180_000 });
      runs[mode].push(result);
      progress(
        `${mode.padEnd(8)} ${MANY} rules, run ${rep + 1}/${reps}: ${result.ms.toFixed(0)} ms, RSS ${result.rssMb.toFixed(0)} MB (+${result.rssGrowthMb.toFixed(0)}), ` +
          `${result.rules} rules, ${result.problems} problems${result.firstProblem ? ` (${result.firstProblem})` : ''}`,
      );
    }
  }
  const yamlMs = runs.yaml.map((r) => r.ms);
  const validateMs = runs.validate.map((r) => r.ms);
  const bad = runs.validate.find((r) => r.problems > 0 || r.rules !== MANY);
  const rss = runs.validate.map((r) => r.rssMb);
  const yamlRss = runs.yaml.map((r) => r.rssMb);
  const baselineLabel = 'plain yaml parsing of the same files';
  return [
    figure({
      bench: BENCH,
      id: `${BENCH}.validate.${MANY}`,
      figure: `validateSources (loadRules + report): ${MANY.toLocaleString('en-US')} rules`,
      unit: 'ms',
      ...spread(validateMs),
      baseline: { label: baselineLabel, ...baselineSpread(yamlMs) },
      ratio: roundOrNull(pairedRatio(validateMs, yamlMs)),
      ...(bad && { note: `${bad.rules} of ${MANY} generated rules passed, ${bad.problems} problems, first: ${bad.firstProblem ?? '-'}` }),
      details: {
        rssGrowthMb: spread(runs.validate.map((r) => r.rssGrowthMb)).value,
        heapGrowthMb: spread(runs.validate.map((r) => r.heapGrowthMb)).value,
        yamlHeapGrowthMb: spread(runs.yaml.map((r) => r.heapGrowthMb)).value,
      },
    }),
    figure({
      bench: BENCH,
      id: `${BENCH}.validate.rss.${MANY}`,
      figure: `RSS with ${MANY.toLocaleString('en-US')} rules loaded (validateSources, bare process)`,
      unit: 'MB',
      ...spread(rss),
      baseline: { label: baselineLabel, ...baselineSpread(yamlRss) },
      ratio: roundOrNull(pairedRatio(rss, yamlRss)),
      target: MEMORY_TARGET,
    }),
  ];
}

// === The daemon ===

async function daemon(dir: string, rules: { none: string; some: string; many: string }, reps: number): Promise<BenchResult[]> {
  const readyFigure = {
    bench: BENCH,
    id: `${BENCH}.daemon.ready.${STARTUP}`,
    figure: `daemon start → ready, ${STARTUP.toLocaleString('en-US')} rules`,
    unit: 'ms',
  };
  const rssFigure = {
    bench: BENCH,
    id: `${BENCH}.daemon.rss.${MANY}`,
    figure: `daemon RSS with ${MANY.toLocaleString('en-US')} rules loaded`,
    unit: 'MB',
    target: MEMORY_TARGET,
  };

  // First find out whether this build's daemon loads rules at all.
  let first: DaemonProbe;
  try {
    first = await probeDaemon(dir, rules.some, 300);
  } catch (err) {
    const why = `the daemon did not start: ${err instanceof Error ? err.message : String(err)}`;
    return [notMeasured(readyFigure, why), notMeasured(rssFigure, why)];
  }
  progress(`daemon with ${STARTUP} rules: ready in ${first.readyMs.toFixed(0)} ms, rules reported: ${first.rulesReported ?? 'none'}${first.reportedBy ? ` (${first.reportedBy})` : ''}`);
  if (first.rulesReported === null) {
    const why = `the daemon got ready in ${first.readyMs.toFixed(0)} ms but reports no rules loaded (no /healthz count, no rule count in its log): src/daemon does not load rules yet`;
    return [{ ...notMeasured(readyFigure, why), details: { readyMsWithoutRules: Math.round(first.readyMs) } }, notMeasured(rssFigure, why)];
  }

  const withRules: DaemonProbe[] = [];
  const without: DaemonProbe[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const order: Array<[string, DaemonProbe[]]> = [
      [rules.some, withRules],
      [rules.none, without],
    ];
    for (const [folder, into] of rep % 2 === 0 ? order : [...order].reverse()) {
      const probe = await probeDaemon(dir, folder, 300);
      into.push(probe);
      progress(`daemon with ${folder === rules.some ? STARTUP : 0} rules, run ${rep + 1}/${reps}: ready in ${probe.readyMs.toFixed(0)} ms, RSS ${probe.rssMb?.toFixed(0) ?? '?'} MB`);
    }
  }
  const readyMs = withRules.map((p) => p.readyMs);
  const baseReadyMs = without.map((p) => p.readyMs);
  const results: BenchResult[] = [
    figure({
      ...readyFigure,
      ...spread(readyMs),
      baseline: { label: 'the same daemon with no rules', ...baselineSpread(baseReadyMs) },
      ratio: roundOrNull(pairedRatio(readyMs, baseReadyMs)),
      details: { rulesReported: withRules.map((p) => p.rulesReported), reportedBy: first.reportedBy },
    }),
  ];

  // One start: loading 10,000 rules is the slow part, and RSS varies little between starts.
  const big: DaemonProbe[] = [];
  const probe = await probeDaemon(dir, rules.many, 1000);
  big.push(probe);
  progress(`daemon with ${MANY} rules: ready in ${probe.readyMs.toFixed(0)} ms, RSS ${probe.rssMb?.toFixed(0) ?? '?'} MB, rules reported: ${probe.rulesReported ?? 'none'}`);
  const rss = big.map((p) => p.rssMb).filter((v): v is number => v !== null);
  const baseRss = without.map((p) => p.rssMb).filter((v): v is number => v !== null);
  if (rss.length === 0) {
    results.push(notMeasured(rssFigure, 'the daemon’s RSS could not be read from /proc'));
  } else {
    const fewer = big.find((p) => p.rulesReported !== null && p.rulesReported < MANY);
    results.push(
      figure({
        ...rssFigure,
        ...spread(rss),
        baseline: { label: 'the same daemon with no rules', ...baselineSpread(baseRss) },
        ratio: roundOrNull(pairedRatio(rss, baseRss)),
        ...(fewer && { note: `the daemon reported ${fewer.rulesReported} rules (${fewer.reportedBy}), not ${MANY}` }),
        details: { readyMs: spread(big.map((p) => p.readyMs)).value },
      }),
    );
  }
  return results;
}
