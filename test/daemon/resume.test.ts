import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { BridgeSimulator } from '../../src/sim';
import type { RunDetail } from '../../src/store/types';
import { freePort, runCli } from '../cli/helpers';
import { DaemonProcess, daemonFolder, httpRequest, readRun, readRuns, startSimulator, waitFor, type DaemonFolder } from './helpers';

const HOST = 7237423;
const GROUPS = 20;
/** The sendMsg frame the daemon is killed on: the simulator never answers it. */
const IN_FLIGHT = 8;

const BROADCAST = [
  'id: broadcast',
  'trigger: { manual: true }',
  // Left to `rulebot resume`: the restarted daemon must not finish it by itself.
  'resume: { auto: false }',
  'actions:',
  '  - send:',
  '      to: { groupsMatching: "^bc-" }',
  '      text: "notice for {{ target.name }}"',
  '      pause: 300ms',
  '',
].join('\n');

interface Setup {
  sim: BridgeSimulator;
  groupIds: number[];
  folder: DaemonFolder;
  /** The interrupted broadcast's run id. */
  runId: number;
}

/** sendMsg frames the simulator received, per target group. */
function receivedPerGroup(sim: BridgeSimulator, groupIds: readonly number[]): Map<number, number> {
  const counts = new Map(groupIds.map((id) => [id, 0]));
  for (const frame of sim.received('sendMsg')) {
    const to = (frame.frame.data as { id: number }).id;
    counts.set(to, (counts.get(to) ?? 0) + 1);
  }
  return counts;
}

/**
 * A daemon broadcasting to 20 groups, killed with SIGKILL while the simulator holds the
 * answer to the 8th message: 7 targets accepted, the 8th in flight, 12 never tried.
 */
async function interruptedBroadcast(): Promise<Setup> {
  const sim = await startSimulator();
  const groupIds = Array.from({ length: GROUPS }, (_, i) => sim.world.addGroup({ name: `bc-${String(i + 1).padStart(2, '0')}`, hostId: HOST }).id);
  const folder = daemonFolder({ bridgeUrl: sim.url, httpPort: await freePort(), rules: { 'broadcast.yaml': BROADCAST } });
  // The first seven answered as usual; the eighth acted on and never answered.
  sim.scriptFault({ match: { type: 'sendMsg' }, action: { delayMs: 1 }, times: IN_FLIGHT - 1 });
  sim.scriptFault({ match: { type: 'sendMsg' }, action: 'silence', acted: true });

  const daemon = new DaemonProcess(folder);
  await daemon.ready;
  const ops = await daemon.opsUrl();
  await daemon.waitForLog('the bridge', (line) => line.msg === 'bridge ready');
  const token = fs.readFileSync(path.join(folder.dir, 'data', 'control.token'), 'utf8').trim();
  // Answered only when the run ends, which it never does: the daemon dies first.
  const request = httpRequest(`${ops}/control/run`, { method: 'POST', body: JSON.stringify({ rule: 'broadcast' }), headers: { authorization: `Bearer ${token}` } });
  request.catch(() => undefined);

  await waitFor(`the ${IN_FLIGHT}th message`, () => sim.received('sendMsg').length >= IN_FLIGHT);
  daemon.child.kill('SIGKILL');
  await daemon.exitedWithin(10_000);
  assert.equal(sim.received('sendMsg').length, IN_FLIGHT, 'nothing was sent after the kill');
  const run = readRuns(folder.dbFile, { ruleId: 'broadcast' })[0];
  assert.ok(run, 'the broadcast run is in the log');
  assert.equal(run.status, 'running', 'a killed process leaves its run running');
  return { sim, groupIds, folder, runId: run.id };
}

function showJson(folder: DaemonFolder, runId: number): Promise<RunDetail> {
  return runCli(['show', String(runId), '--json', '--config', folder.configFile], { cwd: folder.dir }).then((result) => {
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as RunDetail;
  });
}

function ledgerStates(run: RunDetail): Map<string, string> {
  return new Map(run.ledger.map((entry) => [entry.target, entry.state]));
}

describe('rulebot resume', () => {
  it('finishes a broadcast the daemon was killed in, through the restarted daemon: every target once, the one in flight left unknown', { timeout: 90_000 }, async () => {
    const { sim, groupIds, folder, runId } = await interruptedBroadcast();
    const inFlight = groupIds[IN_FLIGHT - 1]!;

    const daemon = new DaemonProcess(folder);
    await daemon.ready;
    await daemon.waitForLog('the bridge', (line) => line.msg === 'bridge ready');
    const original = await showJson(folder, runId);
    assert.equal(original.status, 'interrupted', 'the restart marks the run interrupted');
    const before = ledgerStates(original);
    assert.equal(before.get(`group:${inFlight}`), 'unknown', 'the message in flight at the kill');
    assert.deepEqual(
      groupIds.filter((id) => before.get(`group:${id}`) === 'accepted'),
      groupIds.slice(0, IN_FLIGHT - 1),
    );
    assert.deepEqual(
      groupIds.filter((id) => before.get(`group:${id}`) === 'planned'),
      groupIds.slice(IN_FLIGHT),
    );
    assert.equal(readRuns(folder.dbFile, { ruleId: 'broadcast' }).length, 1, 'not resumed automatically (resume.auto: false)');

    const resumed = await runCli(['resume', String(runId), '--config', folder.configFile], { cwd: folder.dir });
    assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
    assert.match(resumed.stdout, /in the daemon at http:\/\/127\.0\.0\.1:\d+/, 'through the control endpoint');
    assert.match(resumed.stdout, /sent now\s+12\b/);
    assert.match(resumed.stdout, /skipped, already sent\s+7\b/);
    assert.match(resumed.stdout, new RegExp(`skipped, delivery unknown\\s+1\\s+group:${inFlight}\\b`));
    assert.ok(
      daemon.logLines().some((line) => line.msg === 'resuming an interrupted run' && line.resumedFrom === runId),
      'the daemon ran the resume',
    );

    // Every target exactly once; the one in flight at the kill at most once.
    const counts = receivedPerGroup(sim, groupIds);
    for (const id of groupIds) assert.equal(counts.get(id), 1, `group ${id} received ${counts.get(id)} message(s)`);

    const runs = readRuns(folder.dbFile, { ruleId: 'broadcast' });
    const resume = runs.find((run) => run.resumedFrom === runId);
    assert.ok(resume, 'a new run resumes the original');
    assert.equal(resume.triggerKind, 'resume');
    assert.equal(resume.status, 'ok');
    const resumedRun = readRun(folder.dbFile, resume.id)!;
    const after = ledgerStates(resumedRun);
    assert.deepEqual(
      [...after.keys()].sort(),
      groupIds
        .slice(IN_FLIGHT)
        .map((id) => `group:${id}`)
        .sort(),
      'the resumed run planned exactly the targets that were never tried',
    );
    for (const [target, state] of after) assert.ok(state === 'accepted' || state === 'delivered', `${target} is ${state}`);
    assert.equal(ledgerStates(readRun(folder.dbFile, runId)!).get(`group:${inFlight}`), 'unknown', 'the original ledger still says unknown');

    // Resumed again: what the resume sent counts, so nothing is left but the unknown one.
    const again = await runCli(['resume', String(runId), '--config', folder.configFile], { cwd: folder.dir });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`run ${runId} has nothing left to send \\(with its resume ${resume.id}\\): 19 target\\(s\\) already sent to, 1 whose delivery is unknown`));
    const ofResume = await runCli(['resume', String(resume.id), '--config', folder.configFile], { cwd: folder.dir });
    assert.equal(ofResume.code, 1);
    assert.match(ofResume.stderr, new RegExp(`resume run ${runId} instead`));
    const missing = await runCli(['resume', '9999', '--config', folder.configFile], { cwd: folder.dir });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /run 9999 does not exist/);
    assert.equal(sim.received('sendMsg').length, GROUPS, 'the refused resumes sent nothing');

    // The operator decides the one in flight did not arrive: through the daemon, only it is sent again.
    const resend = await runCli(['resume', String(runId), '--resend-unknown', '--config', folder.configFile], { cwd: folder.dir });
    assert.equal(resend.code, 0, `${resend.stdout}\n${resend.stderr}`);
    assert.match(resend.stderr, new RegExp(`warning: --resend-unknown sends again to 1 target\\(s\\) whose delivery is unknown; each may get the message twice: group:${inFlight}$`, 'm'));
    assert.match(resend.stdout, /sent now\s+1\b/);
    assert.match(resend.stdout, /skipped, already sent\s+19\b/);
    assert.match(resend.stdout, /sent again although unknown\s+1\b/);
    const finalCounts = receivedPerGroup(sim, groupIds);
    for (const id of groupIds) assert.equal(finalCounts.get(id), id === inFlight ? 2 : 1, `group ${id} received ${finalCounts.get(id)} message(s)`);

    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
  });

  it('resumes in-process while the daemon is down: a dry run sends nothing, --resend-unknown sends to the one in flight again, with a warning', { timeout: 90_000 }, async () => {
    const { sim, groupIds, folder, runId } = await interruptedBroadcast();
    const inFlight = groupIds[IN_FLIGHT - 1]!;

    const dry = await runCli(['resume', String(runId), '--dry-run', '--config', folder.configFile], { cwd: folder.dir });
    assert.equal(dry.code, 0, `${dry.stdout}\n${dry.stderr}`);
    assert.match(dry.stderr, /marked 1 run\(s\) left running by a stopped process as interrupted/);
    assert.match(dry.stdout, /in this process/);
    assert.match(dry.stdout, /would send now\s+12\b/);
    assert.equal(sim.received('sendMsg').length, IN_FLIGHT, 'a dry run sends nothing');

    const resumed = await runCli(['resume', String(runId), '--resend-unknown', '--json', '--config', folder.configFile], { cwd: folder.dir });
    assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
    assert.match(resumed.stderr, new RegExp(`warning: --resend-unknown sends again to 1 target\\(s\\) whose delivery is unknown; each may get the message twice: group:${inFlight}`));
    const answer = JSON.parse(resumed.stdout) as {
      bridge: { daemon: boolean };
      original: number;
      run: RunDetail;
      summary: { sent: unknown[]; alreadySent: unknown[]; skippedUnknown: unknown[]; resentUnknown: Array<{ target: string }> };
    };
    assert.equal(answer.bridge.daemon, false);
    assert.equal(answer.original, runId);
    assert.equal(answer.run.status, 'ok');
    assert.equal(answer.run.triggerKind, 'resume');
    assert.equal(answer.summary.sent.length, GROUPS - IN_FLIGHT + 1);
    assert.equal(answer.summary.alreadySent.length, IN_FLIGHT - 1);
    assert.equal(answer.summary.skippedUnknown.length, 0);
    assert.deepEqual(
      answer.summary.resentUnknown.map((t) => t.target),
      [`group:${inFlight}`],
    );

    const counts = receivedPerGroup(sim, groupIds);
    for (const id of groupIds) assert.equal(counts.get(id), id === inFlight ? 2 : 1, `group ${id} received ${counts.get(id)} message(s)`);
    const runs = readRuns(folder.dbFile, { ruleId: 'broadcast' });
    assert.deepEqual(
      runs.filter((run) => run.resumedFrom === runId).map((run) => run.status).sort(),
      ['dry-run', 'ok'],
    );
    assert.equal(readRun(folder.dbFile, runId)?.status, 'interrupted');
  });
});
