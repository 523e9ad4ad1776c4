/**
 * `audit`: decides a friend request. Rules are checked in order and the first whose
 * `when` holds gives the verdict (accept, reject, flag, hold); each condition's result is
 * recorded. The decision is kept in the audit log, once per request (uid + request
 * time): a request decided before is not decided again. A daily accept cap turns an
 * accept beyond it into a hold. Accept and reject are carried out through the bridge
 * only when `act` (or the config's `friendRequests.act`) is on.
 *
 * Ending holds (an admin's decision, the fallback after `hold.for`) is not done here:
 * the hold is recorded with its deadline for whatever resolves holds.
 */
import { flattenConditionResults } from '../engine/conditions';
import { parseDuration } from '../shared/duration';
import { toStoredError } from '../store/json';
import type { AuditVerdict } from '../store/types';
import { zonedTime } from '../engine/zoned-time';
import { answerRequest } from './answer-friend-request';
import { ActionError, beginStep, outcomeOfCall } from './shared';
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
    const result = { uid: subject.uid, verdict: earlier.verdict, decidedBy: earlier.decidedBy, decidedBefore: true };
    step.finish({ status: 'skipped', answer: result, note: `decided before (decision ${earlier.id}, ${earlier.verdict}); not decided again` });
    return { status: 'ok', result };
  }

  let verdict: AuditVerdict = 'flag';
  let decidedBy = `${staticPath}/audit (no rule held)`;
  const conditions = [];
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

  let note: string | undefined;
  if (verdict === 'accept' && options.dailyAcceptCap !== undefined) {
    const accepted = run.store.audit.countVerdicts('accept', startOfDay(run.now(), run.timezone));
    if (accepted >= options.dailyAcceptCap) {
      verdict = 'hold';
      note = `daily accept cap of ${options.dailyAcceptCap} reached (${accepted} accepted today): held instead`;
    }
  }
  const holdUntil = verdict === 'hold' && options.hold ? run.now() + parseDuration(options.hold.for) : null;
  const act = (options.act ?? run.deps.config.friendRequests.act) && (verdict === 'accept' || verdict === 'reject');
  const result = { uid: subject.uid, nickName: subject.nickName, verdict, decidedBy, acted: false, ...(holdUntil !== null && { holdUntil: new Date(holdUntil).toISOString() }) };

  if (!run.dryRun) {
    run.store.audit.insert({
      uid: subject.uid,
      requestTime: subject.requestTime,
      nickName: subject.nickName,
      message: subject.msg,
      verdict,
      decidedBy,
      ruleId: run.rule.id,
      runId: run.runId,
      holdUntil,
      actions: { act },
    });
  }
  step.finish({ status: run.dryRun ? 'dry-run' : 'ok', answer: { ...result, conditions }, note: note ?? null });
  if (!act) return { status: run.dryRun ? 'dry-run' : 'ok', result };

  const answered = await answerRequest(call, subject.uid, verdict === 'accept');
  return outcomeOfCall(answered, { ...result, acted: answered.status === 'ok' });
};

/** The request under audit, from the trigger's item or `--event`. */
function subjectOf(value: unknown): RequestSubject | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const fields = value as Record<string, unknown>;
  const uid = fields.uid;
  if (typeof uid !== 'string' && typeof uid !== 'number') return undefined;
  const time = fields.modifyTime ?? fields.createTime ?? '';
  return {
    uid: String(uid),
    nickName: typeof fields.nickName === 'string' ? fields.nickName : '',
    msg: typeof fields.msg === 'string' ? fields.msg : '',
    requestTime: String(time),
  };
}

/** Local midnight of `now` in `timezone`, as epoch ms: where "today" starts for a daily cap. */
function startOfDay(now: number, timezone: string): number {
  return now - zonedTime(now, timezone).minuteOfDay * 60_000 - (now % 60_000);
}
