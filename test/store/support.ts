// Shared set-up for the store tests: a temp folder per test, removed afterwards, and
// stores that close themselves.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { ManualClock } from '../../src/shared/clock';
import { RunStore, type RunStart, type RunStoreOptions } from '../../src/store';

/** 2025-01-06T01:00:00Z, a Monday: where manual clocks start. */
export const T0 = Date.UTC(2025, 0, 6, 1, 0, 0);

/** A fresh temp folder, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A database path in a fresh temp folder, inside a folder that does not exist yet. */
export function tempDbFile(t: TestContext): string {
  return path.join(tempDir(t), 'data', 'rulebot.db');
}

/** Opens a store that is closed when the test ends. */
export function openStore(t: TestContext, file: string, options: RunStoreOptions = {}): RunStore {
  const store = RunStore.open(file, options);
  t.after(() => store.close());
  return store;
}

/** A fresh store on a manual clock in its own temp folder. */
export function freshStore(t: TestContext): { store: RunStore; clock: ManualClock; file: string } {
  const file = tempDbFile(t);
  const clock = new ManualClock(T0);
  return { store: openStore(t, file, { clock }), clock, file };
}

/** A cron run of `ruleId`, as the scheduler would start it. */
export function cronRun(ruleId: string, slot: number = T0): RunStart {
  return { ruleId, ruleHash: `sha256:${ruleId}`, triggerKind: 'cron', triggerData: { slot }, slot };
}
