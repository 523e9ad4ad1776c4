/**
 * One run's services and state, handed to every action handler: the bridge API, the
 * store, the clock and the outbound limiter; the template scope; the step recorder; and
 * a way to run a nested list of actions (for choose and forEach).
 */
import type { Config } from '../config/types';
import type { ChatApi } from '../protocol/api';
import { evaluateTemplate, parseTemplate, renderDeep, renderTemplate, type TemplateContext } from '../rules/templates';
import type { Action, Rule } from '../rules/types';
import type { Clock, TimerHandle } from '../shared/clock';
import { RulebotError } from '../shared/errors';
import type { RunStore } from '../store/run-store';
import type { LedgerState, StoredError } from '../store/types';
import type { CompiledRule } from './compile';
import type { ConditionsOutcome, RateTracker } from './conditions';
import { templateContextOf, type RunScope, type ScopeLayer } from './context';
import type { OutboundLimiter } from './ratelimit';
import { resumeDecision, type ResumeDecision, type ResumedLedger } from './resume';
import type { StepRecorder } from './steps';

// === Dependencies ===

/** The subset of a pino logger the executor writes to. */
export interface RunLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): RunLogger;
}

/** What of the configuration runs read. */
export type ExecutorConfig = Pick<Config, 'timezone' | 'admins' | 'allowlist' | 'friendRequests'>;

/** Everything a run talks to, injected. */
export interface ExecutorDeps {
  api: ChatApi;
  store: RunStore;
  /** Every pause, delay and timestamp of the run goes through it. */
  clock: Clock;
  /** The outbound limit shared by all rules. */
  limiter: OutboundLimiter;
  logger: RunLogger;
  config: ExecutorConfig;
  /** Counters of `rate` conditions; the process-wide tracker when absent. */
  rates?: RateTracker;
  /** Source of jitter and shuffles, in [0, 1). @default Math.random */
  random?: () => number;
}

// === Outcomes ===

/** How one action ended. `partial`: some of its targets failed, others went through. */
export type ActionStatus = 'ok' | 'failed' | 'partial' | 'skipped' | 'dry-run';

export interface ActionOutcome {
  status: ActionStatus;
  /** What later actions read as `steps.<id>` when the action has an id. */
  result?: unknown;
  /** Why it failed (the first error, for a partial outcome). */
  error?: StoredError;
  /** Set by `stop`, and by nested lists that reached one: end the run here. */
  stop?: RunStop;
}

export interface RunStop {
  status: 'ok' | 'failed';
  reason: string;
}

/** How a list of actions ended. */
export interface ListOutcome {
  /** The error that stopped the list (an action failed with `onError: stop`). */
  failed?: StoredError;
  /** Some action failed and was continued past, or went through only in part. */
  partial: boolean;
  stop?: RunStop;
}

/** Runs a nested list of actions: `prefix` is its trace path (`actions/3/then`), `staticPrefix` its path in the rule. */
export type RunActions = (actions: readonly Action[], prefix: string, staticPrefix: string, suffix?: string) => Promise<ListOutcome>;

/** Thrown when the run's abort signal fires: the run ends `interrupted`. */
export class RunInterruptedError extends RulebotError {
  constructor(reason: string) {
    super('RUN_INTERRUPTED', `the run was interrupted: ${reason}`, { reason });
  }
}

// === The context ===

export interface RunContextInit {
  runId: number;
  rule: Rule;
  compiled: CompiledRule;
  scope: RunScope;
  timezone: string;
  dryRun: boolean;
  deps: ExecutorDeps;
  steps: StepRecorder;
  log: RunLogger;
  rates: RateTracker;
  signal: AbortSignal | undefined;
  /** For a resumed run: the ledger of the run it resumes (with its earlier resumes'), by action path and target. */
  resumedLedger: ResumedLedger | undefined;
  resumedFrom: number | undefined;
  /** For a resumed run: send again to targets whose delivery is unknown. @default false */
  resendUnknown?: boolean;
}

/** A run in progress, as action handlers see it. */
export class RunContext {
  readonly runId: number;
  readonly rule: Rule;
  readonly compiled: CompiledRule;
  readonly scope: RunScope;
  readonly timezone: string;
  readonly dryRun: boolean;
  readonly deps: ExecutorDeps;
  readonly steps: StepRecorder;
  readonly log: RunLogger;
  readonly rates: RateTracker;
  readonly signal: AbortSignal | undefined;
  readonly resumedFrom: number | undefined;
  readonly #resumedLedger: ResumedLedger | undefined;
  readonly #resendUnknown: boolean;
  readonly #layers: ScopeLayer[] = [];
  #runActions: RunActions | undefined;

  constructor(init: RunContextInit) {
    this.runId = init.runId;
    this.rule = init.rule;
    this.compiled = init.compiled;
    this.scope = init.scope;
    this.timezone = init.timezone;
    this.dryRun = init.dryRun;
    this.deps = init.deps;
    this.steps = init.steps;
    this.log = init.log;
    this.rates = init.rates;
    this.signal = init.signal;
    this.resumedFrom = init.resumedFrom;
    this.#resumedLedger = init.resumedLedger;
    this.#resendUnknown = init.resendUnknown === true;
  }

  get api(): ChatApi {
    return this.deps.api;
  }

  get store(): RunStore {
    return this.deps.store;
  }

  now(): number {
    return this.deps.clock.now();
  }

  random(): number {
    return (this.deps.random ?? Math.random)();
  }

  // === Templates ===

  /** The template context now, with any layers (target, forEach item) on top. */
  context(): TemplateContext {
    return templateContextOf(this.scope, this.now(), this.#layers);
  }

  /** Runs `fn` with `layer`'s names visible to templates. */
  async withLayer<T>(layer: ScopeLayer, fn: () => Promise<T>): Promise<T> {
    this.#layers.push(layer);
    try {
      return await fn();
    } finally {
      this.#layers.pop();
    }
  }

  /** Renders a template to text. */
  render(text: string): string {
    return renderTemplate(parseTemplate(text), this.context(), { timezone: this.timezone });
  }

  /** Renders a template keeping the type of a lone output (`"{{ steps.x.list }}"` gives the list). */
  evaluate(text: string): unknown {
    return evaluateTemplate(parseTemplate(text), this.context(), { timezone: this.timezone });
  }

  /** Renders every string inside a value. */
  renderDeep(value: unknown): unknown {
    return renderDeep(value, this.context(), { timezone: this.timezone });
  }

  /** A value that may be a literal or a template, as text (ids, uids). */
  text(value: string | number): string {
    return typeof value === 'number' ? String(value) : this.render(value).trim();
  }

  /** A boolean that may be a template: `true`, `"{{ window.inside }}"`. */
  flag(value: boolean | string): boolean {
    if (typeof value === 'boolean') return value;
    const rendered = this.evaluate(value);
    if (typeof rendered === 'boolean') return rendered;
    const textValue = String(rendered ?? '').trim().toLowerCase();
    if (textValue === 'true' || textValue === '1' || textValue === 'yes') return true;
    if (textValue === 'false' || textValue === '0' || textValue === 'no' || textValue === '') return false;
    throw new RulebotError('ACTION_INPUT_INVALID', `${JSON.stringify(value)} gave ${JSON.stringify(rendered)}, which is not true or false`);
  }

  // === Conditions ===

  /** Evaluates the compiled conditions at a static path (`actions/2/if`). */
  evaluateConditions(staticPath: string): ConditionsOutcome {
    return this.compiled.conditionsAt(staticPath).evaluate({
      context: this.context(),
      now: this.now(),
      timezone: this.timezone,
      rates: this.rates,
      rateScope: this.rule.id,
    });
  }

  // === Nested actions ===

  /** Runs a nested list of actions (for choose and forEach). */
  runActions(actions: readonly Action[], prefix: string, staticPrefix: string, suffix?: string): Promise<ListOutcome> {
    if (!this.#runActions) throw new Error('the run context has no action runner');
    return this.#runActions(actions, prefix, staticPrefix, suffix);
  }

  /** Set once by the executor. */
  bindActionRunner(runActions: RunActions): void {
    this.#runActions = runActions;
  }

  // === Waiting ===

  /** Throws RunInterruptedError if the run was asked to stop. */
  throwIfAborted(): void {
    if (this.signal?.aborted) throw new RunInterruptedError(abortReason(this.signal));
  }

  /** Waits `ms` on the injected clock; an abort ends the wait with RunInterruptedError. */
  sleep(ms: number): Promise<void> {
    this.throwIfAborted();
    if (ms <= 0) return Promise.resolve();
    const clock = this.deps.clock;
    const signal = this.signal;
    return new Promise<void>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const onAbort = (): void => {
        if (timer !== undefined) clock.clearTimeout(timer);
        reject(new RunInterruptedError(abortReason(signal)));
      };
      timer = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  // === Resuming ===

  /** For a resumed run: the state the original run (or an earlier resume of it) left `target` of the action at `path` in. */
  resumedState(path: string, target: string): LedgerState | undefined {
    return this.#resumedLedger?.get(path)?.get(target)?.state;
  }

  /** For a resumed run: what to do with `target` of the action at `path`; undefined when the run resumes none. */
  resumeDecision(path: string, target: string): ResumeDecision | undefined {
    if (this.#resumedLedger === undefined) return undefined;
    return resumeDecision(this.#resumedLedger.get(path)?.get(target), this.#resendUnknown);
  }
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? 'aborted' : String(reason);
}
