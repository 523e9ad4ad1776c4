import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { HoldResolver } from '../../src/engine/audit-holds';
import { auditRecordOf } from '../../src/engine/audit-record';
import type { ExecutorConfig } from '../../src/engine/run-context';
import type { AuditDecision } from '../../src/store/types';
import { runCli } from '../cli/helpers';
import { DAY, MINUTE, exampleRules, finishedRuns, memoryLogger, ruleFrom, startJobsBench, until, worldFrames, type JobsBench } from './bench';

const ADMIN = 7237423;
const ACTING: Partial<ExecutorConfig> = {
  friendRequests: { act: true, apiName: 'UpdateContactsApply', path: '/contacts/updateContactsApply', acceptOp: 8, rejectOp: 9 },
};

/** Three new requests the example rule decides three ways. */
function addThreeRequests(bench: JobsBench): { advert: number; young: number; friend: number } {
  const now = bench.clock.now();
  bench.sim.world.addFriendRequest({ uid: 8800031, nickName: '兼职小王', msg: '招兼职，日结三百', createTime: now - 400 * DAY });
  bench.sim.world.addFriendRequest({ uid: 8800032, nickName: '新号', msg: '你好', createTime: now - 2 * DAY });
  bench.sim.world.addFriendRequest({ uid: 8800033, nickName: '老朋友', msg: '我是 sales-1 的客户', createTime: now - 400 * DAY });
  return { advert: 8800031, young: 8800032, friend: 8800033 };
}

function decisionOf(bench: JobsBench, uid: number): AuditDecision {
  const found = bench.store.audit.list({ limit: 1000 }).filter((d) => d.uid === String(uid));
  assert.equal(found.length, 1, `one decision for ${uid}`);
  return found[0]!;
}

function answersSent(bench: JobsBench): string[] {
  return worldFrames(bench.sim)
    .filter((frame): frame is { api: string; data: Record<string, unknown> } => 'api' in frame && frame.api === 'UpdateContactsApply')
    .map((frame) => `${String(frame.data.applyUid)} op ${String(frame.data.op)}`);
}

function pendingUids(bench: JobsBench): number[] {
  return bench.sim.world.pendingFriendRequests().map((r) => r.uid);
}

/** A config file for the CLI, over the bench's database. */
function cliConfig(bench: JobsBench, act: boolean): string {
  const file = path.join(bench.dir, 'config.yaml');
  fs.writeFileSync(
    file,
    [
      'bridge:',
      '  url: ws://127.0.0.1:9',
      'timezone: Asia/Shanghai',
      `database: ${JSON.stringify(bench.dbFile)}`,
      'http: false',
      `friendRequests: { act: ${act}, rejectOp: 9 }`,
      '',
    ].join('\n'),
  );
  return file;
}

/** Watches with rules/friend-audit.yaml, takes the baseline, then adds three requests. */
async function auditThree(bench: JobsBench): Promise<ReturnType<typeof addThreeRequests>> {
  bench.watch(exampleRules('friend-audit.yaml'));
  await bench.poll();
  const uids = addThreeRequests(bench);
  await bench.poll();
  await until('three audits', () => finishedRuns(bench.store, 'friend-audit').length === 3);
  return uids;
}

describe('friend-request audit (rules/friend-audit.yaml)', () => {
  it('decides three new requests three ways, once each, losing none to a busy poll, and tells the admins', async (t) => {
    const bench = await startJobsBench(t);
    bench.watch(exampleRules('friend-audit.yaml'));
    await bench.poll();
    assert.equal(finishedRuns(bench.store, 'friend-audit').length, 0, 'the requests already there are the baseline');

    const { advert, young, friend } = addThreeRequests(bench);
    bench.sim.scriptFault({ match: { type: 'request', apiName: 'ContactsApplyList' }, action: 'busy' });
    await bench.poll();
    assert.equal(finishedRuns(bench.store, 'friend-audit').length, 0, 'the busy poll fired nothing');
    await bench.poll();
    const runs = finishedRuns(bench.store, 'friend-audit');
    assert.deepEqual(
      runs.map((run) => run.status),
      ['ok', 'ok', 'ok'],
    );

    const [a, y, f] = [decisionOf(bench, advert), decisionOf(bench, young), decisionOf(bench, friend)];
    assert.deepEqual(
      [a, y, f].map((d) => [d.verdict, d.state, d.decidedBy]),
      [
        ['reject', 'decided', 'actions/0/audit/rules/0'],
        ['hold', 'held', 'actions/0/audit/rules/2'],
        ['accept', 'decided', 'actions/0/audit/rules/3'],
      ],
    );
    assert.equal(y.holdUntil, y.decidedAt + DAY, 'held for a day');
    assert.deepEqual(auditRecordOf(y).hold, { then: 'reject', reason: 'rule', cap: 50, timezone: 'Asia/Shanghai' });
    assert.equal(auditRecordOf(f).answer.state, 'off', 'act is off: decided and recorded, nothing sent');
    assert.equal(a.message, '招兼职，日结三百');
    assert.equal(a.nickName, '兼职小王');
    assert.deepEqual(answersSent(bench), []);
    assert.deepEqual(pendingUids(bench).slice(-3), [advert, young, friend], 'nothing was answered on the bridge');

    // The admins heard about each, in the rule's words.
    const told = bench.sim.world.messagesFor('friend', ADMIN).map((m) => m.content);
    assert.deepEqual(told, [
      '好友申请 兼职小王（8800031）：招兼职，日结三百 → reject',
      '好友申请 新号（8800032）：你好 → hold',
      '好友申请 老朋友（8800033）：我是 sales-1 的客户 → accept',
    ]);

    // Decided once: later polls fire nothing, and a second fire of the same request changes nothing.
    await bench.poll();
    assert.equal(finishedRuns(bench.store, 'friend-audit').length, 3);
    const trigger = bench.store.getRun(runs[0]!.id)!.triggerData as { item: unknown };
    const again = await bench.run(exampleRules('friend-audit.yaml')[0]!, { kind: 'watch', data: trigger });
    assert.equal(again.steps[0]!.status, 'skipped');
    assert.match(again.steps[0]!.note ?? '', /decided before/);
    assert.equal(bench.store.audit.list().length, 3);

    // `rulebot audit` lists them from the database alone.
    const config = cliConfig(bench, false);
    const listed = await runCli(['audit', '--json', '-c', config]);
    assert.equal(listed.code, 0, listed.stderr);
    const decisions = JSON.parse(listed.stdout) as AuditDecision[];
    assert.deepEqual(
      decisions.map((d) => [d.uid, d.verdict, d.state]).sort(),
      [
        ['8800031', 'reject', 'decided'],
        ['8800032', 'hold', 'held'],
        ['8800033', 'accept', 'decided'],
      ],
    );
    const held = await runCli(['audit', '--state', 'held', '--json', '-c', config]);
    assert.deepEqual((JSON.parse(held.stdout) as AuditDecision[]).map((d) => d.uid), ['8800032']);
    const table = await runCli(['audit', '--verdict', 'reject', '-c', config]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /verdict/);
    assert.match(table.stdout, /8800031 .*reject .*decided .*rules\/0 .*off/);
    assert.doesNotMatch(table.stdout, /8800033/);
  });

  it('with act on, carries out accept and reject; a held request falls back after its timeout (HoldResolver)', async (t) => {
    const bench = await startJobsBench(t, { config: ACTING });
    const { advert, young, friend } = await auditThree(bench);
    assert.deepEqual(answersSent(bench), [`${advert} op 9`, `${friend} op 8`]);
    assert.ok(!pendingUids(bench).includes(friend), 'the accepted request left the pending list');
    assert.ok(!pendingUids(bench).includes(advert), 'and so did the rejected one');
    assert.ok(pendingUids(bench).includes(young), 'the held one waits');
    assert.equal(bench.sim.world.friendRequests.get(friend)?.state, 'accepted');
    assert.deepEqual(
      [advert, friend].map((uid) => auditRecordOf(decisionOf(bench, uid)).answer.state),
      ['sent', 'sent'],
    );

    // The daemon's hold resolver, on the manual clock; the watcher is gone (a restart).
    await bench.restart();
    const log: Parameters<typeof memoryLogger>[0] = [];
    const resolver = new HoldResolver({ store: bench.store, api: bench.api, clock: bench.clock, config: bench.config, logger: memoryLogger(log) });
    resolver.start();
    t.after(() => resolver.stop());
    bench.clock.advance(0);
    await resolver.idle();
    assert.equal(decisionOf(bench, young).state, 'held', 'not before its time');

    bench.clock.advance(DAY);
    await resolver.idle();
    await sleep(10);
    bench.clock.advance(2 * MINUTE);
    await resolver.idle();
    await until('the fallback', () => auditRecordOf(decisionOf(bench, young)).answer.state === 'sent');
    const decided = decisionOf(bench, young);
    assert.deepEqual([decided.verdict, decided.state, decided.decidedBy], ['reject', 'resolved', 'fallback: the hold ran out']);
    assert.deepEqual(answersSent(bench), [`${advert} op 9`, `${friend} op 8`, `${young} op 9`]);
    assert.equal(bench.sim.world.friendRequests.get(young)?.state, 'rejected');

    // Resolved once: later checks send nothing more.
    for (let i = 0; i < 3; i++) {
      bench.clock.advance(2 * MINUTE);
      await resolver.idle();
      await sleep(5);
    }
    assert.equal(answersSent(bench).length, 3);
  });

  it('an admin ends a hold with rulebot audit decide; the resolver then answers it through the bridge', async (t) => {
    const bench = await startJobsBench(t, { config: ACTING });
    const { young } = await auditThree(bench);
    const config = cliConfig(bench, true);

    const missing = await runCli(['audit', 'decide', '8800099', 'accept', '-c', config]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no request of 8800099 is held/);

    const decided = await runCli(['audit', 'decide', String(young), 'accept', '--by', 'lily', '-c', config]);
    assert.equal(decided.code, 0, decided.stderr);
    assert.match(decided.stdout, /新号 \(8800032\).*→ accept \(by admin:lily\)/);
    assert.match(decided.stdout, /answers it through the bridge/);
    const record = decisionOf(bench, young);
    assert.deepEqual([record.verdict, record.state, record.decidedBy, auditRecordOf(record).answer.state], ['accept', 'resolved', 'admin:lily', 'pending']);

    const twice = await runCli(['audit', 'decide', String(young), 'reject', '-c', config]);
    assert.equal(twice.code, 1, 'nothing is held any more');
    const usage = await runCli(['audit', 'decide', String(young), 'maybe', '-c', config]);
    assert.equal(usage.code, 2);

    const resolver = new HoldResolver({ store: bench.store, api: bench.api, clock: bench.clock, config: bench.config, logger: memoryLogger([]) });
    const outcome = await resolver.checkNow();
    assert.deepEqual(outcome.answers, [{ id: record.id, uid: String(young), state: 'sent' }]);
    assert.equal(bench.sim.world.friendRequests.get(young)?.state, 'accepted');
    assert.deepEqual((await resolver.checkNow()).answers, [], 'answered once');
  });

  it('a busy answer is checked against the pending list before the resolver answers again', async (t) => {
    const bench = await startJobsBench(t, { config: ACTING });
    bench.watch(exampleRules('friend-audit.yaml'));
    await bench.poll();
    const now = bench.clock.now();
    bench.sim.world.addFriendRequest({ uid: 8800041, nickName: '甲', msg: '你好', createTime: now - 400 * DAY });
    bench.sim.world.addFriendRequest({ uid: 8800042, nickName: '乙', msg: '你好', createTime: now - 400 * DAY });
    // The first answer: busy, and the bridge did not act. The second: busy, and it did.
    bench.sim.scriptFault({ match: { type: 'request', apiName: 'UpdateContactsApply' }, action: 'busy', acted: false });
    bench.sim.scriptFault({ match: { type: 'request', apiName: 'UpdateContactsApply' }, action: 'busy', acted: true });
    await bench.poll();
    await until('two audits', () => finishedRuns(bench.store, 'friend-audit').length === 2);
    const runs = finishedRuns(bench.store, 'friend-audit');
    assert.deepEqual(
      runs.map((run) => run.status),
      ['partial', 'partial'],
      'decided and recorded; the answer did not go through cleanly',
    );
    assert.equal(bench.sim.world.messagesFor('friend', ADMIN).length, 2, 'the admins are told all the same');
    assert.deepEqual(
      [8800041, 8800042].map((uid) => auditRecordOf(decisionOf(bench, uid)).answer.state),
      ['unknown', 'unknown'],
    );

    const resolver = new HoldResolver({ store: bench.store, api: bench.api, clock: bench.clock, config: bench.config, logger: memoryLogger([]) });
    const outcome = await resolver.checkNow();
    assert.deepEqual(
      outcome.answers.map((a) => [a.uid, a.state]),
      [
        ['8800041', 'sent'],
        ['8800042', 'settled'],
      ],
      'still pending: answered again; no longer pending: left alone',
    );
    assert.deepEqual(answersSent(bench), ['8800041 op 8', '8800042 op 8', '8800041 op 8']);
    assert.deepEqual(
      [8800041, 8800042].map((uid) => bench.sim.world.friendRequests.get(uid)?.state),
      ['accepted', 'accepted'],
    );
  });

  it('holds accepts beyond the daily cap until the next day, then accepts them within that day’s cap', async (t) => {
    const bench = await startJobsBench(t, { config: ACTING });
    const rule = ruleFrom(`
id: capped
timezone: Asia/Shanghai
trigger:
  watch: { list: friendRequests, every: 1m }
actions:
  - id: verdict
    audit:
      rules: [ { verdict: accept } ]
      dailyAcceptCap: 1
      hold: { for: 1h, then: reject }
`);
    bench.watch([rule]);
    await bench.poll();
    const now = bench.clock.now();
    for (const uid of [8800051, 8800052, 8800053]) bench.sim.world.addFriendRequest({ uid, msg: '你好', createTime: now - 400 * DAY });
    await bench.poll();
    await until('three audits', () => finishedRuns(bench.store, 'capped').length === 3);
    const [first, second, third] = [8800051, 8800052, 8800053].map((uid) => decisionOf(bench, uid));
    assert.deepEqual(
      [first, second, third].map((d) => [d.verdict, d.state]),
      [
        ['accept', 'decided'],
        ['hold', 'held'],
        ['hold', 'held'],
      ],
    );
    assert.equal(second!.decidedBy, 'actions/0/audit/dailyAcceptCap');
    // 02:00 Tuesday in Shanghai: held until Wednesday 00:00 there, not for the rule's hour.
    assert.equal(second!.holdUntil, Date.parse('2025-06-04T00:00:00+08:00'));
    assert.deepEqual(auditRecordOf(second!).hold, { then: 'accept', reason: 'cap', cap: 1, timezone: 'Asia/Shanghai' });

    await bench.restart();
    const resolver = new HoldResolver({ store: bench.store, api: bench.api, clock: bench.clock, config: bench.config, logger: memoryLogger([]) });
    bench.clock.advance(22 * 60 * MINUTE);
    const outcome = await resolver.checkNow();
    assert.deepEqual(outcome.resolved.map((r) => [r.uid, r.verdict]), [['8800052', 'accept']]);
    assert.deepEqual(outcome.postponed.map((p) => [p.uid, p.until]), [['8800053', Date.parse('2025-06-05T00:00:00+08:00')]], 'the cap counts the day after too');
    assert.equal(bench.sim.world.friendRequests.get(8800052)?.state, 'accepted');
    assert.equal(bench.sim.world.friendRequests.get(8800053)?.state, 'pending');
  });
});
