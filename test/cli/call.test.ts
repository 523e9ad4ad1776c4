import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CliProcess, freePort, runCli, tempDir } from './helpers';

/** One `rulebot sim` child for the whole file, as an operator would run it. */
let sim: CliProcess;
let bridgeUrl: string;
let controlUrl: string;
/** A folder with no config.yaml, so `call` relies on --bridge alone. */
let cwd: string;

async function control(route: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${controlUrl}${route}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  assert.ok(response.ok, `${route}: ${response.status}`);
  return response.json();
}

/** Incoming frames the simulator recorded, of one type. */
async function received(type: string): Promise<Array<{ type: string; data?: Record<string, unknown> }>> {
  const { frames } = (await control('/record?direction=in')) as { frames: Array<{ frame?: { type: string; data?: Record<string, unknown> } }> };
  return frames.flatMap((entry) => (entry.frame && entry.frame.type === type ? [entry.frame] : []));
}

describe('rulebot call', () => {
  before(async () => {
    // Port 0, read back from the output: no window in which another process takes the port.
    sim = new CliProcess(['sim', '--port', '0', '--json']);
    const line = await sim.waitForLine((text) => text.startsWith('{'));
    const addresses = JSON.parse(line) as { url: string; controlUrl: string; port: number };
    assert.ok(addresses.port > 0);
    assert.equal(addresses.url, `ws://127.0.0.1:${addresses.port}`);
    bridgeUrl = addresses.url;
    controlUrl = addresses.controlUrl;
    cwd = tempDir();
  });

  after(async () => {
    sim.child.kill('SIGTERM');
    const { code } = await sim.exited;
    assert.equal(code, 0, 'rulebot sim stops cleanly on SIGTERM');
  });

  it('prints the whole answer frame of getGroups and exits 0', async () => {
    const result = await runCli(['call', 'getGroups', '--bridge', bridgeUrl], { cwd });
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { id: string; type: string; data: Array<{ id: number; name: string }> };
    assert.equal(answer.type, 'getGroups');
    assert.equal(typeof answer.id, 'string');
    assert.ok(answer.data.length > 0);
    assert.ok(answer.data.some((group) => group.id === 389284));
    assert.match(result.stdout, /^\{\n {2}"id"/, 'pretty JSON');
  });

  it('puts the apiUrl before the path of a request', async () => {
    const data = { type: 'GroupDetail', path: '/group/groupDetail', data: { groupId: 389284 } };
    const result = await runCli(['call', 'request', JSON.stringify(data), '--bridge', bridgeUrl, '--json'], { cwd });
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { data: { commonResult: { errCode: number }; group: { groupId: string } } };
    assert.equal(answer.data.commonResult.errCode, 200);
    assert.equal(answer.data.group.groupId, '389284');
    assert.equal(result.stdout.trim().split('\n').length, 1, '--json prints one line');

    const sent = (await received('request')).at(-1);
    assert.deepEqual(sent?.data, { type: 'GroupDetail', url: 'https://webbiz.qika.xyz/group/groupDetail', data: { groupId: 389284 } });
  });

  it('takes the path and protoType of a known ApiName from the protocol table when neither url nor path is given', async () => {
    const data = { type: 'GroupMemberList', data: { groupId: 389284, pageSize: 50, pageNum: 1 } };
    const result = await runCli(['call', 'request', JSON.stringify(data), '--bridge', bridgeUrl], { cwd });
    assert.equal(result.code, 0, result.stderr);
    const sent = (await received('request')).at(-1);
    assert.deepEqual(sent?.data, { ...data, protoType: 'group', url: 'https://webbiz.qika.xyz/group/groupMemberListV2' });
  });

  it('refuses a world-changing frame without --yes (exit 2), and sends nothing', async () => {
    const before = (await received('sendMsg')).length;
    const message = { id: 389284, type: 'group', list: [{ type: 'text', values: { chatType: 0, content: 'hello' } }] };
    const result = await runCli(['call', 'sendMsg', JSON.stringify(message), '--bridge', bridgeUrl], { cwd });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^rulebot: sendMsg sends to a real chat; run again with --yes to send it/);
    assert.equal((await received('sendMsg')).length, before);

    const update = { type: 'GroupUpdate', path: '/group/groupUpdate', data: { op: 11, groupParam: { shutup: true, groupId: 389284 } } };
    const refused = await runCli(['call', 'request', JSON.stringify(update), '--bridge', bridgeUrl], { cwd });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /request GroupUpdate changes the world; run again with --yes/);
  });

  it('sends a world-changing frame with --yes', async () => {
    const message = { id: 389284, type: 'group', list: [{ type: 'text', values: { chatType: 0, content: 'hello from call' } }] };
    const result = await runCli(['call', 'sendMsg', JSON.stringify(message), '--bridge', bridgeUrl, '--yes'], { cwd });
    assert.equal(result.code, 0, result.stderr);
    assert.equal((JSON.parse(result.stdout) as { type: string }).type, 'sendMsg');
    const sent = (await received('sendMsg')).at(-1);
    assert.deepEqual(sent?.data, message);
  });

  it('exits 1 with errorCode and errorDesc when the bridge answers with an error', async () => {
    await control('/faults', { script: { match: { type: 'getGroups' }, action: { error: { errorCode: 500, errorDesc: 'internal failure' } } } });
    const result = await runCli(['call', 'getGroups', '--bridge', bridgeUrl], { cwd });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^rulebot: the bridge refused getGroups .*internal failure \(errorCode 500\)/);
    assert.equal(result.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(result.stdout, '');

    const missing = { type: 'GroupDetail', path: '/group/groupDetail', data: { groupId: 1 } };
    const failed = await runCli(['call', 'request', JSON.stringify(missing), '--bridge', bridgeUrl], { cwd });
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^rulebot: the bridge refused request GroupDetail .*\(errorCode \d+\)/);
  });

  it('exits 1 when no answer comes within --timeout', async () => {
    await control('/faults', { script: { match: { type: 'getGroups' }, action: 'silence' } });
    const result = await runCli(['call', 'getGroups', '--bridge', bridgeUrl, '--timeout', '1s'], { cwd });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^rulebot: no answer from the bridge to getGroups .*within 1s/);
  });

  it('exits 1 within a few seconds against a closed port', async () => {
    const port = await freePort();
    const result = await runCli(['call', 'getGroups', '--bridge', `ws://127.0.0.1:${port}`], { cwd });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^rulebot: cannot reach the bridge at ws://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    assert.ok(result.elapsedMs < 5000, `took ${result.elapsedMs}ms`);
  });

  it('exits 2 on data that is not JSON, with the parse error', async () => {
    const result = await runCli(['call', 'request', '{"type": GroupDetail}', '--bridge', bridgeUrl], { cwd });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^rulebot: data-json is not valid JSON: /);
  });

  it('takes the bridge from the config, and says that sim:// needs `rulebot sim`', async () => {
    const folder = tempDir();
    fs.writeFileSync(path.join(folder, 'config.yaml'), `bridge:\n  url: ${bridgeUrl}\n`);
    const fromConfig = await runCli(['call', 'getApiUrl'], { cwd: folder });
    assert.equal(fromConfig.code, 0, fromConfig.stderr);
    assert.equal((JSON.parse(fromConfig.stdout) as { data: string }).data, 'https://webbiz.qika.xyz');

    fs.writeFileSync(path.join(folder, 'sim.yaml'), 'bridge:\n  url: sim://\n');
    const simulated = await runCli(['call', 'getGroups', '--config', 'sim.yaml'], { cwd: folder });
    assert.equal(simulated.code, 2);
    assert.match(simulated.stderr, /call needs a running bridge; start one with `rulebot sim`/);
  });

  it('exits 1 naming the file when there is no bridge and no config', async () => {
    const result = await runCli(['call', 'getGroups'], { cwd });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /config file config\.yaml not found/);
  });
});
