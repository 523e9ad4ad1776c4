import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concurrencyLimitsOf, RuleGates, RunDroppedError, skipReason, type Admission, type AdmittedFire } from '../../src/engine/concurrency';
import type { PushSource } from '../../src/engine/dispatch';
import type { BridgeClient } from '../../src/protocol/client';
import { settle } from './trigger-fixtures';

/** A task the test finishes by hand. */
function heldTask(): { task: () => Promise<string>; finish: () => void; started: () => boolean } {
  let started = false;
  let finish!: () => void;
  const done = new Promise<string>((resolve) => (finish = () => resolve('done')));
  return {
    task: () => {
      started = true;
      return done;
    },
    finish: () => finish(),
    started: () => started,
  };
}

function admitted(admission: Admission): AdmittedFire {
  if (!admission.admitted) assert.fail(`expected the fire to be let in, got: ${admission.reason}`);
  return admission;
}

// The bridge client must fit where the dispatcher wants a push source (checked by the compiler).
export const bridgeIsAPushSource = (client: BridgeClient): PushSource => client;

describe('concurrency limits', () => {
  it('defaults: skip; queue waits up to 10; parallel runs up to 5', () => {
    assert.deepEqual(concurrencyLimitsOf({}), { mode: 'skip', max: 1 });
    assert.deepEqual(concurrencyLimitsOf({ concurrency: 'queue' }), { mode: 'queue', max: 10 });
    assert.deepEqual(concurrencyLimitsOf({ concurrency: 'parallel' }), { mode: 'parallel', max: 5 });
    assert.deepEqual(concurrencyLimitsOf({ concurrency: { mode: 'parallel', max: 2 } }), { mode: 'parallel', max: 2 });
    assert.deepEqual(concurrencyLimitsOf({ concurrency: { mode: 'skip', max: 4 } }), { mode: 'skip', max: 1 });
  });
});

describe('RuleGate', () => {
  it('skip: one run at a time; the first skip of a stretch is to be recorded, the rest only counted', async () => {
    const gate = new RuleGates().gateFor('r', { mode: 'skip', max: 1 });
    const run = heldTask();
    void admitted(gate.admit()).start(run.task);
    const skips = [gate.admit(), gate.admit(), gate.admit()];
    assert.deepEqual(
      skips.map((skip) => !skip.admitted && skip.record),
      [true, false, false],
    );
    assert.equal(gate.load.skippedInStretch, 3);
    assert.equal(skipReason(skips[0] as Extract<Admission, { admitted: false }>, 12), 'concurrency: already running (run 12)');
    run.finish();
    await settle();
    assert.equal(gate.load.skippedInStretch, 0);
    assert.ok(gate.idle);
  });

  it('reserves places between admission and start, so fires admitted together respect the bound', () => {
    const gate = new RuleGates().gateFor('r', { mode: 'queue', max: 1 });
    const first = admitted(gate.admit());
    const second = admitted(gate.admit());
    assert.equal(first.queued, false);
    assert.equal(second.queued, true);
    assert.equal(gate.admit().admitted, false, 'the one waiting place is taken even before the task is handed over');
    first.cancel();
    second.cancel();
    assert.ok(gate.idle);
  });

  it('queue: waiting fires run in order as places free up; dropping them at shutdown rejects them', async () => {
    const gates = new RuleGates();
    const gate = gates.gateFor('r', { mode: 'queue', max: 2 });
    const runs = [heldTask(), heldTask(), heldTask()];
    const done = runs.map((run) => admitted(gate.admit()).start(run.task));
    assert.deepEqual(runs.map((run) => run.started()), [true, false, false]);
    runs[0]!.finish();
    await settle();
    assert.deepEqual(runs.map((run) => run.started()), [true, true, false]);
    assert.equal(gates.dropWaiting(), 1);
    await assert.rejects(done[2]!, RunDroppedError);
    runs[1]!.finish();
    await gates.whenIdle();
    assert.equal(await done[1], 'done');
  });

  it('reports what a task threw and goes on', async () => {
    const errors: unknown[] = [];
    const gate = new RuleGates({ onError: (_ruleId, err) => errors.push(err) }).gateFor('r', { mode: 'skip', max: 1 });
    const failed = admitted(gate.admit()).start(() => Promise.reject(new Error('boom')));
    await assert.rejects(failed, /boom/);
    await settle();
    assert.equal(errors.length, 1);
    assert.ok(gate.idle);
    assert.equal(gate.admit().admitted, true);
  });

  it('a rule keeps its gate when its limits change, and a removed rule loses it once idle', async () => {
    const gates = new RuleGates();
    const gate = gates.gateFor('r', { mode: 'skip', max: 1 });
    const run = heldTask();
    void admitted(gate.admit()).start(run.task);
    assert.equal(gates.gateFor('r', { mode: 'parallel', max: 2 }), gate);
    admitted(gate.admit()).cancel(); // the new limits apply at once: a second run is let in
    gates.retire('r');
    assert.equal(gates.get('r'), gate, 'kept while its runs go on');
    run.finish();
    await settle();
    assert.equal(gates.get('r'), undefined);
  });
});
