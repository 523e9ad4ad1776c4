import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkResumable, mergeLedgers, resumeDecision, summarizeResume, type ResumableRun, type RunLog } from '../../src/engine/resume';
import type { LoadedRule } from '../../src/rules/load';
import { isRulebotError } from '../../src/shared/errors';
import type { LedgerEntry, LedgerState, RunDetail, StepRecord, StepStatus } from '../../src/store/types';
import { loadRule } from './harness';

const BROADCAST = `
id: broadcast
trigger: { manual: true }
actions:
  - send: { to: { groups: [1, 2, 3] }, text: hi }
`;

const TWO_ACTIONS = `
id: broadcast
trigger: { manual: true }
actions:
  - send: { to: { groups: [1, 2, 3] }, text: hi }
  - send: { to: { groups: [4] }, text: bye }
`;

const NO_SEND = `
id: broadcast
trigger: { manual: true }
actions:
  - log: { message: hi }
`;

function entry(target: string, state: LedgerState, stepId: number | null = state === 'planned' ? null : 1, path = 'actions/0'): LedgerEntry {
  return { runId: 1, path, target, state, customMsgId: null, stepId, updatedAt: 0 };
}

function step(target: string | null, status: StepStatus, path = 'actions/0', kind = 'send'): StepRecord {
  return {
    id: 1,
    runId: 1,
    seq: 0,
    path,
    kind,
    status,
    input: null,
    frame: null,
    answer: null,
    error: null,
    delivery: null,
    customMsgId: null,
    target,
    note: null,
    startedAt: 0,
    finishedAt: 0,
    durationMs: 0,
  };
}

function run(loaded: LoadedRule, overrides: Partial<RunDetail> = {}): RunDetail {
  return {
    id: 1,
    ruleId: loaded.rule.id,
    ruleHash: loaded.hash,
    triggerKind: 'manual',
    triggerData: null,
    slot: null,
    startedAt: 1000,
    finishedAt: 2000,
    status: 'interrupted',
    reason: null,
    error: null,
    conditions: null,
    durationMs: 1000,
    resumedFrom: null,
    steps: [step(null, 'ok')],
    ledger: [],
    ...overrides,
  };
}

/** A log holding `runs` (the first the one to resume), and the rule loaded now. */
function check(loaded: LoadedRule | undefined, runs: RunDetail[], runId = 1, options: { resendUnknown?: boolean } = {}): ResumableRun<LoadedRule> {
  const log: RunLog = {
    getRun: (id) => runs.find((run) => run.id === id),
    listRuns: () => [...runs].reverse(),
  };
  return checkResumable(log, (id) => (loaded?.rule.id === id ? loaded : undefined), runId, options);
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isRulebotError(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
  assert.fail('expected a refusal');
}

describe('what a resumed run does with each target', () => {
  it('sends where the message never left, never where it arrived, and where it may have left only when asked', () => {
    assert.equal(resumeDecision(undefined, false), 'send');
    assert.equal(resumeDecision({ state: 'planned', stepId: null }, false), 'send');
    assert.equal(resumeDecision({ state: 'failed', stepId: null }, false), 'send', 'failed before its frame was written');
    assert.equal(resumeDecision({ state: 'failed', stepId: 7 }, true), 'failed', 'failed after its frame went out');
    assert.equal(resumeDecision({ state: 'accepted', stepId: 7 }, true), 'sent');
    assert.equal(resumeDecision({ state: 'delivered', stepId: 7 }, true), 'sent');
    assert.equal(resumeDecision({ state: 'unknown', stepId: 7 }, false), 'unknown');
    assert.equal(resumeDecision({ state: 'sending', stepId: 7 }, false), 'unknown');
    assert.equal(resumeDecision({ state: 'unknown', stepId: 7 }, true), 'resend');
  });
});

describe('whether a run may be resumed', () => {
  const loaded = loadRule(BROADCAST);

  it('names the run that does not exist, is still running, or is not left undone', () => {
    assert.match(refusal(() => check(loaded, [], 9)), /^RUN_NOT_FOUND: run 9 does not exist$/);
    assert.match(refusal(() => check(loaded, [run(loaded, { status: 'running' })])), /^RUN_STILL_RUNNING: run 1 is still running/);
    assert.match(refusal(() => check(loaded, [run(loaded, { status: 'ok' })])), /^RUN_NOT_RESUMABLE: run 1 is ok/);
  });

  it('points from a resume to the run it resumed, and refuses while a resume runs, or when the rule changed or is gone', () => {
    const ledger = [entry('group:1', 'planned')];
    assert.match(refusal(() => check(loaded, [run(loaded, { resumedFrom: 3, ledger })])), /^RUN_IS_A_RESUME: run 1 resumed run 3; resume run 3 instead/);
    const going = run(loaded, { id: 5, resumedFrom: 1, status: 'running' });
    assert.match(refusal(() => check(loaded, [run(loaded, { ledger }), going])), /^RUN_BEING_RESUMED: run 1 is being resumed now, by run 5/);
    assert.match(refusal(() => check(loaded, [run(loaded, { ledger, ruleHash: 'other' })])), /^RULE_CHANGED: rule broadcast has changed since run 1/);
    assert.match(refusal(() => check(undefined, [run(loaded, { ledger })])), /^RULE_NOT_FOUND/);
  });

  it('counts what earlier resumes sent, so a run resumed already has nothing left, unless asked to resend where the delivery is unknown', () => {
    const original = run(loaded, {
      steps: [step(null, 'ok'), step('group:1', 'ok'), step('group:2', 'interrupted')],
      ledger: [entry('group:1', 'accepted'), entry('group:2', 'unknown'), entry('group:3', 'planned')],
    });
    const resume = run(loaded, { id: 5, resumedFrom: 1, status: 'ok', steps: [step('group:3', 'ok')], ledger: [entry('group:3', 'accepted')] });
    assert.match(
      refusal(() => check(loaded, [original, resume])),
      /^NOTHING_TO_RESUME: run 1 has nothing left to send \(with its resume 5\): 2 target\(s\) already sent to, 1 whose delivery is unknown \(--resend-unknown sends to them again\)$/,
    );
    assert.deepEqual(check(loaded, [original, resume], 1, { resendUnknown: true }).resumes.map((r) => r.id), [5]);
    // A dry run of a resume sent nothing: group 3 is still to send.
    const dry = run(loaded, { id: 6, resumedFrom: 1, status: 'dry-run', steps: [step('group:3', 'dry-run')], ledger: [] });
    assert.deepEqual(check(loaded, [original, dry]).resumes, []);
  });

  it('says when nothing is left to send, and counts why', () => {
    const done = run(loaded, {
      steps: [step(null, 'ok'), step('group:1', 'ok'), step('group:2', 'ok'), step('group:3', 'interrupted')],
      ledger: [entry('group:1', 'accepted'), entry('group:2', 'delivered'), entry('group:3', 'failed', 9)],
    });
    assert.match(refusal(() => check(loaded, [done])), /^NOTHING_TO_RESUME: run 1 has nothing left to send: 2 target\(s\) already sent to, 1 whose frame went out and failed$/);
    // A target that failed before its frame was written is still to send.
    const failedEarly = run(loaded, { status: 'partial', ledger: [entry('group:1', 'accepted'), entry('group:2', 'failed', null)] });
    assert.equal(check(loaded, [failedEarly]).original, failedEarly);
  });

  it('resumes a run that stopped before a later broadcast, or before its broadcast planned its targets', () => {
    const twoActions = loadRule(TWO_ACTIONS);
    const firstDone = run(twoActions, { ledger: [entry('group:1', 'accepted'), entry('group:2', 'accepted'), entry('group:3', 'accepted')] });
    assert.equal(check(twoActions, [firstDone]).original, firstDone, 'the second send never ran');
    const beforePlanning = run(loaded, { steps: [], ledger: [] });
    assert.equal(check(loaded, [beforePlanning]).original, beforePlanning);
    const noSend = loadRule(NO_SEND);
    assert.match(refusal(() => check(noSend, [run(noSend, { ledger: [] })])), /^NOTHING_TO_RESUME: .*has no send action/);
  });
});

describe('ledgers merged', () => {
  it('keeps each target as far as any run got it', () => {
    const merged = mergeLedgers([
      [entry('group:1', 'unknown'), entry('group:2', 'planned'), entry('group:3', 'accepted')],
      [entry('group:1', 'accepted'), entry('group:2', 'unknown')],
      [entry('group:2', 'failed', null), entry('group:3', 'planned')],
    ]);
    assert.deepEqual(
      [...merged.get('actions/0')!].map(([target, { state }]) => `${target} ${state}`),
      ['group:1 accepted', 'group:2 unknown', 'group:3 accepted'],
    );
  });
});

describe('what a resume did', () => {
  it('sorts the resumed run’s targets by what it did and what the original run had done', () => {
    const original = mergeLedgers([[entry('group:1', 'accepted'), entry('group:2', 'unknown'), entry('group:3', 'failed', 4), entry('group:4', 'planned'), entry('group:5', 'planned')]]);
    const resumed = {
      steps: [
        step(null, 'ok'),
        step('group:1', 'skipped'),
        step('group:2', 'skipped'),
        step('group:3', 'skipped'),
        step('group:4', 'ok'),
        step('group:5', 'failed'),
        step('group:6', 'skipped'),
        step('group:9', 'ok', 'actions/1', 'muteMember'),
      ],
    };
    const summary = summarizeResume(original, resumed);
    const keys = (list: Array<{ target: string }>) => list.map((t) => t.target);
    assert.deepEqual(keys(summary.sent), ['group:4']);
    assert.deepEqual(keys(summary.failed), ['group:5']);
    assert.deepEqual(keys(summary.alreadySent), ['group:1']);
    assert.deepEqual(keys(summary.skippedUnknown), ['group:2']);
    assert.deepEqual(keys(summary.skippedFailed), ['group:3']);
    assert.deepEqual(keys(summary.notAttempted), ['group:6']);
    assert.deepEqual(keys(summary.resentUnknown), []);

    const resent = summarizeResume(original, { steps: [step('group:2', 'ok')] });
    assert.deepEqual(keys(resent.sent), ['group:2']);
    assert.deepEqual(keys(resent.resentUnknown), ['group:2']);
  });
});
