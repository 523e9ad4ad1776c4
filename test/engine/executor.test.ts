import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/shared/clock';
import type { RunDetail, StepRecord } from '../../src/store/types';
import { startBench, sentMessages, type Bench } from './harness';

/** The steps of a run that went to one target, in order. */
function targetSteps(run: RunDetail): StepRecord[] {
  return run.steps.filter((step) => step.target !== null);
}

function groupName(bench: Bench, id: number): string {
  return bench.sim.world.group(id).name;
}

describe('executeRun: a broadcast', () => {
  let bench: Bench;
  beforeEach(async () => {
    bench = await startBench();
  });
  afterEach(async () => {
    await bench.close();
  });

  it('sends to the resolved targets in order, templated per target, with the pause between them', async () => {
    const run = await bench.run(`
id: sales-hello
trigger: { cron: "0 9 * * 1-5" }
actions:
  - id: hello
    send:
      to: { groups: [441298], groupsMatching: "^sales", except: [512302] }
      text: "hi {{ target.name }} ({{ target.id }})"
      pause: 2s
  - log: { message: "sent {{ steps.hello.sent }}" }
`);
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    const salesIds = [...bench.sim.world.groups.values()]
      .filter((g) => /^sales/.test(g.name) && g.id !== 512302)
      .map((g) => g.id);
    const expectedIds = [441298, ...salesIds];
    const sent = sentMessages(bench.sim);
    assert.deepEqual(
      sent.map((m) => m.id),
      expectedIds,
    );
    assert.deepEqual(
      sent.map((m) => m.content),
      expectedIds.map((id) => `hi ${groupName(bench, id)} (${id})`),
    );

    const steps = targetSteps(run);
    assert.deepEqual(
      steps.map((s) => s.target),
      expectedIds.map((id) => `group:${id}`),
    );
    for (const [i, step] of steps.entries()) {
      assert.equal(step.status, 'ok');
      assert.equal(step.delivery, 'accepted');
      assert.equal(step.answer, 'success');
      const frame = step.frame as { type: string; data: { id: number; custom_msg_id: string } };
      assert.equal(frame.type, 'sendMsg');
      assert.equal(frame.data.id, expectedIds[i]);
      assert.equal(frame.data.custom_msg_id, step.customMsgId);
      assert.equal(sent[i]!.customMsgId, step.customMsgId, 'the recorded frame is the one the bridge got');
      if (i > 0) assert.ok(step.startedAt - steps[i - 1]!.startedAt >= 2000, 'the pause separates the targets');
    }
    assert.equal(bench.clock.waits.filter((ms) => ms === 2000).length, expectedIds.length - 1);
    assert.deepEqual(
      run.ledger.map((e) => [e.target, e.state]).sort(),
      expectedIds.map((id) => [`group:${id}`, 'accepted']).sort(),
    );
    const log = run.steps.find((s) => s.kind === 'log');
    assert.deepEqual(log?.answer, { message: `sent ${expectedIds.length}` });
  });

  it('in a dry run, resolves targets for real but sends nothing that changes the world', async () => {
    const run = await bench.run(
      `
id: dry
trigger: { manual: true }
actions:
  - send: { to: { groupsMatching: "^sales" }, text: "to {{ target.name }}", pause: 1m }
  - groupMute: { groups: [389284], muted: true, announce: { muted: "on", unmuted: "off" } }
`,
      { dryRun: true },
    );
    assert.equal(run.status, 'dry-run');
    assert.deepEqual(bench.sim.worldChangingReceived(), []);
    assert.ok(bench.sim.received('getGroups').length >= 1, 'reads still went to the bridge');
    const built = run.steps.filter((s) => s.status === 'dry-run');
    const salesIds = [...bench.sim.world.groups.values()].filter((g) => /^sales/.test(g.name)).map((g) => g.id);
    const sendFrames = built.filter((s) => (s.frame as { type: string }).type === 'sendMsg' && s.kind === 'send');
    assert.deepEqual(
      sendFrames.map((s) => {
        const data = (s.frame as { data: { id: number; custom_msg_id: string; list: Array<{ values: { content: string } }> } }).data;
        assert.match(data.custom_msg_id, /^[1-9]\d{10}$/);
        return [data.id, data.list[0]!.values.content];
      }),
      salesIds.map((id) => [id, `to ${groupName(bench, id)}`]),
    );
    const update = built.find((s) => s.kind === 'groupMute' && (s.frame as { type: string }).type === 'request');
    assert.deepEqual((update?.frame as { data: { type: string; data: unknown } }).data.data, { op: 11, groupParam: { shutup: true, groupId: 389284 } });
    assert.equal(run.ledger.length, 0, 'a dry run plans no ledger');
    assert.ok(!bench.clock.waits.includes(60_000), 'a dry run does not wait out pauses');
    assert.equal(bench.sim.world.group(389284).bfShutup, false);
  });
});

describe('executeRun: retries and failures', () => {
  let bench: Bench;
  beforeEach(async () => {
    bench = await startBench();
  });
  afterEach(async () => {
    await bench.close();
  });

  it('retries a read the bridge answered busy, and the run succeeds', async () => {
    bench.sim.scriptFault({ match: { type: 'request', apiName: 'GroupDetail' }, action: 'busy', times: 1 });
    const run = await bench.run(`
id: read-retry
trigger: { manual: true }
actions:
  - id: detail
    read: { from: groupDetail, group: 389284 }
    retry: { attempts: 3, delay: 5s }
  - set: { name: "{{ steps.detail.name }}" }
`);
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    const reads = run.steps.filter((s) => s.kind === 'read');
    assert.deepEqual(
      reads.map((s) => s.status),
      ['failed', 'ok'],
    );
    assert.equal(reads[0]!.error?.code, 'BRIDGE_ERROR');
    assert.match(reads[0]!.note ?? '', /errorCode 300.*retrying in 5000ms \(attempt 2 of 3\)/);
    assert.equal(bench.sim.received('request').filter((f) => (f.frame.data as { type: string }).type === 'GroupDetail').length, 2);
    assert.ok(bench.clock.waits.includes(5000), 'the retry delay went through the clock');
    const set = run.steps.find((s) => s.kind === 'set');
    assert.deepEqual(set?.answer, { name: groupName(bench, 389284) });
  });

  it('does not retry a send the bridge answered busy, and the step says why', async () => {
    bench.sim.scriptFault({ match: { type: 'sendMsg' }, action: 'busy', times: 1, acted: false });
    const run = await bench.run(`
id: send-busy
trigger: { manual: true }
actions:
  - send: { to: { group: 389284 }, text: "hello" }
`);
    assert.equal(run.status, 'failed');
    assert.equal(bench.sim.received('sendMsg').length, 1, 'sent once, never again');
    const [step, ...others] = targetSteps(run);
    assert.equal(others.length, 0);
    assert.equal(step!.status, 'failed');
    assert.equal(step!.delivery, 'unknown');
    assert.equal(step!.error?.code, 'BRIDGE_ERROR');
    assert.match(step!.note ?? '', /^not retried: the bridge answered busy \(errorCode 300\).*may have acted/);
    assert.notEqual(step!.frame, null, 'the frame that went out is on record');
    assert.deepEqual(
      run.ledger.map((e) => e.state),
      ['unknown'],
    );
    assert.equal(run.error?.code, 'BRIDGE_ERROR');
  });

  it('fails a target the bot is not in, sends to the others, and ends partial', async () => {
    const run = await bench.run(`
id: unknown-target
trigger: { manual: true }
actions:
  - send: { to: { groups: [389284, 999999] }, text: "hi" }
`);
    assert.equal(run.status, 'partial');
    assert.deepEqual(
      sentMessages(bench.sim).map((m) => m.id),
      [389284],
    );
    const unknown = targetSteps(run).find((s) => s.target === 'group:999999');
    assert.equal(unknown?.status, 'failed');
    assert.equal(unknown?.error?.code, 'TARGET_UNKNOWN');
    assert.match(unknown?.error?.message ?? '', /group 999999 is not among the bot's \d+ groups/);
    assert.equal(unknown?.frame, null);
    assert.deepEqual(
      run.ledger.map((e) => [e.target, e.state]),
      [
        ['group:389284', 'accepted'],
        ['group:999999', 'failed'],
      ],
    );
  });

  it('goes on past a failed action with onError: continue and ends partial; stops at one without it', async () => {
    const continued = await bench.run(`
id: on-error
trigger: { manual: true }
actions:
  - id: missing
    read: { from: groupDetail, group: 1 }
    onError: continue
  - send: { to: { group: 389284 }, text: "still here" }
`);
    assert.equal(continued.status, 'partial');
    assert.equal(sentMessages(bench.sim).length, 1);

    const stopped = await bench.run(`
id: on-error-stop
trigger: { manual: true }
actions:
  - id: missing
    read: { from: groupDetail, group: 1 }
  - send: { to: { group: 389284 }, text: "never" }
`);
    assert.equal(stopped.status, 'failed');
    assert.equal(stopped.error?.code, 'BRIDGE_ERROR');
    assert.equal(sentMessages(bench.sim).length, 1, 'nothing after the failed action ran');
    assert.deepEqual(
      stopped.steps.map((s) => s.kind),
      ['read'],
    );
  });
});

describe('executeRun: conditions and control flow', () => {
  let bench: Bench;
  beforeEach(async () => {
    bench = await startBench();
  });
  afterEach(async () => {
    await bench.close();
  });

  it('records a run skipped by its conditions, with the condition that failed, and sends nothing', async () => {
    const run = await bench.run(
      `
id: anti-spam
trigger: { message: { chat: group } }
when:
  - match: { value: "{{ message.content }}", regex: "加微|https?://" }
actions:
  - send: { to: { group: "{{ message.groupId }}" }, text: "no ads" }
`,
      { trigger: { kind: 'message', data: { chat: 'group', groupId: '389284', senderId: '7128348', content: 'good morning' } } },
    );
    assert.equal(run.status, 'skipped');
    assert.equal(run.error, null);
    assert.match(run.reason ?? '', /^when\/0 \(match\) did not hold/);
    assert.deepEqual(run.conditions, [{ path: 'when/0', kind: 'match', passed: false, detail: { value: 'good morning', regex: '加微|https?://' } }]);
    assert.equal(run.steps.length, 0);
    assert.equal(sentMessages(bench.sim).length, 0);
  });

  it('runs with message data as the trigger gives it, and records the conditions that held', async () => {
    const run = await bench.run(
      `
id: anti-spam
trigger: { message: { chat: group } }
when:
  - any:
      - match: { value: "{{ message.content }}", regex: "加微|https?://" }
      - rate: { key: "{{ message.groupId }}:{{ message.senderId }}", count: 5, per: 10s }
actions:
  - muteMember: { group: "{{ message.groupId }}", uid: "{{ message.senderId }}", for: 1h }
  - send: { to: { group: "{{ message.groupId }}" }, text: "{{ message.senderName }} muted for 1h" }
`,
      { trigger: { kind: 'message', data: { chat: 'group', groupId: '389284', senderId: '7128348', senderName: 'Lily', content: '加微 123' } } },
    );
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    assert.deepEqual(
      run.conditions?.map((c) => [c.path, c.kind, c.passed]),
      [
        ['when/0', 'any', true],
        ['when/0/any/0', 'match', true],
        ['when/0/any/1', 'rate', false],
      ],
    );
    assert.equal((run.conditions?.[2]?.detail as { evaluated?: boolean }).evaluated, false, 'short-circuited, so the rate did not count');
    const shutup = bench.sim.received('request').filter((f) => (f.frame.data as { type: string }).type === 'GroupMemberShutup');
    assert.deepEqual(
      shutup.map((f) => (f.frame.data as { data: unknown }).data),
      [{ targetUid: 7128348, shutupTime: 3600, groupId: 389284 }],
    );
    assert.deepEqual(
      sentMessages(bench.sim).map((m) => m.content),
      ['Lily muted for 1h'],
    );
  });

  it('leaves the group host alone: the exemption is a step with its reason', async () => {
    const hostId = String(bench.sim.world.group(389284).hostId);
    const run = await bench.run(
      `
id: mute-host
trigger: { manual: true }
actions:
  - muteMember: { group: 389284, uid: "{{ trigger.data.uid }}", for: 10m }
`,
      { trigger: { kind: 'manual', data: { uid: hostId } } },
    );
    assert.equal(run.status, 'ok');
    assert.equal(run.steps[0]?.status, 'skipped');
    assert.match(run.steps[0]?.note ?? '', /the group host/);
    assert.deepEqual(bench.sim.worldChangingReceived(), []);
  });

  it('names steps by their path: if, choose branches, forEach iterations, set, stop', async () => {
    const run = await bench.run(`
id: flow
trigger: { manual: true }
vars: { greeting: "hello" }
actions:
  - set: { targets: [389284, 441298] }
  - forEach:
      items: "{{ vars.targets }}"
      as: gid
      do:
        - send: { to: { group: "{{ gid }}" }, text: "{{ vars.greeting }} to {{ gid }}" }
  - choose:
      if: { compare: { value: "{{ vars.targets | size }}", op: gt, to: 5 } }
      then:
        - log: { message: "many" }
      else:
        - log: { message: "few" }
  - log: { message: "skipped" }
    if: { compare: { value: "{{ vars.greeting }}", op: eq, to: "bye" } }
  - stop: { reason: "done after {{ vars.targets | size }} groups" }
  - log: { message: "never" }
`);
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    assert.equal(run.reason, 'done after 2 groups');
    const paths = run.steps.map((s) => `${s.path} ${s.kind}${s.target ? ` ${s.target}` : ''} ${s.status}`);
    assert.deepEqual(paths, [
      'actions/0 set ok',
      'actions/1 forEach ok',
      'actions/1/do/0[0] send ok',
      'actions/1/do/0[0] send group:389284 ok',
      'actions/1/do/0[1] send ok',
      'actions/1/do/0[1] send group:441298 ok',
      'actions/2 choose ok',
      'actions/2/else/0 log ok',
      'actions/3 log skipped',
      'actions/4 stop ok',
    ]);
    assert.deepEqual(
      sentMessages(bench.sim).map((m) => [m.id, m.content]),
      [
        [389284, 'hello to 389284'],
        [441298, 'hello to 441298'],
      ],
    );
    assert.deepEqual((run.steps[6]!.answer as { branch: string }).branch, 'else');
    assert.match(run.steps[8]!.note ?? '', /^if: actions\/3\/if \(compare\) did not hold/);
    assert.deepEqual(
      run.ledger.map((e) => e.path),
      ['actions/1/do/0[0]', 'actions/1/do/0[1]'],
    );
  });

  it('ends failed at a stop with status failed, with the reason as the error', async () => {
    const run = await bench.run(`
id: stop-failed
trigger: { manual: true }
actions:
  - stop: { status: failed, reason: "nothing to do" }
`);
    assert.equal(run.status, 'failed');
    assert.deepEqual(run.error, { code: 'RULE_STOPPED', message: 'nothing to do' });
  });
});

describe('executeRun: group management', () => {
  let bench: Bench;
  beforeEach(async () => {
    bench = await startBench();
  });
  afterEach(async () => {
    await bench.close();
  });

  it('mutes a group with its announcement, and skips it when it is already muted', async () => {
    const rule = `
id: night
trigger: { manual: true }
actions:
  - groupMute: { groups: [389284], muted: true, announce: { muted: "muted now", unmuted: "open again" } }
`;
    const first = await bench.run(rule);
    assert.equal(first.status, 'ok', JSON.stringify(first.error));
    assert.equal(bench.sim.world.group(389284).bfShutup, true);
    const changes = bench.sim.worldChangingReceived().map((f) => f.frame.type);
    assert.deepEqual(changes, ['request', 'sendMsg']);
    const announcement = sentMessages(bench.sim)[0];
    assert.equal(announcement?.content, 'muted now');
    assert.equal((bench.sim.received('sendMsg')[0]!.frame.data as { list: Array<{ values: { chatType: number } }> }).list[0]!.values.chatType, 50);

    const second = await bench.run(rule);
    assert.equal(second.status, 'ok');
    assert.equal(bench.sim.worldChangingReceived().length, 2, 'already muted: nothing sent the second time');
    assert.match(targetSteps(second)[0]?.note ?? '', /already muted/);
  });

  it('sets a notice and announces it as its own step', async () => {
    const run = await bench.run(`
id: notice
trigger: { manual: true }
actions:
  - setNotice: { groups: [389284], notice: "rules for {{ target.name }}" }
`);
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    const notice = `rules for ${groupName(bench, 389284)}`;
    assert.equal(bench.sim.world.group(389284).notice?.notice, notice);
    const steps = targetSteps(run);
    assert.deepEqual(
      steps.map((s) => (s.frame as { type: string }).type),
      ['request', 'sendMsg'],
    );
    assert.equal(steps[1]!.delivery, 'accepted');
    assert.equal(sentMessages(bench.sim)[0]?.content, notice);
  });
});

describe('executeRun: deliveries and interruption', () => {
  it('settles a message delivered later by a push (edition 68)', async () => {
    const bench = await startBench({ edition: '68' });
    try {
      const run = await bench.run(`
id: delivered
trigger: { manual: true }
actions:
  - send: { to: { group: 389284 }, text: "hi" }
`);
      const step = targetSteps(run)[0]!;
      await bench.api.waitForDelivery(step.customMsgId!, 2000);
      const after = bench.store.getRun(run.id)!;
      assert.equal(targetSteps(after)[0]!.delivery, 'delivered');
      assert.deepEqual(
        after.ledger.map((e) => e.state),
        ['delivered'],
      );
    } finally {
      await bench.close();
    }
  });

  it('ends interrupted when aborted during a pause, with the targets sent so far on record; a resume sends the rest', async () => {
    const clock = new ManualClock(Date.parse('2025-06-02T01:00:00Z'));
    const bench = await startBench({ clock });
    try {
      const controller = new AbortController();
      const running = bench.run(
        `
id: long-broadcast
trigger: { manual: true }
actions:
  - send: { to: { groups: [389284, 441298, 512301] }, text: "hi", pause: 1h }
`,
        { signal: controller.signal },
      );
      while (bench.sim.received('sendMsg').length < 1 || clock.pendingTimers === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort(new Error('shutting down'));
      const run = await running;
      assert.equal(run.status, 'interrupted');
      assert.equal(run.error?.code, 'RUN_INTERRUPTED');
      assert.deepEqual(
        targetSteps(run).map((s) => [s.target, s.status]),
        [['group:389284', 'ok']],
      );
      assert.deepEqual(
        run.ledger.map((e) => [e.target, e.state]),
        [
          ['group:389284', 'accepted'],
          ['group:441298', 'planned'],
          ['group:512301', 'planned'],
        ],
      );
      assert.equal(bench.sim.received('sendMsg').length, 1);

      // A resumed run sends to the targets left over, and to none twice.
      const resumed = bench.run(
        `
id: long-broadcast
trigger: { manual: true }
actions:
  - send: { to: { groups: [389284, 441298, 512301] }, text: "hi", pause: 1h }
`,
        { resumedFrom: run.id },
      );
      while (bench.sim.received('sendMsg').length < 2 || clock.pendingTimers === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      clock.advance(3_600_000);
      const finished = await resumed;
      assert.equal(finished.status, 'ok', JSON.stringify(finished.error));
      assert.equal(finished.resumedFrom, run.id);
      assert.deepEqual(
        sentMessages(bench.sim).map((m) => m.id),
        [389284, 441298, 512301],
      );
      assert.deepEqual(
        targetSteps(finished).map((s) => [s.target, s.status]),
        [
          ['group:389284', 'skipped'],
          ['group:441298', 'ok'],
          ['group:512301', 'ok'],
        ],
      );
      assert.match(targetSteps(finished)[0]!.note ?? '', new RegExp(`already sent by run ${run.id} \\(ledger: accepted\\)`));
    } finally {
      await bench.close();
    }
  });
});

describe('executeRun: notices and friend requests', () => {
  let bench: Bench;
  beforeEach(async () => {
    bench = await startBench();
  });
  afterEach(async () => {
    await bench.close();
  });

  it('rotates notices per group across runs, verifies them, and leaves the position alone in a dry run', async () => {
    const rule = `
id: rotation
trigger: { manual: true }
actions:
  - rotateNotice:
      groups: [389284, 441298]
      notices: [first notice, second notice]
`;
    const first = await bench.run(rule);
    assert.equal(first.status, 'ok', JSON.stringify(first.error));
    assert.equal(bench.sim.world.group(389284).notice?.notice, 'first notice');
    assert.equal(bench.sim.world.group(441298).notice?.notice, 'first notice');
    assert.ok(first.steps.some((s) => s.kind === 'rotateNotice' && (s.input as { verify?: string } | null)?.verify === 'first notice'), 'read back');

    const dry = await bench.run(rule, { dryRun: true });
    assert.equal(dry.status, 'dry-run');
    assert.equal(bench.sim.world.group(389284).notice?.notice, 'first notice');

    const second = await bench.run(rule);
    assert.equal(second.status, 'ok');
    assert.equal(bench.sim.world.group(389284).notice?.notice, 'second notice');
    assert.deepEqual(bench.store.ruleState.get('rotation', 'rotateNotice:actions/0'), { '389284': 1, '441298': 1 });
    const announcements = sentMessages(bench.sim).map((m) => m.content);
    assert.deepEqual(announcements, ['first notice', 'first notice', 'second notice', 'second notice']);
  });

  it('audits a friend request once, records the verdict, and sends nothing while act is off', async () => {
    const rule = `
id: audit
trigger: { watch: { list: friendRequests, every: 1m } }
actions:
  - id: verdict
    audit:
      rules:
        - when: { match: { value: "{{ request.msg }}", regex: "代理|刷单" } }
          verdict: reject
        - verdict: accept
  - log: { message: "{{ request.nickName }}: {{ steps.verdict.verdict }}" }
`;
    const item = { uid: '6203002', nickName: 'Spammer', msg: '招代理', createTime: 1750000000000, modifyTime: 1766000000000 };
    const run = await bench.run(rule, { trigger: { kind: 'watch', data: { item, list: 'friendRequests', change: 'added' } } });
    assert.equal(run.status, 'ok', JSON.stringify(run.error));
    assert.deepEqual(bench.sim.worldChangingReceived(), []);
    const decision = bench.store.audit.get('6203002', '1766000000000');
    assert.equal(decision?.verdict, 'reject');
    assert.equal(decision?.decidedBy, 'actions/0/audit/rules/0');
    assert.deepEqual(run.steps.find((s) => s.kind === 'log')?.answer, { message: 'Spammer: reject' });

    const again = await bench.run(rule, { trigger: { kind: 'watch', data: { item, list: 'friendRequests', change: 'added' } } });
    assert.equal(again.steps[0]?.status, 'skipped');
    assert.match(again.steps[0]?.note ?? '', /decided before/);
  });

  it('answers a friend request through the bridge only when the config lets it act', async () => {
    const rule = `
id: answer
trigger: { manual: true }
actions:
  - answerFriendRequest: { uid: "{{ trigger.data.uid }}", accept: true }
`;
    const off = await bench.run(rule, { trigger: { kind: 'manual', data: { uid: '5138518' } } });
    assert.equal(off.steps[0]?.status, 'skipped');
    assert.deepEqual(bench.sim.worldChangingReceived(), []);

    const acting = await startBench({ config: { friendRequests: { ...bench.config.friendRequests, act: true } } });
    try {
      const request = acting.sim.world.addFriendRequest({ msg: 'colleague' });
      const on = await acting.run(rule, { trigger: { kind: 'manual', data: { uid: String(request.uid) } } });
      assert.equal(on.status, 'ok', JSON.stringify(on.error));
      const frames = acting.sim.worldChangingReceived().map((f) => (f.frame.data as { type: string; data: unknown }));
      assert.deepEqual(
        frames.map((f) => [f.type, f.data]),
        [['UpdateContactsApply', { applyUid: request.uid, op: 8 }]],
      );
      assert.equal(request.state, 'accepted');
    } finally {
      await acting.close();
    }
  });
});
