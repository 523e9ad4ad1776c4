import type { WireError } from '../protocol/wire';
import { SimOptionError } from './errors';

// === Deterministic randomness ===

/** A source of numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast, seeded PRNG. Good enough for fault decisions and fake ids,
 * and the same seed always gives the same sequence, so a failing run can be replayed.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max], both inclusive. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

// === Fault configuration ===

/**
 * How often each fault strikes a frame, each a probability in [0, 1]. The four answer
 * faults (busy, silence, drop, garbage) exclude one another, so their sum is at most 1.
 */
export interface FaultRates {
  /** Answer with the busy error (errorCode 300) instead of the result. */
  busy: number;
  /** Never answer. */
  silence: number;
  /** Close the connection instead of answering. */
  drop: number;
  /** Answer with text that is not JSON. */
  garbage: number;
  /** Edition 68: a sent message's delivery result says failed (readStatus 0). */
  deliveryFailure: number;
  /**
   * When one of the answer faults hits a world-changing frame, the probability that the
   * bridge acted on it first: the ambiguous case a client must survive.
   * @default 0.5
   */
  acted: number;
  /** Every frame is handled after a delay drawn from [min, max] milliseconds. @default [0, 0] */
  delayMs: [number, number];
}

export const NO_FAULTS: Readonly<FaultRates> = Object.freeze({
  busy: 0,
  silence: 0,
  drop: 0,
  garbage: 0,
  deliveryFailure: 0,
  acted: 0.5,
  delayMs: [0, 0] as [number, number],
});

const RATE_KEYS = ['busy', 'silence', 'drop', 'garbage', 'deliveryFailure', 'acted'] as const;
const ANSWER_FAULTS = ['busy', 'silence', 'drop', 'garbage'] as const;

/** What a fault does to the frame it strikes. */
export type FaultAction =
  | 'busy'
  | 'silence'
  | 'drop'
  | 'garbage'
  /** Answer with a text frame that is not valid UTF-8: the `ws` client closes with 1007. */
  | 'invalid-utf8'
  | { delayMs: number }
  | { error: WireError };

/** A fault for the next matching frame(s), taking precedence over the random rates. */
export interface ScriptedFault {
  /** Frame type (`sendMsg`, `request`, ...) and / or ApiName (`GroupUpdate`, ...). Empty matches every frame. */
  match: { type?: string; apiName?: string };
  action: FaultAction;
  /** How many matching frames it strikes. @default 1 */
  times?: number;
  /** For a world-changing frame: whether the bridge acted before failing. Drawn from the seed when absent. */
  acted?: boolean;
}

/** The fault chosen for one frame. */
export interface FaultDecision {
  action: FaultAction;
  /** Its name in the record: busy, silence, drop, garbage, invalid-utf8, delay, error. */
  name: string;
  /** Whether the world-changing frame was acted on before the fault; false for every other frame. */
  acted: boolean;
  /** True when the fault came from scriptFault rather than the rates. */
  scripted: boolean;
}

/** The name a fault action carries in the record. */
export function faultName(action: FaultAction): string {
  if (typeof action === 'string') return action;
  return 'delayMs' in action ? 'delay' : 'error';
}

/** Checks a partial rate set, throwing SimOptionError with the offending key. */
export function validateFaultRates(partial: Partial<FaultRates>): void {
  for (const [key, value] of Object.entries(partial)) {
    if (key === 'delayMs') {
      const range = value as unknown;
      if (
        !Array.isArray(range) ||
        range.length !== 2 ||
        !range.every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0) ||
        range[0] > range[1]
      ) {
        throw new SimOptionError(`faults.delayMs must be [min, max] with 0 <= min <= max (got ${JSON.stringify(range)})`, { key });
      }
      continue;
    }
    if (!(RATE_KEYS as readonly string[]).includes(key)) {
      throw new SimOptionError(`unknown fault "${key}" (known: ${[...RATE_KEYS, 'delayMs'].join(', ')})`, { key });
    }
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new SimOptionError(`faults.${key} must be a probability in [0, 1] (got ${JSON.stringify(value)})`, { key });
    }
  }
}

function validateScriptedFault(fault: ScriptedFault): void {
  const { action, times } = fault;
  const known = ['busy', 'silence', 'drop', 'garbage', 'invalid-utf8'];
  const ok =
    (typeof action === 'string' && known.includes(action)) ||
    (typeof action === 'object' &&
      action !== null &&
      (('delayMs' in action && typeof action.delayMs === 'number' && action.delayMs >= 0) ||
        ('error' in action &&
          typeof action.error === 'object' &&
          action.error !== null &&
          Number.isInteger(action.error.errorCode) &&
          typeof action.error.errorDesc === 'string')));
  if (!ok) {
    throw new SimOptionError(
      `scripted fault action must be one of ${known.join(', ')}, { delayMs }, { error: { errorCode, errorDesc } } (got ${JSON.stringify(action)})`,
    );
  }
  if (times !== undefined && !(Number.isInteger(times) && times > 0) && times !== Infinity) {
    throw new SimOptionError(`scripted fault times must be a positive integer (got ${JSON.stringify(times)})`);
  }
  const { match } = fault;
  if (typeof match !== 'object' || match === null || Object.values(match).some((v) => v !== undefined && typeof v !== 'string')) {
    throw new SimOptionError('scripted fault needs a match object of { type?, apiName? } strings ({} matches every frame)');
  }
  if (fault.acted !== undefined && typeof fault.acted !== 'boolean') {
    throw new SimOptionError(`scripted fault acted must be true or false (got ${JSON.stringify(fault.acted)})`);
  }
}

// === Decisions ===

/**
 * Decides, frame by frame, which fault strikes. All randomness comes from one seeded
 * PRNG and is drawn only when a rate is non-zero, so a run with the same seed, the same
 * rates and the same incoming frames makes exactly the same decisions.
 */
export class FaultPlan {
  readonly #random: Random;
  #rates: FaultRates = { ...NO_FAULTS, delayMs: [0, 0] };
  #answerFaultTotal = 0;
  readonly #scripted: Array<ScriptedFault & { remaining: number }> = [];

  constructor(seed: number, rates: Partial<FaultRates> = {}) {
    // A stream of its own, so adding a world id draw never shifts the fault sequence.
    this.#random = mulberry32(seed ^ 0x5f3759df);
    this.setRates(rates);
  }

  get rates(): Readonly<FaultRates> {
    return this.#rates;
  }

  /** Scripted faults still waiting for a frame. */
  get scripted(): readonly ScriptedFault[] {
    return this.#scripted.map(({ remaining, ...fault }) => ({ ...fault, times: remaining }));
  }

  /** Merges new rates into the current ones. */
  setRates(partial: Partial<FaultRates>): void {
    validateFaultRates(partial);
    const next: FaultRates = { ...this.#rates, ...partial, delayMs: [...(partial.delayMs ?? this.#rates.delayMs)] as [number, number] };
    const total = ANSWER_FAULTS.reduce((sum, key) => sum + next[key], 0);
    if (total > 1 + 1e-9) {
      throw new SimOptionError(`busy + silence + drop + garbage must not exceed 1 (got ${total})`, { rates: next });
    }
    this.#rates = next;
    this.#answerFaultTotal = total;
  }

  /** Queues a fault for the next matching frame(s). */
  script(fault: ScriptedFault): void {
    validateScriptedFault(fault);
    this.#scripted.push({ ...fault, match: { ...fault.match }, remaining: fault.times ?? 1 });
  }

  clearScripted(): void {
    this.#scripted.length = 0;
  }

  /**
   * The fault for one incoming frame, or undefined. `worldChanging` frames get a second,
   * separate decision: whether the bridge acted before the fault.
   */
  decide(frameType: string, apiName: string | undefined, worldChanging: boolean): FaultDecision | undefined {
    if (this.#scripted.length > 0) {
      const index = this.#scripted.findIndex(
        (f) => (f.match.type === undefined || f.match.type === frameType) && (f.match.apiName === undefined || f.match.apiName === apiName),
      );
      if (index >= 0) {
        const fault = this.#scripted[index]!;
        if (--fault.remaining <= 0) this.#scripted.splice(index, 1);
        // A delay is no failure: the frame is simply handled later, so nothing is "acted before".
        const fails = typeof fault.action === 'string' || 'error' in fault.action;
        const acted = worldChanging && fails ? (fault.acted ?? this.#drawActed()) : false;
        return { action: fault.action, name: faultName(fault.action), acted, scripted: true };
      }
    }
    if (this.#answerFaultTotal > 0) {
      let u = this.#random();
      for (const name of ANSWER_FAULTS) {
        const rate = this.#rates[name];
        if (u < rate) return { action: name, name, acted: worldChanging ? this.#drawActed() : false, scripted: false };
        u -= rate;
      }
    }
    return undefined;
  }

  /** Milliseconds to hold the next frame back: 0 unless `delayMs` says otherwise. */
  delay(): number {
    const [min, max] = this.#rates.delayMs;
    if (max <= 0) return 0;
    return min + Math.round(this.#random() * (max - min));
  }

  /** Whether the delivery of one sent message fails. */
  deliveryFails(): boolean {
    const rate = this.#rates.deliveryFailure;
    return rate > 0 && this.#random() < rate;
  }

  #drawActed(): boolean {
    const rate = this.#rates.acted;
    if (rate <= 0) return false;
    if (rate >= 1) return true;
    return this.#random() < rate;
  }
}
