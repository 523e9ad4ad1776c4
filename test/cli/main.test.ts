import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './helpers';

describe('rulebot (the command frame)', () => {
  it('--help lists the commands and exits 0', async () => {
    const result = await runCli(['--help']);
    assert.equal(result.code, 0);
    for (const command of ['start', 'call', 'sim']) assert.match(result.stdout, new RegExp(`^  ${command} `, 'm'));
  });

  it('every command has --help', async () => {
    for (const command of ['start', 'call', 'sim']) {
      const result = await runCli([command, '--help']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`^Usage: rulebot ${command} `, 'm'));
    }
  });

  it('an unknown command exits 2 with one line and a hint', async () => {
    const result = await runCli(['strat']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, "rulebot: unknown command 'strat' (Did you mean start?) (see rulebot --help)\n");
    assert.equal(result.stdout, '');
  });

  it('an unknown option exits 2, pointing at the help of its command', async () => {
    const result = await runCli(['call', 'getGroups', '--bogus']);
    assert.equal(result.code, 2);
    assert.equal(result.stderr, "rulebot: unknown option '--bogus' (see rulebot call --help)\n");
  });

  it('a bad option value exits 2', async () => {
    const result = await runCli(['call', 'getGroups', '--timeout', 'soon']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^rulebot: option '--timeout <duration>' argument 'soon' is invalid\. expected a duration/);
  });

  it('no command at all shows the help on stderr and exits 2', async () => {
    const result = await runCli([]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^Usage: rulebot /);
  });

  it('--version prints the package version', async () => {
    const result = await runCli(['--version']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^\d+\.\d+\.\d+/);
  });
});
