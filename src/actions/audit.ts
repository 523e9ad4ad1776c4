/**
 * `audit`: decides a friend request. Rules are checked in order and the first whose
 * `when` holds gives the verdict (accept, reject, flag, hold); no rule holding gives
 * `flag`. Each condition's result is recorded in the step.
 *
 * The decision is kept in the audit log once per request (uid + request time): a request
 * decided before is not decided again, here or in any other run. It records the verdict,
 * the rule that gave it, the time and what was carried out (audit-record.ts).
 *
 * - **Daily accept cap**: an accept beyond `dailyAcceptCap` accepts today (in the rule's
 *   time zone) becomes a hold whose fallback is accept at the next local midnight,
 *   counted against that day's cap in turn. It does not take the rule's `hold.then`: a
 *   request is not rejected for arriving on a busy day.
 * - **Hold**: a held request waits for an admin (`rulebot audit decide`) or, with
 *   `hold: { for, then }`, for the HoldResolver to apply `then` once `for` has passed.
 * - **Act**: accept and reject go to the bridge (UpdateContactsApply, from the config's
 *   `friendRequests`) only when `act` (or the config's `friendRequests.act`) is on. A
 *   bridge that fails the answer leaves the decision recorded and the action `partial`,
 *   so the admins are still told; what the bridge may have done is in the record.
 */
import { flattenConditionResults } from '../engine/conditions';
import { initialAnswer, nextLocalMidnight, startOfLocalDay, type AnswerRecord, type AuditRecord, type HoldRecord } from '../engine/audit-record';
import { parseDuration } from '../shared/duration';
import { toStoredError } from '../store/json';
import type { AuditVerdict } from '../store/types';
import { answerRequest } from './answer-friend-request';
import { ActionError, beginStep } from './shared';
import type { ActionHandler } from './types';

interface RequestSubject {
  uid: string;
  nickName: string;
  msg: string;
  requestTime: string;
}

export const runAudit: ActionHandler<'audit'> = async (call) => {
  const { run, options, staticPath } = call;
  const step = beginStep(call, { rules: options.rules.length, ...(options.dailyAcceptCap !== undefined && { dailyAcceptCap: options.dailyAcceptCap }) });
  const subject = subjectOf(run.scope.request ?? run.scope.item);
  if (!subject) {
    const error = toStoredError(
      new ActionError('ACTION_INPUT_INVALID', 'audit needs a friend request: a watch trigger on friendRequests, or --event with uid, nickName and msg'),
    );
    step.finish({ status: 'failed', error });
    return { status: 'failed', error };
  }

  const earlier = run.store.audit.get(subject.uid, subject.requestTime);
  if (earlier) {
    const result = { uid: subject.uid, nickName: subject.nickName, verdict: earlier.verdict, decidedBy: earlier.decidedBy, decidedBefore: true, acted: false };
    step.finish({ status: 'skipped', answer: result, note: `decided before (decision ${earlier.id}, ${earlier.verdict}); not decided again` });
    return { status: 'ok', result };
  }

  // === The verdict: the first rule that holds ===
  let verdict: AuditVerdict = 'flag';
  let decidedBy = `${staticPath}/audit (no rule held)`;
  const conditions: ReturnType<typeof flattenConditionResults> = [];
  for (const [index, entry] of options.rules.entries()) {
    const outcome = run.evaluateConditions(`${staticPath}/audit/rules/${index}/when`);
    conditions.push(...flattenConditionResults(outcome.results));
    if (outcome.error) {
      step.finish({ status: 'failed', error: outcome.error, answer: { conditions } });
      return { status: 'failed', error: outcome.error };
    }
    if (outcome.passed) {
      verdict = entry.verdict;
      decidedBy = `${staticPath}/audit/rules/${index}`;
      break;
    }
  }

  // === Cap and hold ===
  const now = run.now();
  let note: string | undefined;
  let hold: HoldRecord | undefined;
  let holdUntil: number | null = null;
  const cap = options.dailyAcceptCap;
  if (verdict === 'accept' && cap !== undefined) {
    const accepted = run.store.audit.countVerdicts('accept', startOfLocalDay(now, run.timezone));
    if (accepted >= cap) {
      verdict = 'hold';
      hold = { then: 'accept', reason: 'cap', cap, timezone: run.timezone };
      holdUntil = nextLocalMidnight(now, run.timezone);
      decidedBy = `${staticPath}/audit/dailyAcceptCap`;
      note = `daily accept cap of ${cap} reached (${accepted} accepted today): held until the next day`;
    }
  } else if (verdict === 'hold' && options.hold) {
    hold = { then: options.hold.then, reason: 'rule', ...(cap !== undefined && { cap, timezone: run.timezone }) };
    holdUntil = now + parseDuration(options.hold.for);
  }

  const acting = options.act ?? run.deps.config.friendRequests.act;
  const willSend = acting && (verdict === 'accept' || verdict === 'reject');
  const answer = initialAnswer(verdict, acting, run.deps.config.friendRequests, now, 'sending');
  const record: AuditRecord = { act: options.act ?? null, ...(hold && { hold }), answer };
  const result: Record<string, unknown> = {
    uid: subject.uid,
    nickName: subject.nickName,
    verdict,
    decidedBy,
    acted: false,
    answer: answer.state,
    ...(holdUntil !== null && { holdUntil: new Date(holdUntil).toISOString() }),
    ...(hold && { holdThen: hold.then }),
  };

  let decisionId: number | undefined;
  if (!run.dryRun) {
    const inserted = run.store.audit.insert({
      uid: subject.uid,
      requestTime: subject.requestTime,
      nickName: subject.nickName,
      message: subject.msg,
      verdict,
      decidedBy,
      ruleId: run.rule.id,
      runId: run.runId,
      holdUntil,
      actions: record,
    });
    const stored = run.store.audit.get(subject.uid, subject.requestTime);
    if (!inserted && stored) {
      // Another process decided it between our look and our write: theirs stands.
      const kept = { uid: subject.uid, nickName: subject.nickName, verdict: stored.verdict, decidedBy: stored.decidedBy, decidedBefore: true, acted: false };
      step.finish({ status: 'skipped', answer: kept, note: `decided meanwhile (decision ${stored.id}, ${stored.verdict}); not decided again` });
      return { status: 'ok', result: kept };
    }
    decisionId = stored?.id;
  }
  step.finish({ status: run.dryRun ? 'dry-run' : 'ok', answer: { ...result, conditions }, note: note ?? answer.note ?? null });
  if (!willSend || answer.state !== 'sending') return { status: run.dryRun ? 'dry-run' : 'ok', result };

  // === Carrying it out ===
  const answered = await answerRequest(call, subject.uid, verdict === 'accept');
  if (answered.status === 'dry-run') return { status: 'dry-run', result };
  let after: AnswerRecord;
  if (answered.status === 'ok') after = { state: 'sent', at: run.now(), attempts: 1 };
  else if (answered.mightHaveActed) after = { state: 'unknown', at: run.now(), attempts: 1, error: answered.error, note: 'the bridge may have acted; the hold resolver checks the pending list before trying again' };
  else if (answered.written) after = { state: 'failed', at: run.now(), attempts: 1, error: answered.error };
  else after = { state: 'pending', at: run.now(), attempts: 0, error: answered.error, note: 'the frame never left: the hold resolver sends it' };
  if (decisionId !== undefined) run.store.audit.setActions(decisionId, { ...record, answer: after });
  result.answer = after.state;
  if (answered.status === 'ok') return { status: 'ok', result: { ...result, acted: true } };
  // The decision stands and is recorded; the rest of the rule (telling the admins) still runs.
  return { status: 'partial', error: answered.error, result };
};

/** The request under audit, from the trigger's item or `--event`. */
function subjectOf(value: unknown): RequestSubject | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const fields = value as Record<string, unknown>;
  const uid = fields.uid;
  if (typeof uid !== 'string' && typeof uid !== 'number') return undefined;
  // The same pair the watch keys a request by: modifyTime, else the account's createTime.
  const time = fields.modifyTime || fields.createTime || '';
  return {
    uid: String(uid),
    nickName: typeof fields.nickName === 'string' ? fields.nickName : '',
    msg: typeof fields.msg === 'string' ? fields.msg : '',
    requestTime: String(time),
  };
}
