import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { StoreError } from './errors';
import { assertSchemaCurrent, migrate } from './migrations';

export interface OpenDatabaseOptions {
  /**
   * Open for reading only, as the review commands do: the file must exist and be at the
   * current schema version; nothing is created or migrated.
   * @default false
   */
  readonly?: boolean;
  /**
   * How long a statement waits for another process's lock before failing. The CLI reads
   * and writes the file while the daemon runs, and a checkpoint holds the lock briefly.
   * @default 5000
   */
  busyTimeoutMs?: number;
}

/**
 * Opens the execution log at `file`, creating its folder, and brings the schema up to
 * date (or, read-only, checks that it is). Throws a StoreError: `STORE_OPEN_FAILED`,
 * `STORE_NOT_FOUND`, `STORE_SCHEMA_TOO_NEW`, `STORE_SCHEMA_OUTDATED`, `STORE_MIGRATION_FAILED`.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Database {
  const readonly = options.readonly ?? false;
  const inMemory = file === ':memory:';
  let db: Database;
  try {
    if (!readonly && !inMemory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    db = new Sqlite(file, { readonly, fileMustExist: readonly });
  } catch (err) {
    if (readonly && !fs.existsSync(file)) {
      throw new StoreError('STORE_NOT_FOUND', `${file} does not exist: no run has been recorded there yet`, { path: file }, { cause: err });
    }
    throw openFailed(file, err);
  }

  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma('foreign_keys = ON');
    if (readonly) {
      assertSchemaCurrent(db);
    } else {
      // journal_mode is stored in the file; a read-only connection finds it there.
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal' && !inMemory) throw new Error(`journal_mode stayed "${String(mode)}": the filesystem does not support WAL`);
      // In WAL mode, NORMAL syncs at checkpoints rather than on every commit: a commit
      // survives a crash of the process, which is what the log guards against; only an
      // OS crash or power loss can take the last few commits with it.
      db.pragma('synchronous = NORMAL');
      migrate(db);
    }
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    throw openFailed(file, err);
  }
  return db;
}

function openFailed(file: string, cause: unknown): StoreError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StoreError('STORE_OPEN_FAILED', `cannot open the execution log ${file}: ${reason}`, { path: file }, { cause });
}
