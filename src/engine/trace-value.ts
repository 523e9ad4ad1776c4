/**
 * Values as the execution log keeps them: JSON, and bounded, so one huge member list or
 * message cannot bloat a run's trace. Dates become ISO strings; long strings and lists
 * are cut with a marker saying how much was left out.
 */
import type { JsonValue } from '../store/types';

export interface TraceLimits {
  /** Longest string kept whole. @default 2000 */
  maxString?: number;
  /** Most list items kept. @default 200 */
  maxItems?: number;
  /** Deepest nesting kept. @default 8 */
  maxDepth?: number;
}

/** A JSON form of `value` within the limits; functions and undefined are left out. */
export function traceValue(value: unknown, limits: TraceLimits = {}): JsonValue {
  const bounds = { maxString: limits.maxString ?? 2000, maxItems: limits.maxItems ?? 200, maxDepth: limits.maxDepth ?? 8 };
  return toTrace(value, bounds, 0, new WeakSet());
}

function toTrace(value: unknown, bounds: Required<TraceLimits>, depth: number, seen: WeakSet<object>): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    return value.length > bounds.maxString ? `${value.slice(0, bounds.maxString)}… (${value.length - bounds.maxString} more characters)` : value;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value !== 'object') return null;
  if (seen.has(value)) return '(circular)';
  if (depth >= bounds.maxDepth) return Array.isArray(value) ? `(list of ${value.length})` : '(map)';
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      const items = value.slice(0, bounds.maxItems).map((item) => toTrace(item, bounds, depth + 1, seen));
      if (value.length > bounds.maxItems) items.push(`… ${value.length - bounds.maxItems} more items`);
      return items;
    }
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined || typeof item === 'function') continue;
      out[key] = toTrace(item, bounds, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
