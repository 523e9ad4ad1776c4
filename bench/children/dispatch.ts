/**
 * One dispatch run in a fresh process started with --expose-gc (BASELINES.md §4,
 * `cron-one.js`): registers N rules that are all due in the same second, skips the
 * first bursts, then records every fire of the next ones.
 *
 *   node --expose-gc dispatch.js <queue|wheel|scheduler> <rules> <periodSeconds> <warmBursts> <measuredBursts> [dbDir]
 *
 * - queue: rulebot's TimerQueue over schedules from compileSchedule (shared per
 *   expression and zone); each due entry is handed to its rule's callback, which queues
 *   the rule's next fire.
 * - wheel: the baseline, BASELINES.md's `wheel-memo` written inline: one setTimeout over
 *   a binary min-heap of buckets (one per due millisecond), the next due time computed
 *   once per distinct schedule per tick.
 * - scheduler: rulebot's Scheduler with a RunStore in `dbDir` and a pino logger to
 *   /dev/null, as the daemon runs it: the tick's last slots and the `running` rows of all
 *   its runs are committed in one transaction, then each run is handed to runRule with
 *   its run id. runRule takes the row over, as the executor does, and finishes it (its
 *   own commit) on the next turn of the event loop.
 *
 * Lateness is measured with the sub-millisecond wall clock from the due instant to the
 * hand-off (the rule's callback / runRule entered) and, for the scheduler, to the run's
 * row committed: the moment the tick's first run is handed over, since the scheduler
 * hands none over before the tick's transaction has committed.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Scheduler, type ScheduledTrigger } from '../../src/engine/scheduler';
import { loadRuleText, type LoadedRule } from '../../src/rules/load';
import { compileSchedule, TimerQueue, type CompiledSchedule } from '../../src/schedule';
import { systemClock } from '../../src/shared/clock';
import { createLogger } from '../../src/shared/log';
import { RunStore } from '../../src/store/run-store';
import { percentiles, type Percentiles } from '../lib/stats';
import { childMain, collectGarbage, megabytes, sleep, wallNow } from '../lib/system';

export type DispatchImpl = 'queue' | 'wheel' | 'scheduler';

export interface DispatchRunResult {
  impl: DispatchImpl;
  rules: number;
  registerMs: number;
  /** RSS after registration, and its growth from before (both after gc), MB. */
  rssMb: number;
  rssGrowthMb: number;
  heapGrowthMb: number;
  /** Highest RSS of the process, MB. */
  peakRssMb: number;
  expected: number;
  fired: number;
  handoff: Percentiles;
  /** Due instant to the run's row committed (scheduler only). */
  recorded: Percentiles | null;
  /** The tick's rows committed to runRule entered: the hand-off loop itself (scheduler only). */
  afterCommit: Percentiles | null;
  cpuPercent: number;
  eventLoopUtilisation: number;
}

/** Time zones the rules are spread over: distinct schedules that all fire in the same second. */
const ZONES = ['Asia/Shanghai', 'UTC', 'Europe/Berlin', 'America/New_York'];

/** Records the lateness of every fire whose due instant falls in the measured bursts. */
class Recorder {
  readonly handoff: Float64Array;
  readonly recorded: Float64Array;
  readonly afterCommit: Float64Array;
  afterCommitCount = 0;
  handoffCount = 0;
  recordedCount = 0;
  readonly #from: number;
  readonly #to: number;

  constructor(capacity: number, from: number, to: number) {
    this.handoff = new Float64Array(capacity);
    this.recorded = new Float64Array(capacity);
    this.afterCommit = new Float64Array(capacity);
    this.#from = from;
    this.#to = to;
  }

  measured(due: number): boolean {
    return due >= this.#from && due <= this.#to;
  }

  handedOff(due: number): void {
    if (this.measured(due) && this.handoffCount < this.handoff.length) this.handoff[this.handoffCount++] = wallNow() - due;
  }

  committed(due: number): void {
    this.committedAt(due, wallNow());
  }

  committedAt(due: number, at: number): void {
    if (this.measured(due) && this.recordedCount < this.recorded.length) this.recorded[this.recordedCount++] = at - due;
  }

  handedOffAfter(due: number, committedAt: number): void {
    if (this.measured(due) && this.afterCommitCount < this.afterCommit.length) this.afterCommit[this.afterCommitCount++] = wallNow() - committedAt;
  }
}

interface Harness {
  /** Arms the rules; nothing may fire before the first burst after registration. */
  register(recorder: Recorder): void;
  stop(): void;
}

function expressionFor(periodSeconds: number): string {
  return periodSeconds === 1 ? '* * * * * *' : `*/${periodSeconds} * * * * *`;
}

// === rulebot's TimerQueue ===

function queueHarness(rules: number, periodSeconds: number): Harness {
  interface Job {
    readonly id: number;
    readonly schedule: CompiledSchedule;
  }
  let queue: TimerQueue<Job> | undefined;
  return {
    register(recorder) {
      const jobs: Job[] = [];
      for (let i = 0; i < rules; i++) {
        jobs.push({ id: i, schedule: compileSchedule({ cron: expressionFor(periodSeconds), timezone: ZONES[i % ZONES.length]! }) });
      }
      const q = new TimerQueue<Job>({
        clock: systemClock,
        onDue: (batch) => {
          for (let i = 0; i < batch.entries.length; i++) {
            const job = batch.entries[i]!;
            const due = batch.dues[i]!;
            recorder.handedOff(due);
            const next = job.schedule.nextAfter(due);
            if (next !== null) q.add(next, job);
          }
        },
      });
      const now = Date.now();
      for (const job of jobs) q.add(job.schedule.nextAfter(now)!, job);
      queue = q;
    },
    stop: () => queue?.stop(),
  };
}

// === The baseline: a bare heap timer (BASELINES.md wheel-memo) ===

function wheelHarness(rules: number, periodSeconds: number): Harness {
  interface Bucket {
    due: number;
    jobs: number[];
  }
  const heap: Bucket[] = [];
  const byDue = new Map<number, Bucket>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const scheduleOf: CompiledSchedule[] = [];

  const push = (bucket: Bucket): void => {
    let i = heap.length;
    heap.push(bucket);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.due <= bucket.due) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = bucket;
  };
  const pop = (): Bucket => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]!.due < heap[left]!.due ? right : left;
        if (heap[child]!.due >= last.due) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  };
  const insert = (due: number, job: number): void => {
    let bucket = byDue.get(due);
    if (!bucket) {
      bucket = { due, jobs: [] };
      byDue.set(due, bucket);
      push(bucket);
    }
    bucket.jobs.push(job);
  };
  const arm = (): void => {
    if (stopped || heap.length === 0) return;
    timer = setTimeout(tick, Math.max(0, heap[0]!.due - Date.now()));
  };
  let recorder: Recorder;
  const tick = (): void => {
    const now = Date.now();
    // The next due of each distinct schedule, computed once per tick.
    const next = new Map<CompiledSchedule, number | null>();
    while (heap.length > 0 && heap[0]!.due <= now) {
      const bucket = pop();
      byDue.delete(bucket.due);
      for (const job of bucket.jobs) {
        recorder.handedOff(bucket.due);
        const schedule = scheduleOf[job]!;
        let due = next.get(schedule);
        if (due === undefined) {
          due = schedule.nextAfter(bucket.due);
          next.set(schedule, due);
        }
        if (due !== null) insert(due, job);
      }
    }
    arm();
  };
  return {
    register(r) {
      recorder = r;
      const now = Date.now();
      const first = new Map<CompiledSchedule, number | null>();
      for (let i = 0; i < rules; i++) {
        const schedule = compileSchedule({ cron: expressionFor(periodSeconds), timezone: ZONES[i % ZONES.length]! });
        scheduleOf.push(schedule);
        let due = first.get(schedule);
        if (due === undefined) {
          due = schedule.nextAfter(now);
          first.set(schedule, due);
        }
        if (due !== null) insert(due, i);
      }
      arm();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

// === rulebot's Scheduler with a store ===

function templateRules(periodSeconds: number): LoadedRule[] {
  return ZONES.map((zone, index) => {
    const text = `id: template-${index}\ntrigger:\n  cron: { expr: "${expressionFor(periodSeconds)}", timezone: ${zone} }\nactions:\n  - log: { message: "slot {{ trigger.slot }}" }\n`;
    const loaded = loadRuleText(`template-${index}.yaml`, text);
    if (loaded.rules.length !== 1) throw new Error(`the template rule does not load: ${JSON.stringify(loaded.problems)}`);
    return loaded.rules[0]!;
  });
}

function schedulerHarness(rules: number, periodSeconds: number, dbDir: string): Harness {
  const store = RunStore.open(path.join(dbDir, 'rulebot.db'));
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: true }) });
  const templates = templateRules(periodSeconds);
  const loaded: LoadedRule[] = [];
  for (let i = 0; i < rules; i++) {
    const template = templates[i % templates.length]!;
    loaded.push({ ...template, rule: { ...template.rule, id: `rule-${i}` }, hash: template.hash.slice(0, 56) + i.toString(16).padStart(8, '0') });
  }
  let scheduler: Scheduler | undefined;
  // When the tick being handed over had committed; cleared once its hand-off loop ends.
  let tickCommittedAt: number | null = null;
  const endOfHandOff = (): void => {
    tickCommittedAt = null;
  };
  return {
    register(recorder) {
      scheduler = new Scheduler({
        clock: systemClock,
        store,
        logger,
        defaultTimezone: 'Asia/Shanghai',
        runRule: (rule: LoadedRule, trigger: ScheduledTrigger, startedRunId?: number) => {
          recorder.handedOff(trigger.slot);
          let runId: number;
          if (startedRunId !== undefined) {
            if (tickCommittedAt === null) {
              tickCommittedAt = wallNow();
              queueMicrotask(endOfHandOff);
            }
            recorder.committedAt(trigger.slot, tickCommittedAt);
            recorder.handedOffAfter(trigger.slot, tickCommittedAt);
            runId = startedRunId;
          } else {
            // A fire that waited its turn has no row yet (none wait here: runs end before the next burst).
            runId = store.startRun({ ruleId: rule.rule.id, ruleHash: rule.hash, triggerKind: trigger.kind, triggerData: trigger.data, slot: trigger.slot });
            recorder.committed(trigger.slot);
          }
          return new Promise<void>((resolve) =>
            setImmediate(() => {
              store.finishRun(runId, { status: 'ok' });
              resolve();
            }),
          );
        },
      });
      scheduler.load(loaded);
      scheduler.start();
    },
    stop() {
      scheduler?.stop();
      store.close();
    },
  };
}

// === The run ===

async function main(args: string[]): Promise<DispatchRunResult> {
  const [impl, rulesText, periodText, warmText, measuredText, dbDir] = args;
  if (impl !== 'queue' && impl !== 'wheel' && impl !== 'scheduler') throw new Error(`unknown implementation ${String(impl)}`);
  const rules = Number(rulesText);
  const periodMs = Number(periodText) * 1000;
  const warm = Number(warmText);
  const measured = Number(measuredText);
  if (impl === 'scheduler' && !dbDir) throw new Error('the scheduler needs a folder for its database');

  const harness =
    impl === 'queue' ? queueHarness(rules, periodMs / 1000) : impl === 'wheel' ? wheelHarness(rules, periodMs / 1000) : schedulerHarness(rules, periodMs / 1000, dbDir!);

  collectGarbage();
  const before = process.memoryUsage();
  // Register 50 ms after a burst boundary, so the first burst is ~950 ms away.
  const boundary = Math.ceil(Date.now() / periodMs) * periodMs;
  await sleep(boundary + 50 - Date.now());
  const firstBurst = boundary + periodMs;
  const from = firstBurst + warm * periodMs;
  const to = from + (measured - 1) * periodMs;
  const recorder = new Recorder(rules * measured, from, to);

  const t0 = performance.now();
  harness.register(recorder);
  const registerMs = performance.now() - t0;
  collectGarbage();
  const after = process.memoryUsage();
  if (Date.now() >= firstBurst) throw new Error(`registering took ${Math.round(registerMs)} ms: past the first burst`);

  // Measure CPU and the event loop from just before the first measured burst.
  await sleep(from - 200 - Date.now());
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const w0 = performance.now();
  const expected = rules * measured;
  // A scheduler that falls behind still gets to finish the burst: lateness is the figure.
  const deadline = to + (impl === 'scheduler' ? 30_000 : 2000);
  while ((recorder.handoffCount < expected || (impl === 'scheduler' && recorder.recordedCount < expected)) && Date.now() < deadline) await sleep(50);
  if (Date.now() < to + 100) await sleep(to + 100 - Date.now());
  const wallMs = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  harness.stop();

  return {
    impl,
    rules,
    registerMs,
    rssMb: megabytes(after.rss),
    rssGrowthMb: megabytes(after.rss - before.rss),
    heapGrowthMb: megabytes(after.heapUsed - before.heapUsed),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    expected,
    fired: recorder.handoffCount,
    handoff: percentiles(recorder.handoff, recorder.handoffCount),
    recorded: impl === 'scheduler' ? percentiles(recorder.recorded, recorder.recordedCount) : null,
    afterCommit: impl === 'scheduler' ? percentiles(recorder.afterCommit, recorder.afterCommitCount) : null,
    cpuPercent: (((cpu.user + cpu.system) / 1000) / wallMs) * 100,
    eventLoopUtilisation: elu.utilization,
  };
}

childMain(main);
