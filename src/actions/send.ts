/**
 * `send`: text or a file to each target in turn, with a pause between targets.
 *
 * Each target is its own step and its own ledger row. The ledger is planned before the
 * first send; a target moves to `sending` when its exact frame is recorded (before the
 * write), to `accepted` on the bridge's answer, and later to `delivered` / `failed` by a
 * delivery push. A restart therefore knows exactly which targets may have received the
 * message, and a resumed run skips them.
 *
 * A target that fails does not stop the others, except when the bridge itself is gone
 * (not ready, connection lost): then the remaining targets are recorded as not attempted
 * and stay `planned`, for a resume to pick up.
 *
 * A resumed run decides each target from the original run's ledger (engine/resume.ts):
 * it sends only where the message never left (or, when asked, where its delivery is
 * unknown), and its own ledger plans only those targets, so it shows what this run sent.
 */
import { BridgeDisconnectedError, BridgeUnavailableError } from '../protocol/errors';
import type { SendResult, TextSendResult } from '../protocol/api';
import { parseDuration } from '../shared/duration';
import { toStoredError } from '../store/json';
import type { StoredError } from '../store/types';
import type { CallResult } from '../engine/bridge-call';
import { sendsNow, type ResumeDecision } from '../engine/resume';
import type { StepHandle } from '../engine/steps';
import { resolveSendTargets, type ResolvedTarget } from '../engine/targets';
import { ActionError, beginStep, foldTargets, isOutcome, pause, recordUnknownTargets, resolveInStep, sourcesOf, targetResult, worldCall, type TargetResult } from './shared';
import type { ActionCall, ActionHandler } from './types';

export const runSend: ActionHandler<'send'> = async (call) => {
  const { run, options, path } = call;
  const resolved = await resolveInStep(call, { to: options.to }, () => resolveSendTargets(options.to, run.compiled.groupPatternAt(call.staticPath), sourcesOf(run)));
  if (isOutcome(resolved)) return resolved;

  const results: TargetResult[] = recordUnknownTargets(call, resolved.unknown);
  const targets = resolved.targets;
  const ledger = run.store.ledger;
  const ledgerKey = (target: ResolvedTarget) => ({ runId: run.runId, path, target: target.key });
  const decisions = new Map(targets.map((target) => [target.key, run.resumeDecision(path, target.key)]));
  const toSend = targets.filter((target) => sendsNow(decisions.get(target.key) ?? 'send'));
  if (!run.dryRun) {
    // Every target is in the ledger before the first frame goes out; the unknown ones as failed.
    ledger.plan(run.runId, path, [...toSend.map((t) => t.key), ...resolved.unknown.map((u) => u.key)]);
    for (const unknown of resolved.unknown) ledger.setState({ runId: run.runId, path, target: unknown.key }, 'failed');
  }

  const pauseMs = options.pause !== undefined ? parseDuration(options.pause) : 0;
  let stoppedBy: string | undefined;
  let attempted = false;
  for (const target of targets) {
    const decision = decisions.get(target.key);
    if (decision !== undefined && !sendsNow(decision)) {
      beginStep(call, { target: target.key }, target.key).finish({ status: 'skipped', note: skipNote(decision, run.resumedFrom, run.resumedState(path, target.key)) });
      results.push({ key: target.key, name: target.name, status: 'skipped' });
      continue;
    }
    if (stoppedBy !== undefined) {
      beginStep(call, { target: target.key }, target.key).finish({ status: 'skipped', note: `not attempted: ${stoppedBy}` });
      results.push({ key: target.key, name: target.name, status: 'skipped' });
      continue;
    }
    if (decision === 'resend') run.log.warn({ path, target: target.key, resumedFrom: run.resumedFrom }, 'sending again to a target whose delivery is unknown (resendUnknown)');
    if (attempted) await pause(run, pauseMs);
    attempted = true;

    const sent = await sendToTarget(call, target, (step, customMsgId) => {
      if (!run.dryRun) ledger.setState(ledgerKey(target), 'sending', { customMsgId: customMsgId ?? null, stepId: step.id });
    });
    if ('renderError' in sent) {
      results.push({ key: target.key, name: target.name, status: 'failed', error: sent.renderError });
      if (!run.dryRun) ledger.setState(ledgerKey(target), 'failed');
      continue;
    }
    const customMsgId = sent.status === 'ok' && 'customMsgId' in sent.value ? (sent.value as TextSendResult).customMsgId : undefined;
    results.push(targetResult(target, sent, customMsgId));
    if (!run.dryRun) {
      if (sent.status === 'ok') ledger.setState(ledgerKey(target), 'accepted');
      else if (sent.status === 'failed') ledger.setState(ledgerKey(target), sent.mightHaveActed ? 'unknown' : 'failed');
    }
    if (sent.status === 'failed' && (sent.cause instanceof BridgeUnavailableError || sent.cause instanceof BridgeDisconnectedError)) {
      stoppedBy = `the broadcast stopped after ${target.key} failed: ${sent.error.message}`;
    }
  }

  const folded = foldTargets(results, run.dryRun);
  return {
    ...folded,
    result: {
      targets: results,
      sent: results.filter((r) => r.status === 'ok').length,
      failed: results.filter((r) => r.status === 'failed').length,
    },
  };
};

/** Why a resumed run skips a target the original run reached, for the step's note. */
function skipNote(decision: ResumeDecision, resumedFrom: number | undefined, before: string | undefined): string {
  const ledger = `by run ${resumedFrom} (ledger: ${before})`;
  switch (decision) {
    case 'unknown':
      return `already possibly sent ${ledger}; not sent again (its delivery is unknown; a resume with --resend-unknown sends it again)`;
    case 'failed':
      return `its frame went out and failed ${ledger}; not sent again by a resume`;
    default:
      return `already sent ${ledger}; not sent again`;
  }
}

/**
 * Renders the text for one target (with `target` in scope) and sends it. A template that
 * fails to render for this target fails this target's step only.
 */
async function sendToTarget(
  call: ActionCall<'send'>,
  target: ResolvedTarget,
  prepared: (step: StepHandle, customMsgId: string | undefined) => void,
): Promise<CallResult<SendResult | TextSendResult> | { renderError: StoredError }> {
  const { run, options } = call;
  const targetScope = { target: { id: target.id, chat: target.chat, name: target.name } };
  return run.withLayer(targetScope, async () => {
    let content: { file: string } | { text: string; chatType: number };
    try {
      if (options.file !== undefined) content = { file: run.render(options.file) };
      else if (options.text !== undefined) content = { text: run.render(options.text), chatType: options.chatType ?? 0 };
      else throw new ActionError('ACTION_INPUT_INVALID', 'send needs text or file');
    } catch (err) {
      const renderError = toStoredError(err);
      beginStep(call, { target: target.key }, target.key).finish({ status: 'failed', error: renderError, note: 'nothing was sent to it' });
      return { renderError };
    }
    if ('file' in content) {
      const file = content.file;
      return worldCall(call, {
        target: target.key,
        input: { file },
        message: true,
        call: (onPrepared) => run.api.sendFile({ chat: target.chat, id: target.id }, file, { onPrepared }),
        prepared,
        answerOf: (value) => value.answer,
      });
    }
    const { text, chatType } = content;
    return worldCall(call, {
      target: target.key,
      input: chatType === 0 ? { text } : { text, chatType },
      message: true,
      call: (onPrepared) => run.api.sendText({ chat: target.chat, id: target.id }, text, { chatType, onPrepared }),
      prepared,
      answerOf: (value) => value.answer,
    });
  });
}
