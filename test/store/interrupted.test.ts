import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { openStore, tempDbFile } from './support';

const CRASH_MID_RUN = path.join(__dirname, 'fixtures', 'crash-mid-run.js');

interface FixtureIds {
  runId: number;
  sentStepId: number;
  inFlightStepId: number;
}

test('a process killed with SIGKILL mid-send leaves an interrupted run with an unknown delivery', { timeout: 15_000 }, async (t) => {
  const file = tempDbFile(t);
  const child = spawn(process.execPath, [CRASH_MID_RUN, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  assert.match(line, /^ready /);
  const ids = JSON.parse(line.slice('ready '.length)) as FixtureIds;

  child.kill('SIGKILL');
  const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, 'SIGKILL');

  // What the dead process committed is all there, still marked running.
  const reader = openStore(t, file, { readonly: true });
  const before = reader.getRun(ids.runId)!;
  assert.equal(before.status, 'running');
  assert.deepEqual(
    before.steps.map((step) => [step.id, step.status, step.delivery]),
    [
      [ids.sentStepId, 'ok', 'accepted'],
      [ids.inFlightStepId, 'running', null],
    ],
  );
  reader.close();

  const store = openStore(t, file, { markInterrupted: true });
  assert.deepEqual(store.interruptedOnOpen, {
    runIds: [ids.runId],
    stepIds: [ids.inFlightStepId],
    unknownDeliveryStepIds: [ids.inFlightStepId],
    unknownTargets: [{ runId: ids.runId, path: 'actions/0', target: 'group:2' }],
  });

  const run = store.getRun(ids.runId)!;
  assert.equal(run.status, 'interrupted');
  assert.deepEqual(
    run.steps.map((step) => [step.id, step.status, step.delivery, step.customMsgId]),
    [
      [ids.sentStepId, 'ok', 'accepted', '41111111111'],
      [ids.inFlightStepId, 'interrupted', 'unknown', '42222222222'],
    ],
  );
  assert.deepEqual(
    run.ledger.map((entry) => [entry.target, entry.state]),
    [
      ['group:1', 'accepted'],
      ['group:2', 'unknown'],
      ['group:3', 'planned'],
    ],
  );

  // A delivery push that arrives after the restart still settles the message.
  assert.deepEqual(store.settleDelivery('42222222222', 'delivered'), { steps: 1, targets: 1 });
  assert.equal(store.getRun(ids.runId)!.ledger[1]!.state, 'delivered');
});
