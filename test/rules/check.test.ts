import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadRuleText, ruleHash } from '../../src/rules/load';
import { actionKind, concurrencyOf, conditionKind, misfireOf, triggerKind, type Action } from '../../src/rules/types';
import { locate } from './helpers';

/** Problems of a rule text as `line:col  message`. */
function problemsOf(text: string): string[] {
  return loadRuleText('t.yaml', text).problems.map((p) => `${p.line}:${p.col}  ${p.message}`);
}

function onlyRule(text: string) {
  const result = loadRuleText('t.yaml', text);
  assert.deepEqual(result.problems, []);
  assert.equal(result.rules.length, 1);
  return result.rules[0]!;
}

const at = (text: string, needle: string, after?: string) => {
  const { line, col } = locate(text, needle, after);
  return `${line}:${col}`;
};

describe('rule normalisation', () => {
  it('turns ids into strings, keeping the digits of ids beyond 2^53', () => {
    const { rule } = onlyRule(`
id: ids
trigger: { message: { groups: [389284, "441298"], senders: [12345678901234567890] } }
actions:
  - send: { to: { group: 389284, except: [1] }, text: hi }
`);
    const trigger = rule.trigger as { message: { groups: string[]; senders: string[] } };
    assert.deepEqual(trigger.message.groups, ['389284', '441298']);
    assert.deepEqual(trigger.message.senders, ['12345678901234567890']);
    const send = rule.actions[0] as { send: { to: { group: string; except: string[] } } };
    assert.equal(send.send.to.group, '389284');
    assert.deepEqual(send.send.to.except, ['1']);
  });

  it('applies defaults', () => {
    const { rule } = onlyRule(`
id: defaults
trigger: { manual: true }
actions:
  - log: { message: hi }
`);
    assert.equal(rule.enabled, true);
    assert.equal(rule.concurrency, 'skip');
    assert.equal(rule.actions[0]?.onError, 'stop');
    assert.deepEqual(concurrencyOf(rule), { mode: 'skip', max: 1 });
    assert.deepEqual(concurrencyOf({ concurrency: 'queue' }), { mode: 'queue', max: 10 });
    assert.deepEqual(misfireOf({ misfire: { policy: 'latest', grace: '15m' } }), { policy: 'latest', grace: '15m', cap: 10, spacing: '30s' });
  });

  it('hashes the document as written, whatever its key order', () => {
    assert.equal(ruleHash({ a: 1, b: [1, { c: 2, d: 3 }] }), ruleHash({ b: [1, { d: 3, c: 2 }], a: 1 }));
    assert.notEqual(ruleHash({ a: 1 }), ruleHash({ a: 2 }));
  });

  it('tells the kinds apart', () => {
    const { rule } = onlyRule(`
id: kinds
trigger: { every: 5m }
when: { not: { time: { after: "23:00", before: "07:00" } } }
actions:
  - id: detail
    read: { from: groupDetail, group: 389284 }
    retry: { attempts: 3, delay: 2s }
`);
    assert.equal(triggerKind(rule.trigger), 'every');
    assert.equal(conditionKind(rule.when as never), 'not');
    assert.equal(actionKind(rule.actions[0] as Action), 'read');
  });
});

describe('rule validation', () => {
  it('names an unknown condition kind with a did-you-mean', () => {
    const text = `
id: c
trigger: { manual: true }
when: { mach: { value: "{{ trigger.kind }}", regex: x } }
actions:
  - log: { message: hi }
`;
    assert.deepEqual(problemsOf(text), [`${at(text, 'mach')}  unknown condition kind "mach" (did you mean "match"?)`]);
  });

  it('names a misspelt key of the rule, and says what a value should be in YAML words', () => {
    const text = `
id: top
trigers: { manual: true }
enabled: "yes"
actions:
  - log: { message: hi }
`;
    assert.deepEqual(problemsOf(text), [
      `${at(text, 'id: top')}  the rule is missing required key "trigger"`,
      `${at(text, 'trigers')}  unknown key "trigers" in the rule (did you mean "trigger"?)`,
      `${at(text, '"yes"')}  enabled must be true or false, got the string "yes"`,
    ]);
  });

  it('reports an action with two kinds', () => {
    const text = `
id: two
trigger: { manual: true }
actions:
  - log: { message: hi }
    delay: { for: 1s }
`;
    assert.deepEqual(problemsOf(text), [`${at(text, 'delay')}  actions[0] names two action kinds, "log" and "delay": one action has one kind`]);
  });

  it('allows retry on reads, and on world-changing actions only with unsafe: true', () => {
    const text = `
id: retry
trigger: { manual: true }
actions:
  - send: { to: { group: 1 }, text: hi }
    retry: { attempts: 3 }
  - send: { to: { group: 1 }, text: hi }
    retry: { attempts: 3, unsafe: true }
  - request: { api: GroupUpdate, data: { op: 11 } }
    retry: { attempts: 2 }
  - request: { api: GroupDetail, data: { groupId: 1 } }
    retry: { attempts: 2 }
`;
    const advice = 'could repeat a change the bridge already made (a timeout does not prove it did nothing); add unsafe: true to retry anyway';
    assert.deepEqual(problemsOf(text), [
      `${at(text, 'retry', 'actions:')}  retry on send ${advice}`,
      `${at(text, 'retry', 'GroupUpdate')}  retry on request GroupUpdate ${advice}`,
    ]);
  });

  it('requires exactly one of text and file in send', () => {
    const text = `
id: send
trigger: { manual: true }
actions:
  - send: { to: { group: 1 } }
  - send: { to: { group: 1 }, text: hi, file: /tmp/a.png }
`;
    assert.deepEqual(problemsOf(text), [
      `${at(text, '{ to: { group: 1 } }')}  send needs text or file`,
      `${at(text, '{ to: { group: 1 }, text')}  send takes text or file, not both`,
    ]);
  });

  it('knows which trigger sets which template name', () => {
    const text = `
id: names
trigger: { cron: "0 9 * * *" }
actions:
  - log: { message: "{{ message.content }} {{ request.uid }} {{ target.name }}" }
`;
    assert.deepEqual(problemsOf(text), [
      `${at(text, 'message.content')}  "message" is not set for a cron trigger: it comes with message triggers`,
      `${at(text, 'request.uid')}  "request" is not set for a cron trigger: it comes with watch: { list: friendRequests } triggers`,
      `${at(text, 'target.name')}  "target" is set only inside send, groupMute, setNotice and rotateNotice, for each target in turn`,
    ]);
  });

  it('binds the forEach name inside its body only', () => {
    const text = `
id: loop
trigger: { manual: true }
actions:
  - id: members
    read: { from: members, group: 389284 }
  - forEach:
      items: "{{ steps.members }}"
      as: member
      do:
        - log: { message: "{{ member.nickName }}" }
  - log: { message: "{{ member.nickName }}" }
`;
    assert.deepEqual(problemsOf(text), [
      `${locateLast(text, 'member.nickName')}  unknown name "member" in template: names start from trigger, message, item, request, vars, steps, now, rule, target, window`,
    ]);
  });

  it('places a template mistake inside a literal block on its own line', () => {
    const text = `
id: block
trigger: { manual: true }
actions:
  - send:
      to: { group: 1 }
      text: |
        line one
        {{ now | date: "%H" | nope }}
`;
    assert.deepEqual(problemsOf(text), [`${at(text, '{{ now')}  template: undefined filter: nope`]);
  });

  it('finds an unquoted {{ inside a list', () => {
    const text = `
id: list
trigger: { manual: true }
actions:
  - rotateNotice: { groups: [1], notices: [ok, {{ vars.x }}] }
`;
    assert.deepEqual(problemsOf(text), [
      `${at(text, '{{ vars.x }}')}  a value that starts with {{ must be quoted: YAML reads {{ ... }} as a map; put the whole value in quotes`,
    ]);
  });

  it('suggests an ApiName, and accepts any name given its path', () => {
    const text = `
id: api
trigger: { manual: true }
actions:
  - request: { api: GroupDetial, data: { groupId: 1 } }
  - request: { api: SomethingNew, path: /group/somethingNew }
`;
    assert.deepEqual(problemsOf(text), [
      `${at(text, 'GroupDetial')}  unknown ApiName "GroupDetial" (did you mean "GroupDetail"?): give its path to call an ApiName rulebot does not know`,
    ]);
  });

  it('spots audit rules that can never be reached, and an audit without friend requests', () => {
    const text = `
id: audit
trigger: { manual: true }
actions:
  - audit:
      rules:
        - { verdict: accept }
        - { when: { accountYoungerThan: 7d }, verdict: hold }
`;
    assert.deepEqual(problemsOf(text), [
      `${at(text, 'rules:')}  audit decides friend requests: the rule's trigger must be watch: { list: friendRequests, ... }`,
      `${at(text, '{ when')}  never reached: the audit rule before it has no when, so it decides every request`,
    ]);
  });

  it('rejects a window of no time, a bad time of day, and a cron with the wrong number of fields', () => {
    const text = `
id: w
trigger: { window: { start: "23:00", end: "23:00" } }
when: { time: { after: "7:00" } }
actions:
  - log: { message: hi }
---
id: c
trigger: { cron: "0 9 * *" }
actions:
  - log: { message: hi }
`;
    assert.deepEqual(problemsOf(text), [
      `${at(text, '"23:00" }')}  a window's start and end must differ (a window of no time never opens)`,
      `${at(text, '"7:00"')}  when.time.after must be a time of day as "HH:MM" (00:00 to 23:59), got the string "7:00"`,
      `${at(text, '"0 9 * *"')}  cron expression "0 9 * *" has 4 fields: use 5 (minute hour day month weekday) or 6 (second first)`,
    ]);
  });

  it('reports a string where an id goes', () => {
    const text = `
id: ids
trigger: { manual: true }
actions:
  - muteMember: { group: huimei, uid: 1, for: 1h }
`;
    assert.deepEqual(problemsOf(text), [
      `${at(text, 'huimei')}  actions[0].muteMember.group must be an id (a number, or a template that gives one), got the string "huimei"`,
    ]);
  });
});

function locateLast(text: string, needle: string): string {
  const offset = text.lastIndexOf(needle);
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before.at(-1) as string).length + 1}`;
}
