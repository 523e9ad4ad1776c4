/**
 * Readers for values that come from the bridge as parsed JSON: each takes `unknown` and
 * gives a typed value or a neutral default, so normalising an answer never throws.
 */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object, or an empty one. */
export function objectAt(value: unknown): JsonObject {
  return isObject(value) ? value : {};
}

/** The array, or an empty one. */
export function listAt(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The string, or ''. */
export function textOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** A number, also from a numeric string (answers carry counts and times as strings). */
export function numberOf(value: unknown, fallback = 0): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

/**
 * An id as the program holds it: a string of digits. Pushes carry numbers, answers carry
 * strings; both come out as strings ('' when absent or not an id).
 */
export function idString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return '';
}
