import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { CliProcess, runCli } from './helpers';

describe('rulebot sim', () => {
  it('prints its ws and control URLs and stops cleanly on SIGINT', async () => {
    const sim = new CliProcess(['sim', '--port', '0', '--edition', '68']);
    const wsLine = await sim.waitForLine((line) => line.includes('ws:'));
    const url = /ws:\s+(ws:\/\/127\.0\.0\.1:(\d+))/.exec(wsLine);
    assert.ok(url, wsLine);
    assert.match(sim.stdout, new RegExp(`control: http://127\\.0\\.0\\.1:${url[2]}/`));

    const status = (await (await fetch(`http://127.0.0.1:${url[2]}/`)).json()) as { edition: string };
    assert.equal(status.edition, '68');

    sim.child.kill('SIGINT');
    const { code } = await sim.exited;
    assert.equal(code, 0);
  });

  it('exits 1 with a clear message when the port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const result = await runCli(['sim', '--port', String(port)]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr.split('\n').filter((line) => line.startsWith('rulebot:')).length, 1);
      assert.match(result.stderr, new RegExp(`rulebot: port ${port} on 127\\.0\\.0\\.1 is in use; choose another with --port`));
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('rejects a fault rate outside 0..1 as a usage error', async () => {
    const result = await runCli(['sim', '--busy', '2']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^rulebot: option '--busy <rate>' argument '2' is invalid\. expected a rate from 0 to 1/);
  });
});
