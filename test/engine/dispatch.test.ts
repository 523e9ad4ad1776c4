import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { RuleGates } from '../../src/engine/concurrency';
import { RuleNotLoadedError, TriggerDispatcher, type EventTrigger, type PushSource, type RunEventRule } from '../../src/engine/dispatch';
import { executeRun, type ExecuteRunOptions } from '../../src/engine/executor';
import { parsePush, type PushEvent } from '../../src/protocol/events';
import { ManualClock } from '../../src/shared/clock';
import { quietLogger, RecordingRunner, rules, runsOf, settle, tempStore } from './trigger-fixtures';

// The executor fits where the dispatcher wants a runner (checked by the compiler).
export const executorAsRunner = (deps: ExecuteRunOptions['deps']): RunEventRule => (loaded, trigger) => executeRun({ loaded, trigger, deps });

const RULES = `
id: adverts
trigger:
  message: { chat: group, groups: [389284], text: "加微|代理" }
actions: [ { log: { message: advert } } ]
---
id: price
trigger:
  message: { contains: [价格, price] }
actions: [ { log: { message: price } } ]
---
id: images
trigger:
  message: { msgTypes: [1] }
actions: [ { log: { message: image } } ]
---
id: renamed
trigger:
  push: { event: groupUpdate, groups: [389284] }
actions: [ { log: { message: renamed } } ]
---
id: every-push
trigger:
  push: { event: any }
actions: [ { log: { message: push } } ]
---
id: hello
trigger: { startup: true }
actions: [ { log: { message: hello } } ]
---
id: hello-off
enabled: false
trigger: { startup: true }
actions: [ { log: { message: never } } ]
---
id: report
trigger: { cron: "0 9 * * *" }
actions: [ { log: { message: report } } ]
`;

/** A group message push as the bridge sends it. */
function groupMessage(content: string, extra: Record<string, unknown> = {}): PushEvent {
  return parsePush({
    operator: 'msgNew',
    data: { type: 'group', groupId: 389284, sendUid: 7128348, content, msgType: 0, msgId: 'm1', sendUser: { nickName: '小王' }, ...extra },
  });
}

function bench() {
  const clock = new ManualClock(Date.parse('2026-05-04T10:00:00Z'));
  const { store } = tempStore(clock);
  const runner = new RecordingRunner<EventTrigger>(store);
  const gates = new RuleGates();
  const dispatcher = new TriggerDispatcher({ store, runRule: runner.run, logger: quietLogger, gates, clock });
  dispatcher.load(rules(RULES));
  const bridge = new EventEmitter();
  dispatcher.start(bridge as PushSource);
  return { store, runner, dispatcher, bridge, gates };
}

describe('TriggerDispatcher: messages', () => {
  it('fires every message rule whose filter matches, with the message as trigger data', () => {
    const { runner, bridge } = bench();
    bridge.emit('push', groupMessage('加微 看价格'));
    assert.deepEqual(runner.calls.map((call) => call.ruleId).sort(), ['adverts', 'price']);
    const data = runner.calls[0]!.trigger.data as Record<string, unknown>;
    assert.equal(runner.calls[0]!.trigger.kind, 'message');
    assert.equal(data.content, '加微 看价格');
    assert.equal(data.groupId, '389284');
    assert.equal(data.senderName, '小王');
    assert.equal('raw' in data, false, 'the raw frame stays out of the trigger data');
  });

  it('fires nothing for a message no filter matches', () => {
    const { runner, bridge } = bench();
    bridge.emit('push', groupMessage('早上好'));
    assert.equal(runner.calls.length, 0);
  });

  it("never fires for the bot's own messages", () => {
    const { runner, bridge, dispatcher } = bench();
    bridge.emit('push', groupMessage('加微 看价格', { isSelf: true }));
    assert.equal(runner.calls.length, 0);
    assert.deepEqual(dispatcher.handleMessage({ chat: 'group', groupId: '389284', senderId: '1', content: 'price', msgType: 0, isSelf: true }), []);
  });

  it('filters on message type', () => {
    const { runner, bridge } = bench();
    bridge.emit('push', groupMessage('url||https://example.com/a.png', { msgType: 1 }));
    assert.deepEqual(runner.calls.map((call) => call.ruleId), ['images']);
  });

  it('skips a fire while the rule runs, recorded once', async () => {
    const { runner, bridge, store } = bench();
    runner.hold = true;
    bridge.emit('push', groupMessage('price?'));
    bridge.emit('push', groupMessage('price??'));
    bridge.emit('push', groupMessage('price???'));
    assert.equal(runner.of('price').length, 1);
    const skipped = runsOf(store, 'price', 'skipped');
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]!.reason, `concurrency: already running (run ${runner.of('price')[0]!.runId})`);
    assert.equal(skipped[0]!.triggerKind, 'message');
    await runner.releaseAll();
    bridge.emit('push', groupMessage('price!'));
    assert.equal(runner.of('price').length, 2);
    await runner.releaseAll();
  });

  it('stops listening on stop()', () => {
    const { runner, bridge, dispatcher } = bench();
    dispatcher.stop();
    bridge.emit('push', groupMessage('price'));
    assert.equal(runner.calls.length, 0);
    assert.equal(bridge.listenerCount('push'), 0);
  });
});

describe('TriggerDispatcher: other pushes', () => {
  it('fires push rules by event and group', () => {
    const { runner, bridge } = bench();
    bridge.emit('push', parsePush({ operator: 'groupUpdate', data: { groupId: 389284, name: '新群名' } }));
    assert.deepEqual(runner.calls.map((call) => call.ruleId).sort(), ['every-push', 'renamed']);
    const data = runner.of('renamed')[0]!.trigger.data as Record<string, unknown>;
    assert.equal(data.event, 'groupUpdate');
    assert.equal(data.groupId, '389284');
  });

  it('a push about another group fires only the rules without a group filter', () => {
    const { runner, bridge } = bench();
    bridge.emit('push', parsePush({ operator: 'groupUpdate', data: { groupId: 512301, name: 'x' } }));
    assert.deepEqual(runner.calls.map((call) => call.ruleId), ['every-push']);
  });

  it('a message push does not fire push rules', () => {
    const { runner, bridge } = bench();
    bridge.emit('push', groupMessage('早上好'));
    assert.equal(runner.of('every-push').length, 0);
  });
});

describe('TriggerDispatcher: startup and manual fires', () => {
  it('fires enabled startup rules once', () => {
    const { runner, dispatcher } = bench();
    dispatcher.fireStartup();
    dispatcher.fireStartup();
    assert.deepEqual(runner.calls.map((call) => [call.ruleId, call.trigger.kind]), [['hello', 'startup']]);
    assert.deepEqual(runner.calls[0]!.trigger.data, { startedAt: '2026-05-04T10:00:00.000Z' });
  });

  it('fires any rule by hand, through its gate', async () => {
    const { runner, dispatcher } = bench();
    runner.hold = true;
    const first = dispatcher.fire('report', { note: 'by hand' });
    if (first.outcome !== 'started') assert.fail(`expected the run to start, got ${first.outcome}`);
    assert.deepEqual(runner.calls.map((call) => [call.ruleId, call.trigger.kind, call.trigger.data]), [['report', 'manual', { note: 'by hand' }]]);
    const second = dispatcher.fire('report');
    assert.equal(second.outcome, 'skipped');
    await runner.releaseAll();
    await first.done;
    assert.equal(dispatcher.fire('hello-off').outcome, 'started', 'a disabled rule can still be run by hand');
    await runner.releaseAll();
  });

  it('refuses an unknown rule id', () => {
    const { dispatcher } = bench();
    assert.throws(() => dispatcher.fire('nope'), RuleNotLoadedError);
  });
});

describe('TriggerDispatcher: reload', () => {
  it('keeps unchanged rules and takes changed, added and removed ones', async () => {
    const { runner, bridge, dispatcher } = bench();
    const changes = dispatcher.replace(
      rules(
        RULES.replace('contains: [价格, price]', 'contains: [cost]')
          .replace(/---\nid: images[\s\S]*?(?=---)/, '')
          .concat(`---
id: greet
trigger: { message: { text: "^hi" } }
actions: [ { log: { message: hi } } ]
`),
      ),
    );
    assert.deepEqual(changes.changed, ['price']);
    assert.deepEqual(changes.added, ['greet']);
    assert.deepEqual(changes.removed, ['images']);
    assert.ok(changes.unchanged.includes('adverts'));
    bridge.emit('push', groupMessage('hi, what is the cost and price?'));
    assert.deepEqual(runner.calls.map((call) => call.ruleId).sort(), ['greet', 'price']);
    await settle();
  });
});
