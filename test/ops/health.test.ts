import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { healthBody, isHealthy } from '../../src/ops/health';
import { healthyReport } from './helpers';

describe('health', () => {
  it('is healthy only when the bridge is ready and the scheduler alive', () => {
    const report = healthyReport();
    assert.equal(isHealthy(report), true);
    report.bridge.ready = false;
    assert.equal(isHealthy(report), false);
    report.bridge.ready = true;
    report.scheduler.alive = false;
    assert.equal(isHealthy(report), false);
  });

  it('stays healthy with invalid rules, and lists them', () => {
    const report = healthyReport();
    report.rules.invalid = [{ file: 'rules/a.yaml', line: 1, col: 2, message: 'bad' }];
    const body = healthBody(report);
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.rules.invalid, report.rules.invalid);
  });

  it('spells times as ISO-8601, and null for never', () => {
    const report = healthyReport();
    report.lastError = { message: 'bridge answered busy', at: Date.UTC(2025, 5, 1, 12) };
    report.scheduler.lastTickAt = null;
    const body = healthBody(report);
    assert.deepEqual(body.lastError, { message: 'bridge answered busy', at: '2025-06-01T12:00:00.000Z' });
    assert.equal(body.scheduler.lastTickAt, null);
    assert.equal(body.bridge.lastAnswerAt, '2025-01-02T03:04:05.000Z');
  });
});
