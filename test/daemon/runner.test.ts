import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RuleRunner } from '../../src/daemon/runner';
import { RateTracker } from '../../src/engine/conditions';
import { createDaemonMetrics } from '../../src/ops/daemon-metrics';
import { ManualClock } from '../../src/shared/clock';
import { isRulebotError } from '../../src/shared/errors';
import { silentLogger } from '../../src/shared/log';
import { loadRule, startBench, type Bench } from '../engine/harness';

const greeting = loadRule(`
id: greet
trigger: { cron: "0 9 * * *" }
actions:
  - log: { message: "slot {{ trigger.slot }}" }
`);

describe('RuleRunner: a run whose row the scheduler wrote', () => {
  let bench: Bench;
  let runner: RuleRunner;
  beforeEach(async () => {
    const clock = new ManualClock(Date.parse('2026-05-04T01:00:00Z'));
    bench = await startBench({ clock });
    runner = new RuleRunner({
      deps: { api: bench.api, store: bench.store, clock, limiter: bench.limiter, config: bench.config, rates: new RateTracker() },
      logger: silentLogger(),
      metrics: createDaemonMetrics(),
    });
  });
  afterEach(async () => {
    await bench.close();
  });

  const startRow = (): number =>
    bench.store.startRuns([{ ruleId: 'greet', ruleHash: greeting.hash, triggerKind: 'cron', triggerData: { slot: '2026-05-04T01:00:00.000Z' }, slot: Date.parse('2026-05-04T01:00:00Z') }])[0]!;

  it('runs in that row: no second row, its steps under it', async () => {
    const runId = startRow();
    const detail = await runner.run(greeting, { kind: 'cron', data: { slot: '2026-05-04T01:00:00.000Z' }, slot: Date.parse('2026-05-04T01:00:00Z') }, { runId });
    assert.equal(detail.id, runId);
    assert.equal(detail.status, 'ok');
    assert.deepEqual(detail.steps.map((step) => step.kind), ['log']);
    assert.deepEqual(bench.store.listRuns({ ruleId: 'greet' }).map((run) => run.id), [runId]);
  });

  it('refused at shutdown, it ends the row as interrupted rather than leaving it running', async () => {
    const runId = startRow();
    runner.close();
    await assert.rejects(runner.run(greeting, { kind: 'cron', slot: Date.parse('2026-05-04T01:00:00Z') }, { runId }), (err) => isRulebotError(err) && err.code === 'DAEMON_STOPPING');
    const run = bench.store.getRun(runId)!;
    assert.equal(run.status, 'interrupted');
    assert.equal(run.error?.code, 'DAEMON_STOPPING');
  });
});
