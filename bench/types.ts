/**
 * What a benchmark reports: one row per figure, each set beside a baseline measured in
 * the same run, with the target it is judged against. A figure never fails the process:
 * the runner prints and records misses, it does not assert on them.
 */

/** How a figure is judged. Ratios are figure ÷ baseline. */
export type Target =
  | { kind: 'ratio-at-least'; value: number }
  | { kind: 'ratio-at-most'; value: number }
  | { kind: 'at-least'; value: number }
  | { kind: 'at-most'; value: number }
  | { kind: 'below'; value: number };

/** `info` has no target; `not measured` says in `note` why not. */
export type FigureStatus = 'pass' | 'miss' | 'info' | 'not measured';

export interface Baseline {
  /** What was measured, e.g. `raw ws client`. */
  label: string;
  value: number | null;
  /** Min and max across repetitions. */
  range?: [number, number];
}

export interface BenchResult {
  /** The benchmark module: client, store, dispatch, rules. */
  bench: string;
  /** Stable key for comparing result files, e.g. `client.rps.64`. */
  id: string;
  /** One line for the table. */
  figure: string;
  unit: string;
  /** Median across repetitions; null when not measured. */
  value: number | null;
  /** Min and max across repetitions. */
  range?: [number, number];
  /** The value of each repetition, in the order run. */
  samples?: number[];
  baseline?: Baseline;
  /** figure ÷ baseline (the median of per-round ratios when rounds are paired). */
  ratio?: number | null;
  target?: Target;
  status: FigureStatus;
  note?: string;
  details?: Record<string, unknown>;
}

/** Options the runner passes to every benchmark. */
export interface BenchOptions {
  /** Repetitions of each configuration; each benchmark has its own default. */
  reps?: number;
  /** Shorter windows and fewer repetitions: a smoke run, not a measurement. */
  quick?: boolean;
}

export type Benchmark = (options?: BenchOptions) => Promise<BenchResult[]>;

/** The target as the table shows it. */
export function describeTarget(target: Target | undefined, unit: string): string {
  if (!target) return '';
  switch (target.kind) {
    case 'ratio-at-least':
      return `≥ ${target.value}×`;
    case 'ratio-at-most':
      return `≤ ${target.value}×`;
    case 'at-least':
      return `≥ ${target.value} ${unit}`;
    case 'at-most':
      return `≤ ${target.value} ${unit}`;
    case 'below':
      return `< ${target.value} ${unit}`;
  }
}

function judge(target: Target | undefined, value: number | null, ratio: number | null | undefined): FigureStatus {
  if (value === null) return 'not measured';
  if (!target) return 'info';
  switch (target.kind) {
    case 'ratio-at-least':
      return ratio == null ? 'not measured' : ratio >= target.value ? 'pass' : 'miss';
    case 'ratio-at-most':
      return ratio == null ? 'not measured' : ratio <= target.value ? 'pass' : 'miss';
    case 'at-least':
      return value >= target.value ? 'pass' : 'miss';
    case 'at-most':
      return value <= target.value ? 'pass' : 'miss';
    case 'below':
      return value < target.value ? 'pass' : 'miss';
  }
}

/** The fields of a result before it is judged. */
export type FigureInput = Omit<BenchResult, 'status'>;

/** A result with its status worked out from its target, value and ratio. */
export function figure(input: FigureInput): BenchResult {
  return { ...input, status: judge(input.target, input.value, input.ratio) };
}

/** A figure that could not be measured in this build, and why. */
export function notMeasured(input: Omit<FigureInput, 'value'>, why: string): BenchResult {
  return { ...input, value: null, note: why, status: 'not measured' };
}
