import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextPosition, shuffledOrder } from '../../src/actions/rotate-notice';
import type { TriggerInput } from '../../src/engine/context';
import type { GroupDetail } from '../../src/protocol/api';
import { exampleRules, ruleFrom, startJobsBench, worldFrames, type JobsBench } from './bench';

const HUIMEI = 389284;
const NOTICES = ['欢迎新朋友！请先阅读群规。', '本周六晚 8 点线上分享。', '禁止发布广告，违者禁言。'];

function cronFire(bench: JobsBench): TriggerInput {
  return { kind: 'cron', slot: bench.clock.now() };
}

/** The notices set by GroupUpdate op 12, with their announcements, in order. */
function noticeFrames(bench: JobsBench): string[] {
  return worldFrames(bench.sim).map((frame) => {
    if ('api' in frame) {
      const param = frame.data.groupParam as { notice: string; bfAll: boolean; groupId: number };
      return `op ${String(frame.data.op)} ${param.groupId} ${param.notice} bfAll=${param.bfAll}`;
    }
    return `chatType ${String(frame.send.chatType)} ${String(frame.send.to)} ${String(frame.send.content)} bfAll=${String(frame.send.bfAll)}`;
  });
}

describe('notice rotation (rules/notice-rotation.yaml)', () => {
  it('applies three notices in order over four rotations and wraps; a restart in between resumes the order', async (t) => {
    const bench = await startJobsBench(t);
    const [rotation] = exampleRules('notice-rotation.yaml');

    for (let i = 0; i < 2; i++) {
      const run = await bench.run(rotation!, cronFire(bench));
      assert.equal(run.status, 'ok', JSON.stringify(run.error));
    }
    await bench.restart();
    for (let i = 0; i < 2; i++) {
      const run = await bench.run(rotation!, cronFire(bench));
      assert.equal(run.status, 'ok', JSON.stringify(run.error));
    }

    const expected = [0, 1, 2, 0].flatMap((i) => [`op 12 ${HUIMEI} ${NOTICES[i]} bfAll=true`, `chatType 8 group:${HUIMEI} ${NOTICES[i]} bfAll=true`]);
    assert.deepEqual(noticeFrames(bench), expected, 'op 12, then the chatType 8 announcement, for 1, 2, 3, 1');
    assert.equal(bench.sim.world.group(HUIMEI).notice?.notice, NOTICES[0]);
    assert.deepEqual(bench.store.ruleState.get('notice-rotation', 'rotateNotice:actions/0'), { [HUIMEI]: 0 });
    assert.deepEqual(bench.store.ruleState.get('notice-rotation', 'rotateNotice:actions/0/rounds'), { [HUIMEI]: 4 });

    // Each rotation read the notice back and marked the step verified.
    const last = bench.store.listRuns({ ruleId: 'notice-rotation', limit: 1 })[0]!;
    const verify = bench.store.getRun(last.id)!.steps.find((step) => (step.input as { verify?: string } | null)?.verify !== undefined);
    assert.equal(verify?.status, 'ok');
    assert.deepEqual(verify?.answer, { verified: true, notice: NOTICES[0], noticeId: String(bench.sim.world.group(HUIMEI).notice?.noticeId) });
  });

  it('skips a group that already shows its next notice (no frame), and the order goes on from there', async (t) => {
    const bench = await startJobsBench(t);
    const rule = ruleFrom(`
id: rotate-two
trigger: { cron: "0 9 * * *" }
actions:
  - rotateNotice:
      groups: [${HUIMEI}, 441298]
      notices: [${NOTICES.join(', ')}]
`);
    bench.sim.world.setNotice(441298, NOTICES[0]!);
    const first = await bench.run(rule, cronFire(bench));
    assert.equal(first.status, 'ok', JSON.stringify(first.error));
    assert.deepEqual(noticeFrames(bench), [`op 12 ${HUIMEI} ${NOTICES[0]} bfAll=true`, `chatType 8 group:${HUIMEI} ${NOTICES[0]} bfAll=true`]);
    const skipped = first.steps.find((step) => step.target === 'group:441298' && step.status === 'skipped');
    assert.equal(skipped?.note, 'the group already shows its next notice: nothing sent');

    const second = await bench.run(rule, cronFire(bench));
    assert.equal(second.status, 'ok');
    assert.deepEqual(noticeFrames(bench).slice(2), [
      `op 12 ${HUIMEI} ${NOTICES[1]} bfAll=true`,
      `chatType 8 group:${HUIMEI} ${NOTICES[1]} bfAll=true`,
      `op 12 441298 ${NOTICES[1]} bfAll=true`,
      `chatType 8 group:441298 ${NOTICES[1]} bfAll=true`,
    ]);
  });

  it('marks the read-back unverified when the group shows something else; the run ends partial', async (t) => {
    const bench = await startJobsBench(t);
    const [rotation] = exampleRules('notice-rotation.yaml');
    // A bridge that takes the update but keeps showing the old notice.
    const real = bench.api.groupDetail.bind(bench.api);
    bench.api.groupDetail = async (groupId: string): Promise<GroupDetail> => ({ ...(await real(groupId)), notice: 'asdd' });

    const run = await bench.run(rotation!, cronFire(bench));
    assert.equal(run.status, 'partial', 'the update went through; its read-back did not match');
    const verify = run.steps.find((step) => (step.input as { verify?: string } | null)?.verify !== undefined);
    assert.equal(verify?.status, 'failed');
    assert.equal(verify?.error?.code, 'NOTICE_NOT_VERIFIED');
    assert.deepEqual((verify?.answer as { verified: boolean }).verified, false);
    // The update was taken by the bridge: the position moved on.
    assert.deepEqual(bench.store.ruleState.get('notice-rotation', 'rotateNotice:actions/0'), { [HUIMEI]: 0 });
  });

  it('shuffles without an immediate repeat, deterministically, and resumes the same deal after a restart', async (t) => {
    const bench = await startJobsBench(t);
    const notices = ['A', 'B', 'C', 'D'];
    const rule = ruleFrom(`
id: shuffled
trigger: { cron: "0 9 * * *" }
actions:
  - rotateNotice: { groups: [${HUIMEI}], order: shuffle, announce: false, notices: [${notices.join(', ')}] }
`);
    const shown: string[] = [];
    for (let i = 0; i < 9; i++) {
      if (i === 5) await bench.restart();
      const run = await bench.run(rule, cronFire(bench));
      assert.equal(run.status, 'ok', JSON.stringify(run.error));
      shown.push(bench.sim.world.group(HUIMEI).notice!.notice);
    }
    const predicted: string[] = [];
    let last = -1;
    for (let round = 0; round < 9; round++) {
      last = nextPosition('shuffle', { last, round, seed: `shuffled\u0000${HUIMEI}` }, 4);
      predicted.push(notices[last]!);
    }
    assert.deepEqual(shown, predicted);
    for (let i = 1; i < shown.length; i++) assert.notEqual(shown[i], shown[i - 1], `no repeat at rotation ${i + 1}`);
    assert.deepEqual([...shown.slice(0, 4)].sort(), notices, 'each notice once per cycle');
    assert.deepEqual([...shown.slice(4, 8)].sort(), notices);
  });
});

describe('rotation order', () => {
  it('sequential walks the list and wraps', () => {
    const seen: number[] = [];
    let last = -1;
    for (let round = 0; round < 7; round++) seen.push((last = nextPosition('sequential', { last, round, seed: 'r' }, 3)));
    assert.deepEqual(seen, [0, 1, 2, 0, 1, 2, 0]);
  });

  it('shuffle deals a permutation per cycle, never repeating across cycles, the same for the same seed', () => {
    for (const count of [3, 4, 5, 8]) {
      for (const seed of ['a\u00001', 'b\u00002', 'rule\u0000389284']) {
        let previous = -1;
        for (let cycle = 0; cycle < 50; cycle++) {
          const dealt = shuffledOrder(count, seed, cycle);
          assert.deepEqual([...dealt].sort((x, y) => x - y), Array.from({ length: count }, (_, i) => i));
          assert.notEqual(dealt[0], previous, `${seed} cycle ${cycle} starts with the last of the cycle before`);
          previous = dealt[count - 1]!;
          assert.deepEqual(shuffledOrder(count, seed, cycle), dealt, 'deterministic');
        }
      }
    }
  });

  it('shuffle over two notices alternates, and over one stays', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((round) => nextPosition('shuffle', { last: round === 0 ? -1 : (round - 1) % 2, round, seed: 's' }, 2)),
      [0, 1, 0, 1],
    );
    assert.equal(nextPosition('shuffle', { last: 0, round: 5, seed: 's' }, 1), 0);
  });
});
