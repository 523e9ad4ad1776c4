/**
 * The soak's checker: compares what the simulated bridge received (its frame record and
 * its world) with what the daemon wrote in its execution log and its process logs, and
 * names every disagreement. Pure: it reads the evidence the driver gathered, nothing else.
 *
 * What must hold, whatever the faults:
 * - every world-changing frame the bridge received has the step that sent it (the step
 *   stores the exact frame), or for a friend-request answer outside runs, the audit log
 *   entry that counts it; every step that says it sent a frame had it received, except a
 *   frame lost with its connection or in flight when the process was killed;
 * - nothing reached a target twice: no custom_msg_id twice, no action of a run (or of
 *   the run it resumed) sending the same kind of frame to one target twice, no schedule
 *   slot, message or watched item handled by two runs, no friend request answered after
 *   it was answered (nor against its verdict), no member muted again by the same rule
 *   while its mute lasts, no group set to the mute state or notice it already had;
 * - nothing heard was lost: every message pushed to a live daemon ran the rules it
 *   matches, every friend request and newcomer fired its watch rule;
 * - the world ends as the rules say: sequential notices in turn, window groups in the
 *   window's state; delivery states and the broadcast ledger agree with the bridge;
 * - no run or step is left `running`, none failed with a bare JavaScript error; the
 *   daemon never died on its own, never logged a crash, stopped in time with exit 0 on
 *   SIGTERM, and its scheduler kept firing after the restart.
 */
import type { RecordedFrame, SimMessage, WorldChange } from '../../src/sim';
import { changesWorld } from '../../src/sim/handlers';
import type { AuditDecision, RunDetail, StepRecord } from '../../src/store/types';
import { FRIEND_ACCEPT_OP, FRIEND_REJECT_OP, type MessageRuleSpec, type RotationRuleSpec, type TimedRule, type WindowRuleSpec } from './rules';

// === Evidence ===

/** One JSON log line of the daemon. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** One daemon process, as the driver saw it live. */
export interface DaemonLife {
  /** 1 for the first process, 2 for the one started after the kill. */
  index: number;
  pid: number | undefined;
  startedAt: number;
  /** When it sent pm2's `ready`. */
  readyAt?: number;
  /** The signal the driver sent it, and when. */
  signal?: { name: NodeJS.Signals; at: number };
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  /** Lines logged at error level or above (the first ones, bounded). */
  errorLines: LogLine[];
  /** Lines that name a crash: uncaughtException, unhandledRejection, fatal. */
  crashLines: string[];
  /** Its stderr (the first part, bounded). */
  stderr: string;
  /** Lines written to stdout. */
  lines: number;
}

export interface SoakEvidence {
  /** Every frame in and out, as the simulator recorded it. */
  record: readonly RecordedFrame[];
  /** Every message the world holds (sent and injected), with its delivery status. */
  messages: readonly SimMessage[];
  /** Every change clients made to the world, in order. */
  changes: readonly WorldChange[];
  /** Every run of the execution log, with its steps and ledger. */
  runs: readonly RunDetail[];
  audit: readonly AuditDecision[];
  daemons: readonly DaemonLife[];
  /** When the kill -9 was sent, if there was one. */
  killedAt?: number;
  /** When the process started after the kill was ready. */
  restartReadyAt?: number;
  /** When the final SIGTERM was sent. */
  stoppedAt: number;
  timed: readonly TimedRule[];
  /** The message rules, for the check that no pushed message went unhandled. */
  messageRules: readonly MessageRuleSpec[];
  /** Items a watch rule must fire for: the friend requests and newcomers the driver added, and when. */
  watched: readonly WatchedItem[];
  /** When each watch rule took its baseline (items listed then never fire). */
  baselines: Readonly<Record<string, number>>;
  /** The window rules, and whether each group is muted at the end. */
  windows: readonly WindowRuleSpec[];
  finalMuted: Readonly<Record<string, boolean>>;
  rotations: readonly RotationRuleSpec[];
  /** The daemon's shutdown deadline (its config's shutdownTimeout). */
  shutdownTimeoutMs: number;
}

/** An item the driver added that a watch rule must fire for. */
export interface WatchedItem {
  ruleId: string;
  uid: number;
  at: number;
}

// === Outcome ===

export type ViolationKind =
  | 'SOAK_ABORTED'
  | 'RECORD_TRIMMED'
  | 'UNLOGGED_FRAME'
  | 'FRAME_NOT_RECEIVED'
  | 'DUPLICATE_CUSTOM_MSG_ID'
  | 'DUPLICATE_SEND'
  | 'SLOT_RUN_TWICE'
  | 'MESSAGE_HANDLED_TWICE'
  | 'WATCH_ITEM_FIRED_TWICE'
  | 'PUSH_NOT_HANDLED'
  | 'WATCH_ITEM_LOST'
  | 'ANSWERED_TWICE'
  | 'MUTED_AGAIN'
  | 'GROUP_MUTE_REPEATED'
  | 'NOTICE_REPEATED'
  | 'DELIVERY_MISMATCH'
  | 'LEDGER_MISMATCH'
  | 'INTERNAL_ERROR'
  | 'ANSWER_CONTRADICTS_VERDICT'
  | 'NOTICE_OUT_OF_TURN'
  | 'WINDOW_NOT_RECONCILED'
  | 'WINDOW_EDGE_MISSED'
  | 'SLOW_SHUTDOWN'
  | 'RUN_LEFT_RUNNING'
  | 'STEP_LEFT_RUNNING'
  | 'DAEMON_CRASHED'
  | 'DAEMON_EXIT_CODE'
  | 'CRASH_LOG'
  | 'SCHEDULER_STOPPED';

export interface Violation {
  kind: ViolationKind;
  message: string;
  details?: Record<string, unknown>;
}

export interface SoakCheck {
  violations: Violation[];
  /** Things worth knowing that break no rule (frames lost with a connection, runs the kill interrupted...). */
  notes: string[];
  stats: Record<string, unknown>;
}

// === Frames as the bridge saw them ===

/** Whether the bridge acted on a world-changing frame: from its answer, or from the fault record. */
type Acted = 'yes' | 'no' | 'unknown';

interface Received {
  entry: RecordedFrame;
  frame: { id: string; type: string; data?: unknown };
  canon: string;
  kind: string;
  acted: Acted;
  /** The answer's errorCode, when it answered with an error. */
  errorCode?: number;
  claimedBy?: Sent;
}

/** A step that recorded a frame. */
interface Sent {
  run: RunDetail;
  step: StepRecord;
  frame: { id: string; type: string; data?: unknown };
  canon: string;
  kind: string;
  worldChanging: boolean;
  received?: Received;
}

/** Faults after which the record's own `actedBeforeFault` says whether the bridge acted. */
const ANSWER_FAULTS: ReadonlySet<string> = new Set(['busy', 'silence', 'drop', 'garbage', 'invalid-utf8', 'error']);

/** JSON with sorted keys: the same frame gives the same text whatever order its keys were written in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function isFrame(value: unknown): value is { id: string; type: string; data?: unknown } {
  if (value === null || typeof value !== 'object') return false;
  const { id, type } = value as { id?: unknown; type?: unknown };
  return typeof id === 'string' && typeof type === 'string';
}

function field(value: unknown, ...keys: string[]): unknown {
  let at: unknown = value;
  for (const key of keys) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** What a frame does, for grouping: `sendMsg:0`, `GroupUpdate:11`, `GroupMemberShutup`, `request:GroupDetail`... */
export function frameKind(frame: { type: string; data?: unknown }): string {
  if (frame.type === 'sendMsg') return `sendMsg:${String(field(frame.data, 'list', '0', 'values', 'chatType') ?? 0)}`;
  if (frame.type !== 'request') return frame.type;
  const api = String(field(frame.data, 'type') ?? '?');
  if (api === 'GroupUpdate') return `GroupUpdate:${String(field(frame.data, 'data', 'op') ?? '?')}`;
  return changesWorld(frame) ? api : `request:${api}`;
}

function customMsgIdOf(frame: { type: string; data?: unknown }): string | undefined {
  const id = field(frame.data, 'custom_msg_id');
  return typeof id === 'string' ? id : undefined;
}

/** Incoming frames that passed the envelope, with the bridge's answer and whether it acted. */
function receivedFrames(record: readonly RecordedFrame[]): Received[] {
  const answers = new Map<string, RecordedFrame>();
  for (const entry of record) {
    if (entry.direction !== 'out') continue;
    const id = field(entry.frame, 'id');
    const key = `${entry.connectionId}\u0000${String(id)}`;
    if (typeof id === 'string' && !answers.has(key)) answers.set(key, entry);
  }
  const received: Received[] = [];
  for (const entry of record) {
    if (entry.direction !== 'in' || !isFrame(entry.frame)) continue;
    const frame = entry.frame;
    const answer = answers.get(`${entry.connectionId}\u0000${frame.id}`);
    const errorCode = field(answer?.frame, 'error', 'errorCode');
    let acted: Acted;
    if (entry.fault !== undefined && ANSWER_FAULTS.has(entry.fault)) acted = entry.actedBeforeFault ? 'yes' : 'no';
    else if (!answer) acted = 'unknown';
    else acted = errorCode !== undefined ? 'no' : 'yes';
    received.push({
      entry,
      frame,
      canon: canonicalJson(frame),
      kind: frameKind(frame),
      acted,
      ...(typeof errorCode === 'number' && { errorCode }),
    });
  }
  return received;
}

function sentFrames(runs: readonly RunDetail[]): Sent[] {
  const sent: Sent[] = [];
  for (const run of runs) {
    for (const step of run.steps) {
      if (!isFrame(step.frame)) continue;
      sent.push({ run, step, frame: step.frame, canon: canonicalJson(step.frame), kind: frameKind(step.frame), worldChanging: changesWorld(step.frame) });
    }
  }
  return sent;
}

/** The run a resumed run finishes, else the run itself: the unit "send each target once" holds over. */
function rootOf(run: RunDetail): number {
  return run.resumedFrom ?? run.id;
}

function describeSent(sent: Sent): Record<string, unknown> {
  return {
    rule: sent.run.ruleId,
    run: sent.run.id,
    runStatus: sent.run.status,
    resumedFrom: sent.run.resumedFrom,
    step: sent.step.id,
    path: sent.step.path,
    target: sent.step.target,
    status: sent.step.status,
    delivery: sent.step.delivery,
    error: sent.step.error ? `${sent.step.error.code}: ${sent.step.error.message}` : null,
    note: sent.step.note,
    frame: sent.frame,
  };
}

function describeReceived(received: Received): Record<string, unknown> {
  return {
    seq: received.entry.seq,
    at: new Date(received.entry.at).toISOString(),
    connection: received.entry.connectionId,
    fault: received.entry.fault ?? null,
    acted: received.acted,
    ...(received.errorCode !== undefined && { errorCode: received.errorCode }),
    frame: received.frame,
  };
}

// === The check ===

/** Step errors after which a written frame may never have reached the bridge. */
const LOST_WITH_CONNECTION = new Set(['BRIDGE_DISCONNECTED']);

export function checkSoak(evidence: SoakEvidence): SoakCheck {
  const violations: Violation[] = [];
  const notes: string[] = [];
  const violate = (kind: ViolationKind, message: string, details?: Record<string, unknown>): void => {
    violations.push({ kind, message, ...(details && { details }) });
  };

  const first = evidence.record[0];
  if (first !== undefined && first.seq !== 1) {
    violate('RECORD_TRIMMED', `the simulator forgot the first ${first.seq - 1} frames (recordLimit too small): frames cannot be compared`);
  }

  const received = receivedFrames(evidence.record);
  const worldChanging = received.filter((r) => changesWorld(r.frame));
  const sent = sentFrames(evidence.runs);
  matchFrames(received, sent);

  checkUnlogged(worldChanging, sent, evidence.audit, violate, notes);
  checkNotReceived(sent, violate, notes);
  checkDuplicates(worldChanging, evidence, violate);
  checkRunsTwice(evidence.runs, violate);
  checkNothingLost(evidence, violate, notes);
  checkFriendAnswers(worldChanging, evidence.changes, violate);
  checkAnswersFollowVerdicts(worldChanging, evidence.audit, violate);
  checkMutes(worldChanging, violate);
  checkWorldRepeats(evidence.changes, violate);
  checkRotations(evidence, violate);
  checkWindows(evidence, violate);
  checkWindowEdges(evidence, violate);
  checkDeliveries(sent, evidence, violate);
  checkLeftRunning(evidence.runs, violate);
  checkInternalErrors(evidence.runs, violate);
  checkDaemons(evidence, violate, notes);
  checkScheduler(evidence, violate, notes);
  noteInterruptions(evidence, notes);

  return { violations, notes, stats: statsOf(evidence, received, worldChanging, sent) };
}

type Violate = (kind: ViolationKind, message: string, details?: Record<string, unknown>) => void;

/**
 * Pairs each step's frame with the frame the bridge received: a message by its
 * custom_msg_id and content, anything else by its whole content (the frame id included,
 * which is unique per process). Each received frame pairs with one step at most.
 */
function matchFrames(all: readonly Received[], sent: readonly Sent[]): void {
  const byCanon = new Map<string, Received[]>();
  for (const r of all) {
    const list = byCanon.get(r.canon);
    if (list) list.push(r);
    else byCanon.set(r.canon, [r]);
  }
  for (const s of sent) {
    const candidates = byCanon.get(s.canon);
    const match = candidates?.find((r) => r.claimedBy === undefined);
    if (!match) continue;
    match.claimedBy = s;
    s.received = match;
  }
}

/** World-changing frames with no step: only the hold resolver sends outside runs, and its answers are counted in the audit log. */
function checkUnlogged(worldChanging: readonly Received[], sent: readonly Sent[], audit: readonly AuditDecision[], violate: Violate, notes: string[]): void {
  const unclaimed = worldChanging.filter((r) => r.claimedBy === undefined);
  const answersByUid = new Map<string, Received[]>();
  for (const r of unclaimed) {
    if (r.kind === 'UpdateContactsApply') {
      const uid = String(field(r.frame.data, 'data', 'applyUid'));
      const list = answersByUid.get(uid);
      if (list) list.push(r);
      else answersByUid.set(uid, [r]);
      continue;
    }
    violate('UNLOGGED_FRAME', `the bridge received a ${r.kind} frame that no step of the execution log sent`, describeReceived(r));
  }
  let byResolver = 0;
  for (const [uid, frames] of answersByUid) {
    // The resolver counts its frames in the decision's answer record (attempts), beside the run's own.
    const attempts = audit.filter((d) => d.uid === uid).reduce((sum, d) => sum + attemptsOf(d), 0);
    const inRuns = sent.filter((s) => s.kind === 'UpdateContactsApply' && s.received && String(field(s.frame.data, 'data', 'applyUid')) === uid).length;
    const allowed = Math.max(0, attempts - inRuns);
    if (frames.length > allowed) {
      violate('UNLOGGED_FRAME', `the bridge received ${frames.length} UpdateContactsApply frame(s) for ${uid} outside any run; the audit log accounts for ${allowed}`, {
        uid,
        frames: frames.map(describeReceived),
        decisions: audit.filter((d) => d.uid === uid),
      });
    } else {
      byResolver += frames.length;
    }
  }
  if (byResolver > 0) notes.push(`${byResolver} friend-request answer(s) sent by the hold resolver, accounted for in the audit log`);
}

function attemptsOf(decision: AuditDecision): number {
  const attempts = field(decision.actions, 'answer', 'attempts');
  return typeof attempts === 'number' ? attempts : 0;
}

/** Steps that say a frame left, whose frame the bridge never saw. */
function checkNotReceived(sent: readonly Sent[], violate: Violate, notes: string[]): void {
  let lostWithConnection = 0;
  let inFlightAtKill = 0;
  for (const s of sent) {
    if (s.received) continue;
    const { step } = s;
    if (step.status === 'dry-run') continue;
    if (step.status === 'interrupted') {
      // Killed or stopped between recording the frame and its answer: it may or may not have left.
      inFlightAtKill++;
      if (s.worldChanging && step.delivery !== 'unknown' && s.kind.startsWith('sendMsg')) {
        violate('DELIVERY_MISMATCH', 'an interrupted step whose message may have left does not say its delivery is unknown', describeSent(s));
      }
      continue;
    }
    const code = step.error?.code;
    if (step.status === 'failed' && code !== undefined && LOST_WITH_CONNECTION.has(code)) {
      lostWithConnection++;
      continue;
    }
    violate('FRAME_NOT_RECEIVED', `step ${step.id} (${s.kind}, ${step.status}) recorded a frame the bridge never received`, describeSent(s));
  }
  if (inFlightAtKill > 0) notes.push(`${inFlightAtKill} frame(s) recorded by steps the kill or the shutdown interrupted were never received (in flight: allowed)`);
  if (lostWithConnection > 0) notes.push(`${lostWithConnection} frame(s) written just before a dropped connection never reached the bridge (the steps say so)`);
}

/** Nothing reached a target twice. */
function checkDuplicates(worldChanging: readonly Received[], evidence: SoakEvidence, violate: Violate): void {
  const byCustomId = new Map<string, Received[]>();
  for (const r of worldChanging) {
    const id = customMsgIdOf(r.frame);
    if (id === undefined) continue;
    const list = byCustomId.get(id);
    if (list) list.push(r);
    else byCustomId.set(id, [r]);
  }
  for (const [id, frames] of byCustomId) {
    if (frames.length > 1) violate('DUPLICATE_CUSTOM_MSG_ID', `custom_msg_id ${id} reached the bridge ${frames.length} times`, { frames: frames.map(describeReceived) });
  }

  const statusOf = new Map(evidence.messages.map((m) => [m.customMsgId, m.status]));
  const byAction = new Map<string, Received[]>();
  for (const r of worldChanging) {
    const s = r.claimedBy;
    if (!s || s.step.target === null) continue;
    const key = `${rootOf(s.run)}|${s.step.path}|${s.step.target}|${r.kind}`;
    const list = byAction.get(key);
    if (list) list.push(r);
    else byAction.set(key, [r]);
  }
  for (const [key, frames] of byAction) {
    if (frames.length < 2) continue;
    // A later frame is a duplicate when an earlier one took effect (or may have) and was not reported undelivered.
    const tookEffect = frames.slice(0, -1).some((r) => {
      if (r.acted === 'no') return false;
      const id = customMsgIdOf(r.frame);
      return id === undefined || statusOf.get(id) !== 'failed';
    });
    if (tookEffect) {
      violate('DUPLICATE_SEND', `one action sent ${frames.length} ${frames[0]!.kind} frames to the same target (run, or the run it resumed | path | target | kind: ${key})`, {
        frames: frames.map((r) => ({ ...describeReceived(r), step: r.claimedBy ? describeSent(r.claimedBy) : null })),
      });
    }
  }
}

/** A schedule slot, a message or a watched item handled by two runs of one rule. */
function checkRunsTwice(runs: readonly RunDetail[], violate: Violate): void {
  const groups = new Map<string, RunDetail[]>();
  const add = (key: string, run: RunDetail): void => {
    const list = groups.get(key);
    if (list) list.push(run);
    else groups.set(key, [run]);
  };
  for (const run of runs) {
    if (run.resumedFrom !== null || run.status === 'skipped' || run.status === 'missed') continue;
    if ((run.triggerKind === 'cron' || run.triggerKind === 'every') && run.slot !== null) add(`slot|${run.ruleId}|${run.slot}`, run);
    if (run.triggerKind === 'message') {
      const msgId = field(run.triggerData, 'msgId') ?? field(run.triggerData, 'message', 'msgId');
      if (msgId !== undefined) add(`message|${run.ruleId}|${String(msgId)}`, run);
    }
    if (run.triggerKind === 'watch') {
      const item = field(run.triggerData, 'item');
      // The watch's own key: a member by uid, a friend request by uid and time.
      const time = field(item, 'modifyTime') || field(item, 'createTime') || '';
      const key = `${String(field(run.triggerData, 'list'))}|${String(field(item, 'uid'))}@${String(time)}`;
      add(`watch|${run.ruleId}|${String(field(run.triggerData, 'change') ?? '')}|${key}`, run);
    }
  }
  for (const [key, list] of groups) {
    if (list.length < 2) continue;
    const kind = key.startsWith('slot') ? 'SLOT_RUN_TWICE' : key.startsWith('message') ? 'MESSAGE_HANDLED_TWICE' : 'WATCH_ITEM_FIRED_TWICE';
    violate(kind, `${list.length} runs handled the same ${key.split('|')[0]} (${key})`, {
      runs: list.map((run) => ({ id: run.id, status: run.status, startedAt: new Date(run.startedAt).toISOString(), slot: run.slot, trigger: run.triggerKind })),
    });
  }
}

/**
 * Nothing is lost while the daemon is there to hear it: every message pushed on a
 * connection the daemon went on using has a run of each message rule it matches, and
 * every friend request or newcomer added before the daemon had been connected long
 * enough for several polls has a run of the watch rule that must fire for it.
 */
function checkNothingLost(evidence: SoakEvidence, violate: Violate, notes: string[]): void {
  const lives = connectionLives(evidence.record);
  const handled = new Set<string>();
  const watchedFired = new Set<string>();
  for (const run of evidence.runs) {
    if (run.triggerKind === 'message') handled.add(`${run.ruleId}|${String(field(run.triggerData, 'msgId'))}`);
    if (run.triggerKind === 'watch') watchedFired.add(`${run.ruleId}|${String(field(run.triggerData, 'item', 'uid'))}`);
  }

  let pushesChecked = 0;
  for (const entry of evidence.record) {
    if (entry.direction !== 'out' || field(entry.frame, 'operator') !== 'msgNew' || field(entry.frame, 'operatorType') !== undefined) continue;
    const data = field(entry.frame, 'data');
    if (field(data, 'isSelf') === true) continue;
    // The daemon wrote on this connection a second later: it was alive, and read the push first.
    if ((lives.get(entry.connectionId)?.lastIn ?? 0) < entry.at + 1000) continue;
    // A push read just before a kill -9 or during the shutdown may die with the process: not a loss to count.
    if (evidence.killedAt !== undefined && entry.at >= evidence.killedAt - 2000 && entry.at <= evidence.killedAt) continue;
    if (entry.at >= evidence.stoppedAt - 2000) continue;
    pushesChecked++;
    const msgId = String(field(data, 'msgId'));
    for (const rule of evidence.messageRules) {
      if (!messageMatches(rule, data) || handled.has(`${rule.id}|${msgId}`)) continue;
      violate('PUSH_NOT_HANDLED', `message ${msgId} was pushed to the daemon, which went on running, but rule ${rule.id} never ran for it`, {
        seq: entry.seq,
        at: new Date(entry.at).toISOString(),
        connection: entry.connectionId,
        message: { groupId: field(data, 'groupId') ?? null, sendUid: field(data, 'sendUid'), content: field(data, 'content') },
      });
    }
  }

  /** Long enough for several polls, read retries, a few timeouts and a backlog of fires. */
  const POLLS_MS = 20_000;
  let itemsChecked = 0;
  for (const item of evidence.watched) {
    const baseline = evidence.baselines[item.ruleId];
    if (baseline === undefined || item.at < baseline) continue;
    // Connected time after it appeared, over every connection (drops are frequent in a soak).
    const heard = [...lives.values()].reduce((sum, life) => sum + Math.max(0, life.lastIn - Math.max(item.at, life.first)), 0) >= POLLS_MS;
    if (!heard) continue;
    itemsChecked++;
    if (!watchedFired.has(`${item.ruleId}|${item.uid}`)) {
      violate('WATCH_ITEM_LOST', `${item.uid}, added at ${new Date(item.at).toISOString()}, never fired rule ${item.ruleId}, though the daemon was connected for ${POLLS_MS / 1000}s and more after`, {
        ...item,
      });
    }
  }
  notes.push(`checked that ${pushesChecked} pushed message(s) and ${itemsChecked} watched item(s) the daemon was there to hear were handled`);
}

/** When each connection was first seen, and when the daemon last wrote on it. */
function connectionLives(record: readonly RecordedFrame[]): Map<number, { first: number; lastIn: number }> {
  const lives = new Map<number, { first: number; lastIn: number }>();
  for (const entry of record) {
    const life = lives.get(entry.connectionId);
    if (!life) lives.set(entry.connectionId, { first: entry.at, lastIn: entry.direction === 'in' ? entry.at : 0 });
    else if (entry.direction === 'in') life.lastIn = entry.at;
  }
  return lives;
}

function messageMatches(rule: MessageRuleSpec, data: unknown): boolean {
  const groupId = field(data, 'groupId');
  const isGroup = groupId !== undefined;
  if (rule.chat === 'group' ? !isGroup : field(data, 'type') !== 'friend') return false;
  if (rule.groups && !rule.groups.includes(Number(groupId))) return false;
  const content = String(field(data, 'content') ?? '');
  if (rule.contains && !rule.contains.some((word) => content.includes(word))) return false;
  if (rule.pattern !== undefined && !new RegExp(rule.pattern).test(content)) return false;
  return true;
}

/** A friend request answered on the bridge gets no answer after that. */
function checkFriendAnswers(worldChanging: readonly Received[], changes: readonly WorldChange[], violate: Violate): void {
  const answeredAt = new Map<number, number>();
  for (const change of changes) {
    if (change.kind === 'friendRequestAnswered' && !answeredAt.has(change.uid)) answeredAt.set(change.uid, change.at);
  }
  for (const r of worldChanging) {
    if (r.kind !== 'UpdateContactsApply') continue;
    const uid = Number(field(r.frame.data, 'data', 'applyUid'));
    const at = answeredAt.get(uid);
    if (at !== undefined && r.entry.at > at) {
      violate('ANSWERED_TWICE', `friend request of ${uid} was answered at ${new Date(at).toISOString()}, and another answer came after`, {
        ...describeReceived(r),
        step: r.claimedBy ? describeSent(r.claimedBy) : 'outside runs (hold resolver)',
      });
    }
  }
}

/**
 * An answer on the bridge carries the verdict of the request's decision: the accept op
 * for an accept, the reject op for a reject. The colleagues' rule accepts requests the audit flags, so an
 * accept of a flagged request by a step of another rule is its business.
 */
function checkAnswersFollowVerdicts(worldChanging: readonly Received[], audit: readonly AuditDecision[], violate: Violate): void {
  for (const r of worldChanging) {
    if (r.kind !== 'UpdateContactsApply') continue;
    const uid = String(field(r.frame.data, 'data', 'applyUid'));
    const op = Number(field(r.frame.data, 'data', 'op'));
    const byAudit = !r.claimedBy || r.claimedBy.step.kind === 'audit';
    if (!byAudit) continue;
    const decisions = audit.filter((d) => d.uid === uid);
    const agrees = decisions.some((d) => (d.verdict === 'accept' && op === FRIEND_ACCEPT_OP) || (d.verdict === 'reject' && op === FRIEND_REJECT_OP));
    if (!agrees) {
      violate('ANSWER_CONTRADICTS_VERDICT', `the answer to ${uid} (op ${op}) matches no decision of the audit log`, {
        ...describeReceived(r),
        decisions: decisions.map((d) => ({ id: d.id, verdict: d.verdict, state: d.state, decidedBy: d.decidedBy, holdUntil: d.holdUntil, actions: d.actions })),
      });
    }
  }
}

/** One rule mutes a member once while the mute lasts. */
function checkMutes(worldChanging: readonly Received[], violate: Violate): void {
  const byMember = new Map<string, Received[]>();
  for (const r of worldChanging) {
    if (r.kind !== 'GroupMemberShutup' || !r.claimedBy) continue;
    const data = field(r.frame.data, 'data');
    const key = `${r.claimedBy.run.ruleId}|${String(field(data, 'groupId'))}|${String(field(data, 'targetUid'))}`;
    const list = byMember.get(key);
    if (list) list.push(r);
    else byMember.set(key, [r]);
  }
  for (const [key, frames] of byMember) {
    for (let i = 1; i < frames.length; i++) {
      const earlier = frames.slice(0, i).filter((r) => r.acted !== 'no');
      const later = frames[i]!;
      const lasting = earlier.find((r) => later.entry.at < r.entry.at + Number(field(r.frame.data, 'data', 'shutupTime')) * 1000);
      if (lasting) {
        violate('MUTED_AGAIN', `rule|group|member ${key} was muted again while its earlier mute lasted`, {
          earlier: { ...describeReceived(lasting), step: lasting.claimedBy ? describeSent(lasting.claimedBy) : null },
          later: { ...describeReceived(later), step: later.claimedBy ? describeSent(later.claimedBy) : null },
        });
      }
    }
  }
}

/** A group set to the mute state it already had, or to the notice it already showed: an action repeated blindly. */
function checkWorldRepeats(changes: readonly WorldChange[], violate: Violate): void {
  const muted = new Map<number, { value: boolean; at: number }>();
  const notices = new Map<number, { value: string; at: number }>();
  for (const change of changes) {
    if (change.kind === 'groupShutup') {
      const before = muted.get(change.groupId);
      if (before && before.value === change.bfShutup) {
        violate('GROUP_MUTE_REPEATED', `group ${change.groupId} was set to ${change.bfShutup ? 'muted' : 'unmuted'} again (already so since ${new Date(before.at).toISOString()})`, {
          at: new Date(change.at).toISOString(),
        });
      }
      muted.set(change.groupId, { value: change.bfShutup, at: change.at });
    } else if (change.kind === 'notice') {
      const before = notices.get(change.groupId);
      if (before && before.value === change.notice) {
        violate('NOTICE_REPEATED', `group ${change.groupId} was given the notice it already showed (${JSON.stringify(change.notice)}, since ${new Date(before.at).toISOString()})`, {
          at: new Date(change.at).toISOString(),
        });
      }
      notices.set(change.groupId, { value: change.notice, at: change.at });
    } else if (change.kind === 'noticeCleared') {
      notices.delete(change.groupId);
    }
  }
}

/**
 * Sequential rotations come in turn on the bridge: each notice a group gets is the one
 * after the notice it got before (a failed update is tried again, a notice found already
 * there moves the rotation on: either way the group never skips one).
 */
function checkRotations(evidence: SoakEvidence, violate: Violate): void {
  for (const rotation of evidence.rotations) {
    if (rotation.order !== 'sequential') continue;
    const applied = evidence.changes.filter((c): c is Extract<WorldChange, { kind: 'notice' }> => c.kind === 'notice' && c.groupId === rotation.group);
    let expected = 0;
    for (const change of applied) {
      const index = rotation.notices.indexOf(change.notice);
      if (index !== expected) {
        violate('NOTICE_OUT_OF_TURN', `group ${rotation.group} of ${rotation.id} got notice ${index + 1} of ${rotation.notices.length} where notice ${expected + 1} was due`, {
          at: new Date(change.at).toISOString(),
          sequence: applied.map((c) => rotation.notices.indexOf(c.notice) + 1),
        });
        break;
      }
      expected = (index + 1) % rotation.notices.length;
    }
  }
}

/**
 * A window rule leaves its group in the window's state: muted inside, unmuted outside,
 * once the daemon has been connected for a while since the last edge.
 */
function checkWindows(evidence: SoakEvidence, violate: Violate): void {
  const lives = [...connectionLives(evidence.record).values()];
  for (const window of evidence.windows) {
    const inside = insideWindow(window, evidence.stoppedAt);
    const lastEdge = lastEdgeBefore(window, evidence.stoppedAt);
    const connectedSince = lives.reduce((sum, life) => sum + Math.max(0, Math.min(life.lastIn, evidence.stoppedAt) - Math.max(lastEdge, life.first)), 0);
    if (connectedSince < 10_000) continue;
    const muted = evidence.finalMuted[String(window.group)];
    if (muted !== inside) {
      violate('WINDOW_NOT_RECONCILED', `group ${window.group} of ${window.id} ends ${muted ? 'muted' : 'unmuted'}, though the window (${window.start}-${window.end} UTC) is ${inside ? 'open' : 'closed'}`, {
        lastEdge: new Date(lastEdge).toISOString(),
        connectedMsSince: connectedSince,
      });
    }
  }
}

/**
 * At each edge of a window while the daemon stayed on one connection for the next
 * EDGE_GRACE_MS, the group reached the window's state within that time: a busy answer
 * at the edge must not leave it for the next reconnect to repair.
 */
function checkWindowEdges(evidence: SoakEvidence, violate: Violate): void {
  const EDGE_GRACE_MS = 8000;
  const lives = [...connectionLives(evidence.record).values()];
  const from = Math.min(...evidence.daemons.map((daemon) => daemon.readyAt ?? Infinity));
  for (const window of evidence.windows) {
    const changes = evidence.changes.filter((c): c is Extract<WorldChange, { kind: 'groupShutup' }> => c.kind === 'groupShutup' && c.groupId === window.group);
    const mutedAt = (t: number): boolean => changes.filter((c) => c.at <= t).at(-1)?.bfShutup ?? false;
    for (const edge of edgesBetween(window, from, evidence.stoppedAt - EDGE_GRACE_MS)) {
      if (!lives.some((life) => life.first <= edge && life.lastIn >= edge + EDGE_GRACE_MS)) continue;
      if (evidence.killedAt !== undefined && evidence.killedAt >= edge && evidence.killedAt <= edge + EDGE_GRACE_MS) continue;
      const wanted = insideWindow(window, edge);
      if (mutedAt(edge + EDGE_GRACE_MS) !== wanted) {
        violate('WINDOW_EDGE_MISSED', `${window.id}: ${EDGE_GRACE_MS / 1000}s after the window ${wanted ? 'opened' : 'closed'} at ${new Date(edge).toISOString()}, group ${window.group} is still ${wanted ? 'unmuted' : 'muted'}, though the daemon stayed connected`, {
          changes: changes.map((c) => ({ at: new Date(c.at).toISOString(), muted: c.bfShutup })),
        });
      }
    }
  }
}

/** The window's opening and closing instants in [from, to] (UTC, daily). */
function edgesBetween(window: WindowRuleSpec, from: number, to: number): number[] {
  const edges: number[] = [];
  for (let day = Math.floor(from / 86_400_000) * 86_400_000; day <= to; day += 86_400_000) {
    for (const minute of [minuteOfDay(window.start), minuteOfDay(window.end)]) {
      const edge = day + minute * 60_000;
      if (edge >= from && edge <= to) edges.push(edge);
    }
  }
  return edges.sort((a, b) => a - b);
}

function minuteOfDay(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

function insideWindow(window: WindowRuleSpec, at: number): boolean {
  const minute = Math.floor((at % 86_400_000) / 60_000);
  const start = minuteOfDay(window.start);
  const end = minuteOfDay(window.end);
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** The last time the window opened or closed at or before `at` (UTC, daily). */
function lastEdgeBefore(window: WindowRuleSpec, at: number): number {
  const day = Math.floor(at / 86_400_000) * 86_400_000;
  const edges = [minuteOfDay(window.start), minuteOfDay(window.end)].flatMap((m) => [day + m * 60_000, day - 86_400_000 + m * 60_000]);
  return Math.max(...edges.filter((edge) => edge <= at));
}

/** The log's delivery states and ledger agree with what became of each message on the bridge. */
function checkDeliveries(sent: readonly Sent[], evidence: SoakEvidence, violate: Violate): void {
  const messages = new Map(evidence.messages.map((m) => [m.customMsgId, m]));
  for (const s of sent) {
    const id = customMsgIdOf(s.frame);
    if (id === undefined || s.step.delivery === null) continue;
    const message = messages.get(id);
    const logged = s.step.delivery;
    if (!message) {
      if (logged === 'accepted' || logged === 'delivered') {
        violate('DELIVERY_MISMATCH', `step ${s.step.id} says message ${id} was ${logged}, but the bridge holds no such message`, describeSent(s));
      }
      continue;
    }
    const contradicts =
      (logged === 'failed' && message.status !== 'failed') || (logged === 'delivered' && message.status !== 'delivered');
    if (contradicts) {
      violate('DELIVERY_MISMATCH', `step ${s.step.id} says message ${id} is ${logged}; the bridge says ${message.status}`, describeSent(s));
    }
  }

  // The ledger decides what a resume sends again: it must never call a target unreached that was reached.
  const receivedByTarget = new Set<string>();
  for (const s of sent) {
    if (s.received && s.received.acted !== 'no' && s.step.target !== null && s.kind.startsWith('send')) {
      receivedByTarget.add(`${s.run.id}|${s.step.path}|${s.step.target}`);
    }
  }
  for (const run of evidence.runs) {
    for (const entry of run.ledger) {
      const reached = receivedByTarget.has(`${run.id}|${entry.path}|${entry.target}`);
      const message = entry.customMsgId !== null ? messages.get(entry.customMsgId) : undefined;
      const unreached = entry.state === 'planned' || (entry.state === 'failed' && (message === undefined || message.status !== 'failed'));
      if (unreached && (reached || (message !== undefined && message.status !== 'failed'))) {
        violate('LEDGER_MISMATCH', `the ledger of run ${run.id} says ${entry.target} is ${entry.state}, but the bridge took the message`, {
          rule: run.ruleId,
          run: run.id,
          runStatus: run.status,
          entry,
          message: message ?? null,
        });
      }
    }
  }
}

function checkLeftRunning(runs: readonly RunDetail[], violate: Violate): void {
  for (const run of runs) {
    if (run.status === 'running') violate('RUN_LEFT_RUNNING', `run ${run.id} of ${run.ruleId} is still running after the daemon stopped`, { startedAt: new Date(run.startedAt).toISOString() });
    for (const step of run.steps) {
      if (step.status === 'running') violate('STEP_LEFT_RUNNING', `step ${step.id} (${step.kind} ${step.path}) of run ${run.id} is still running`, { run: run.id, rule: run.ruleId });
    }
  }
}

/**
 * Runs and steps fail with the project's own error codes (BRIDGE_TIMEOUT, TARGET_UNKNOWN...).
 * A bare JavaScript error (TypeError, RangeError...) is a fault of the daemon itself.
 */
function checkInternalErrors(runs: readonly RunDetail[], violate: Violate): void {
  const own = /^[A-Z][A-Z0-9_]+$/;
  const seen = new Map<string, { count: number; first: Record<string, unknown> }>();
  for (const run of runs) {
    const errors = [
      ...(run.error ? [{ error: run.error, where: `run ${run.id}` }] : []),
      ...run.steps.filter((step) => step.error).map((step) => ({ error: step.error!, where: `run ${run.id} step ${step.id} (${step.kind} ${step.path})` })),
    ];
    for (const { error, where } of errors) {
      if (own.test(error.code)) continue;
      const key = `${error.code}: ${error.message}`;
      const known = seen.get(key);
      if (known) known.count++;
      else seen.set(key, { count: 1, first: { rule: run.ruleId, where } });
    }
  }
  for (const [message, { count, first }] of seen) {
    violate('INTERNAL_ERROR', `${count} run(s) or step(s) failed with an error of the daemon itself: ${message}`, first);
  }
}

/** Each process ended only when the driver said so, and the last one cleanly; nothing crashed in its logs. */
function checkDaemons(evidence: SoakEvidence, violate: Violate, notes: string[]): void {
  for (const daemon of evidence.daemons) {
    const name = `daemon process ${daemon.index} (pid ${daemon.pid ?? '?'})`;
    if (daemon.exit && (!daemon.signal || daemon.exit.at < daemon.signal.at)) {
      violate('DAEMON_CRASHED', `${name} exited on its own (code ${daemon.exit.code}, signal ${daemon.exit.signal})`, { stderr: daemon.stderr.slice(0, 4000) });
    } else if (daemon.signal?.name === 'SIGTERM' && daemon.exit?.code !== 0) {
      violate('DAEMON_EXIT_CODE', `${name} ended with code ${daemon.exit?.code ?? 'none'} (signal ${daemon.exit?.signal ?? 'none'}) after SIGTERM; 0 expected`, {
        stderr: daemon.stderr.slice(0, 4000),
      });
    } else if (daemon.signal && !daemon.exit) {
      violate('DAEMON_EXIT_CODE', `${name} did not exit after ${daemon.signal.name}`);
    }
    // ecosystem.config.js: the deadline, then about 5s to record the rest and close; a little more for a loaded machine.
    const allowed = evidence.shutdownTimeoutMs + 7000;
    if (daemon.signal?.name === 'SIGTERM' && daemon.exit && daemon.exit.at - daemon.signal.at > allowed) {
      violate('SLOW_SHUTDOWN', `${name} took ${daemon.exit.at - daemon.signal.at}ms to stop after SIGTERM; a supervisor waits shutdownTimeout + about 5s`, { allowedMs: allowed });
    }
    for (const line of daemon.crashLines) violate('CRASH_LOG', `${name} logged a crash`, { line: line.slice(0, 4000) });
    if (daemon.errorLines.length > 0) {
      const counts = new Map<string, number>();
      for (const line of daemon.errorLines) counts.set(String(line.msg), (counts.get(String(line.msg)) ?? 0) + 1);
      notes.push(`${name} logged ${daemon.errorLines.length} error line(s): ${[...counts].map(([msg, n]) => `${n}× "${msg}"`).join(', ')}`);
    }
  }
}

/**
 * After the restart, every timed rule whose interval fits twice in the time left fired
 * at least once, and the heartbeat fired about as often as it should.
 */
function checkScheduler(evidence: SoakEvidence, violate: Violate, notes: string[]): void {
  const from = evidence.restartReadyAt;
  if (from === undefined) return;
  const window = evidence.stoppedAt - from;
  const fired = new Map<string, number>();
  for (const run of evidence.runs) {
    if ((run.triggerKind === 'cron' || run.triggerKind === 'every') && run.slot !== null && run.slot >= from && run.status !== 'missed') {
      fired.set(run.ruleId, (fired.get(run.ruleId) ?? 0) + 1);
    }
  }
  const silent = evidence.timed.filter((rule) => rule.intervalMs * 2 <= window - 1000 && !fired.has(rule.id));
  if (silent.length > 0) {
    violate('SCHEDULER_STOPPED', `${silent.length} timed rule(s) never fired in the ${Math.round(window / 1000)}s after the restart: ${silent.map((r) => r.id).join(', ')}`);
  }
  const heartbeat = evidence.timed.find((rule) => rule.id === 'soak-heartbeat');
  if (heartbeat) {
    const expected = Math.floor(window / heartbeat.intervalMs);
    const got = fired.get(heartbeat.id) ?? 0;
    if (got < expected - 2) violate('SCHEDULER_STOPPED', `the heartbeat fired ${got} times in the ${Math.round(window / 1000)}s after the restart; about ${expected} expected`);
  }
  notes.push(`after the restart, ${fired.size} timed rule(s) fired, ${[...fired.values()].reduce((a, b) => a + b, 0)} time(s) in all`);
}

function noteInterruptions(evidence: SoakEvidence, notes: string[]): void {
  if (evidence.killedAt === undefined) return;
  const interrupted = evidence.runs.filter((run) => run.status === 'interrupted' && run.startedAt <= evidence.killedAt!);
  const resumed = evidence.runs.filter((run) => run.resumedFrom !== null);
  notes.push(
    `the kill -9 interrupted ${interrupted.length} run(s)` +
      (interrupted.length > 0 ? ` (${interrupted.map((run) => `${run.id} ${run.ruleId}`).join(', ')})` : ' — it hit no run in flight') +
      `; ${resumed.length} run(s) resumed`,
  );
  const unresumed = interrupted.filter((run) => run.ledger.some((entry) => entry.state === 'planned') && !resumed.some((r) => r.resumedFrom === run.id));
  if (unresumed.length > 0) notes.push(`interrupted broadcast(s) left for \`rulebot resume\`: ${unresumed.map((run) => run.id).join(', ')}`);
}

function statsOf(evidence: SoakEvidence, received: readonly Received[], worldChanging: readonly Received[], sent: readonly Sent[]): Record<string, unknown> {
  const count = <T>(items: readonly T[], key: (item: T) => string | undefined): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const item of items) {
      const k = key(item);
      if (k !== undefined) counts[k] = (counts[k] ?? 0) + 1;
    }
    return counts;
  };
  // Time with no live connection between the first connect and the stop: how long the daemon was cut off.
  const lives = [...connectionLives(evidence.record).values()].sort((a, b) => a.first - b.first);
  let cutOffMs = 0;
  let longestCutOffMs = 0;
  for (let i = 1; i < lives.length; i++) {
    const gap = Math.max(0, lives[i]!.first - Math.max(...lives.slice(0, i).map((life) => life.lastIn)));
    cutOffMs += gap;
    longestCutOffMs = Math.max(longestCutOffMs, gap);
  }
  return {
    connections: lives.length,
    cutOffMs,
    longestCutOffMs,
    framesIn: received.length,
    framesOut: evidence.record.filter((e) => e.direction === 'out').length,
    worldChanging: count(worldChanging, (r) => r.kind),
    faults: count(evidence.record, (e) => e.fault),
    actedBeforeFault: evidence.record.filter((e) => e.actedBeforeFault === true).length,
    runs: count(evidence.runs, (run) => run.status),
    triggers: count(evidence.runs, (run) => run.triggerKind),
    steps: evidence.runs.reduce((sum, run) => sum + run.steps.length, 0),
    stepsWithFrames: sent.length,
    botMessages: count(
      evidence.messages.filter((m) => m.senderUid === 4008697),
      (m) => m.status,
    ),
    worldChanges: count(evidence.changes, (c) => c.kind),
    auditDecisions: count(evidence.audit, (d) => `${d.verdict}/${String(field(d.actions, 'answer', 'state') ?? 'none')}`),
  };
}
