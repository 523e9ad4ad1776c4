/**
 * The control token: a random secret the daemon keeps in a file only its user can read.
 * Whoever can read the file may control the daemon (`rulebot run`, `rulebot resume`);
 * nobody else can, even with access to the loopback port (another local user, a web
 * page the operator's browser opened).
 *
 * A token file with looser permissions is refused, never tightened: the secret may
 * already have been read, and changing the mode would hide that from the operator while
 * keeping a leaked token valid. The error says what to do (delete the file: a new token
 * is made at the next start). OpenSSH treats private keys the same way.
 */
import { constants as fsConstants } from 'node:fs';
import { chmod, link, mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { OpsError } from './errors';

/** Random bytes in a token; written as twice as many hex digits. */
export const CONTROL_TOKEN_BYTES = 32;

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
/** Group and other bits: none may be set on the token file. */
const FOREIGN_BITS = 0o077;
// Windows has neither; there the file's ACL is the operator's to set.
const POSIX = process.platform !== 'win32';
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

/** Where the daemon keeps its token by default: `control.token` beside the database. */
export function defaultControlTokenFile(databaseFile: string): string {
  return join(dirname(databaseFile), 'control.token');
}

/**
 * The token in `file`, created first when there is none: 32 random bytes as hex, in a
 * file of mode 0600 (its folder made 0700 when it has to be created). Creation is
 * atomic — the token is written to a fresh private file, then linked into place — so a
 * crash never leaves an empty token file, and of two processes racing, both end up with
 * the same token.
 *
 * @throws OpsError `TOKEN_FILE_INSECURE` when an existing file is readable or writable
 *   by others, is not a regular file, or belongs to another user; `TOKEN_FILE_INVALID`
 *   when it holds no token; `TOKEN_FILE_FAILED` on I/O errors.
 */
export async function ensureControlToken(file: string): Promise<string> {
  try {
    return await readControlToken(file);
  } catch (err) {
    if (!(err instanceof OpsError && err.code === 'TOKEN_FILE_MISSING')) throw err;
  }
  await makePrivateDir(dirname(resolve(file)));
  const token = randomBytes(CONTROL_TOKEN_BYTES).toString('hex');
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      // The umask can only take bits away; fchmod makes the mode exactly 0600 whatever it is.
      if (POSIX) await handle.chmod(0o600);
      await handle.writeFile(`${token}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // link() fails if the name exists, unlike rename(): a token another process put there first wins.
      await link(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return await readControlToken(file);
    }
    return token;
  } catch (err) {
    if (err instanceof OpsError) throw err;
    throw new OpsError('TOKEN_FILE_FAILED', `cannot create the control token file ${file}: ${(err as Error).message}`, { file }, { cause: err });
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/**
 * The token in `file`, after checking that only its owner — this user — can read it.
 *
 * @throws OpsError `TOKEN_FILE_MISSING`, `TOKEN_FILE_INSECURE`, `TOKEN_FILE_INVALID`, `TOKEN_FILE_FAILED`.
 */
export async function readControlToken(file: string): Promise<string> {
  let handle: FileHandle;
  try {
    // O_NOFOLLOW: a symbolic link planted at the path is refused, not followed to someone else's file.
    handle = await open(file, fsConstants.O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new OpsError('TOKEN_FILE_MISSING', `no control token file at ${file}`, { file }, { cause: err });
    if (code === 'ELOOP') throw insecure(file, 'it is a symbolic link');
    throw new OpsError('TOKEN_FILE_FAILED', `cannot read the control token file ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
  try {
    // fstat of the open file: the checks and the read concern the same file, with no window to swap it.
    const stat = await handle.stat();
    if (!stat.isFile()) throw insecure(file, 'it is not a regular file');
    if (POSIX) {
      const uid = process.getuid?.();
      if (uid !== undefined && stat.uid !== uid) throw insecure(file, `it belongs to uid ${stat.uid}, not to this user (uid ${uid})`);
      if ((stat.mode & FOREIGN_BITS) !== 0) {
        const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
        throw insecure(file, `its mode is ${mode}, so other users may have read the token`, { mode });
      }
    }
    const text = (await handle.readFile('utf8')).trim();
    if (!TOKEN_PATTERN.test(text)) {
      throw new OpsError(
        'TOKEN_FILE_INVALID',
        `the control token file ${file} does not hold a token (64 hex digits); delete it and restart the daemon to make a new one`,
        { file },
      );
    }
    return text;
  } catch (err) {
    if (err instanceof OpsError) throw err;
    throw new OpsError('TOKEN_FILE_FAILED', `cannot read the control token file ${file}: ${(err as Error).message}`, { file }, { cause: err });
  } finally {
    await handle.close();
  }
}

/**
 * Whether `given` is the token, in time that does not depend on where they differ.
 * Both are hashed first, so inputs of any length compare in constant time and the
 * token's length is not revealed either.
 */
export function tokensEqual(given: string, token: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(token, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function insecure(file: string, why: string, details: Record<string, unknown> = {}): OpsError {
  return new OpsError(
    'TOKEN_FILE_INSECURE',
    `refusing the control token file ${file}: ${why}; delete it (a new token is made at the next start) and check who could reach it`,
    { file, ...details },
  );
}

/** Creates `dir` (and missing parents) as 0700; a folder that exists is left as it is. */
async function makePrivateDir(dir: string): Promise<void> {
  let first: string | undefined;
  try {
    first = await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new OpsError('TOKEN_FILE_FAILED', `cannot create the folder ${dir} for the control token: ${(err as Error).message}`, { dir }, { cause: err });
  }
  if (first === undefined || !POSIX) return;
  // mkdir's mode passes through the umask; chmod makes each folder it created exactly 0700.
  const created = [first];
  for (const part of relative(first, dir).split(sep).filter((p) => p !== '')) created.push(join(created[created.length - 1]!, part));
  for (const path of created) await chmod(path, 0o700);
}
