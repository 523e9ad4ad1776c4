import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DaemonProcess, daemonFolder, httpRequest, readRuns, sentTexts, sleep, startSimulator, waitFor } from './helpers';

const GROUP = 389284;

const greetRule = (text: string, extra = '') => `id: greet\ntrigger: { every: 1s }\n${extra}actions:\n  - send: { to: { group: ${GROUP} }, text: "${text}" }\n`;

describe('the daemon reloads rules while it runs', () => {
  it('swaps in a valid edit within seconds, keeps the previous version of an invalid one, and leaves unchanged rules alone', { timeout: 60_000 }, async () => {
    const sim = await startSimulator();
    const folder = daemonFolder({
      bridgeUrl: sim.url,
      http: true,
      rules: {
        'greet.yaml': greetRule('version 1'),
        // Inside its window all day: it reconciles once at start, and again only if it changes.
        'window.yaml': 'id: daytime\ntrigger:\n  window: { start: "00:00", end: "23:59" }\nactions:\n  - log: { message: "inside: {{ window.inside }}" }\n',
      },
    });
    const greetFile = path.join(folder.rulesDir, 'greet.yaml');
    const texts = () => sentTexts(sim).map((sent) => sent.content);
    const daemon = new DaemonProcess(folder, { now: '2026-05-01T12:00:00Z' });
    await daemon.ready;
    const ops = await daemon.opsUrl();
    await waitFor('version 1', () => texts().includes('version 1'));

    // A valid edit: the new text goes out within seconds of the save.
    fs.writeFileSync(greetFile, greetRule('version 2'));
    const savedAt = Date.now();
    await waitFor('version 2', () => texts().includes('version 2'), 15_000);
    assert.ok(Date.now() - savedAt < 10_000, `the edit took ${Date.now() - savedAt} ms to apply`);
    const firstV2 = texts().indexOf('version 2');
    assert.ok(!texts().slice(firstV2).includes('version 1'), 'the old version stopped sending');

    // An invalid edit: logged at file:line:col, listed by /healthz, and the rule goes on in version 2.
    fs.writeFileSync(greetFile, greetRule('version 3', 'colour: blue\n'));
    const problem = await daemon.waitForLog('the invalid edit', (line) => line.msg.startsWith('rule problem: rules/greet.yaml:'), 15_000);
    assert.match(problem.msg, /^rule problem: rules\/greet\.yaml:3:1 {2}.*colour/);
    await daemon.waitForLog('the previous version kept', (line) => line.msg === 'the edited rule is invalid; its previous version keeps running' && line.rule === 'greet');
    const sentBefore = texts().length;
    await waitFor('two more sends', () => texts().length >= sentBefore + 2);
    assert.ok(texts().slice(sentBefore).every((text) => text === 'version 2'), texts().slice(sentBefore).join(', '));
    const health = await httpRequest(`${ops}/healthz`);
    assert.equal(health.status, 200, health.body);
    const body = JSON.parse(health.body) as { rules: { loaded: number; invalid: Array<{ file: string; line: number; col: number; message: string }> } };
    assert.equal(body.rules.loaded, 2, 'greet (its previous version) and daytime');
    assert.equal(body.rules.invalid.length, 1);
    assert.deepEqual({ ...body.rules.invalid[0], message: undefined }, { file: 'rules/greet.yaml', line: 3, col: 1, message: undefined });

    // SIGHUP reloads too (and does not end the process); the fixed rule swaps in.
    fs.writeFileSync(greetFile, greetRule('version 4'));
    daemon.child.kill('SIGHUP');
    await daemon.waitForLog('the SIGHUP reload', (line) => line.msg === 'reloading rules' && line.reason === 'SIGHUP');
    await waitFor('version 4', () => texts().includes('version 4'), 15_000);
    const healed = JSON.parse((await httpRequest(`${ops}/healthz`)).body) as { rules: { invalid: unknown[] } };
    assert.deepEqual(healed.rules.invalid, []);

    // The unchanged window rule kept its state: no reconcile beyond the one at start.
    await sleep(500);
    assert.equal(readRuns(folder.dbFile, { ruleId: 'daytime' }).length, 1);
    assert.equal((await daemon.stop()).code, 0, daemon.stderr);
  });
});
