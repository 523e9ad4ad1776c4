/**
 * The execution log: the write path of one run as the executor writes it, through
 * RunStore against raw better-sqlite3 doing the same statements and commits on the same
 * schema; and the read path of `rulebot runs` / `rulebot show` over 1,000,000 stored
 * runs, end to end in-process, against the raw indexed queries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Sqlite, { type Database } from 'better-sqlite3';
import { formatRunTimeline, formatRunsTable } from '../src/cli/format';
import { migrate } from '../src/store/migrations';
import { RunStore } from '../src/store/run-store';
import { buildRunLog, ruleIdOf, runWrite, TIMEZONE, type RunWrite } from './store-data';
import { baselineSpread, median, pairedRatio, percentiles, round, roundOrNull, spread } from './lib/stats';
import { makeTempDir, megabytes, progress, removeTempDir } from './lib/system';
import { figure, type BenchOptions, type BenchResult } from './types';

const BENCH = 'store';
const LOG_RUNS = 1_000_000;
const STEPS_EVERY = 50;
/** Distinct runs written in turn, built before timing so both writers only write. */
const RUN_POOL = 256;
/** The store may cost at most half again what the bare statements cost. */
const WRITE_TARGET = { kind: 'ratio-at-most', value: 1.5 } as const;

// === Writing one run ===

/** Writes one run: startRun; per step startStep with its input, setStepFrame, finishStep with its answer; finishRun. */
type RunWriter = { write(run: RunWrite): void; close(): void };

function storeWriter(file: string): RunWriter {
  const store = RunStore.open(file);
  return {
    write(run) {
      const runId = store.startRun(run.start);
      run.steps.forEach((step, index) => {
        const stepId = store.startStep(runId, { seq: index + 1, path: step.path, kind: step.kind, input: step.input, target: step.target });
        store.setStepFrame(stepId, step.frame, step.customMsgId);
        store.finishStep(stepId, { status: 'ok', answer: step.answer, delivery: step.delivery ?? null });
      });
      store.finishRun(runId, { status: 'ok' });
    },
    close: () => store.close(),
  };
}

/**
 * The same statements and commits with nothing around them: the SQL of run-store.ts,
 * the pragmas of db.ts, the schema of migrations.ts, JSON.stringify for the JSON columns.
 */
function rawWriter(file: string): RunWriter {
  const db: Database = new Sqlite(file);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrate(db);
  const insertRun = db.prepare(
    `INSERT INTO runs (rule_id, rule_hash, trigger_kind, trigger_data, slot, started_at, resumed_from, status)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'running')`,
  );
  const finishRun = db.prepare('UPDATE runs SET status = ?, reason = ?, error = ?, conditions = ?, finished_at = ?, duration_ms = ? - started_at WHERE id = ?');
  const insertStep = db.prepare(
    `INSERT INTO steps (run_id, seq, path, kind, input, frame, target, custom_msg_id, started_at, status)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running')`,
  );
  const setStepFrame = db.prepare('UPDATE steps SET frame = ?, custom_msg_id = COALESCE(?, custom_msg_id) WHERE id = ?');
  const finishStep = db.prepare(
    `UPDATE steps SET status = ?, answer = ?, error = ?, delivery = COALESCE(delivery, ?), note = ?, finished_at = ?, duration_ms = ? - started_at
      WHERE id = ?`,
  );
  return {
    write(run) {
      const start = run.start;
      const runId = Number(
        insertRun.run(start.ruleId, start.ruleHash, start.triggerKind, JSON.stringify(start.triggerData), start.slot ?? null, Date.now(), null).lastInsertRowid,
      );
      run.steps.forEach((step, index) => {
        const stepId = Number(insertStep.run(runId, index + 1, step.path, step.kind, JSON.stringify(step.input), null, step.target, null, Date.now()).lastInsertRowid);
        setStepFrame.run(JSON.stringify(step.frame), step.customMsgId ?? null, stepId);
        const at = Date.now();
        finishStep.run('ok', JSON.stringify(step.answer), null, step.delivery ?? null, null, at, at, stepId);
      });
      const at = Date.now();
      finishRun.run('ok', null, null, null, at, at, runId);
    },
    close: () => db.close(),
  };
}

interface WriteRunResult {
  runs: number;
  windowMs: number;
  /** Wall time per run: the mean, and percentiles over every run of the window. */
  usPerRun: number;
  p50Us: number;
  p99Us: number;
  /** Process CPU time per run: on a loaded machine, what the code costs without the waits for a core. */
  cpuUsPerRun: number;
}

function measureWrites(open: (file: string) => RunWriter, dir: string, label: string, warmupMs: number, windowMs: number): WriteRunResult {
  const file = path.join(dir, `${label}.db`);
  const writer = open(file);
  const pool = Array.from({ length: RUN_POOL }, (_, n) => runWrite(n, Date.now() - (Date.now() % 60_000)));
  const samples: number[] = [];
  try {
    let n = 0;
    const warmEnd = performance.now() + warmupMs;
    while (performance.now() < warmEnd) writer.write(pool[n++ % RUN_POOL]!);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + windowMs;
    let now = t0;
    while (now < end) {
      const before = now;
      writer.write(pool[n++ % RUN_POOL]!);
      now = performance.now();
      samples.push((now - before) * 1000);
    }
    const cpu = process.cpuUsage(cpu0);
    const elapsed = now - t0;
    const p = percentiles(samples);
    return {
      runs: samples.length,
      windowMs: elapsed,
      usPerRun: (elapsed * 1000) / samples.length,
      p50Us: p.p50,
      p99Us: p.p99,
      cpuUsPerRun: (cpu.user + cpu.system) / samples.length,
    };
  } finally {
    writer.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
  }
}

async function writePath(reps: number, quick: boolean): Promise<BenchResult[]> {
  const dir = makeTempDir('store-writes');
  const store: WriteRunResult[] = [];
  const raw: WriteRunResult[] = [];
  const windowMs = quick ? 500 : 1500;
  try {
    for (let rep = 0; rep < reps; rep++) {
      const order: Array<['store' | 'raw', (file: string) => RunWriter]> = [
        ['store', storeWriter],
        ['raw', rawWriter],
      ];
      if (rep % 2 === 1) order.reverse();
      for (const [label, open] of order) {
        const result = measureWrites(open, dir, label, 300, windowMs);
        (label === 'store' ? store : raw).push(result);
        progress(
          `${label.padEnd(5)} writes, run ${rep + 1}/${reps}: p50 ${result.p50Us.toFixed(0)} µs per run, ${result.cpuUsPerRun.toFixed(0)} µs CPU, ` +
            `${Math.round((result.runs * 1000) / result.windowMs)} runs/s, p99 ${result.p99Us.toFixed(0)} µs`,
        );
        // Yield between runs, so the progress line goes out before the next window.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    removeTempDir(dir);
  }
  const baselineLabel = 'raw better-sqlite3, same statements and commits';
  const writeFigure = (id: string, label: string, pick: (r: WriteRunResult) => number, withTarget: boolean): BenchResult =>
    figure({
      bench: BENCH,
      id: `${BENCH}.write.${id}`,
      figure: `RunStore: one run of 3 steps (11 commits), ${label}`,
      unit: 'µs',
      ...spread(store.map(pick)),
      baseline: { label: baselineLabel, ...baselineSpread(raw.map(pick)) },
      ratio: roundOrNull(pairedRatio(store.map(pick), raw.map(pick))),
      ...(withTarget && { target: WRITE_TARGET }),
    });
  const runsPerSecond = (r: WriteRunResult): number => (r.runs * 1000) / r.windowMs;
  const p50 = writeFigure('p50', 'p50 wall time', (r) => r.p50Us, true);
  p50.details = {
    runsPerSecond: round(median(store.map(runsPerSecond))),
    rawRunsPerSecond: round(median(raw.map(runsPerSecond))),
    meanUs: round(median(store.map((r) => r.usPerRun))),
    rawMeanUs: round(median(raw.map((r) => r.usPerRun))),
    windowMs,
  };
  return [p50, writeFigure('cpu', 'CPU time', (r) => r.cpuUsPerRun, true), writeFigure('p99', 'p99 wall time', (r) => r.p99Us, false)];
}

// === Reading a million runs ===

interface ReadRound {
  runsP50: number;
  runsP99: number;
  showP50: number;
  showP99: number;
  rawListP50: number;
  rawListP99: number;
  rawShowP50: number;
  rawShowP99: number;
  openP50: number;
  listP50: number;
  tableP50: number;
  getRunP50: number;
  timelineP50: number;
}

function timeEach(iterations: number, body: (i: number) => void): { p50: number; p99: number } {
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    body(i);
    samples[i] = performance.now() - t0;
  }
  const p = percentiles(samples);
  return { p50: p.p50, p99: p.p99 };
}

/** A rule per iteration, spread over the 1,000 so no rule's pages stay hotter than another's. */
function ruleFor(i: number): string {
  return ruleIdOf((i * 389) % 1000);
}

function runIdFor(i: number, runs: number): number {
  return STEPS_EVERY * (1 + ((i * 7_919) % Math.floor(runs / STEPS_EVERY)));
}

function readRound(file: string, runs: number, iterations: number, rawIterations: number, offset: number): ReadRound {
  // End to end, as the CLI does it: open read-only, one query, the table or timeline, close.
  const e2eRuns = timeEach(iterations, (i) => {
    const store = RunStore.open(file, { readonly: true });
    try {
      formatRunsTable(store.listRuns({ ruleId: ruleFor(offset + i), limit: 50 }), TIMEZONE);
    } finally {
      store.close();
    }
  });
  const e2eShow = timeEach(iterations, (i) => {
    const store = RunStore.open(file, { readonly: true });
    try {
      const run = store.getRun(runIdFor(offset + i, runs));
      if (!run || run.steps.length !== 3) throw new Error(`run ${runIdFor(offset + i, runs)} should have 3 steps`);
      formatRunTimeline(run, { timezone: TIMEZONE });
    } finally {
      store.close();
    }
  });

  // Where the time goes: each part on its own.
  const open = timeEach(iterations, () => RunStore.open(file, { readonly: true }).close());
  const store = RunStore.open(file, { readonly: true });
  const raw = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    const list = timeEach(iterations, (i) => store.listRuns({ ruleId: ruleFor(offset + i), limit: 50 }));
    const sample = store.listRuns({ ruleId: ruleFor(offset), limit: 50 });
    const table = timeEach(iterations, () => formatRunsTable(sample, TIMEZONE));
    const getRun = timeEach(iterations, (i) => store.getRun(runIdFor(offset + i, runs)));
    const detail = store.getRun(runIdFor(offset, runs))!;
    const timeline = timeEach(iterations, () => formatRunTimeline(detail, { timezone: TIMEZONE }));

    // The raw indexed queries on an open connection (BASELINES.md §3, Q1).
    const lastOfRule = raw.prepare('SELECT * FROM runs WHERE rule_id = ? ORDER BY started_at DESC LIMIT 50');
    const runById = raw.prepare('SELECT * FROM runs WHERE id = ?');
    const stepsOfRun = raw.prepare('SELECT * FROM steps WHERE run_id = ? ORDER BY seq');
    const rawList = timeEach(rawIterations, (i) => lastOfRule.all(ruleFor(offset + i)));
    const rawShow = timeEach(rawIterations, (i) => {
      const id = runIdFor(offset + i, runs);
      runById.get(id);
      stepsOfRun.all(id);
    });
    return {
      runsP50: e2eRuns.p50,
      runsP99: e2eRuns.p99,
      showP50: e2eShow.p50,
      showP99: e2eShow.p99,
      rawListP50: rawList.p50,
      rawListP99: rawList.p99,
      rawShowP50: rawShow.p50,
      rawShowP99: rawShow.p99,
      openP50: open.p50,
      listP50: list.p50,
      tableP50: table.p50,
      getRunP50: getRun.p50,
      timelineP50: timeline.p50,
    };
  } finally {
    store.close();
    raw.close();
  }
}

function queryPlan(file: string): string[] {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[string], { detail: string }>('EXPLAIN QUERY PLAN SELECT * FROM runs WHERE rule_id = ? ORDER BY started_at DESC LIMIT 50')
      .all('rule-0001')
      .map((row) => row.detail);
  } finally {
    db.close();
  }
}

async function readPath(reps: number, quick: boolean): Promise<BenchResult[]> {
  const dir = makeTempDir('store-reads');
  const file = path.join(dir, 'rulebot.db');
  const runs = quick ? 100_000 : LOG_RUNS;
  try {
    progress(`building a log of ${runs.toLocaleString('en-US')} runs (1 in ${STEPS_EVERY} with 3 steps)...`);
    const t0 = performance.now();
    buildRunLog(file, runs, STEPS_EVERY, Date.now());
    const buildMs = performance.now() - t0;
    const fileMb = megabytes(fs.statSync(file).size);
    progress(`built in ${(buildMs / 1000).toFixed(1)} s: ${fileMb.toFixed(0)} MB`);
    const plan = queryPlan(file);

    const rounds: ReadRound[] = [];
    const iterations = quick ? 50 : 200;
    const rawIterations = quick ? 500 : 2000;
    // Warm the page cache and the statement paths once, unmeasured.
    readRound(file, runs, 20, 100, 999);
    for (let rep = 0; rep < reps; rep++) {
      const round = readRound(file, runs, iterations, rawIterations, rep * iterations);
      rounds.push(round);
      progress(
        `reads, run ${rep + 1}/${reps}: runs p50 ${round.runsP50.toFixed(2)} / p99 ${round.runsP99.toFixed(2)} ms, ` +
          `show p50 ${round.showP50.toFixed(2)} / p99 ${round.showP99.toFixed(2)} ms, raw query p50 ${(round.rawListP50 * 1000).toFixed(0)} µs`,
      );
    }
    const pick = (key: keyof ReadRound): number[] => rounds.map((r) => r[key]);
    const scale = runs % 1_000_000 === 0 ? `${runs / 1_000_000}M` : runs.toLocaleString('en-US');
    const details = {
      runs,
      stepsEvery: STEPS_EVERY,
      buildSeconds: round(buildMs / 1000),
      fileMb: round(fileMb),
      rawQueryPlan: plan,
      iterationsPerRound: iterations,
      medianMs: {
        openReadOnlyAndClose: round(median(pick('openP50'))),
        listRuns50: round(median(pick('listP50'))),
        formatRunsTable: round(median(pick('tableP50'))),
        getRun: round(median(pick('getRunP50'))),
        formatRunTimeline: round(median(pick('timelineP50'))),
      },
    };
    const readFigure = (
      id: string,
      label: string,
      key: keyof ReadRound,
      baselineKey: keyof ReadRound,
      baselineLabel: string,
      withTarget: boolean,
    ): BenchResult =>
      figure({
        bench: BENCH,
        id: `${BENCH}.${id}`,
        figure: label,
        unit: 'ms',
        ...spread(pick(key)),
        baseline: { label: baselineLabel, ...baselineSpread(pick(baselineKey)) },
        ratio: roundOrNull(pairedRatio(pick(key), pick(baselineKey))),
        ...(withTarget && { target: { kind: 'below', value: 20 } as const }),
      });
    const listFigure = readFigure('runs.p50', `\`runs --rule X\` over ${scale} runs, end to end, p50`, 'runsP50', 'rawListP50', 'raw indexed query on an open connection', true);
    listFigure.details = details;
    const parts = details.medianMs;
    listFigure.note =
      `p50 of the parts: open read-only + close ${parts.openReadOnlyAndClose} ms, listRuns ${parts.listRuns50} ms, ` +
      `formatRunsTable ${parts.formatRunsTable} ms; show: getRun ${parts.getRun} ms, formatRunTimeline ${parts.formatRunTimeline} ms`;
    return [
      listFigure,
      readFigure('runs.p99', `\`runs --rule X\` over ${scale} runs, end to end, p99`, 'runsP99', 'rawListP99', 'raw indexed query on an open connection', true),
      readFigure('show.p50', `\`show <run>\` over ${scale} runs, end to end, p50`, 'showP50', 'rawShowP50', 'raw run + steps queries on an open connection', true),
      readFigure('show.p99', `\`show <run>\` over ${scale} runs, end to end, p99`, 'showP99', 'rawShowP99', 'raw run + steps queries on an open connection', true),
    ];
  } finally {
    removeTempDir(dir);
  }
}

export async function run(options: BenchOptions = {}): Promise<BenchResult[]> {
  const quick = options.quick === true;
  // Short write windows, more of them: paired rounds keep a loaded machine's drift out of the ratio.
  const writeReps = options.reps ?? (quick ? 1 : 5);
  const readReps = options.reps ?? (quick ? 1 : 3);
  return [...(await writePath(writeReps, quick)), ...(await readPath(readReps, quick))];
}
