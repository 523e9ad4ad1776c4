/**
 * The soak's checker against evidence made by hand: a clean soak passes, and each kind
 * of fault the soak hunts for is named when it is planted. A checker that cannot fail
 * proves nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedFrame, SimMessage } from '../../src/sim';
import type { LedgerEntry, RunDetail, StepRecord } from '../../src/store/types';
import { checkSoak, type DaemonLife, type SoakEvidence, type ViolationKind } from './check';

const T0 = Date.parse('2026-05-01T10:00:00Z');
const GROUP = 700001;

// === Builders ===

type Frame = { id: string; type: string; data?: unknown };

function sendMsg(id: string, customMsgId: string, target = GROUP): Frame {
  return { id, type: 'sendMsg', data: { id: target, type: 'group', custom_msg_id: customMsgId, list: [{ type: 'text', values: { chatType: 0, content: 'hi' } }], quoteInfo: null } };
}

function mute(id: string, uid: number, seconds: number): Frame {
  return { id, type: 'request', data: { type: 'GroupMemberShutup', url: 'https://x/group/groupMemberShutup', data: { targetUid: uid, shutupTime: seconds, groupId: GROUP } } };
}

/** A frame the bridge received at `at`, answered with success on the same connection. */
function exchange(record: RecordedFrame[], frame: Frame, at: number, answer: 'ok' | 'none' = 'ok'): void {
  record.push({ seq: record.length + 1, at, connectionId: 1, direction: 'in', raw: JSON.stringify(frame), frame });
  if (answer === 'ok') {
    const reply = { id: frame.id, type: frame.type, data: 'success' };
    record.push({ seq: record.length + 1, at: at + 1, connectionId: 1, direction: 'out', raw: JSON.stringify(reply), frame: reply });
  }
}

let nextStepId = 1;

function step(frame: Frame | null, fields: Partial<StepRecord> = {}): StepRecord {
  const customMsgId = frame ? ((frame.data as { custom_msg_id?: string }).custom_msg_id ?? null) : null;
  return {
    id: nextStepId++,
    runId: 0,
    seq: 1,
    path: 'actions/0',
    kind: 'send',
    status: 'ok',
    input: null,
    frame: frame as StepRecord['frame'],
    answer: null,
    error: null,
    delivery: customMsgId ? 'accepted' : null,
    customMsgId,
    target: `group:${GROUP}`,
    note: null,
    startedAt: T0,
    finishedAt: T0 + 10,
    durationMs: 10,
    ...fields,
  };
}

function run(id: number, steps: StepRecord[], fields: Partial<RunDetail> = {}, ledger: LedgerEntry[] = []): RunDetail {
  return {
    id,
    ruleId: 'rule-a',
    ruleHash: 'h',
    triggerKind: 'cron',
    triggerData: null,
    slot: T0 + id * 1000,
    startedAt: T0 + id * 1000,
    finishedAt: T0 + id * 1000 + 50,
    status: 'ok',
    reason: null,
    error: null,
    conditions: null,
    durationMs: 50,
    resumedFrom: null,
    steps: steps.map((s) => ({ ...s, runId: id })),
    ledger,
    ...fields,
  };
}

function daemon(index: number, fields: Partial<DaemonLife> = {}): DaemonLife {
  return {
    index,
    pid: 100 + index,
    startedAt: T0,
    readyAt: T0 + 500,
    signal: { name: 'SIGTERM', at: T0 + 60_000 },
    exit: { code: 0, signal: null, at: T0 + 61_000 },
    errorLines: [],
    crashLines: [],
    stderr: '',
    lines: 100,
    ...fields,
  };
}

/** The messages the bridge took: every sendMsg it answered with success, delivered. */
function messagesOf(record: readonly RecordedFrame[]): SimMessage[] {
  const answered = new Set(record.filter((e) => e.direction === 'out').map((e) => (e.frame as Frame).id));
  return record
    .filter((e) => e.direction === 'in' && (e.frame as Frame).type === 'sendMsg' && answered.has((e.frame as Frame).id))
    .map((e, i) => {
      const data = (e.frame as Frame).data as { id: number; custom_msg_id: string };
      return { msgId: i + 1, chat: 'group', targetId: data.id, senderUid: 4008697, chatType: 0, msgType: 0, content: 'hi', customMsgId: data.custom_msg_id, time: e.at, status: 'delivered' };
    });
}

function evidence(fields: Partial<SoakEvidence>): SoakEvidence {
  return {
    record: [],
    messages: messagesOf(fields.record ?? []),
    changes: [],
    runs: [],
    audit: [],
    daemons: [daemon(1)],
    stoppedAt: T0 + 60_000,
    timed: [],
    messageRules: [],
    watched: [],
    baselines: {},
    windows: [],
    finalMuted: {},
    rotations: [],
    shutdownTimeoutMs: 5000,
    ...fields,
  };
}

function kinds(result: ReturnType<typeof checkSoak>): ViolationKind[] {
  return result.violations.map((v) => v.kind);
}

// === Tests ===

describe('the soak checker', () => {
  it('passes a soak in which every frame has its step and nothing went twice', () => {
    const record: RecordedFrame[] = [];
    const a = sendMsg('p1-1', '12345678901');
    const b = mute('p1-2', 4017572, 30);
    exchange(record, a, T0 + 1000);
    exchange(record, b, T0 + 2000);
    const result = checkSoak(evidence({ record, runs: [run(1, [step(a)]), run(2, [step(b, { kind: 'muteMember' })])] }));
    assert.deepEqual(result.violations, []);
  });

  it('names a world-changing frame that no step sent, and a step whose frame never arrived', () => {
    const record: RecordedFrame[] = [];
    exchange(record, sendMsg('p1-1', '12345678901'), T0 + 1000);
    const lost = sendMsg('p1-2', '12345678902');
    const result = checkSoak(evidence({ record, runs: [run(1, [step(lost)])] }));
    // The step also claims the message was accepted, which the bridge's messages deny.
    assert.deepEqual(kinds(result).sort(), ['DELIVERY_MISMATCH', 'FRAME_NOT_RECEIVED', 'UNLOGGED_FRAME']);
  });

  it('allows the frame in flight at the kill, and one lost with its connection', () => {
    const inFlight = step(sendMsg('p1-1', '12345678901'), { status: 'interrupted', delivery: 'unknown', finishedAt: null });
    const dropped = step(sendMsg('p1-2', '12345678902'), { status: 'failed', delivery: 'unknown', error: { code: 'BRIDGE_DISCONNECTED', message: 'closed' } });
    const result = checkSoak(evidence({ runs: [run(1, [inFlight], { status: 'interrupted' }), run(2, [dropped], { status: 'failed' })], killedAt: T0 + 1500 }));
    assert.deepEqual(result.violations, []);
    assert.ok(result.notes.some((note) => note.includes('in flight')));
  });

  it('names a custom_msg_id received twice, and a resumed run that sends again where its original had sent', () => {
    const record: RecordedFrame[] = [];
    const first = sendMsg('p1-1', '12345678901');
    const again = sendMsg('p2-1', '12345678901');
    exchange(record, first, T0 + 1000);
    exchange(record, again, T0 + 5000);
    const resend = sendMsg('p2-2', '12345678903');
    exchange(record, resend, T0 + 6000);
    const original = run(1, [step(first)], { status: 'interrupted' });
    const resumed = run(2, [step(again), step(resend)], { triggerKind: 'resume', resumedFrom: 1 });
    const result = checkSoak(evidence({ record, runs: [original, resumed] }));
    assert.ok(kinds(result).includes('DUPLICATE_CUSTOM_MSG_ID'), JSON.stringify(result.violations));
    assert.ok(kinds(result).includes('DUPLICATE_SEND'), JSON.stringify(result.violations));
  });

  it('names a slot run twice, and a member muted again while the mute lasts', () => {
    const record: RecordedFrame[] = [];
    const m1 = mute('p1-1', 4017572, 30);
    const m2 = mute('p2-1', 4017572, 30);
    exchange(record, m1, T0 + 1000);
    exchange(record, m2, T0 + 5000);
    const runs = [
      run(1, [step(m1, { kind: 'muteMember' })], { slot: T0 }),
      run(2, [step(m2, { kind: 'muteMember' })], { slot: T0, startedAt: T0 + 4000 }),
    ];
    const result = checkSoak(evidence({ record, runs }));
    assert.deepEqual(kinds(result).sort(), ['MUTED_AGAIN', 'SLOT_RUN_TWICE']);
  });

  it('names a ledger that calls a reached target unreached, and a group muted twice over', () => {
    const record: RecordedFrame[] = [];
    const frame = sendMsg('p1-1', '12345678901');
    exchange(record, frame, T0 + 1000);
    const ledger: LedgerEntry[] = [{ runId: 1, path: 'actions/0', target: `group:${GROUP}`, state: 'planned', customMsgId: null, stepId: null, updatedAt: T0 }];
    const changes = [
      { kind: 'groupShutup' as const, groupId: GROUP, bfShutup: true, at: T0 + 100 },
      { kind: 'groupShutup' as const, groupId: GROUP, bfShutup: true, at: T0 + 200 },
    ];
    const result = checkSoak(evidence({ record, changes, runs: [run(1, [step(frame)], {}, ledger)] }));
    assert.deepEqual(kinds(result).sort(), ['GROUP_MUTE_REPEATED', 'LEDGER_MISMATCH']);
  });

  it('names a pushed message and a watched item the daemon lost, a bare JavaScript error and a notice out of turn', () => {
    const record: RecordedFrame[] = [];
    const push = { operator: 'msgNew', data: { groupId: 700031, sendUid: 4017572, content: '请问 ping？', msgId: 77, isSelf: false } };
    record.push({ seq: 1, at: T0 + 1000, connectionId: 1, direction: 'out', raw: JSON.stringify(push), frame: push });
    // The daemon went on writing on that connection for half a minute.
    exchange(record, { id: 'p1-1', type: 'getGroups' }, T0 + 30_000);
    const broken = run(1, [step(null, { status: 'failed', error: { code: 'TypeError', message: 'x is not a function' } })], { status: 'failed', triggerKind: 'every' });
    const changes = [
      { kind: 'notice' as const, groupId: 700011, noticeId: 1, notice: 'A', at: T0 + 100 },
      { kind: 'notice' as const, groupId: 700011, noticeId: 2, notice: 'C', at: T0 + 200 },
    ];
    const result = checkSoak(
      evidence({
        record,
        changes,
        runs: [broken],
        messageRules: [{ id: 'keyword', chat: 'group', groups: [700031], contains: ['ping'] }],
        watched: [{ ruleId: 'audit', uid: 5550001, at: T0 }],
        baselines: { audit: T0 - 1000 },
        rotations: [{ id: 'rotate', group: 700011, order: 'sequential', notices: ['A', 'B', 'C'] }],
      }),
    );
    assert.deepEqual(kinds(result).sort(), ['INTERNAL_ERROR', 'NOTICE_OUT_OF_TURN', 'PUSH_NOT_HANDLED', 'WATCH_ITEM_LOST']);
  });

  it('names a run left running, a crash, a bad exit and a scheduler that stopped', () => {
    const result = checkSoak(
      evidence({
        runs: [run(1, [step(null, { status: 'running', finishedAt: null })], { status: 'running', finishedAt: null })],
        daemons: [
          daemon(1, { signal: undefined, exit: { code: 1, signal: null, at: T0 + 5000 }, crashLines: ['{"level":60,"msg":"uncaughtException"}'] }),
          daemon(2, { exit: { code: 1, signal: null, at: T0 + 61_000 } }),
        ],
        restartReadyAt: T0 + 10_000,
        timed: [{ id: 'soak-heartbeat', intervalMs: 2000 }],
      }),
    );
    assert.deepEqual(kinds(result).sort(), ['CRASH_LOG', 'DAEMON_CRASHED', 'DAEMON_EXIT_CODE', 'RUN_LEFT_RUNNING', 'SCHEDULER_STOPPED', 'SCHEDULER_STOPPED', 'STEP_LEFT_RUNNING']);
  });
});
