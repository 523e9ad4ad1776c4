/**
 * A small metrics registry: counters, gauges and fixed-bucket histograms, rendered in
 * the Prometheus text exposition format 0.0.4. A metric is either pushed (`inc`, `set`,
 * `observe` where the event happens) or pulled (a `collect` callback read at every
 * render, for values another module already keeps, such as the bridge client's
 * counters or the scheduler's queue size).
 *
 * @example
 * const registry = new MetricsRegistry();
 * const runs = registry.counter({ name: 'rulebot_runs_total', help: 'Runs', labelNames: ['rule', 'status'] });
 * runs.inc({ rule: 'morning-greeting', status: 'ok' });
 * const queue = registry.gauge({ name: 'rulebot_scheduler_queue_size', help: 'Queued', collect: () => scheduler.size });
 * response.end(registry.render());
 */
import { OpsError } from './errors';

// === Types ===

/** One value per label name of a metric. */
export type Labels<L extends string> = { readonly [K in L]: string };

/** One series of a labelled metric, as a collect callback returns it. */
export interface Sample<L extends string> {
  labels: Labels<L>;
  value: number;
}

/**
 * What a collect callback returns: the value of a metric without labels, or one sample
 * per label set of a labelled one (label sets it leaves out are not rendered).
 */
export type Collected<L extends string> = [L] extends [never] ? number : readonly Sample<L>[];

/** Arguments of `inc` / `dec`: the labels (when the metric has any), then the amount. */
export type IncArgs<L extends string> = [L] extends [never] ? [by?: number] : [labels: Labels<L>, by?: number];
/** Arguments of `set` / `observe`: the labels (when the metric has any), then the value. */
export type ValueArgs<L extends string> = [L] extends [never] ? [value: number] : [labels: Labels<L>, value: number];
/** Arguments that name one series: the labels, or nothing for a metric without labels. */
export type SeriesArgs<L extends string> = [L] extends [never] ? [] : [labels: Labels<L>];

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricOptions<L extends string> {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total` by convention. */
  name: string;
  /** One line for `# HELP`. */
  help: string;
  /** The names of the labels every sample carries, in the order they are rendered. @default [] */
  labelNames?: readonly L[];
  /**
   * Series kept before new label sets are dropped (with one warning): a guard against a
   * label that takes unbounded values by mistake, which would grow memory and the
   * scrape forever. @default 10000
   */
  maxSeries?: number;
}

export interface CollectableOptions<L extends string> extends MetricOptions<L> {
  /** Reads the values at each render; when set, it is the metric's only source. */
  collect?: () => Collected<NoInfer<L>>;
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, strictly increasing and finite; `+Inf` is added. */
  buckets: readonly number[];
}

export interface MetricsRegistryOptions {
  /**
   * Told about trouble that must not fail a scrape: a collect callback that threw or
   * returned a bad value, a metric that reached its series limit. @default ignore
   */
  onWarning?: (message: string, details: Record<string, unknown>) => void;
}

/** A histogram series' state, for tests and diagnostics. */
export interface HistogramSnapshot {
  /** Cumulative counts, one per bound, `+Inf` last. */
  buckets: ReadonlyArray<{ le: number; count: number }>;
  sum: number;
  count: number;
}

/** The registry's view of a metric. */
interface Renderable {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** The sample lines, without a trailing newline. */
  lines(): string[];
}

// === Names and text ===

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DEFAULT_MAX_SERIES = 10_000;

/** `# HELP` text: backslash and newline escaped (quotes are not, per the format). */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as the format spells it (Go's ParseFloat reads JS's shortest form). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Object.is(value, -0) ? '0' : String(value);
}

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return '';
  return `{${names.map((name, i) => `${name}="${escapeLabelValue(values[i]!)}"`).join(',')}}`;
}

// === Metrics ===

/** What every metric shares: names, label checking, the series map. */
abstract class Metric<L extends string, S> implements Renderable {
  abstract readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly #maxSeries: number;
  readonly #warn: (message: string, details: Record<string, unknown>) => void;
  #warnedFull = false;
  /** Keyed by the label values in `labelNames` order, so one label set is one series. */
  protected readonly series = new Map<string, { values: string[]; state: S }>();

  constructor(options: MetricOptions<L>, warn: (message: string, details: Record<string, unknown>) => void) {
    if (!METRIC_NAME.test(options.name)) throw new OpsError('METRIC_INVALID', `${JSON.stringify(options.name)} is not a metric name`, { name: options.name });
    const labelNames = options.labelNames ?? [];
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) {
        throw new OpsError('METRIC_INVALID', `${options.name}: ${JSON.stringify(label)} is not a label name`, { name: options.name, label });
      }
    }
    if (new Set(labelNames).size !== labelNames.length) throw new OpsError('METRIC_INVALID', `${options.name}: a label name is repeated`, { name: options.name });
    if (options.help.trim() === '') throw new OpsError('METRIC_INVALID', `${options.name}: help text is empty`, { name: options.name });
    this.name = options.name;
    this.help = options.help;
    this.labelNames = [...labelNames];
    this.#maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
    this.#warn = warn;
  }

  abstract lines(): string[];

  protected warn(message: string, details: Record<string, unknown>): void {
    this.#warn(message, { metric: this.name, ...details });
  }

  /** The label values of `labels` in `labelNames` order; throws unless the names match exactly. */
  protected labelValues(labels: unknown): string[] {
    if (this.labelNames.length === 0) {
      if (labels === undefined) return [];
      throw new OpsError('METRIC_BAD_LABELS', `${this.name} has no labels`, { name: this.name });
    }
    if (typeof labels !== 'object' || labels === null) {
      throw new OpsError('METRIC_BAD_LABELS', `${this.name} needs labels ${this.labelNames.join(', ')}`, { name: this.name });
    }
    const record = labels as Record<string, unknown>;
    const keys = Object.keys(record);
    const values: string[] = [];
    for (const name of this.labelNames) {
      const value = record[name];
      if (typeof value !== 'string') {
        throw new OpsError('METRIC_BAD_LABELS', `${this.name}: label ${name} must be a string`, { name: this.name, label: name });
      }
      values.push(value);
    }
    if (keys.length !== this.labelNames.length) {
      const extra = keys.filter((k) => !(this.labelNames as readonly string[]).includes(k));
      throw new OpsError('METRIC_BAD_LABELS', `${this.name}: unknown label ${extra.join(', ')}`, { name: this.name, labels: extra });
    }
    return values;
  }

  /** The state of a series, created on first use; undefined once the series limit is reached. */
  protected seriesState(values: string[], create: () => S): S | undefined {
    const key = JSON.stringify(values);
    const found = this.series.get(key);
    if (found !== undefined) return found.state;
    if (this.series.size >= this.#maxSeries) {
      if (!this.#warnedFull) {
        this.#warnedFull = true;
        this.warn('metric reached its series limit; new label sets are dropped', { maxSeries: this.#maxSeries });
      }
      return undefined;
    }
    const state = create();
    this.series.set(key, { values, state });
    return state;
  }

  /** Splits `[labels?, number?]` as the metric's label count says. */
  protected split(args: readonly unknown[]): { values: string[]; number: unknown } {
    if (this.labelNames.length === 0) {
      if (typeof args[0] === 'object' && args[0] !== null) this.labelValues(args[0]);
      return { values: [], number: args[0] };
    }
    return { values: this.labelValues(args[0]), number: args[1] };
  }
}

function checkFinite(name: string, value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new OpsError('METRIC_BAD_VALUE', `${name}: ${what} must be a finite number, got ${String(value)}`, { name });
  }
  return value;
}

/** A value per series that is pushed or collected: counters and gauges. */
abstract class ScalarMetric<L extends string> extends Metric<L, { value: number }> {
  #collect: (() => Collected<L>) | undefined;

  constructor(options: CollectableOptions<L>, warn: (message: string, details: Record<string, unknown>) => void) {
    super(options, warn);
    this.#collect = options.collect as (() => Collected<L>) | undefined;
  }

  /** Makes `collect` the metric's source from now on (for sources created after the metric). */
  collectFrom(collect: () => Collected<L>): void {
    this.#collect = collect;
  }

  /** The current value of a series (0 when it has none yet); a collected metric is read now. */
  get(...args: SeriesArgs<L>): number {
    const values = this.labelValues((args as readonly unknown[])[0]);
    const key = JSON.stringify(values);
    if (this.#collect !== undefined) {
      return this.#collected().find((s) => JSON.stringify(s.values) === key)?.value ?? 0;
    }
    return this.series.get(key)?.state.value ?? 0;
  }

  /** Whether a value is acceptable for this type (counters never go negative). */
  protected abstract accepts(value: number): boolean;

  protected add(args: readonly unknown[], sign: 1 | -1): void {
    const { values, number } = this.split(args);
    const by = checkFinite(this.name, number ?? 1, 'the amount');
    const state = this.seriesState(values, () => ({ value: 0 }));
    if (state !== undefined) state.value += sign * by;
  }

  protected assign(args: readonly unknown[]): void {
    const { values, number } = this.split(args);
    const value = checkFinite(this.name, number, 'the value');
    const state = this.seriesState(values, () => ({ value: 0 }));
    if (state !== undefined) state.value = value;
  }

  lines(): string[] {
    const samples = this.#collect !== undefined ? this.#collected() : this.#stored();
    return samples.map((s) => `${this.name}${labelText(this.labelNames, s.values)} ${formatValue(s.value)}`);
  }

  #stored(): Array<{ values: string[]; value: number }> {
    // A metric without labels has its one series from the start: 0 is a real reading.
    if (this.labelNames.length === 0 && this.series.size === 0) return [{ values: [], value: 0 }];
    return [...this.series.values()].map((s) => ({ values: s.values, value: s.state.value }));
  }

  /** Reads the collect callback; what it gets wrong is warned about and left out, never thrown into a scrape. */
  #collected(): Array<{ values: string[]; value: number }> {
    let result: unknown;
    try {
      result = this.#collect!();
    } catch (err) {
      this.warn('metric collect callback threw; its samples are left out', { err });
      return [];
    }
    const raw: Array<{ labels: unknown; value: unknown }> =
      this.labelNames.length === 0 ? [{ labels: undefined, value: result }] : Array.isArray(result) ? (result as Array<{ labels: unknown; value: unknown }>) : [];
    if (this.labelNames.length > 0 && !Array.isArray(result)) this.warn('metric collect callback did not return samples', {});
    const out: Array<{ values: string[]; value: number }> = [];
    const seen = new Set<string>();
    for (const sample of raw) {
      try {
        const values = this.labelValues(sample.labels);
        const value = checkFinite(this.name, sample.value, 'a collected value');
        if (!this.accepts(value)) throw new OpsError('METRIC_BAD_VALUE', `${this.name}: a counter cannot be negative`, { name: this.name });
        const key = JSON.stringify(values);
        if (seen.has(key)) throw new OpsError('METRIC_BAD_LABELS', `${this.name}: a label set was collected twice`, { name: this.name });
        seen.add(key);
        out.push({ values, value });
      } catch (err) {
        this.warn('metric collect callback returned a bad sample; it is left out', { err });
      }
    }
    return out;
  }
}

/** A count that only goes up (per process: it restarts at 0, which Prometheus reads as a reset). */
export class Counter<L extends string = never> extends ScalarMetric<L> {
  readonly type = 'counter' as const;

  /** Adds `by` (default 1, never negative) to the series of `labels`. */
  inc(...args: IncArgs<L>): void {
    const list = args as readonly unknown[];
    const by = this.labelNames.length === 0 ? list[0] : list[1];
    if (typeof by === 'number' && by < 0) throw new OpsError('METRIC_BAD_VALUE', `${this.name}: a counter cannot go down (inc by ${by})`, { name: this.name });
    this.add(args, 1);
  }

  protected accepts(value: number): boolean {
    return value >= 0;
  }
}

/** A value that goes up and down. */
export class Gauge<L extends string = never> extends ScalarMetric<L> {
  readonly type = 'gauge' as const;

  set(...args: ValueArgs<L>): void {
    this.assign(args);
  }

  inc(...args: IncArgs<L>): void {
    this.add(args, 1);
  }

  dec(...args: IncArgs<L>): void {
    this.add(args, -1);
  }

  protected accepts(): boolean {
    return true;
  }
}

interface HistogramState {
  /** Per bucket, not cumulative; the last is the `+Inf` overflow. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into fixed buckets, with their sum and count. */
export class Histogram<L extends string = never> extends Metric<L, HistogramState> {
  readonly type = 'histogram' as const;
  /** The upper bounds, without `+Inf`. */
  readonly buckets: readonly number[];

  constructor(options: HistogramOptions<L>, warn: (message: string, details: Record<string, unknown>) => void) {
    super(options, warn);
    if ((options.labelNames ?? []).some((l) => l === 'le')) throw new OpsError('METRIC_INVALID', `${options.name}: a histogram cannot have a label named le`, { name: options.name });
    const buckets = options.buckets;
    if (buckets.length === 0) throw new OpsError('METRIC_INVALID', `${options.name}: a histogram needs at least one bucket`, { name: options.name });
    buckets.forEach((b, i) => {
      if (!Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!)) {
        throw new OpsError('METRIC_INVALID', `${options.name}: buckets must be finite and strictly increasing`, { name: options.name, buckets: [...buckets] });
      }
    });
    this.buckets = [...buckets];
  }

  /** Counts `value` (e.g. seconds) into the series of `labels`. */
  observe(...args: ValueArgs<L>): void {
    const { values, number } = this.split(args);
    const value = checkFinite(this.name, number, 'an observation');
    const state = this.seriesState(values, () => ({ counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
    if (state === undefined) return;
    // `le` is inclusive: a value equal to a bound falls in that bound's bucket.
    let i = this.buckets.findIndex((bound) => value <= bound);
    if (i === -1) i = this.buckets.length;
    state.counts[i]! += 1;
    state.sum += value;
    state.count += 1;
  }

  /** The cumulative state of a series (all zero when it has none yet). */
  snapshot(...args: SeriesArgs<L>): HistogramSnapshot {
    const values = this.labelValues((args as readonly unknown[])[0]);
    const state = this.series.get(JSON.stringify(values))?.state;
    return this.#cumulative(state ?? { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 });
  }

  lines(): string[] {
    const out: string[] = [];
    const bucketLabels = [...this.labelNames, 'le'];
    const entries =
      this.labelNames.length === 0 && this.series.size === 0
        ? [{ values: [] as string[], state: { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 } }]
        : [...this.series.values()];
    for (const { values, state } of entries) {
      const snap = this.#cumulative(state);
      for (const bucket of snap.buckets) {
        out.push(`${this.name}_bucket${labelText(bucketLabels, [...values, formatValue(bucket.le)])} ${formatValue(bucket.count)}`);
      }
      out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatValue(snap.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, values)} ${formatValue(snap.count)}`);
    }
    return out;
  }

  #cumulative(state: HistogramState): HistogramSnapshot {
    let running = 0;
    const buckets = [...this.buckets, Infinity].map((le, i) => {
      running += state.counts[i]!;
      return { le, count: running };
    });
    return { buckets, sum: state.sum, count: state.count };
  }
}

// === Registry ===

/** The metrics of one process, rendered together for `/metrics`. */
export class MetricsRegistry {
  readonly #metrics: Renderable[] = [];
  /** Every sample name in use, so a histogram's `_sum` cannot collide with another metric. */
  readonly #names = new Set<string>();
  readonly #warn: (message: string, details: Record<string, unknown>) => void;

  constructor(options: MetricsRegistryOptions = {}) {
    this.#warn = options.onWarning ?? (() => {});
  }

  counter<L extends string = never>(options: CollectableOptions<L>): Counter<L> {
    return this.#add(new Counter<L>(options, this.#warn), [options.name]);
  }

  gauge<L extends string = never>(options: CollectableOptions<L>): Gauge<L> {
    return this.#add(new Gauge<L>(options, this.#warn), [options.name]);
  }

  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    return this.#add(new Histogram<L>(options, this.#warn), [options.name, `${options.name}_bucket`, `${options.name}_sum`, `${options.name}_count`]);
  }

  /** The names of the registered metrics, in registration order. */
  get names(): string[] {
    return this.#metrics.map((m) => m.name);
  }

  /**
   * Every metric in the text exposition format 0.0.4: `# HELP`, `# TYPE`, then its
   * samples, in registration order; ends with a newline unless empty.
   */
  render(): string {
    let text = '';
    for (const metric of this.#metrics) {
      text += `# HELP ${metric.name} ${escapeHelp(metric.help)}\n# TYPE ${metric.name} ${metric.type}\n`;
      for (const line of metric.lines()) text += `${line}\n`;
    }
    return text;
  }

  #add<M extends Renderable>(metric: M, names: string[]): M {
    const taken = names.find((n) => this.#names.has(n));
    if (taken !== undefined) throw new OpsError('METRIC_DUPLICATE', `a metric named ${taken} is already registered`, { name: taken });
    for (const n of names) this.#names.add(n);
    this.#metrics.push(metric);
    return metric;
  }
}

/** Content-Type of `render()`'s output. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
