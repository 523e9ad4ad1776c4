import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { RunResumer } from '../../src/daemon/resume';
import { RuleRunner } from '../../src/daemon/runner';
import { RateTracker } from '../../src/engine/conditions';
import { concurrencyLimitsOf, RuleGates } from '../../src/engine/concurrency';
import { createDaemonMetrics } from '../../src/ops/daemon-metrics';
import { silentLogger } from '../../src/shared/log';
import { loadRule, sentMessages, startBench, type Bench } from '../engine/harness';
import { waitFor } from './helpers';

const broadcast = loadRule(`
id: bcast
trigger: { cron: "0 9 * * *" }
actions:
  - send: { to: { groups: [389284, 441298] }, text: "weekly notes" }
`);

describe('automatic resume at start, while a run of the same rule is going', () => {
  let bench: Bench;
  let gates: RuleGates;
  let resumer: RunResumer;
  beforeEach(async () => {
    bench = await startBench();
    gates = new RuleGates();
    const runner = new RuleRunner({
      deps: { api: bench.api, store: bench.store, clock: bench.clock, limiter: bench.limiter, config: bench.config, rates: new RateTracker() },
      logger: silentLogger(),
      metrics: createDaemonMetrics(),
    });
    resumer = new RunResumer({ store: bench.store, gates, runner, rules: () => [broadcast], clock: bench.clock, logger: silentLogger() });
  });
  afterEach(async () => {
    await bench.close();
  });

  it('waits for that run to end, then sends to the targets never sent, instead of giving up', async () => {
    // A broadcast cut off before its first frame: both targets planned, none sent.
    const interrupted = bench.store.startRun({ ruleId: 'bcast', ruleHash: broadcast.hash, triggerKind: 'cron', slot: bench.clock.now() });
    bench.store.ledger.plan(interrupted, 'actions/0', ['group:389284', 'group:441298']);
    bench.store.finishRun(interrupted, { status: 'interrupted' });

    // A catch-up run of the same rule holds its gate (concurrency: skip).
    const holder = gates.gateFor('bcast', concurrencyLimitsOf(broadcast.rule)).admit();
    assert.ok(holder.admitted);
    let release!: () => void;
    const held = holder.start(() => new Promise<void>((resolve) => (release = resolve)));

    assert.equal(resumer.resumeInterrupted(), 1, 'the resume is started (waiting), not refused');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(sentMessages(bench.sim).length, 0, 'nothing is sent while the other run holds the rule');

    release();
    await held;
    const resumed = await waitFor('the resumed run to finish', () =>
      bench.store.listRuns({ ruleId: 'bcast' }).find((run) => run.resumedFrom === interrupted && run.status !== 'running'),
    );
    assert.equal(resumed.status, 'ok');
    assert.deepEqual(
      sentMessages(bench.sim).map((message) => message.id).sort(),
      [389284, 441298],
      'each planned target gets the message once',
    );
  });
});
