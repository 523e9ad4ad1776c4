import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateTemplate, parseTemplate, renderDeep, renderTemplate, TemplateError, templateReferences } from '../../src/rules/templates';

const NOON_UTC = new Date('2024-07-01T12:00:00Z');

describe('templates', () => {
  it('format now in the time zone given to the render', () => {
    const template = parseTemplate('{{ now | date: "%Y-%m-%d %H:%M" }}');
    assert.equal(renderTemplate(template, { now: NOON_UTC }, { timezone: 'Asia/Shanghai' }), '2024-07-01 20:00');
    assert.equal(renderTemplate(template, { now: NOON_UTC }, { timezone: 'America/New_York' }), '2024-07-01 08:00');
    assert.equal(renderTemplate(template, { now: new Date('2024-12-31T20:30:00Z') }, { timezone: 'Asia/Shanghai' }), '2025-01-01 04:30');
  });

  it('render context values', () => {
    const template = parseTemplate('早上好，{{ target.name }}！{{ vars.greeting | default: "hi" }}');
    assert.equal(renderTemplate(template, { target: { name: 'sales-1' }, vars: {} }), '早上好，sales-1！hi');
  });

  it('pass text without {{ or {% through untouched', () => {
    const text = 'plain {text} with } braces';
    assert.equal(renderTemplate(parseTemplate(text), {}), text);
  });

  it('keep the type of a lone output with evaluateTemplate', () => {
    assert.deepEqual(evaluateTemplate(parseTemplate('{{ list }}'), { list: [1, 2] }), [1, 2]);
    assert.equal(evaluateTemplate(parseTemplate('{{ window.inside }}'), { window: { inside: true } }), true);
    assert.equal(evaluateTemplate(parseTemplate('n={{ n }}'), { n: 3 }), 'n=3');
  });

  it('render every string inside a value with renderDeep', () => {
    const data = { groupId: '{{ message.groupId }}', op: 12, nested: ['{{ n }}', 'x'] };
    assert.deepEqual(renderDeep(data, { message: { groupId: '389284' }, n: 2 }), { groupId: '389284', op: 12, nested: [2, 'x'] });
  });

  it('reject an unknown filter at parse time, with its position', () => {
    assert.throws(
      () => parseTemplate('line one\n  {{ name | shout }}'),
      (err: unknown) => err instanceof TemplateError && err.code === 'TEMPLATE_INVALID' && err.message === 'undefined filter: shout' && err.line === 2 && err.col === 3,
    );
  });

  it('refuse tags that would read files', () => {
    for (const tag of ['include', 'render', 'layout']) {
      assert.throws(() => parseTemplate(`{% ${tag} "secrets" %}`), /not available in rule templates/);
    }
  });

  it('bound the output of a render', () => {
    const template = parseTemplate('{% for i in (1..100000) %}xxxxxxxx{% endfor %}');
    assert.throws(() => renderTemplate(template, {}), (err: unknown) => err instanceof TemplateError && err.code === 'TEMPLATE_RENDER');
  });

  it('list the context paths a template reads', () => {
    const template = parseTemplate('{{ steps.verdict.verdict }}{% assign x = 1 %}{{ x }}{{ request.uid }}');
    assert.deepEqual(templateReferences(template), [
      ['steps', 'verdict', 'verdict'],
      ['request', 'uid'],
    ]);
  });
});
