/**
 * Summaries as BASELINES.md gives them: percentiles within a run from every sample, then
 * the median and min–max of those across runs.
 */

/** The p-th percentile (0–100) of an ascending array, nearest rank. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Sorts a copy of the first `count` samples. Float64Array sorts numerically and fast. */
export function sortedSamples(samples: Float64Array | readonly number[], count = samples.length): Float64Array {
  const copy = Float64Array.from(samples.slice(0, count));
  copy.sort();
  return copy;
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function percentiles(samples: Float64Array | readonly number[], count = samples.length): Percentiles {
  const sorted = sortedSamples(samples, count);
  return {
    count: sorted.length,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    p999: percentileOfSorted(sorted, 99.9),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
  };
}

export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

export function range(values: readonly number[]): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length === 0 ? [NaN, NaN] : [Math.min(...finite), Math.max(...finite)];
}

/** Median of per-round ratios a[i] / b[i]: rounds run side by side, so drift cancels within each pair. */
export function pairedRatio(figures: readonly number[], baselines: readonly number[]): number | null {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(figures.length, baselines.length); i++) {
    if (baselines[i]! > 0 && Number.isFinite(figures[i]!)) ratios.push(figures[i]! / baselines[i]!);
  }
  return ratios.length === 0 ? null : median(ratios);
}

/** Rounds for display and JSON: 3 significant digits below 100, integers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}

export function roundOrNull(value: number | null): number | null {
  return value === null ? null : round(value);
}

/** Median, min–max and every value of a figure's repetitions, rounded for the report. */
export function spread(values: readonly number[]): { value: number; range: [number, number]; samples: number[] } {
  return { value: round(median(values)), range: range(values).map(round) as [number, number], samples: values.map(round) };
}

/** Median and min–max of a baseline's repetitions. */
export function baselineSpread(values: readonly number[]): { value: number; range: [number, number] } {
  return { value: round(median(values)), range: range(values).map(round) as [number, number] };
}
