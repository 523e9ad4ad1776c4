import { RulebotError } from '../shared/errors';

/**
 * The codes a StoreError carries:
 * - `STORE_OPEN_FAILED`: the file could not be opened or is not an SQLite database.
 * - `STORE_NOT_FOUND`: a read-only open of a file that does not exist.
 * - `STORE_SCHEMA_TOO_NEW`: the file was written by a newer rulebot; refused, never downgraded.
 * - `STORE_SCHEMA_OUTDATED`: a read-only open of a file that still needs migrating.
 * - `STORE_MIGRATION_FAILED`: a migration threw; it was rolled back and the file is unchanged.
 * - `STORE_RUN_NOT_FOUND`, `STORE_STEP_NOT_FOUND`: a write named a run or step that does not exist.
 * - `STORE_BAD_FILTER`: a query filter out of range (e.g. a limit that is not a positive integer).
 * - `STORE_BAD_POLICY`: a retention policy out of range (a negative age, a batch size below 1).
 * - `STORE_READONLY`: a write (a prune) asked of a store opened read-only.
 * - `STORE_FOREIGN_KEYS_OFF`: a prune on a connection without foreign keys, which would
 *   leave the steps and ledger rows of deleted runs behind.
 */
export type StoreErrorCode =
  | 'STORE_OPEN_FAILED'
  | 'STORE_NOT_FOUND'
  | 'STORE_SCHEMA_TOO_NEW'
  | 'STORE_SCHEMA_OUTDATED'
  | 'STORE_MIGRATION_FAILED'
  | 'STORE_RUN_NOT_FOUND'
  | 'STORE_STEP_NOT_FOUND'
  | 'STORE_BAD_FILTER'
  | 'STORE_BAD_POLICY'
  | 'STORE_READONLY'
  | 'STORE_FOREIGN_KEYS_OFF';

/** A failure of the execution log, with a stable code; the SQLite error, if any, is the cause. */
export class StoreError extends RulebotError {
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(code, message, details, options);
  }
}
