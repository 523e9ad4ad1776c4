import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { formatNextReport, nextReport } from '../../src/cli/commands/next';
import { formatZoned } from '../../src/engine/rule-schedule';
import { runCli, tempDir } from '../cli/helpers';
import { rules } from './trigger-fixtures';

const RULES = `
id: daily
trigger: { cron: "30 2 * * *" }
actions: [ { log: { message: x } } ]
---
id: night
timezone: Asia/Shanghai
trigger:
  window: { start: "23:00", end: "07:00" }
actions: [ { log: { message: x } } ]
---
id: chat
trigger: { message: { chat: group } }
actions: [ { log: { message: x } } ]
---
id: paused
enabled: false
trigger: { every: 15m }
actions: [ { log: { message: x } } ]
`;

describe('rulebot next', () => {
  it('formats instants in a zone with their UTC offset', () => {
    assert.equal(formatZoned(Date.parse('2026-03-08T07:00:00Z'), 'America/New_York'), '2026-03-08 03:00:00 -04:00');
    assert.equal(formatZoned(Date.parse('2026-03-08T06:59:59Z'), 'America/New_York'), '2026-03-08 01:59:59 -05:00');
    assert.equal(formatZoned(Date.parse('2026-01-01T00:00:00Z'), 'Asia/Kolkata'), '2026-01-01 05:30:00 +05:30');
  });

  it('lists the next fires of scheduled rules, window states, and event rules as on event', () => {
    const report = nextReport(rules(RULES), { now: Date.parse('2026-03-07T17:00:00Z'), count: 2, defaultTimezone: 'America/New_York' });
    const [daily, night, chat, paused] = report.rules;
    assert.deepEqual(daily!.fires, [
      { at: '2026-03-08T07:00:00.000Z', local: '2026-03-08 03:00:00 -04:00' },
      { at: '2026-03-09T06:30:00.000Z', local: '2026-03-09 02:30:00 -04:00' },
    ]);
    assert.equal(daily!.timezone, 'America/New_York');
    assert.deepEqual(night!.window, { inside: true, since: '2026-03-07T15:00:00.000Z', nextEdge: '2026-03-07T23:00:00.000Z' });
    assert.deepEqual(night!.fires!.map((fire) => [fire.local, fire.edge]), [
      ['2026-03-08 07:00:00 +08:00', 'close'],
      ['2026-03-08 23:00:00 +08:00', 'open'],
    ]);
    assert.equal(chat!.onEvent, 'an incoming message');
    assert.equal(paused!.enabled, false);
    assert.equal(paused!.fires, undefined);

    const text = formatNextReport(report, 'America/New_York');
    assert.ok(text.includes('  2026-03-08 03:00:00 -04:00 (America/New_York)'));
    assert.ok(text.includes('  now inside since 2026-03-07 23:00:00 +08:00'));
    assert.ok(text.includes('chat  message: on event (an incoming message)'));
  });

  it('runs from the command line with RULEBOT_NOW, and exits 1 for an unknown rule', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'rules'));
    fs.writeFileSync(path.join(dir, 'rules', 'rules.yaml'), RULES);
    fs.writeFileSync(path.join(dir, 'config.yaml'), 'bridge: { url: "sim://" }\ntimezone: America/New_York\nrules: ./rules\n');
    const env = { RULEBOT_NOW: '2026-03-07T12:00:00Z' };

    const one = await runCli(['next', 'daily', '--count', '1'], { cwd: dir, env });
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^daily {2}cron "30 2 \* \* \*" in America\/New_York\n {2}2026-03-08 03:00:00 -04:00 \(America\/New_York\)$/m);

    const json = await runCli(['next', '--json', '--count', '1'], { cwd: dir, env });
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { now: string; rules: Array<{ id: string }> };
    assert.equal(parsed.now, '2026-03-07T12:00:00.000Z');
    assert.deepEqual(parsed.rules.map((rule) => rule.id), ['daily', 'night', 'chat', 'paused']);

    const unknown = await runCli(['next', 'dayly'], { cwd: dir, env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no rule with id "dayly" \(did you mean "daily"\?\)/);
  });
});
