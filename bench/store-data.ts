/**
 * What the execution-log benchmark writes: a run of three bridge steps shaped like the
 * executor's (a GroupDetail read, a sendMsg, a notice update), and a log of 1,000,000
 * runs of 1,000 rules over the last 30 days for the read path.
 */
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { openDatabase } from '../src/store/db';
import type { RunStart } from '../src/store/types';

export const RULE_COUNT = 1000;
export const TIMEZONE = 'Asia/Shanghai';
const API_URL = 'https://webbiz.qika.xyz';
const DAY_MS = 86_400_000;

const ruleHashes: string[] = [];

export function ruleIdOf(n: number): string {
  return `rule-${String(n % RULE_COUNT).padStart(4, '0')}`;
}

function ruleHashOf(n: number): string {
  const index = n % RULE_COUNT;
  return (ruleHashes[index] ??= createHash('sha256').update(ruleIdOf(index)).digest('hex'));
}

// === One run as the executor writes it ===

export interface StepWrite {
  path: string;
  kind: string;
  target: string;
  input: unknown;
  frame: unknown;
  customMsgId?: string;
  answer: unknown;
  delivery?: 'accepted';
}

export interface RunWrite {
  start: RunStart;
  steps: StepWrite[];
}

/** A run of rule `n % 1000` fired by cron at `slot`, with its three steps; ids in frames depend on `n`. */
export function runWrite(n: number, slot: number): RunWrite {
  const groupId = 389284;
  const customMsgId = `rb-${n.toString(36)}-1`;
  return {
    start: { ruleId: ruleIdOf(n), ruleHash: ruleHashOf(n), triggerKind: 'cron', triggerData: { slot: new Date(slot).toISOString() }, slot },
    steps: [
      {
        path: 'actions/0',
        kind: 'read',
        target: `group:${groupId}`,
        input: { groupDetail: { group: String(groupId) }, id: 'detail' },
        frame: { id: `b${n}-1`, type: 'request', data: { type: 'GroupDetail', url: `${API_URL}/group/groupDetail`, data: { groupId } } },
        answer: {
          groupId: String(groupId),
          name: 'huimei',
          notice: 'asdd',
          noticeId: '1043631',
          hostUid: '7237423',
          memberCount: 4,
          muted: false,
          createTime: '2023-02-11 10:24:51',
          icon: 'https://x/icon/389284.png',
        },
      },
      {
        path: 'actions/1',
        kind: 'send',
        target: `group:${groupId}`,
        input: { to: { group: String(groupId) }, text: '早上好，huimei！\n今天是 2025-06-02，祝大家开单顺利。' },
        frame: {
          id: `b${n}-2`,
          type: 'sendMsg',
          data: { toId: groupId, chatType: 0, isGroup: 1, custom_msg_id: customMsgId, list: [{ msgType: 0, content: '早上好，huimei！\\n今天是 2025-06-02，祝大家开单顺利。' }] },
        },
        customMsgId,
        answer: 'success',
        delivery: 'accepted',
      },
      {
        path: 'actions/2',
        kind: 'setNotice',
        target: `group:${groupId}`,
        input: { group: String(groupId), notice: '本周六晚 8 点线上分享。', announce: true },
        frame: { id: `b${n}-3`, type: 'request', data: { type: 'GroupUpdate', url: `${API_URL}/group/groupUpdate`, data: { groupId, op: 12, content: '本周六晚 8 点线上分享。' } } },
        answer: { commonResult: { errCode: 200, errMsg: 'success' } },
      },
    ],
  };
}

// === A log of a million runs ===

export interface LogShape {
  runs: number;
  /** Runs whose id is a multiple of this have their three steps stored (ids of `show`). */
  stepsEvery: number;
  /** Wall time of the build, ms. */
  buildMs: number;
  fileMb: number;
}

/** Rows per transaction while loading: big commits, as BASELINES.md loads its million rows. */
const LOAD_BATCH = 50_000;

/**
 * Fills a new execution log at `file` with `runs` runs of 1,000 rules spread evenly over
 * the last 30 days (7 % of them from message triggers, 5 % failed, 2 % skipped), with
 * the three steps of one run in `stepsEvery`. The schema is rulebot's own (migrated by
 * openDatabase); the secondary indexes of `runs` are dropped while loading and rebuilt
 * after, which is what makes a million rows take seconds rather than minutes.
 */
export function buildRunLog(file: string, runs: number, stepsEvery: number, now: number): Omit<LogShape, 'buildMs' | 'fileMb'> {
  const db = openDatabase(file);
  try {
    const indexes = db.prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL").all();
    for (const index of indexes) db.exec(`DROP INDEX ${index.name}`);
    db.pragma('synchronous = OFF');
    loadRuns(db, runs, stepsEvery, now);
    for (const index of indexes) db.exec(index.sql);
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { runs, stepsEvery };
}

function loadRuns(db: Database, runs: number, stepsEvery: number, now: number): void {
  const insertRun = db.prepare(
    `INSERT INTO runs (id, rule_id, rule_hash, trigger_kind, trigger_data, slot, started_at, finished_at, status, reason, error, conditions, duration_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertStep = db.prepare(
    `INSERT INTO steps (run_id, seq, path, kind, status, input, frame, answer, delivery, custom_msg_id, target, started_at, finished_at, duration_ms)
     VALUES (?, ?, ?, ?, 'ok', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const first = now - 30 * DAY_MS;
  const spacing = (30 * DAY_MS) / runs;
  const failure = JSON.stringify({ code: 'BRIDGE_TIMEOUT', message: 'no answer to request GroupDetail within 15000 ms', details: { frameType: 'request', apiName: 'GroupDetail' } });
  const conditions = JSON.stringify([{ path: 'when/0', kind: 'any', passed: true }, { path: 'when/0/any/0', kind: 'match', passed: true, detail: { value: '加微信领资料' } }]);
  const load = db.transaction((from: number, to: number) => {
    for (let id = from; id <= to; id++) {
      const startedAt = Math.floor(first + (id - 1) * spacing);
      const duration = 20 + ((id * 7919) % 1980);
      const bucket = id % 100;
      const status = bucket < 5 ? 'failed' : bucket < 7 ? 'skipped' : 'ok';
      const fromMessage = id % 100 >= 93;
      const slot = fromMessage ? null : startedAt - (startedAt % 60_000);
      const triggerData = fromMessage
        ? `{"message":{"chat":"group","groupId":"389284","senderId":"${7_000_000 + (id % 5000)}","senderName":"member ${id % 5000}","content":"加微信领资料 ${id}"}}`
        : `{"slot":"${new Date(slot!).toISOString()}"}`;
      insertRun.run(
        id,
        ruleIdOf(id),
        ruleHashOf(id),
        fromMessage ? 'message' : 'cron',
        triggerData,
        slot,
        startedAt,
        startedAt + duration,
        status,
        status === 'skipped' ? 'when/0 did not hold: the message matched no pattern' : status === 'failed' ? 'no answer to request GroupDetail within 15000 ms' : null,
        status === 'failed' ? failure : null,
        fromMessage ? conditions : null,
        duration,
      );
      if (id % stepsEvery === 0) {
        runWrite(id, slot ?? startedAt).steps.forEach((step, index) => {
          const at = startedAt + index * 5;
          insertStep.run(
            id,
            index + 1,
            step.path,
            step.kind,
            JSON.stringify(step.input),
            JSON.stringify(step.frame),
            JSON.stringify(step.answer),
            step.delivery ?? null,
            step.customMsgId ?? null,
            step.target,
            at,
            at + 4,
            4,
          );
        });
      }
    }
  });
  for (let from = 1; from <= runs; from += LOAD_BATCH) load(from, Math.min(runs, from + LOAD_BATCH - 1));
}
