import { RulebotError } from '../shared/errors';
import type { JsonValue, StoredError } from './types';

/** Text for a JSON column: null when there is no value. */
export function toJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return JSON.stringify(value);
}

/**
 * A JSON column read back. The type parameter names the shape that was written; the
 * store writes every JSON column itself, so the text is trusted to hold it.
 */
export function fromJson<T = JsonValue>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** An error in the form the log keeps: the code of a RulebotError (else the error's name) and its message. */
export function toStoredError(err: unknown): StoredError {
  if (err instanceof RulebotError) {
    const details = jsonDetails(err.details);
    return details ? { code: err.code, message: err.message, details } : { code: err.code, message: err.message };
  }
  if (err instanceof Error) return { code: err.name, message: err.message };
  return { code: 'UNKNOWN', message: String(err) };
}

// Details are context for a reader; ones that cannot be written as JSON are left out
// rather than lose the error itself.
function jsonDetails(details: Readonly<Record<string, unknown>>): StoredError['details'] | undefined {
  if (Object.keys(details).length === 0) return undefined;
  try {
    return JSON.parse(JSON.stringify(details)) as StoredError['details'];
  } catch {
    return undefined;
  }
}
