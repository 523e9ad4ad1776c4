import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DaemonProcess, daemonFolder, readRuns, startSimulator, waitFor } from './helpers';

describe('the daemon fires scheduled rules', () => {
  it('fires a cron rule with seconds on time, every 2 s, one run per slot', { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const folder = daemonFolder({
      bridgeUrl: sim.url,
      rules: {
        'tick.yaml': 'id: tick\ntrigger: { cron: "*/2 * * * * *" }\nactions:\n  - log: { message: "tick {{ trigger.slot }}" }\n',
      },
    });
    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    const runs = await waitFor('four runs of tick', () => {
      const found = readRuns(folder.dbFile, { ruleId: 'tick', status: 'ok' });
      return found.length >= 4 ? found : undefined;
    });
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);

    const slots = runs.map((run) => run.slot!).sort((a, b) => a - b);
    assert.equal(new Set(slots).size, slots.length, 'each slot is fired once');
    for (const [i, slot] of slots.entries()) {
      assert.equal(new Date(slot).getUTCSeconds() % 2, 0, 'slots fall on even seconds');
      if (i > 0) assert.equal(slot - slots[i - 1]!, 2000, 'consecutive slots are 2 s apart: none skipped');
    }
    for (const run of runs) {
      assert.equal(run.triggerKind, 'cron');
      assert.ok(run.startedAt >= run.slot!, `run ${run.id} started before its slot`);
      assert.ok(run.startedAt - run.slot! < 2000, `run ${run.id} started ${run.startedAt - run.slot!} ms after its slot`);
    }
    // One log line per fire names the rule, the trigger, the slot and the run id; one per finished run its status and duration.
    const started = daemon.logLines().filter((line) => line.msg === 'run started' && line.rule === 'tick');
    for (const run of runs) {
      const line = started.find((entry) => entry.runId === run.id);
      assert.ok(line, `no "run started" line for run ${run.id}`);
      assert.equal(line.trigger, 'cron');
      assert.equal(line.slot, new Date(run.slot!).toISOString());
      const finished = daemon.logLines().find((entry) => entry.msg === 'run finished' && entry.runId === run.id);
      assert.equal(finished?.status, 'ok');
      assert.equal(typeof finished?.durationMs, 'number');
    }
  });

  it('skips a fire while the rule still runs (concurrency: skip), recording it once per blocking run', { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const folder = daemonFolder({
      bridgeUrl: sim.url,
      shutdownTimeout: '1s',
      logLevel: 'debug',
      rules: {
        // Each run takes 2.5 s and the rule fires every second: two fires fall inside each run.
        'slow.yaml': 'id: slow\ntrigger: { cron: "* * * * * *" }\nconcurrency: skip\nactions:\n  - delay: { for: 2500ms }\n',
      },
    });
    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    await waitFor('two finished runs of slow', () => readRuns(folder.dbFile, { ruleId: 'slow', status: 'ok' }).length >= 2, 40_000);
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);

    const all = readRuns(folder.dbFile, { ruleId: 'slow' });
    const finished = all.filter((run) => run.status === 'ok');
    const skipped = all.filter((run) => run.status === 'skipped');
    for (const skip of skipped) {
      const match = /^concurrency: already running \(run (\d+)\)$/.exec(skip.reason ?? '');
      assert.ok(match, `skip reason: ${skip.reason}`);
      const blocker = all.find((run) => run.id === Number(match[1]));
      assert.ok(blocker, `the skip names run ${match[1]}`);
      assert.ok(skip.startedAt >= blocker.startedAt && skip.startedAt <= (blocker.finishedAt ?? Infinity), 'the skip happened while its blocker ran');
    }
    for (const run of finished) {
      const skipsOfRun = skipped.filter((skip) => skip.reason === `concurrency: already running (run ${run.id})`);
      assert.equal(skipsOfRun.length, 1, `run ${run.id} blocked at least two fires and is named by exactly one skipped row`);
    }
    // The process log tells the same: one "fire skipped" per recorded row, the further skips of a stretch only counted.
    const lines = daemon.logLines().filter((line) => line.rule === 'slow');
    assert.equal(lines.filter((line) => line.msg === 'fire skipped').length, skipped.length);
    assert.ok(lines.filter((line) => line.msg === 'fire skipped again (recorded once)').length >= finished.length - 1);
    // Nothing is left running after the shutdown.
    assert.equal(readRuns(folder.dbFile, { status: 'running' }).length, 0);
  });

  it('applies the misfire policy to the slots missed while it was stopped', { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const folder = daemonFolder({
      bridgeUrl: sim.url,
      rules: {
        'hourly.yaml': 'id: hourly\ntrigger: { cron: "0 * * * *" }\nmisfire: { policy: latest, grace: 30m }\nactions:\n  - log: { message: "hourly" }\n',
      },
    });

    // Up three seconds before 10:00 UTC: the 10:00 slot fires.
    const first = new DaemonProcess(folder, { now: '2026-05-01T09:59:57Z' });
    await waitFor('the 10:00 run', () => readRuns(folder.dbFile, { ruleId: 'hourly', status: 'ok' }).length === 1);
    assert.equal((await first.stop()).code, 0, first.stderr);
    assert.equal(readRuns(folder.dbFile, { ruleId: 'hourly' })[0]!.slot, Date.parse('2026-05-01T10:00:00Z'));

    // Back at 12:10: 11:00 and 12:00 were missed. `latest` with a 30 min grace runs 12:00
    // (10 min ago) as a catch-up and records 11:00 (70 min ago, outside the grace) as missed.
    const second = new DaemonProcess(folder, { now: '2026-05-01T12:10:00Z' });
    const runs = await waitFor('the catch-up run', () => {
      const found = readRuns(folder.dbFile, { ruleId: 'hourly' });
      return found.some((run) => run.slot === Date.parse('2026-05-01T12:00:00Z') && run.status === 'ok') ? found : undefined;
    });
    assert.equal((await second.stop()).code, 0, second.stderr);

    const bySlot = new Map(runs.map((run) => [new Date(run.slot!).toISOString(), run]));
    assert.equal(runs.length, 3, JSON.stringify(runs));
    assert.equal(bySlot.get('2026-05-01T10:00:00.000Z')?.status, 'ok');
    const missed = bySlot.get('2026-05-01T11:00:00.000Z');
    assert.equal(missed?.status, 'missed');
    assert.match(missed.reason ?? '', /^misfire: older than the grace of 30m \(policy latest\) \(while the daemon was down\)$/);
    const caughtUp = bySlot.get('2026-05-01T12:00:00.000Z');
    assert.equal(caughtUp?.status, 'ok');
    assert.deepEqual(caughtUp.triggerData, { slot: '2026-05-01T12:00:00.000Z', catchUp: true });
  });
});
