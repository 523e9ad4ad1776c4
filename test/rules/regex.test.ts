import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRegex, RegexError } from '../../src/rules/regex';

describe('compileRegex', () => {
  it('finds a match anywhere, like RegExp.test', () => {
    const re = compileRegex('加微|代理|https?://');
    assert.equal(re.test('欢迎新朋友'), false);
    assert.equal(re.test('找代理吗'), true);
    assert.equal(re.test('see https://example.com'), true);
    assert.deepEqual(compileRegex('(\\d+)-(\\d+)').exec('tel 010-1234'), ['010-1234', '010', '1234']);
  });

  it('takes the flags i, m and s', () => {
    assert.equal(compileRegex('vx', 'i').test('加VX'), true);
    assert.equal(compileRegex('^b', 'm').test('a\nb'), true);
    assert.equal(compileRegex('a.b', 's').test('a\nb'), true);
    assert.throws(() => compileRegex('a', 'g'), /unknown flag "g"/);
  });

  it('rejects backreferences, naming the reason', () => {
    for (const pattern of ['(a)\\1', '(?<w>a)\\k<w>']) {
      assert.throws(
        () => compileRegex(pattern),
        (err: unknown) => err instanceof RegexError && err.code === 'REGEX_INVALID' && /backreferences are not supported/.test(err.message),
      );
    }
  });

  it('rejects lookarounds, naming the reason', () => {
    for (const pattern of ['a(?=b)', 'a(?!b)', '(?<=a)b', '(?<!a)b']) {
      assert.throws(() => compileRegex(pattern), /lookahead and lookbehind are not supported/);
    }
  });

  it('does not mistake an escaped backslash or a class for a backreference', () => {
    assert.equal(compileRegex('\\\\1').test('\\1'), true);
    assert.equal(compileRegex('[\\d]1').test('21'), true);
  });

  it('reports RE2 syntax errors', () => {
    assert.throws(() => compileRegex('[abc'), /invalid regex "\[abc": missing closing \]/);
  });

  it('runs a pattern that backtracking engines take exponential time on, in linear time', () => {
    const re = compileRegex('^(a+)+$');
    const started = process.hrtime.bigint();
    assert.equal(re.test(`${'a'.repeat(5000)}!`), false);
    // Not a timing assertion: the point is that this returns at all.
    assert.ok(process.hrtime.bigint() > started);
  });
});
