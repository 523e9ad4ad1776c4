import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpsError } from '../../src/ops/errors';
import { defaultControlTokenFile, ensureControlToken, readControlToken, tokensEqual } from '../../src/ops/token';

const posix = process.platform !== 'win32';

function code(expected: string): (err: unknown) => boolean {
  return (err) => err instanceof OpsError && err.code === expected;
}

describe('control token', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rulebot-token-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a 32-byte hex token in a file of mode 0600, in a new folder of mode 0700', { skip: !posix }, async () => {
    const folder = join(dir, 'new');
    const file = join(folder, 'control.token');
    // A umask that takes the owner's write bit: the modes must still come out exactly 0600 / 0700.
    const umask = process.umask(0o222);
    let token: string;
    try {
      token = await ensureControlToken(file);
    } finally {
      process.umask(umask);
    }
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(folder)).mode & 0o777, 0o700);
    assert.equal(await readFile(file, 'utf8'), `${token}\n`);
    assert.deepEqual(await readdir(folder), ['control.token'], 'no temporary file is left behind');
  });

  it('makes every missing folder on the way 0700', { skip: !posix }, async () => {
    const file = join(dir, 'a', 'b', 'control.token');
    await ensureControlToken(file);
    assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(dir, 'a', 'b'))).mode & 0o777, 0o700);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('keeps the token of an existing file', async () => {
    const file = join(dir, 'keep.token');
    const first = await ensureControlToken(file);
    assert.equal(await ensureControlToken(file), first);
    assert.equal(await readControlToken(file), first);
  });

  it('gives racing callers one and the same token', async () => {
    const file = join(dir, 'race.token');
    const tokens = await Promise.all(Array.from({ length: 8 }, () => ensureControlToken(file)));
    assert.equal(new Set(tokens).size, 1);
    assert.equal(await readControlToken(file), tokens[0]);
  });

  it('refuses a token file others can read, and leaves its mode as it was', { skip: !posix }, async () => {
    const file = join(dir, 'loose.token');
    await writeFile(file, `${'a'.repeat(64)}\n`);
    await chmod(file, 0o644);
    await assert.rejects(ensureControlToken(file), (err: unknown) => code('TOKEN_FILE_INSECURE')(err) && /0644/.test((err as Error).message));
    await assert.rejects(readControlToken(file), code('TOKEN_FILE_INSECURE'));
    assert.equal((await stat(file)).mode & 0o777, 0o644);
    await chmod(file, 0o640);
    await assert.rejects(readControlToken(file), code('TOKEN_FILE_INSECURE'));
  });

  it('refuses a symbolic link in place of the token file', { skip: !posix }, async () => {
    const target = join(dir, 'target.token');
    const link = join(dir, 'link.token');
    await writeFile(target, `${'b'.repeat(64)}\n`, { mode: 0o600 });
    await symlink(target, link);
    await assert.rejects(readControlToken(link), code('TOKEN_FILE_INSECURE'));
    await assert.rejects(ensureControlToken(link), code('TOKEN_FILE_INSECURE'));
  });

  it('refuses a file that holds no token', async () => {
    const file = join(dir, 'garbage.token');
    await writeFile(file, 'not a token\n', { mode: 0o600 });
    await assert.rejects(readControlToken(file), code('TOKEN_FILE_INVALID'));
    await assert.rejects(ensureControlToken(file), code('TOKEN_FILE_INVALID'));
  });

  it('says when there is no token file to read', async () => {
    await assert.rejects(readControlToken(join(dir, 'absent.token')), code('TOKEN_FILE_MISSING'));
  });

  it('keeps the token beside the database by default', () => {
    assert.equal(defaultControlTokenFile('/var/lib/rulebot/rulebot.db'), join('/var/lib/rulebot', 'control.token'));
  });

  it('compares tokens of any length', () => {
    const token = 'c'.repeat(64);
    assert.equal(tokensEqual(token, token), true);
    assert.equal(tokensEqual(`${'c'.repeat(63)}d`, token), false);
    assert.equal(tokensEqual('', token), false);
    assert.equal(tokensEqual(token + token, token), false);
  });
});
