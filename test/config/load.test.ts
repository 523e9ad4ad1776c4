import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, ConfigFileSchema, loadConfig, resolveConfigPath, systemTimeZone } from '../../src/config';

const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-config-'));
after(() => fs.rmSync(tempRoot, { recursive: true, force: true }));

let folderCount = 0;
/** Writes `text` as config.yaml in a fresh folder and returns that folder. */
function configFolder(text: string): string {
  const folder = path.join(tempRoot, `case-${++folderCount}`);
  fs.mkdirSync(folder);
  fs.writeFileSync(path.join(folder, 'config.yaml'), text);
  return folder;
}

/** Loads config.yaml from a fresh folder and returns the ConfigError it must throw. */
function configErrorOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  const cwd = configFolder(text);
  try {
    loadConfig({ cwd, env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the config loaded, but it should not have');
}

describe('loadConfig: mistakes are named at file:line:col with the key', () => {
  it('reports an unknown key with a did-you-mean', () => {
    const err = configErrorOf('bridge:\n  url: sim://\n  edtion: "68"\n');
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.problems.length, 1);
    assert.match(err.message, /^ {2}config\.yaml:3:3 {2}unknown key "edtion" in bridge \(did you mean "edition"\?\)$/m);
  });

  it('reports a value of the wrong type', () => {
    const err = configErrorOf('bridge:\n  url: sim://\nrateLimit:\n  perMinute: lots\n');
    assert.match(err.message, /^ {2}config\.yaml:4:14 {2}rateLimit\.perMinute must be integer, got the string "lots"$/m);
  });

  it('reports a bad duration', () => {
    const err = configErrorOf('bridge:\n  url: sim://\n  requestTimeout: 15 seconds\n');
    assert.match(err.message, /^ {2}config\.yaml:3:19 {2}bridge\.requestTimeout: "15 seconds" is not a duration/m);
  });

  it('reports a time zone Intl does not know', () => {
    const err = configErrorOf('bridge: { url: "sim://" }\ntimezone: Mars/Olympus\n');
    assert.match(err.message, /^ {2}config\.yaml:2:11 {2}timezone: "Mars\/Olympus" is not an IANA time zone/m);
  });

  it('reports a missing bridge.url', () => {
    const err = configErrorOf('bridge:\n  edition: seed\n');
    assert.match(err.message, /^ {2}config\.yaml:2:3 {2}bridge is missing required key "url"$/m);
  });

  it('reports a missing bridge section at the top', () => {
    const err = configErrorOf('timezone: UTC\n');
    assert.match(err.message, /^ {2}config\.yaml:1:1 {2}\(top level\) is missing required key "bridge"$/m);
  });

  it('reports an unset ${VAR} at the reference, naming the variable', () => {
    const err = configErrorOf('bridge:\n  url: ${RULEBOT_TEST_BRIDGE}\nadmins:\n  friends: [1, "id-${RULEBOT_TEST_ADMIN}"]\n');
    assert.match(err.message, /^ {2}config\.yaml:2:8 {2}bridge\.url: environment variable RULEBOT_TEST_BRIDGE is not set$/m);
    assert.match(err.message, /^ {2}config\.yaml:4:20 {2}admins\.friends\[1\]: environment variable RULEBOT_TEST_ADMIN is not set$/m);
    // The unsubstituted values are not judged a second time.
    assert.equal(err.problems.length, 2);
  });

  it('reports every problem of a file at once, in file order', () => {
    const err = configErrorOf('bridge:\n  url: http://nope\nhttp: { lisen: "127.0.0.1:1" }\nlog: { level: loud }\n');
    const lines = err.problems.map((problem) => `${problem.line}:${problem.col}`);
    assert.deepEqual(lines, ['2:8', '3:7', '3:9', '4:15']);
    assert.match(err.message, /unknown key "lisen" in http \(did you mean "listen"\?\)/);
    assert.match(err.message, /log\.level must be one of: "fatal", "error", "warn", "info", "debug", "trace", "silent"/);
  });

  it('reports a YAML syntax error with its position', () => {
    const err = configErrorOf('bridge:\n  url: sim://\n  url: sim://\n');
    assert.match(err.message, /^ {2}config\.yaml:3:3 {2}YAML syntax: /m);
  });

  it('names the missing file and how to start from the example', () => {
    const cwd = configFolder('unused: true\n');
    fs.rmSync(path.join(cwd, 'config.yaml'));
    assert.throws(
      () => loadConfig({ cwd, env: {} }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.code === 'CONFIG_NOT_FOUND' &&
        /config file config\.yaml not found/.test(err.message) &&
        /cp config\.example\.yaml config\.yaml/.test(err.message),
    );
  });
});

describe('loadConfig: a valid file', () => {
  it('applies every default and resolves paths against the config folder', () => {
    const cwd = configFolder('bridge:\n  url: sim://\n');
    const config = loadConfig({ cwd, env: {} });
    assert.equal(config.file, path.join(cwd, 'config.yaml'));
    assert.deepEqual(config.bridge, {
      url: 'sim://',
      simulated: true,
      edition: 'seed',
      apiUrl: 'auto',
      requestTimeoutMs: 15_000,
      newlines: 'escaped',
      sim: { port: 0, edition: 'seed' },
    });
    assert.equal(config.timezone, systemTimeZone());
    assert.equal(config.rulesDir, path.join(cwd, 'rules'));
    assert.equal(config.databaseFile, path.join(cwd, 'data', 'rulebot.db'));
    assert.deepEqual(config.admins, { friends: [], groups: [] });
    assert.deepEqual(config.allowlist, []);
    assert.deepEqual(config.rateLimit, { perMinute: 20, perTargetGapMs: 3_000 });
    assert.deepEqual(config.http, { listen: '127.0.0.1:9464', host: '127.0.0.1', port: 9464 });
    assert.deepEqual(config.retention, { okMs: 30 * 86_400_000, failedMs: 180 * 86_400_000 });
    assert.deepEqual(config.log, { level: 'info' });
    assert.deepEqual(config.friendRequests, { act: false, apiName: 'UpdateContactsApply', path: '/contacts/updateContactsApply', acceptOp: 8 });
  });

  it('reads every key as written, ids as strings, durations in milliseconds', () => {
    const cwd = configFolder(
      [
        'bridge:',
        '  url: ws://127.0.0.1:5599',
        '  edition: "68"',
        '  apiUrl: https://webbiz.example.com',
        '  requestTimeout: 2m',
        '  newlines: real',
        '  sim: { port: 5600, seed: 7 }',
        'timezone: Asia/Shanghai',
        'rules: ../shared-rules',
        'database: /var/lib/rulebot/log.db',
        'admins: { friends: [7237423, "18446744073709551615"], groups: [389284] }',
        'allowlist: [1, 2]',
        'rateLimit: { perMinute: 5, perTargetGap: 500ms }',
        'http: false',
        'retention: { ok: 7d, failed: 1w }',
        'log: { level: debug, pretty: true }',
        'friendRequests: { act: true, rejectOp: 9 }',
        '',
      ].join('\n'),
    );
    const config = loadConfig({ cwd, env: {} });
    assert.equal(config.bridge.simulated, false);
    assert.equal(config.bridge.edition, '68');
    assert.equal(config.bridge.sim.edition, '68');
    assert.equal(config.bridge.sim.seed, 7);
    assert.equal(config.bridge.requestTimeoutMs, 120_000);
    assert.equal(config.rulesDir, path.resolve(cwd, '../shared-rules'));
    assert.equal(config.databaseFile, '/var/lib/rulebot/log.db');
    assert.deepEqual(config.admins, { friends: ['7237423', '18446744073709551615'], groups: ['389284'] });
    assert.deepEqual(config.allowlist, ['1', '2']);
    assert.deepEqual(config.rateLimit, { perMinute: 5, perTargetGapMs: 500 });
    assert.equal(config.http, false);
    assert.deepEqual(config.retention, { okMs: 7 * 86_400_000, failedMs: 7 * 86_400_000 });
    assert.deepEqual(config.log, { level: 'debug', pretty: true });
    assert.equal(config.friendRequests.act, true);
    assert.equal(config.friendRequests.rejectOp, 9);
  });

  it('substitutes ${NAME}, typing a whole unquoted reference as if written there, and keeps $${ literal', () => {
    const cwd = configFolder(
      'bridge:\n  url: ws://${HOST}:5599\n  sim: { seed: 1 }\nrateLimit:\n  perMinute: ${PER_MINUTE}\nlog:\n  pretty: ${PRETTY}\nrules: "$${literal}/${SUB}"\n',
    );
    const config = loadConfig({ cwd, env: { HOST: '127.0.0.1', PER_MINUTE: '12', PRETTY: 'false', SUB: 'r' } });
    assert.equal(config.bridge.url, 'ws://127.0.0.1:5599');
    assert.equal(config.rateLimit.perMinute, 12);
    assert.equal(config.log.pretty, false);
    assert.equal(config.rulesDir, path.join(cwd, '${literal}', 'r'));
  });

  it('canonicalises the time zone', () => {
    const cwd = configFolder('bridge: { url: "sim://" }\ntimezone: utc\n');
    assert.equal(loadConfig({ cwd, env: {} }).timezone, 'UTC');
  });
});

describe('resolveConfigPath', () => {
  it('prefers --config, then RULEBOT_CONFIG, then ./config.yaml', () => {
    const cwd = '/srv/bot';
    assert.deepEqual(resolveConfigPath({ path: 'a.yaml', env: { RULEBOT_CONFIG: '/etc/b.yaml' }, cwd }), { file: '/srv/bot/a.yaml', source: 'option' });
    assert.deepEqual(resolveConfigPath({ env: { RULEBOT_CONFIG: '/etc/b.yaml' }, cwd }), { file: '/etc/b.yaml', source: 'env' });
    assert.deepEqual(resolveConfigPath({ env: {}, cwd }), { file: '/srv/bot/config.yaml', source: 'default' });
  });

  it('says which source named a missing file', () => {
    const cwd = configFolder('bridge: { url: "sim://" }\n');
    assert.throws(() => loadConfig({ cwd, env: { RULEBOT_CONFIG: 'elsewhere.yaml' } }), /elsewhere\.yaml not found \(named by RULEBOT_CONFIG\)/);
  });
});

describe('config.example.yaml', () => {
  // dist/test/config → the repository root.
  const repoRoot = path.resolve(__dirname, '..', '..', '..');
  const example = path.join(repoRoot, 'config.example.yaml');

  it('loads, on the embedded simulator', () => {
    const config = loadConfig({ path: example, env: {}, cwd: repoRoot });
    assert.equal(config.bridge.url, 'sim://');
    assert.equal(config.bridge.simulated, true);
    assert.equal(config.rulesDir, path.join(repoRoot, 'rules'));
  });

  it('shows every key of the schema', () => {
    const text = fs.readFileSync(example, 'utf8');
    const keys = (schema: { properties?: Record<string, unknown>; anyOf?: unknown[] }): string[] => {
      const branches = (schema.anyOf ?? [schema]) as Array<{ properties?: Record<string, unknown> }>;
      return branches.flatMap((branch) =>
        Object.entries(branch.properties ?? {}).flatMap(([key, child]) => [key, ...keys(child as { properties?: Record<string, unknown> })]),
      );
    };
    for (const key of keys(ConfigFileSchema)) assert.match(text, new RegExp(`^\\s*#?\\s*${key}:`, 'm'), `config.example.yaml does not show ${key}`);
  });
});
