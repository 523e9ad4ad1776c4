import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRegistry, escapeLabelValue, formatValue } from '../../src/ops/metrics';
import { OpsError } from '../../src/ops/errors';
import { parseExposition, sampleValue } from './exposition';

function code(expected: string): (err: unknown) => boolean {
  return (err) => err instanceof OpsError && err.code === expected;
}

describe('metrics registry', () => {
  it('renders an empty registry as nothing', () => {
    assert.equal(new MetricsRegistry().render(), '');
  });

  it('renders a counter without labels as 0 before anything is counted', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'x_total', help: 'Things.' });
    assert.equal(registry.render(), '# HELP x_total Things.\n# TYPE x_total counter\nx_total 0\n');
  });

  it('counts by label set and renders every line so a strict parser accepts it', () => {
    const registry = new MetricsRegistry();
    const runs = registry.counter({ name: 'runs_total', help: 'Runs.', labelNames: ['rule', 'status'] });
    runs.inc({ rule: 'a', status: 'ok' });
    runs.inc({ rule: 'a', status: 'ok' }, 2);
    runs.inc({ status: 'failed', rule: 'b' });
    const families = parseExposition(registry.render());
    assert.equal(families.get('runs_total')?.type, 'counter');
    assert.equal(families.get('runs_total')?.help, 'Runs.');
    assert.equal(sampleValue(families, 'runs_total', { rule: 'a', status: 'ok' }), 3);
    assert.equal(sampleValue(families, 'runs_total', { rule: 'b', status: 'failed' }), 1);
    assert.equal(runs.get({ rule: 'a', status: 'ok' }), 3);
    assert.equal(runs.get({ rule: 'z', status: 'ok' }), 0);
    // Labels render in the declared order, whatever order the caller wrote them in.
    assert.match(registry.render(), /^runs_total\{rule="b",status="failed"\} 1$/m);
  });

  it('escapes backslash, double quote and newline in label values, and the parser reads them back', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter({ name: 'odd_total', help: 'Odd labels.', labelNames: ['v'] });
    const nasty = 'a\\b"c\nd}e,f=g';
    c.inc({ v: nasty });
    const text = registry.render();
    assert.ok(text.includes('odd_total{v="a\\\\b\\"c\\nd}e,f=g"} 1\n'), text);
    assert.equal(sampleValue(parseExposition(text), 'odd_total', { v: nasty }), 1);
    assert.equal(escapeLabelValue('\\"\n'), '\\\\\\"\\n');
  });

  it('escapes backslash and newline in help text', () => {
    const registry = new MetricsRegistry();
    registry.gauge({ name: 'g', help: 'two\nlines with a \\ and "quotes"' });
    const text = registry.render();
    assert.ok(text.startsWith('# HELP g two\\nlines with a \\\\ and "quotes"\n'), text);
    assert.equal(parseExposition(text).get('g')?.help, 'two\nlines with a \\ and "quotes"');
  });

  it('sets, raises and lowers gauges', () => {
    const registry = new MetricsRegistry();
    const g = registry.gauge({ name: 'level', help: 'Level.' });
    g.set(5);
    g.inc();
    g.dec(2.5);
    assert.equal(g.get(), 3.5);
    assert.equal(sampleValue(parseExposition(registry.render()), 'level'), 3.5);
  });

  it('reads a gauge from its collect callback at every render', () => {
    const registry = new MetricsRegistry();
    let size = 3;
    registry.gauge({ name: 'queue', help: 'Queue.', collect: () => size });
    assert.equal(sampleValue(parseExposition(registry.render()), 'queue'), 3);
    size = 7;
    assert.equal(sampleValue(parseExposition(registry.render()), 'queue'), 7);
  });

  it('reads a labelled counter from a collect callback attached later', () => {
    const registry = new MetricsRegistry();
    const frames = registry.counter({ name: 'frames_total', help: 'Frames.', labelNames: ['type'] });
    frames.collectFrom(() => [
      { labels: { type: 'request' }, value: 4 },
      { labels: { type: 'sendMsg' }, value: 2 },
    ]);
    const families = parseExposition(registry.render());
    assert.equal(sampleValue(families, 'frames_total', { type: 'request' }), 4);
    assert.equal(sampleValue(families, 'frames_total', { type: 'sendMsg' }), 2);
    assert.equal(frames.get({ type: 'sendMsg' }), 2);
  });

  it('leaves out, and warns about, what a collect callback gets wrong, without failing the render', () => {
    const warnings: string[] = [];
    const registry = new MetricsRegistry({ onWarning: (message) => warnings.push(message) });
    registry.gauge({
      name: 'broken',
      help: 'Throws.',
      collect: () => {
        throw new Error('source gone');
      },
    });
    registry.counter({ name: 'negative_total', help: 'Goes down.', collect: () => -1 });
    registry.counter({
      name: 'mixed_total',
      help: 'One good, one bad.',
      labelNames: ['k'],
      collect: () => [
        { labels: { k: 'good' }, value: 1 },
        { labels: { k: 'bad' }, value: NaN },
      ],
    });
    registry.gauge({ name: 'fine', help: 'Fine.', collect: () => 1 });
    const families = parseExposition(registry.render());
    assert.deepEqual(families.get('broken')?.samples, []);
    assert.deepEqual(families.get('negative_total')?.samples, []);
    assert.equal(families.get('mixed_total')?.samples.length, 1);
    assert.equal(sampleValue(families, 'fine'), 1);
    assert.equal(warnings.length, 3);
  });

  it('renders histograms with cumulative buckets, an inclusive le, +Inf, _sum and _count', () => {
    const registry = new MetricsRegistry();
    const h = registry.histogram({ name: 'lat_seconds', help: 'Latency.', labelNames: ['kind'], buckets: [0.005, 0.1, 1] });
    for (const v of [0.001, 0.005, 0.05, 0.5, 2, 40]) h.observe({ kind: 'send' }, v);
    h.observe({ kind: 'read' }, 0.2);
    const text = registry.render();
    const families = parseExposition(text);
    const send = (le: string): number | undefined => sampleValue(families, 'lat_seconds_bucket', { kind: 'send', le });
    assert.equal(send('0.005'), 2, 'a value equal to a bound counts in that bucket');
    assert.equal(send('0.1'), 3);
    assert.equal(send('1'), 4);
    assert.equal(send('+Inf'), 6);
    assert.equal(sampleValue(families, 'lat_seconds_count', { kind: 'send' }), 6);
    assert.ok(Math.abs(sampleValue(families, 'lat_seconds_sum', { kind: 'send' })! - 42.556) < 1e-9);
    assert.equal(sampleValue(families, 'lat_seconds_bucket', { kind: 'read', le: '0.1' }), 0);
    assert.equal(sampleValue(families, 'lat_seconds_bucket', { kind: 'read', le: '1' }), 1);
    assert.match(text, /^lat_seconds_bucket\{kind="send",le="\+Inf"\} 6$/m);
    assert.deepEqual(h.snapshot({ kind: 'read' }).buckets.map((b) => b.count), [0, 0, 1, 1]);
  });

  it('renders a histogram without labels with zero counts before any observation', () => {
    const registry = new MetricsRegistry();
    registry.histogram({ name: 'h', help: 'H.', buckets: [1, 2] });
    const families = parseExposition(registry.render());
    assert.deepEqual(
      families.get('h')?.samples.map((s) => [s.name, s.labels.le, s.value]),
      [
        ['h_bucket', '1', 0],
        ['h_bucket', '2', 0],
        ['h_bucket', '+Inf', 0],
        ['h_sum', undefined, 0],
        ['h_count', undefined, 0],
      ],
    );
  });

  it('refuses bad names, repeated names, bad buckets, and a histogram label named le', () => {
    const registry = new MetricsRegistry();
    assert.throws(() => registry.counter({ name: '1bad', help: 'x' }), code('METRIC_INVALID'));
    assert.throws(() => registry.counter({ name: 'ok_total', help: 'x', labelNames: ['bad-label'] }), code('METRIC_INVALID'));
    assert.throws(() => registry.counter({ name: 'ok_total', help: 'x', labelNames: ['__reserved'] }), code('METRIC_INVALID'));
    assert.throws(() => registry.counter({ name: 'ok_total', help: 'x', labelNames: ['a', 'a'] }), code('METRIC_INVALID'));
    assert.throws(() => registry.histogram({ name: 'h', help: 'x', buckets: [] }), code('METRIC_INVALID'));
    assert.throws(() => registry.histogram({ name: 'h', help: 'x', buckets: [1, 1] }), code('METRIC_INVALID'));
    assert.throws(() => registry.histogram({ name: 'h', help: 'x', buckets: [1, Infinity] }), code('METRIC_INVALID'));
    assert.throws(() => registry.histogram({ name: 'h', help: 'x', labelNames: ['le'], buckets: [1] }), code('METRIC_INVALID'));
    registry.histogram({ name: 'h', help: 'x', buckets: [1] });
    assert.throws(() => registry.gauge({ name: 'h', help: 'x' }), code('METRIC_DUPLICATE'));
    assert.throws(() => registry.gauge({ name: 'h_sum', help: 'x' }), code('METRIC_DUPLICATE'));
    assert.deepEqual(registry.names, ['h']);
  });

  it('refuses samples whose labels or values are wrong', () => {
    const registry = new MetricsRegistry();
    const labelled = registry.counter({ name: 'l_total', help: 'x', labelNames: ['rule'] });
    const plain = registry.counter({ name: 'p_total', help: 'x' });
    const h = registry.histogram({ name: 'h', help: 'x', buckets: [1] });
    assert.throws(() => labelled.inc({ rule: 'a', extra: 'b' } as unknown as { rule: string }), code('METRIC_BAD_LABELS'));
    assert.throws(() => labelled.inc({} as unknown as { rule: string }), code('METRIC_BAD_LABELS'));
    assert.throws(() => labelled.inc({ rule: 1 } as unknown as { rule: string }), code('METRIC_BAD_LABELS'));
    assert.throws(() => plain.inc(-1), code('METRIC_BAD_VALUE'));
    assert.throws(() => plain.inc(NaN), code('METRIC_BAD_VALUE'));
    assert.throws(() => h.observe(Infinity), code('METRIC_BAD_VALUE'));
    // The compiler catches the same mistakes first.
    // @ts-expect-error a labelled counter needs its labels
    assert.throws(() => labelled.inc(), code('METRIC_BAD_LABELS'));
    // @ts-expect-error a counter without labels takes none
    assert.throws(() => plain.inc({ rule: 'a' }), code('METRIC_BAD_LABELS'));
    // @ts-expect-error an unknown label name
    assert.throws(() => labelled.inc({ rul: 'a' }), code('METRIC_BAD_LABELS'));
    assert.equal(parseExposition(registry.render()).get('l_total')?.samples.length, 0);
  });

  it('drops new label sets beyond maxSeries, with one warning', () => {
    const warnings: Array<Record<string, unknown>> = [];
    const registry = new MetricsRegistry({ onWarning: (_m, details) => warnings.push(details) });
    const c = registry.counter({ name: 'c_total', help: 'x', labelNames: ['id'], maxSeries: 2 });
    for (const id of ['a', 'b', 'c', 'd']) c.inc({ id });
    c.inc({ id: 'a' });
    assert.deepEqual(
      parseExposition(registry.render()).get('c_total')?.samples.map((s) => [s.labels.id, s.value]),
      [
        ['a', 2],
        ['b', 1],
      ],
    );
    assert.deepEqual(warnings, [{ metric: 'c_total', maxSeries: 2 }]);
  });

  it('spells special values as the format does', () => {
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue(-Infinity), '-Inf');
    assert.equal(formatValue(NaN), 'NaN');
    assert.equal(formatValue(-0), '0');
    assert.equal(formatValue(1e21), '1e+21');
    assert.equal(formatValue(0.1), '0.1');
  });
});

describe('the exposition parser used by these tests', () => {
  it('rejects what the format does not allow', () => {
    const bad = [
      'x 1', // no trailing newline
      '# TYPE x counter\nx 1\n\n', // empty line
      'x 1\n', // sample before TYPE
      '# TYPE x counter\nx{a="1",a="2"} 1\n', // repeated label
      '# TYPE x counter\nx{a="\\t"} 1\n', // unknown escape
      '# TYPE x counter\nx one\n', // not a float
      '# TYPE x counter\nx 1\nx 2\n', // duplicate series
      '# TYPE x gauge\n# TYPE y gauge\nx 1\n', // interleaved families
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 0\nh_count 1\n', // not cumulative
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 0\nh_count 1\n', // no +Inf
      '# a comment\n',
    ];
    for (const text of bad) assert.throws(() => parseExposition(text), Error, JSON.stringify(text));
  });
});
