import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  RateTracker,
  compareValues,
  compileConditions,
  describeConditionFailure,
  flattenConditionResults,
  type ConditionScope,
} from '../../src/engine/conditions';
import type { Conditions } from '../../src/rules/types';
import type { TemplateContext } from '../../src/rules/templates';

/** An instant given as a wall-clock time in Shanghai (UTC+8, no DST). */
function shanghai(local: string): number {
  return Date.parse(`${local}+08:00`);
}

function scope(now: number, context: TemplateContext = {}, extra: Partial<ConditionScope> = {}): ConditionScope {
  return { context, now, timezone: 'Asia/Shanghai', rates: new RateTracker(), rateScope: 'rule-a', ...extra };
}

function evaluate(conditions: Conditions, at: ConditionScope) {
  return compileConditions(conditions, 'when').evaluate(at);
}

describe('time conditions', () => {
  // 2025-06-06 is a Friday.
  const fridayNights: Conditions = [{ time: { after: '23:00', before: '07:00', weekdays: ['fri'] } }];

  it('holds through a window that crosses midnight, counting the day it opened', () => {
    const cases: Array<[string, boolean, string]> = [
      ['2025-06-06T23:30:00', true, 'fri'], // Friday night, inside
      ['2025-06-07T02:00:00', true, 'fri'], // Saturday small hours: the window opened on Friday
      ['2025-06-06T02:00:00', false, 'thu'], // Friday small hours: that window opened on Thursday
      ['2025-06-07T08:00:00', false, 'sat'], // Saturday morning, outside
      ['2025-06-07T23:30:00', false, 'sat'], // Saturday night: not a listed day
    ];
    for (const [local, expected, openedOn] of cases) {
      const outcome = evaluate(fridayNights, scope(shanghai(local)));
      assert.equal(outcome.passed, expected, local);
      const detail = outcome.results[0]!.detail!;
      assert.equal(detail.openedOn, openedOn, local);
      assert.equal(detail.timezone, 'Asia/Shanghai');
    }
  });

  it('reads the wall clock of the rule\'s time zone, not the machine\'s', () => {
    const instant = shanghai('2025-06-06T23:30:00'); // 15:30 UTC
    assert.equal(evaluate(fridayNights, scope(instant)).passed, true);
    assert.equal(evaluate(fridayNights, scope(instant, {}, { timezone: 'UTC' })).passed, false);
  });

  it('takes after or before alone, and a window that does not cross midnight', () => {
    const at = scope(shanghai('2025-06-02T09:30:00'));
    assert.equal(evaluate({ time: { after: '09:00' } }, at).passed, true);
    assert.equal(evaluate({ time: { before: '09:00' } }, at).passed, false);
    assert.equal(evaluate({ time: { after: '09:00', before: '17:00', weekdays: ['mon', 'tue'] } }, at).passed, true);
    assert.equal(evaluate({ time: { after: '10:00', before: '17:00' } }, at).passed, false);
  });
});

describe('compare and match', () => {
  const context = { message: { groupId: '389284', content: 'Join us: HTTPS://spam.example', atUids: ['1', '2'] }, vars: { count: 7 } };

  it('compares ids given as text or numbers, and orders numbers as numbers', () => {
    const at = scope(0, context);
    assert.equal(evaluate({ compare: { value: '{{ message.groupId }}', op: 'eq', to: 389284 } }, at).passed, true);
    assert.equal(evaluate({ compare: { value: '{{ vars.count }}', op: 'gt', to: '10' } }, at).passed, false);
    assert.equal(evaluate({ compare: { value: '{{ message.atUids }}', op: 'contains', to: 2 } }, at).passed, true);
    assert.equal(evaluate({ compare: { value: '{{ message.groupId }}', op: 'in', to: ['1', '389284'] } }, at).passed, true);
    assert.equal(compareValues('10', 'lt', '9'), false, 'numbers, not text');
    assert.equal(compareValues('b', 'gt', 'a'), true);
    assert.equal(compareValues('hello world', 'startsWith', 'hello'), true);
    assert.equal(compareValues('hello world', 'endsWith', 'world'), true);
    assert.equal(compareValues(1, 'ne', '1'), false);
  });

  it('records what a compare saw', () => {
    const outcome = evaluate({ compare: { value: '{{ vars.count }}', op: 'ge', to: 10 } }, scope(0, context));
    assert.equal(outcome.passed, false);
    assert.deepEqual(outcome.results[0]!.detail, { value: 7, op: 'ge', to: 10 });
    assert.equal(describeConditionFailure(outcome), 'when (compare) did not hold (7 ge 10)');
  });

  it('matches with RE2 and its flags, and records the match', () => {
    const outcome = evaluate({ match: { value: '{{ message.content }}', regex: 'https?://\\S+', flags: 'i' } }, scope(0, context));
    assert.equal(outcome.passed, true);
    assert.equal(outcome.results[0]!.detail!.matched, 'HTTPS://spam.example');
    assert.equal(evaluate({ match: { value: '{{ message.content }}', regex: 'https?://' } }, scope(0, context)).passed, false);
  });

  it('compiles a regex once, when the conditions are compiled, and refuses one RE2 cannot run', () => {
    assert.throws(() => compileConditions({ match: { value: 'x', regex: '(a)\\1' } }, 'when'), /backreferences are not supported/);
  });
});

describe('rate conditions', () => {
  const flood: Conditions = { rate: { key: '{{ message.groupId }}:{{ message.senderId }}', count: 3, per: '10s' } };
  const from = (senderId: string) => ({ message: { groupId: '389284', senderId } });

  it('holds from the count-th event of a key within the window', () => {
    const rates = new RateTracker();
    const compiled = compileConditions(flood, 'when');
    const at = (ms: number, sender = '7') => compiled.evaluate(scope(ms, from(sender), { rates }));
    assert.equal(at(0).passed, false);
    assert.equal(at(1000).passed, false);
    assert.equal(at(1500, '8').passed, false, 'another sender has a count of its own');
    const third = at(2000);
    assert.equal(third.passed, true);
    assert.deepEqual(third.results[0]!.detail, { key: '389284:7', seen: 3, count: 3, per: '10s' });
    assert.equal(at(11_500).passed, false, 'the first two have left the window');
    assert.equal(at(11_600).passed, true);
  });

  it('keeps one rule\'s counts apart from another\'s, and stays bounded', () => {
    const rates = new RateTracker({ maxKeys: 2 });
    const compiled = compileConditions(flood, 'when');
    for (let i = 0; i < 3; i++) compiled.evaluate(scope(i, from('7'), { rates, rateScope: 'rule-a' }));
    assert.equal(compiled.evaluate(scope(3, from('7'), { rates, rateScope: 'rule-b' })).passed, false);
    for (let i = 0; i < 5; i++) compiled.evaluate(scope(4, from(String(100 + i)), { rates }));
    assert.equal(rates.size, 2);
  });
});

describe('all, any, not', () => {
  const context = { message: { content: 'buy now', senderId: '42' } };

  it('short-circuits, records every condition with its path, and says which one failed', () => {
    const outcome = evaluate(
      [
        {
          all: [{ match: { value: '{{ message.content }}', regex: 'buy' } }, { not: { compare: { value: '{{ message.senderId }}', op: 'eq', to: 42 } } }],
        },
        { any: [{ match: { value: 'x', regex: 'x' } }] },
      ],
      scope(0, context),
    );
    assert.equal(outcome.passed, false);
    assert.deepEqual(
      flattenConditionResults(outcome.results).map((r) => [r.path, r.kind, r.passed, (r.detail as { evaluated?: boolean } | undefined)?.evaluated ?? true]),
      [
        ['when/0', 'all', false, true],
        ['when/0/all/0', 'match', true, true],
        ['when/0/all/1', 'not', false, true],
        ['when/0/all/1/not', 'compare', true, true],
        ['when/1', 'any', false, false],
        ['when/1/any/0', 'match', false, false],
      ],
    );
    assert.equal(outcome.failed?.path, 'when/0/all/1');
    assert.match(describeConditionFailure(outcome), /^when\/0\/all\/1 \(not\) did not hold/);
  });

  it('holds an any when one of its conditions holds, leaving the rest unevaluated', () => {
    const outcome = evaluate({ any: [{ match: { value: '{{ message.content }}', regex: 'buy' } }, { rate: { key: 'k', count: 1, per: '1s' } }] }, scope(0, context));
    assert.equal(outcome.passed, true);
    assert.equal(outcome.results[0]!.children![1]!.evaluated, false);
  });

  it('fails with the error when a template cannot be rendered, instead of guessing', () => {
    const outcome = evaluate({ compare: { value: '{% for i in (1..70000) %}x{% endfor %}', op: 'eq', to: 'x' } }, scope(0, context));
    assert.equal(outcome.passed, false);
    assert.equal(outcome.error?.code, 'CONDITION_ERROR');
    assert.match(describeConditionFailure(outcome), /could not be evaluated/);
  });
});

describe('friend-request conditions', () => {
  const now = Date.parse('2025-06-10T00:00:00Z');
  const request = { uid: '5138518', createTime: Date.parse('2025-06-07T00:00:00Z') };

  it('tells a young account from an old one', () => {
    assert.equal(evaluate({ accountYoungerThan: '7d' }, scope(now, { request })).passed, true);
    assert.equal(evaluate({ accountYoungerThan: '2d' }, scope(now, { request })).passed, false);
    const unknown = evaluate({ accountYoungerThan: '7d' }, scope(now, { request: { uid: '1' } }));
    assert.equal(unknown.passed, false);
    assert.match(String(unknown.results[0]!.detail!.reason), /no account creation time/);
  });

  it('checks the uid against a list', () => {
    assert.equal(evaluate({ uidIn: ['1', '5138518'] }, scope(now, { request })).passed, true);
    assert.equal(evaluate({ uidIn: ['1'] }, scope(now, { request })).passed, false);
  });
});
