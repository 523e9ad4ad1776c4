/**
 * Fixtures for the scheduler and dispatch tests: a real RunStore on a temp SQLite file,
 * rules loaded from YAML text, and a runner that records every call and can hold a run
 * open until the test lets it finish.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { loadRuleText, type LoadedRule } from '../../src/rules/load';
import type { EngineLogger } from '../../src/engine/scheduler';
import type { Clock } from '../../src/shared/clock';
import { RunStore } from '../../src/store/run-store';
import type { RunRecord } from '../../src/store/types';

const tempDirs: string[] = [];
const stores: RunStore[] = [];

after(() => {
  for (const store of stores) store.close();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh execution log in a temp folder; `file` lets a second store open the same one. */
export function tempStore(clock: Clock, file?: string): { store: RunStore; file: string } {
  let target = file;
  if (target === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-triggers-'));
    tempDirs.push(dir);
    target = path.join(dir, 'rulebot.db');
  }
  const store = RunStore.open(target, { clock });
  stores.push(store);
  return { store, file: target };
}

/** Loads rules from YAML text, failing the test on any problem. */
export function rules(text: string): LoadedRule[] {
  const result = loadRuleText('rules.yaml', text);
  assert.deepEqual(result.problems.map((problem) => `${problem.line}:${problem.col} ${problem.message}`), []);
  return result.rules;
}

/** One rule from YAML text. */
export function rule(text: string): LoadedRule {
  const [loaded] = rules(text);
  assert.ok(loaded);
  return loaded;
}

/** A copy of a loaded rule under another id (for thousands of rules without thousands of documents). */
export function withId(loaded: LoadedRule, id: string): LoadedRule {
  return { ...loaded, rule: { ...loaded.rule, id }, hash: `${loaded.hash}:${id}` };
}

/** A logger that writes nothing. */
export const quietLogger: EngineLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface RunnerCall<T> {
  ruleId: string;
  trigger: T;
  /** The run row: the one the scheduler wrote for it, or the one the runner wrote, as the executor would. */
  runId: number;
  /** True when the caller handed over a row it had written. */
  preStarted: boolean;
  /** Lets a held run finish. */
  release(): void;
}

/**
 * A runner that records its calls. Each call writes a `running` row (as the executor
 * does, unless `writeRuns` is off) or takes the one it is given (the scheduler's), and
 * finishes it `ok` at once, or, while `hold` is on, when the test releases it.
 */
export class RecordingRunner<T extends { kind: string; data?: unknown; slot?: number }> {
  readonly calls: Array<RunnerCall<T>> = [];
  hold = false;
  readonly #store: RunStore;
  readonly #writeRuns: boolean;

  constructor(store: RunStore, options: { writeRuns?: boolean } = {}) {
    this.#store = store;
    this.#writeRuns = options.writeRuns ?? true;
  }

  readonly run = (loaded: LoadedRule, trigger: T, startedRunId?: number): Promise<unknown> => {
    const runId =
      startedRunId ??
      (this.#writeRuns
        ? this.#store.startRun({
            ruleId: loaded.rule.id,
            ruleHash: loaded.hash,
            triggerKind: trigger.kind as RunRecord['triggerKind'],
            triggerData: trigger.data,
            slot: trigger.slot ?? null,
          })
        : 0);
    let release!: () => void;
    const finished = new Promise<void>((resolve) => (release = resolve)).then(() => {
      if (this.#writeRuns) this.#store.finishRun(runId, { status: 'ok' });
    });
    this.calls.push({ ruleId: loaded.rule.id, trigger, runId, preStarted: startedRunId !== undefined, release });
    if (!this.hold) release();
    return finished;
  };

  /** The calls of one rule. */
  of(ruleId: string): Array<RunnerCall<T>> {
    return this.calls.filter((call) => call.ruleId === ruleId);
  }

  /** Lets every held run finish, then waits for the gates to see them end. */
  async releaseAll(): Promise<void> {
    for (const call of this.calls) call.release();
    await settle();
  }
}

/** Lets promise callbacks (run endings, gate bookkeeping) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** The runs of a rule with a status, oldest first. */
export function runsOf(store: RunStore, ruleId: string, status?: RunRecord['status']): RunRecord[] {
  return store.listRuns({ ruleId, ...(status && { status }), limit: 100_000 }).reverse();
}

export const iso = (instant: number): string => new Date(instant).toISOString();
