/**
 * Nothing the bridge sends may crash the daemon or lose a run: a real `rulebot start`
 * child process against a simulator in this process, a rule firing every second that
 * reads through the bridge, the corpus's broken rule files in its rules folder, and
 * every frame of the corpus replayed into its socket.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BridgeSimulator } from '../../src/sim';
import { RunStore } from '../../src/store/run-store';
import type { RunRecord } from '../../src/store/types';
import { caseNames, corpusDir, frameBytes, generateRuleFile, readJson, repoRoot, sleep, tempDir, waitFor, type FrameCase, type Generator } from './helpers';

const bin = path.join(repoRoot, 'bin', 'rulebot.js');
const GROUP = 389284;

const RULES: Record<string, string> = {
  // Reads through the bridge every second, so frames are in flight while the hostile ones arrive.
  'tick.yaml': [
    'id: tick',
    'trigger: { cron: "* * * * * *" }',
    'actions:',
    '  - id: groups',
    '    read: { from: groups }',
    '  - id: detail',
    `    read: { from: groupDetail, group: ${GROUP} }`,
    '  - log: { message: "{{ steps.groups | size }} groups; {{ steps.detail.name }}" }',
    '',
  ].join('\n'),
  'on-message.yaml': `id: on-message\ntrigger: { message: { chat: group, groups: [${GROUP}] } }\nactions:\n  - log: { message: "message: {{ message.content }}" }\n`,
  'on-group-update.yaml': `id: on-group-update\ntrigger: { push: { event: groupUpdate, groups: [${GROUP}] } }\nactions:\n  - log: { message: "group {{ trigger.data.groupId }} changed" }\n`,
};

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

function readRuns(dbFile: string): RunRecord[] {
  if (!fs.existsSync(dbFile)) return [];
  const store = RunStore.open(dbFile, { readonly: true });
  try {
    return store.listRuns({ limit: 100_000 });
  } finally {
    store.close();
  }
}

/**
 * The rule cases of the corpus, broken and valid documents alike, except the huge ones
 * (slow to load, and no news for the daemon); returns how many valid rules they hold.
 */
function writeBrokenRules(dir: string): number {
  fs.mkdirSync(dir);
  let valid = 0;
  for (const name of caseNames('rules')) {
    const expect = readJson<{ generate?: Generator; valid?: string[] }>(path.join(corpusDir, 'rules', `${name}.expect.json`));
    if (expect.generate?.kind === 'many-rules' || expect.generate?.kind === 'long-string') continue;
    const content = expect.generate ? generateRuleFile(expect.generate) : fs.readFileSync(path.join(corpusDir, 'rules', `${name}.yaml`));
    fs.writeFileSync(path.join(dir, `${name}.yaml`), content);
    valid += expect.valid?.length ?? 0;
  }
  return valid;
}

/** Log lines that mean the process nearly or really died. */
const FATAL = /uncaughtException|unhandledRejection|"level":60/;

describe('the bad-input corpus: the daemon under every hostile frame', () => {
  it('stays up, finishes every run it starts, and keeps firing after the frames', { timeout: 240_000 }, async () => {
    const sim = new BridgeSimulator({ edition: '68', port: 0, seed: 1 });
    await sim.start();
    after(() => sim.stop());

    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'rules'));
    for (const [name, text] of Object.entries(RULES)) fs.writeFileSync(path.join(dir, 'rules', name), text);
    const brokenValid = writeBrokenRules(path.join(dir, 'rules', 'corpus'));
    fs.writeFileSync(
      path.join(dir, 'config.yaml'),
      [
        'bridge:',
        `  url: ${sim.url}`,
        '  edition: "68"',
        '  requestTimeout: 5s',
        'timezone: UTC',
        'rules: ./rules',
        'database: ./data/rulebot.db',
        'rateLimit: { perMinute: 1000, perTargetGap: 0s }',
        'http: false',
        'shutdownTimeout: 15s',
        'log: { level: info, pretty: false }',
        '',
      ].join('\n'),
    );
    const dbFile = path.join(dir, 'data', 'rulebot.db');

    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.RULEBOT_CONFIG;
    delete env.RULEBOT_NOW;
    const child = spawn(process.execPath, [bin, 'start', '--config', 'config.yaml'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let exitCode: number | null | undefined;
    void exited.then((code) => (exitCode = code));
    const alive = () => {
      if (exitCode !== undefined) throw new Error(`the daemon exited with ${exitCode}\nstdout (tail):\n${stdout.split('\n').slice(-40).join('\n')}\nstderr:\n${stderr}`);
      return true;
    };
    const tail = () => `\nstdout (tail):\n${stdout.split('\n').slice(-40).join('\n')}\nstderr:\n${stderr}`;
    const bridgeReadyCount = () => stdout.split('\n').filter((line) => line.includes('"msg":"bridge ready"')).length;
    const okTicks = (since: number) => readRuns(dbFile).filter((run) => run.ruleId === 'tick' && run.status === 'ok' && run.startedAt >= since);

    await waitFor('the bridge connection', () => alive() && bridgeReadyCount() >= 1, 60_000, 50).catch((err: Error) => {
      throw new Error(err.message + tail());
    });
    await waitFor('two ticks', () => alive() && okTicks(0).length >= 2, 60_000, 100);
    // The broken rule files beside them were reported and left out; their valid neighbours loaded.
    const loaded = stdout.split('\n').find((line) => line.includes('"msg":"rules loaded"'));
    assert.ok(loaded, tail());
    const counts = JSON.parse(loaded) as { rules: number; invalid: number };
    assert.equal(counts.rules, Object.keys(RULES).length + brokenValid, loaded);
    assert.ok(counts.invalid > 0, loaded);

    // Every frame of the corpus, spaced a little; after one `ws` refuses, wait for the reconnect.
    const cases = caseNames('frames').map((name) => ({ name, frameCase: readJson<FrameCase>(path.join(corpusDir, 'frames', `${name}.json`)) }));
    for (const { name, frameCase } of cases) {
      const readyBefore = bridgeReadyCount();
      // No frame of the daemon's has this id: answers to it are unsolicited, or matched by type (PROTOCOL.md gap 2).
      sim.sendRaw(frameBytes(frameCase.send, `corpus-${name}`));
      if (frameCase.expect.outcome === 'drop-and-reconnect') {
        await waitFor(`the reconnect after ${name}`, () => alive() && bridgeReadyCount() > readyBefore, 60_000, 50);
      } else {
        await sleep(150);
      }
      alive();
    }

    // Runs keep firing after the frames, and pushes still reach their rules.
    const afterFrames = Date.now();
    await waitFor('ticks after the hostile frames', () => alive() && okTicks(afterFrames).length >= 2, 60_000, 100);
    sim.injectMessage({ chat: 'group', groupId: GROUP, senderId: 4017572, content: 'still listening?' });
    sim.push({ operator: 'groupUpdate', data: { type: 'group', id: GROUP, values: { name: 'huimei' } } });
    await waitFor(
      'the message and groupUpdate rules after the frames',
      () => {
        alive();
        const runs = readRuns(dbFile).filter((run) => run.startedAt >= afterFrames && run.status === 'ok');
        return runs.some((run) => run.ruleId === 'on-message') && runs.some((run) => run.ruleId === 'on-group-update');
      },
      60_000,
      100,
    );
    assert.equal(exitCode, undefined, 'the daemon is still running');

    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no exit after SIGTERM${tail()}`)), 60_000)))]);
    clearTimeout(timer);
    children.delete(child);
    assert.equal(code, 0, `exit code after SIGTERM${tail()}`);

    // The frames did reach the client: it logged each kind, and came back after each drop.
    for (const said of ['the bridge sent a frame that is not JSON; ignored', 'the bridge sent JSON of no known shape; ignored', 'answer that matches no frame in flight']) {
      assert.ok(stdout.includes(said), `no log line says "${said}"`);
    }
    const drops = cases.filter(({ frameCase }) => frameCase.expect.outcome === 'drop-and-reconnect').length;
    assert.ok(bridgeReadyCount() >= 1 + drops, `${bridgeReadyCount()} connections for ${drops} drops`);

    // Nothing crashed along the way.
    const fatal = stdout.split('\n').filter((line) => FATAL.test(line));
    assert.deepEqual(fatal, [], tail());
    assert.doesNotMatch(stderr, /Error|FATAL|\n\s+at /, tail());

    // Nothing was lost: every run finished, with its outcome and, if it failed, why.
    const runs = readRuns(dbFile);
    const unfinished = runs.filter((run) => run.status === 'running' || run.status === 'interrupted' || run.finishedAt === null);
    assert.deepEqual(unfinished.map((run) => `${run.id} ${run.ruleId} ${run.status}`), []);
    for (const run of runs.filter((r) => r.status === 'failed')) assert.ok(run.error?.message, `run ${run.id} failed without an error`);
    // The hostile groupUpdate for the watched group fired its rule too, and that run was kept.
    assert.ok(runs.filter((run) => run.ruleId === 'on-group-update').length >= 2, 'the deep groupUpdate push left no run');
  });
});
