import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ACTION_DURATION_BUCKETS, collectDaemonMetrics, createDaemonMetrics } from '../../src/ops/daemon-metrics';
import { parseExposition, sampleValue } from './exposition';

describe('daemon metrics', () => {
  it('registers the daemon metric set with its types', () => {
    const metrics = createDaemonMetrics();
    const families = parseExposition(metrics.registry.render());
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
    assert.deepEqual(types, {
      rulebot_runs_total: 'counter',
      rulebot_action_duration_seconds: 'histogram',
      rulebot_frames_sent_total: 'counter',
      rulebot_bridge_reconnects_total: 'counter',
      rulebot_rate_limit_waits_total: 'counter',
      rulebot_delivery_failures_total: 'counter',
      rulebot_bridge_ready: 'gauge',
      rulebot_rules_loaded: 'gauge',
      rulebot_rules_invalid: 'gauge',
      rulebot_scheduler_queue_size: 'gauge',
    });
    for (const family of families.values()) assert.ok(family.help !== undefined && family.help.length > 0, family.name);
  });

  it('times actions in seconds from 5 ms to 30 s', () => {
    const metrics = createDaemonMetrics();
    assert.equal(ACTION_DURATION_BUCKETS[0], 0.005);
    assert.equal(ACTION_DURATION_BUCKETS[ACTION_DURATION_BUCKETS.length - 1], 30);
    metrics.actionDuration.observe({ kind: 'send' }, 0.042);
    metrics.runs.inc({ rule: 'morning-greeting', status: 'ok' });
    metrics.deliveryFailures.inc();
    const families = parseExposition(metrics.registry.render());
    assert.equal(sampleValue(families, 'rulebot_action_duration_seconds_bucket', { kind: 'send', le: '0.05' }), 1);
    assert.equal(sampleValue(families, 'rulebot_action_duration_seconds_bucket', { kind: 'send', le: '0.025' }), 0);
    assert.equal(sampleValue(families, 'rulebot_runs_total', { rule: 'morning-greeting', status: 'ok' }), 1);
    assert.equal(sampleValue(families, 'rulebot_delivery_failures_total'), 1);
  });

  it('reads the bridge, the rate limiter, the rules and the scheduler from their sources at each scrape', () => {
    const metrics = createDaemonMetrics();
    const bridge = { state: 'reconnecting', framesSent: { request: 3, sendMsg: 2 } as Record<string, number>, reconnects: 1 };
    collectDaemonMetrics(metrics, {
      bridge: () => bridge,
      rateLimit: () => ({ waited: 4 }),
      rules: () => ({ loaded: 5, invalid: 1 }),
      schedulerQueueSize: () => 9,
    });
    let families = parseExposition(metrics.registry.render());
    assert.equal(sampleValue(families, 'rulebot_bridge_ready'), 0);
    assert.equal(sampleValue(families, 'rulebot_bridge_reconnects_total'), 1);
    assert.equal(sampleValue(families, 'rulebot_frames_sent_total', { type: 'sendMsg' }), 2);
    assert.equal(sampleValue(families, 'rulebot_rate_limit_waits_total'), 4);
    assert.equal(sampleValue(families, 'rulebot_rules_loaded'), 5);
    assert.equal(sampleValue(families, 'rulebot_rules_invalid'), 1);
    assert.equal(sampleValue(families, 'rulebot_scheduler_queue_size'), 9);
    bridge.state = 'ready';
    bridge.framesSent.sendMsg = 6;
    families = parseExposition(metrics.registry.render());
    assert.equal(sampleValue(families, 'rulebot_bridge_ready'), 1);
    assert.equal(sampleValue(families, 'rulebot_frames_sent_total', { type: 'sendMsg' }), 6);
  });
});
