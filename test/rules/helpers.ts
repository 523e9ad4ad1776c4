/** Paths and small helpers shared by the rule tests. */
import path from 'node:path';

/** The repository root: tests run from dist/test/rules. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** 1-based line and column of the first `needle` in `text` at or after `after` (a string that precedes it). */
export function locate(text: string, needle: string, after?: string): { line: number; col: number } {
  const from = after === undefined ? 0 : text.indexOf(after);
  if (from < 0) throw new Error(`anchor not found: ${after}`);
  const offset = text.indexOf(needle, from);
  if (offset < 0) throw new Error(`not found: ${needle}`);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: (before.at(-1) as string).length + 1 };
}
