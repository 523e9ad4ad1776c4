import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRuleSchedule, windowTriggerData } from '../../src/engine/rule-schedule';
import type { TriggerInput } from '../../src/engine/context';
import type { PushEvent } from '../../src/protocol/events';
import { loadRuleText, type LoadedRule } from '../../src/rules/load';
import { HOUR, TUESDAY_0200, exampleRules, finishedRuns, memberMutes, ruleFrom, startJobsBench, until, worldFrames, type JobsBench } from './bench';

const HUIMEI = 389284;
const HOST = 7237423;
const BOT = 4008697;

/** Injects a group message into huimei and waits until the rule has finished a run for it. */
async function post(bench: JobsBench, senderId: number, content: string, ruleId = 'anti-spam'): Promise<void> {
  const before = finishedRuns(bench.store, ruleId).length;
  bench.sim.injectMessage({ chat: 'group', groupId: HUIMEI, senderId, content });
  await until(`a run of ${ruleId} for "${content}"`, () => finishedRuns(bench.store, ruleId).length > before);
}

function antiSpam(): LoadedRule[] {
  return exampleRules('anti-spam.yaml');
}

/** The trigger the scheduler gives a window rule at `at` (start, reload, or an edge). */
function windowTrigger(loaded: LoadedRule, at: number, edge: 'open' | 'close' | 'reconcile' = 'reconcile'): TriggerInput {
  const spec = compileRuleSchedule(loaded.rule, 'Asia/Shanghai');
  assert.ok(spec && spec.schedule.kind === 'window');
  return { kind: 'window', slot: spec.schedule.previousAtOrBefore(at) ?? at, data: windowTriggerData(loaded.rule, spec.schedule, at, edge) };
}

describe('member mute on messages (rules/anti-spam.yaml, edition 68 pushes)', () => {
  it('mutes a member who posts a spam keyword exactly once, and leaves the host and an admin alone', async (t) => {
    const bench = await startJobsBench(t, { edition: '68' });
    bench.dispatch(antiSpam());

    await post(bench, 4017572, '加微 领取优惠');
    assert.deepEqual(memberMutes(bench.sim), [`${HUIMEI}:4017572`]);
    const [muted] = finishedRuns(bench.store, 'anti-spam');
    const detail = bench.store.getRun(muted!.id)!;
    assert.equal(detail.status, 'ok', JSON.stringify(detail.error));
    const frames = worldFrames(bench.sim);
    assert.deepEqual(frames[0], { api: 'GroupMemberShutup', data: { targetUid: 4017572, shutupTime: 3600, groupId: HUIMEI } });
    assert.deepEqual(frames[1], { send: { to: `group:${HUIMEI}`, chatType: 0, content: '阿杰 已被禁言 1 小时' } });
    assert.ok(bench.sim.world.member(HUIMEI, 4017572).mutedUntil > 0);

    // The same member again, within the hour: remembered, not muted twice, no announcement.
    await post(bench, 4017572, '代理 招人');
    assert.deepEqual(memberMutes(bench.sim), [`${HUIMEI}:4017572`]);
    const again = bench.store.getRun(finishedRuns(bench.store, 'anti-spam').at(-1)!.id)!;
    const check = again.steps.find((step) => step.kind === 'muteMember')!;
    assert.equal(check.status, 'skipped');
    assert.match(check.note ?? '', /not muted again: this rule muted 4017572 in run \d+/);
    assert.equal(again.steps.find((step) => step.kind === 'send')?.status, 'skipped', 'the announcement is skipped too');

    // The host posting the same is exempt, and so is an admin the member list marks.
    await post(bench, HOST, '加微 领取优惠');
    bench.sim.world.addMember(HUIMEI, { uid: 8800010, nickName: '管理员小周', role: 'MANAGE' });
    await post(bench, 8800010, '加微 领取优惠');
    // And the uid the rule exempts.
    await post(bench, 7128348, 'https://example.com 看看');
    assert.deepEqual(memberMutes(bench.sim), [`${HUIMEI}:4017572`]);
    const notes = finishedRuns(bench.store, 'anti-spam')
      .slice(-3)
      .map((run) => bench.store.getRun(run.id)!.steps.find((step) => step.kind === 'muteMember')!.note);
    assert.deepEqual(notes, [
      `not muted: ${HOST} is the group host`,
      'not muted: 8800010 is a group admin (type MANAGE)',
      'not muted: 7128348 is exempt by the rule',
    ]);
  });

  it('mutes a flooding member once (5 messages in 10 s), however many more keep coming; a flooding host never', async (t) => {
    const bench = await startJobsBench(t, { edition: '68' });
    bench.dispatch(antiSpam());
    bench.sim.world.addMember(HUIMEI, { uid: 6102004, nickName: 'Mike' });

    // Ten messages in two seconds, sent without waiting: the rule queues its runs.
    const before = finishedRuns(bench.store, 'anti-spam').length;
    for (let i = 1; i <= 10; i++) {
      bench.sim.injectMessage({ chat: 'group', groupId: HUIMEI, senderId: 6102004, content: `hello ${i}` });
      if (i % 5 === 0) bench.clock.advance(1000);
    }
    await until('ten runs', () => finishedRuns(bench.store, 'anti-spam').length === before + 10);
    assert.deepEqual(memberMutes(bench.sim), [`${HUIMEI}:6102004`]);
    const runs = finishedRuns(bench.store, 'anti-spam');
    assert.deepEqual(
      runs.map((run) => run.status),
      ['skipped', 'skipped', 'skipped', 'skipped', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
      'the rate holds from the fifth message on',
    );
    const muteSteps = runs.slice(4).map((run) => bench.store.getRun(run.id)!.steps.filter((step) => step.kind === 'muteMember').map((step) => step.status));
    assert.deepEqual(muteSteps[0], ['ok', 'ok'], 'the fifth mutes: the check, then the frame');
    for (const steps of muteSteps.slice(1)) assert.deepEqual(steps, ['skipped'], 'the rest remember the mute');
    assert.equal(bench.sim.world.messagesFor('group', HUIMEI).filter((m) => m.content === 'Mike 已被禁言 1 小时').length, 1, 'announced once');

    // The host floods too: the rate holds, the exemption wins, nothing is sent.
    const hostBefore = finishedRuns(bench.store, 'anti-spam').length;
    for (let i = 1; i <= 6; i++) bench.sim.injectMessage({ chat: 'group', groupId: HUIMEI, senderId: HOST, content: `host ${i}` });
    await until('six more runs', () => finishedRuns(bench.store, 'anti-spam').length === hostBefore + 6);
    assert.deepEqual(memberMutes(bench.sim), [`${HUIMEI}:6102004`]);
  });

  it("never counts the bot's own messages, which come back as isSelf msgNew", async (t) => {
    const bench = await startJobsBench(t, { edition: '68' });
    bench.dispatch(antiSpam());
    const echoes: PushEvent[] = [];
    bench.client.on('push', (push: PushEvent) => {
      if (push.kind === 'message' && push.isSelf) echoes.push(push);
    });
    // Spam words and a flood, from the bot: each comes back as the bot's own message.
    for (let i = 1; i <= 6; i++) await bench.api.sendText({ chat: 'group', id: String(HUIMEI) }, `加微 ${i}`);
    await until('six echoes', () => echoes.length === 6);
    // Then one message from someone else, whose run proves the pushes before it were dispatched.
    await post(bench, 4017572, '大家好');
    const runs = finishedRuns(bench.store, 'anti-spam');
    assert.equal(runs.length, 1, 'only the other member fired the rule');
    assert.equal(runs[0]!.status, 'skipped', 'and one message is no flood');
    assert.deepEqual(memberMutes(bench.sim), []);
  });

  it('never mutes the bot itself, even with every other exemption turned off', async (t) => {
    const bench = await startJobsBench(t);
    const run = await bench.run(
      ruleFrom(`
id: mute-anyone
trigger: { manual: true }
actions:
  - id: mute
    muteMember: { group: ${HUIMEI}, uid: ${BOT}, for: 10m, exempt: { host: false, admins: false } }
`),
    );
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    assert.equal(run.steps[0]!.note, `not muted: ${BOT} is the bot itself`);
    assert.deepEqual(memberMutes(bench.sim), []);
  });

  it('refuses a mute longer than 30 days when the rule is loaded', () => {
    const result = loadRuleText(
      'rules/too-long.yaml',
      `
id: too-long
trigger: { manual: true }
actions:
  - muteMember: { group: ${HUIMEI}, uid: 4017572, for: 45d }
`,
    );
    assert.deepEqual(
      result.problems.map((p) => p.message),
      ['a member mute lasts at most 30d; got 45d'],
    );
  });
});

describe('member mute on new members (rules/anti-spam.yaml, new-member-screen)', () => {
  it('mutes a newcomer with an advert nickname exactly once, across a restart between polls', async (t) => {
    const bench = await startJobsBench(t);
    const rules = antiSpam();
    bench.watch(rules);
    await bench.poll();
    assert.equal(finishedRuns(bench.store, 'new-member-screen').length, 0, 'the first poll is a baseline');

    bench.sim.world.addMember(HUIMEI, { uid: 8800020, nickName: 'VX加我领红包' });
    bench.sim.world.addMember(HUIMEI, { uid: 8800021, nickName: '小李' });
    await bench.poll();
    assert.deepEqual(memberMutes(bench.sim), [`${HUIMEI}:8800020`]);
    assert.deepEqual(
      finishedRuns(bench.store, 'new-member-screen').map((run) => run.status),
      ['ok', 'skipped'],
    );
    const frames = worldFrames(bench.sim);
    assert.deepEqual(frames, [
      { api: 'GroupMemberShutup', data: { targetUid: 8800020, shutupTime: 86400, groupId: HUIMEI } },
      { send: { to: `group:${HUIMEI}`, chatType: 0, content: '新成员 VX加我领红包 的昵称疑似广告，已禁言 1 天' } },
    ]);

    // A restart (a new watcher over the reopened file) between two polls: nothing fires again.
    await bench.restart();
    bench.watch(rules);
    await bench.poll();
    await bench.poll();
    assert.equal(finishedRuns(bench.store, 'new-member-screen').length, 2);
    assert.deepEqual(memberMutes(bench.sim), [`${HUIMEI}:8800020`]);

    // Leaving and coming back within the day fires the watch again, after another restart:
    // the remembered mute keeps it to one.
    bench.sim.world.removeMember(HUIMEI, 8800020);
    await bench.poll();
    await bench.restart();
    bench.watch(rules);
    bench.sim.world.addMember(HUIMEI, { uid: 8800020, nickName: 'VX加我领红包' });
    await bench.poll();
    const runs = finishedRuns(bench.store, 'new-member-screen');
    assert.equal(runs.length, 3);
    const last = bench.store.getRun(runs.at(-1)!.id)!;
    assert.equal(last.steps[0]!.status, 'skipped');
    assert.match(last.steps[0]!.note ?? '', /not muted again/);
    assert.deepEqual(memberMutes(bench.sim), [`${HUIMEI}:8800020`]);
  });

  it('mutes a blocklisted uid that joins', async (t) => {
    const bench = await startJobsBench(t);
    bench.watch(antiSpam());
    await bench.poll();
    bench.sim.world.addMember(HUIMEI, { uid: 6203002 });
    await bench.poll();
    assert.deepEqual(memberMutes(bench.sim), [`${HUIMEI}:6203002`]);
  });
});

describe('night mode (rules/night-mode.yaml)', () => {
  it('at 02:00 inside the window mutes an unmuted group once: op 11, then the chatType 50 message', async (t) => {
    const bench = await startJobsBench(t);
    const [nightMode] = exampleRules('night-mode.yaml');
    const trigger = windowTrigger(nightMode!, TUESDAY_0200);
    assert.equal((trigger.data as { inside: boolean }).inside, true);

    const run = await bench.run(nightMode!, trigger);
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    assert.deepEqual(worldFrames(bench.sim), [
      { api: 'GroupUpdate', data: { op: 11, groupParam: { shutup: true, groupId: HUIMEI } } },
      { send: { to: `group:${HUIMEI}`, chatType: 50, content: '管理员开了全员禁言', bfShutup: true } },
    ]);
    assert.equal(bench.sim.world.group(HUIMEI).bfShutup, true);

    // Reconciled again (a reload, a restart in the night): already muted, no frame.
    const again = await bench.run(nightMode!, windowTrigger(nightMode!, TUESDAY_0200 + HOUR));
    assert.equal(again.status, 'ok');
    assert.equal(worldFrames(bench.sim).length, 2);
    assert.match(again.steps.at(-1)!.note ?? '', /already muted/);
  });

  it('leaves an already-muted group alone and mutes only the one that differs', async (t) => {
    const bench = await startJobsBench(t);
    bench.sim.world.setGroupShutup(441298, true);
    const rule = ruleFrom(`
id: night-two
timezone: Asia/Shanghai
trigger:
  window: { start: "23:00", end: "07:00", weekdays: [sun, mon, tue, wed, thu] }
actions:
  - groupMute: { groups: [389284, 441298], muted: "{{ window.inside }}" }
`);
    const run = await bench.run(rule, windowTrigger(rule, TUESDAY_0200));
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    assert.deepEqual(
      worldFrames(bench.sim).map((frame) => ('api' in frame ? `${frame.api} ${JSON.stringify(frame.data)}` : `send ${String(frame.send.to)} ${String(frame.send.chatType)}`)),
      [`GroupUpdate {"op":11,"groupParam":{"shutup":true,"groupId":${HUIMEI}}}`, `send group:${HUIMEI} 50`],
    );
  });

  it('after a busy answer, checks bfShutup: sends the update again only when the bridge did nothing', async (t) => {
    const bench = await startJobsBench(t);
    const [nightMode] = exampleRules('night-mode.yaml');
    const mute = { api: 'GroupUpdate', data: { op: 11, groupParam: { shutup: true, groupId: HUIMEI } } };
    const announcement = { send: { to: `group:${HUIMEI}`, chatType: 50, content: '管理员开了全员禁言', bfShutup: true } };

    // Busy, and the bridge did nothing: the group is still unmuted, so the update goes again.
    bench.sim.scriptFault({ match: { apiName: 'GroupUpdate' }, action: 'busy', acted: false });
    const run = await bench.run(nightMode!, windowTrigger(nightMode!, TUESDAY_0200));
    assert.equal(run.status, 'ok', JSON.stringify(run.steps.map((step) => [step.status, step.note])));
    assert.deepEqual(worldFrames(bench.sim), [mute, mute, announcement]);
    assert.equal(bench.sim.world.group(HUIMEI).bfShutup, true);
    assert.ok(run.steps.some((step) => /did not act, so the update is sent again/.test(step.note ?? '')), 'the check step says why');

    // Busy, but the bridge had acted: the group shows muted, so nothing is sent again but the announcement.
    bench.sim.world.setGroupShutup(HUIMEI, false);
    bench.sim.scriptFault({ match: { apiName: 'GroupUpdate' }, action: 'busy', acted: true });
    const acted = await bench.run(nightMode!, windowTrigger(nightMode!, TUESDAY_0200 + HOUR));
    assert.equal(acted.status, 'ok', JSON.stringify(acted.steps.map((step) => [step.status, step.note])));
    assert.deepEqual(worldFrames(bench.sim).slice(3), [mute, announcement]);
    assert.equal(bench.sim.world.changes.filter((change) => change.kind === 'groupShutup').length, 3, 'one change per update that acted');

    // Busy every time: the update goes MUTE_UPDATE_ATTEMPTS times at most, and the action fails.
    bench.sim.world.setGroupShutup(HUIMEI, false);
    bench.sim.scriptFault({ match: { apiName: 'GroupUpdate' }, action: 'busy', acted: false, times: 10 });
    const busy = await bench.run(nightMode!, windowTrigger(nightMode!, TUESDAY_0200 + 2 * HOUR));
    assert.equal(busy.status, 'failed');
    assert.deepEqual(worldFrames(bench.sim).slice(5), [mute, mute, mute]);
    assert.equal(bench.sim.world.group(HUIMEI).bfShutup, false);
  });

  it('at 09:00, after being down at 07:00, reconciliation unmutes the group', async (t) => {
    const bench = await startJobsBench(t);
    const [nightMode] = exampleRules('night-mode.yaml');
    await bench.run(nightMode!, windowTrigger(nightMode!, TUESDAY_0200));
    assert.equal(bench.sim.world.group(HUIMEI).bfShutup, true);

    // Down from 03:00 to 09:00: the 07:00 edge passed unseen.
    await bench.restart();
    bench.clock.advance(7 * HOUR);
    const trigger = windowTrigger(nightMode!, bench.clock.now());
    assert.equal((trigger.data as { inside: boolean }).inside, false);
    const run = await bench.run(nightMode!, trigger);
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    assert.deepEqual(worldFrames(bench.sim).slice(2), [
      { api: 'GroupUpdate', data: { op: 11, groupParam: { shutup: false, groupId: HUIMEI } } },
      { send: { to: `group:${HUIMEI}`, chatType: 50, content: '管理员关闭了全员禁言', bfShutup: false } },
    ]);
    assert.equal(bench.sim.world.group(HUIMEI).bfShutup, false);
  });
});
