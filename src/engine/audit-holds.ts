/**
 * The HoldResolver: the daemon's part of friend-request audits that happens outside any
 * rule run. On a timer it
 *
 * 1. ends each hold whose time has run out with its fallback verdict (`hold.then`, kept
 *    in the decision), once: the store resolves a held decision only while it is still
 *    held, so an admin's `rulebot audit decide` and the fallback cannot both win. A
 *    fallback accept still counts against the daily cap it was held under: over the cap,
 *    the hold moves to the next local midnight;
 * 2. carries out the answers due through the bridge: those an admin or a fallback
 *    decided (`pending`), and those whose frame left without a clear answer (`unknown`,
 *    or `sending` left behind by a crash). Each is sent only while the request is still
 *    in the bridge's pending list (ContactsApplyList), so an answer the bridge did take,
 *    or a request handled in the app meanwhile, is not answered twice. Its state is
 *    written before the frame; a frame that may have acted is tried again at most
 *    `maxAttempts` times in all.
 *
 * Every change is recorded in the decision (audit-record.ts), so `rulebot audit` shows
 * what was done and when. A check that fails (the bridge busy or gone) changes nothing
 * it did not finish, and the next check takes it up again.
 *
 * @example
 * const holds = new HoldResolver({ store, api, clock, config, logger: log.child({ component: 'audit' }), limiter });
 * holds.start();
 * // at shutdown
 * await holds.stop();
 */
import type { FriendRequestsConfig } from '../config/types';
import type { ChatApi, FriendRequest } from '../protocol/api';
import { BridgeError } from '../protocol/errors';
import type { Clock, TimerHandle } from '../shared/clock';
import { toStoredError } from '../store/json';
import type { RunStore } from '../store/run-store';
import type { AuditDecision, FinalAuditVerdict } from '../store/types';
import { actsOn, auditRecordOf, initialAnswer, nextLocalMidnight, startOfLocalDay, type AnswerRecord, type AnswerState, type AuditRecord } from './audit-record';
import { RateLimitAbortedError, type OutboundLimiter } from './ratelimit';

// === Contract ===

/** The lines the resolver logs (a pino logger fits). */
export interface HoldResolverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface HoldResolverDeps {
  store: RunStore;
  api: Pick<ChatApi, 'friendRequests' | 'answerFriendRequest'>;
  clock: Clock;
  config: { friendRequests: FriendRequestsConfig };
  logger: HoldResolverLogger;
  /** The outbound limit shared by all rules; answers wait for it when given. */
  limiter?: OutboundLimiter;
}

export interface HoldResolverOptions {
  /** Time between checks. @default 60_000 (a minute) */
  intervalMs?: number;
  /** How far back decisions are looked at for answers to carry out. @default 7 days */
  lookbackMs?: number;
  /** Frames sent for one answer at most. @default 3 */
  maxAttempts?: number;
  /** A `sending` state older than this was left by a process that stopped. @default 10 minutes */
  staleSendingMs?: number;
}

/** What one check did. */
export interface HoldCheckOutcome {
  /** Holds ended by their fallback. */
  resolved: Array<{ id: number; uid: string; verdict: FinalAuditVerdict }>;
  /** Holds moved to the next day by the daily cap. */
  postponed: Array<{ id: number; uid: string; until: number }>;
  /** Answers whose state this check changed, and the state they are in now. */
  answers: Array<{ id: number; uid: string; state: AnswerState }>;
  /** Set when the pending list could not be read: the answers wait for the next check. */
  error?: string;
}

/** The states whose answer is still to be carried out, or checked. */
const OPEN_STATES: ReadonlySet<AnswerState> = new Set<AnswerState>(['pending', 'unknown', 'sending']);

/** Decisions looked at per check at most, newest first. */
const LIST_LIMIT = 1000;

// === The resolver ===

export class HoldResolver {
  readonly #deps: HoldResolverDeps;
  readonly #intervalMs: number;
  readonly #lookbackMs: number;
  readonly #maxAttempts: number;
  readonly #staleSendingMs: number;
  #timer: TimerHandle | undefined;
  #running = false;
  #inFlight: Promise<HoldCheckOutcome> | undefined;
  /** Aborted by stop(): a check waiting for the outbound limiter gives up its answers. */
  #abort = new AbortController();
  /** Held decisions without a fallback already reported, so a bad row is logged once. */
  readonly #reported = new Set<number>();

  constructor(deps: HoldResolverDeps, options: HoldResolverOptions = {}) {
    this.#deps = deps;
    this.#intervalMs = Math.max(1000, options.intervalMs ?? 60_000);
    this.#lookbackMs = options.lookbackMs ?? 7 * 86_400_000;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.#staleSendingMs = options.staleSendingMs ?? 10 * 60_000;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Checks at once, then every interval, until {@link stop}. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#abort.signal.aborted) this.#abort = new AbortController();
    this.#schedule(0);
  }

  /** Stops the timer and gives up answers still waiting for the outbound limiter; resolves when a check in progress has ended. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.idle();
  }

  /** Settles when no check is running. */
  async idle(): Promise<void> {
    if (this.#inFlight) await this.#inFlight.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Runs one check now; while one is running, resolves with that one's outcome. */
  checkNow(): Promise<HoldCheckOutcome> {
    if (this.#inFlight) return this.#inFlight;
    const check = this.#check().finally(() => {
      this.#inFlight = undefined;
    });
    this.#inFlight = check;
    return check;
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    const timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.checkNow()
        .catch((err: unknown) => this.#deps.logger.error({ err }, 'audit hold check failed'))
        .finally(() => this.#schedule(this.#intervalMs));
    }, ms);
    // The resolver alone must not keep a process alive.
    timer.unref?.();
    this.#timer = timer;
  }

  async #check(): Promise<HoldCheckOutcome> {
    const outcome: HoldCheckOutcome = { resolved: [], postponed: [], answers: [] };
    for (const held of this.#deps.store.audit.listDueHolds(this.#deps.clock.now())) this.#endHold(held, outcome);
    await this.#carryOutAnswers(outcome);
    return outcome;
  }

  // === Holds ===

  #endHold(held: AuditDecision, outcome: HoldCheckOutcome): void {
    const { store, clock, config, logger } = this.#deps;
    const record = auditRecordOf(held);
    const fallback = record.hold;
    if (!fallback) {
      if (!this.#reported.has(held.id)) logger.warn({ decision: held.id, uid: held.uid }, 'a held request ran out of time but has no fallback recorded: it waits for rulebot audit decide');
      this.#reported.add(held.id);
      return;
    }
    const now = clock.now();
    if (fallback.then === 'accept' && fallback.cap !== undefined) {
      const timezone = fallback.timezone ?? 'UTC';
      const accepted = store.audit.countVerdicts('accept', startOfLocalDay(now, timezone));
      if (accepted >= fallback.cap) {
        const until = nextLocalMidnight(now, timezone);
        if (store.audit.postponeHold(held.id, until)) {
          outcome.postponed.push({ id: held.id, uid: held.uid, until });
          logger.info({ decision: held.id, uid: held.uid, accepted, cap: fallback.cap, until: new Date(until).toISOString() }, 'held request stays held: the daily accept cap is reached');
        }
        return;
      }
    }
    const answer = initialAnswer(fallback.then, actsOn(record, config.friendRequests), config.friendRequests, now);
    const decidedBy = fallback.reason === 'cap' ? 'fallback: the next day under the daily accept cap' : 'fallback: the hold ran out';
    if (!store.audit.resolve(held.id, { verdict: fallback.then, decidedBy, actions: { ...record, answer } })) return;
    outcome.resolved.push({ id: held.id, uid: held.uid, verdict: fallback.then });
    logger.info({ decision: held.id, uid: held.uid, verdict: fallback.then, answer: answer.state }, 'held friend request decided by its fallback');
  }

  // === Answers ===

  async #carryOutAnswers(outcome: HoldCheckOutcome): Promise<void> {
    const { store, clock } = this.#deps;
    const now = clock.now();
    const due = store.audit
      .list({ since: now - this.#lookbackMs, limit: LIST_LIMIT })
      .filter((decision) => decision.state !== 'held' && (decision.verdict === 'accept' || decision.verdict === 'reject'))
      .map((decision) => ({ decision, record: auditRecordOf(decision) }))
      .filter(({ record }) => OPEN_STATES.has(record.answer.state) && (record.answer.state !== 'sending' || now - (record.answer.at ?? 0) >= this.#staleSendingMs))
      // Oldest first: answers go out in the order they were decided.
      .reverse();
    if (due.length === 0) return;

    let pending: FriendRequest[];
    try {
      pending = (await this.#deps.api.friendRequests()).pending;
    } catch (err) {
      outcome.error = `the pending friend requests could not be read: ${err instanceof Error ? err.message : String(err)}`;
      this.#deps.logger.warn({ err, answers: due.length }, 'answers to friend requests wait: the pending list could not be read');
      return;
    }
    for (const { decision, record } of due) {
      if (this.#abort.signal.aborted) return;
      const state = await this.#carryOut(decision, record, pending);
      if (state !== undefined) outcome.answers.push({ id: decision.id, uid: decision.uid, state });
    }
  }

  /** One answer: checked against the pending list, then sent. Returns the state it is left in, if it changed. */
  async #carryOut(decision: AuditDecision, record: AuditRecord, pending: readonly FriendRequest[]): Promise<AnswerState | undefined> {
    const { store, clock, config, logger, api, limiter } = this.#deps;
    const save = (answer: AnswerRecord): AnswerState => {
      store.audit.setActions(decision.id, { ...record, answer });
      return answer.state;
    };
    const attempts = record.answer.attempts ?? 0;
    if (!actsOn(record, config.friendRequests)) {
      return save({ state: 'off', at: clock.now(), attempts, note: 'friendRequests.act was turned off before the answer went out: nothing sent' });
    }
    const accept = decision.verdict === 'accept';
    if (!accept && config.friendRequests.rejectOp === undefined) {
      return save({ state: 'skipped', at: clock.now(), attempts, note: 'no friendRequests.rejectOp is configured: the request is left unanswered on the bridge' });
    }
    const stillPending = pending.some((request) => request.uid === decision.uid && requestTimeOf(request) === decision.requestTime);
    if (!stillPending) {
      const note =
        record.answer.state === 'pending'
          ? 'the request is no longer pending on the bridge (answered in the app, or withdrawn): nothing sent'
          : 'the request is no longer pending on the bridge: the answer took';
      return save({ state: 'settled', at: clock.now(), attempts, note });
    }
    if (attempts >= this.#maxAttempts) {
      logger.warn({ decision: decision.id, uid: decision.uid, attempts }, 'friend request still pending after every attempt to answer it: given up');
      return save({ state: 'failed', at: clock.now(), attempts, note: `still pending after ${attempts} answers: given up`, ...(record.answer.error && { error: record.answer.error }) });
    }

    if (limiter) {
      try {
        await limiter.acquire(`friend:${decision.uid}`, this.#abort.signal);
      } catch (err) {
        // Stopping: nothing was recorded or sent for it, so the next process takes it up.
        if (err instanceof RateLimitAbortedError) return undefined;
        throw err;
      }
    }
    // Recorded before the frame: a crash from here leaves `sending`, which is checked, not resent blindly.
    save({ state: 'sending', at: clock.now(), attempts: attempts + 1 });
    let written = false;
    try {
      const friendRequests = config.friendRequests;
      await api.answerFriendRequest(decision.uid, accept, {
        apiName: friendRequests.apiName,
        path: friendRequests.path,
        acceptOp: friendRequests.acceptOp,
        ...(friendRequests.rejectOp !== undefined && { rejectOp: friendRequests.rejectOp }),
        onPrepared: () => {
          written = true;
        },
      });
    } catch (err) {
      const error = toStoredError(err);
      if (!written) {
        logger.warn({ decision: decision.id, uid: decision.uid, err }, 'friend request answer not sent; trying at the next check');
        return save({ state: 'pending', at: clock.now(), attempts, error, note: 'the frame never left: tried again at the next check' });
      }
      const refused = err instanceof BridgeError && !err.transient;
      logger.warn({ decision: decision.id, uid: decision.uid, err, refused }, refused ? 'the bridge refused the friend request answer' : 'friend request answer may have been taken; checked at the next check');
      return save(
        refused
          ? { state: 'failed', at: clock.now(), attempts: attempts + 1, error }
          : { state: 'unknown', at: clock.now(), attempts: attempts + 1, error, note: 'the bridge may have acted: the pending list is checked before trying again' },
      );
    }
    logger.info({ decision: decision.id, uid: decision.uid, verdict: decision.verdict }, 'friend request answered through the bridge');
    return save({ state: 'sent', at: clock.now(), attempts: attempts + 1 });
  }
}

/** A request's time as the audit log keys it: modifyTime, else the account's createTime. */
function requestTimeOf(request: Pick<FriendRequest, 'modifyTime' | 'createTime'>): string {
  return String(request.modifyTime || request.createTime || '');
}
