import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/shared/log';

/** A destination that keeps what is written, as pino's own tests do. */
function sink(): { stream: Writable; text: () => string; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const text = (): string => chunks.join('');
  const lines = (): Array<Record<string, unknown>> =>
    text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { stream, text, lines };
}

describe('createLogger', () => {
  it('writes one JSON line per entry, with child bindings and errors under err', () => {
    const out = sink();
    const log = createLogger({ destination: out.stream });
    log.child({ component: 'bridge' }).error({ err: new Error('refused') }, 'connection lost');
    const [line] = out.lines();
    assert.equal(line?.msg, 'connection lost');
    assert.equal(line?.component, 'bridge');
    assert.equal(line?.level, 50);
    assert.equal((line?.err as { message: string }).message, 'refused');
    assert.match(String(line?.time), /^\d{4}-\d\d-\d\dT/);
  });

  it('redacts tokens, passwords and authorization headers', () => {
    const out = sink();
    const log = createLogger({ destination: out.stream });
    log.info({ token: 't0', control: { token: 't1', password: 'p1' }, request: { headers: { authorization: 'Bearer x' } } }, 'secrets');
    const text = out.text();
    for (const secret of ['t0', 't1', 'p1', 'Bearer x']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    const [line] = out.lines();
    assert.deepEqual(line?.control, { token: '[redacted]', password: '[redacted]' });
    assert.deepEqual(line?.request, { headers: { authorization: '[redacted]' } });
  });

  it('leaves out entries below the level', () => {
    const out = sink();
    const log = createLogger({ level: 'warn', destination: out.stream });
    log.info('quiet');
    log.warn('loud');
    assert.deepEqual(
      out.lines().map((line) => line.msg),
      ['loud'],
    );
  });

  it('writes human-readable lines when asked to be pretty', () => {
    const out = sink();
    const log = createLogger({ pretty: true, destination: out.stream });
    log.info({ token: 'secret-value' }, 'hello there');
    const text = out.text();
    assert.match(text, /INFO.*hello there/);
    assert.ok(!text.trimStart().startsWith('{'), 'pretty output is not JSON');
    assert.ok(!text.includes('secret-value'));
  });
});
