import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadRules } from '../../src/rules/load';
import { formatProblem } from '../../src/shared/yaml-source';
import { locate, repoRoot } from './helpers';

const DIR = 'test/rules/fixtures/invalid';
const text = (file: string) => readFileSync(path.join(repoRoot, DIR, file), 'utf8');

interface Expected {
  file: string;
  /** The text the problem points at; `after` makes it unique. */
  at: string;
  after?: string;
  message: string;
}

/** Every mistake in the fixtures, with where it is and what the validator says. */
function expectedProblems(): Expected[] {
  const duplicateInSyntax = locate(text('syntax.yaml'), 'fixture-first');
  const duplicateInShape = locate(text('shape.yaml'), 'fixture-first');
  const regexAdvice = 'RE2 (linear-time matching) does not support it; rewrite the pattern without it';
  return [
    // shape.yaml: schema mistakes
    { file: 'shape.yaml', at: 'sned', message: 'unknown action kind "sned" (did you mean "send"?)' },
    { file: 'shape.yaml', at: 'txet', message: 'unknown key "txet" in actions[1].send (did you mean "text"?)' },
    { file: 'shape.yaml', at: '[1, 2]', message: 'actions[2].delay.for must be a duration such as 500ms, 30s, 5m, 1h or 7d, got a list' },
    { file: 'shape.yaml', at: '{ level: warn }', message: 'actions[3].log is missing required key "message"' },
    { file: 'shape.yaml', at: 'id: fixture-no-trigger', message: 'the rule is missing required key "trigger"' },
    { file: 'shape.yaml', at: 'crn', message: 'unknown trigger kind "crn" (did you mean "cron"?)' },
    {
      file: 'shape.yaml',
      at: 'fixture-first',
      message: `duplicate rule id "fixture-first": also used at ${DIR}/syntax.yaml:${duplicateInSyntax.line}:${duplicateInSyntax.col}`,
    },
    // meaning.yaml: semantic mistakes
    { file: 'meaning.yaml', at: '"0 25 * * *"', message: 'cron "0 25 * * *" is not valid: Constraint error, got value 25 expected range 0-23' },
    { file: 'meaning.yaml', at: 'Asia/Shanghia', message: 'unknown time zone "Asia/Shanghia" (use an IANA name such as Asia/Shanghai or UTC)' },
    { file: 'meaning.yaml', at: '"(\\\\w+) \\\\1"', message: `invalid regex "(\\w+) \\1": backreferences are not supported: ${regexAdvice}` },
    { file: 'meaning.yaml', at: 'steps.member |', message: 'steps.member refers to no action id defined before this point (did you mean "members"?)' },
    { file: 'meaning.yaml', at: "{{ now | date: '%H:%M' | shout }}", message: 'template: undefined filter: shout' },
    {
      file: 'meaning.yaml',
      at: '{{ rule.id }}',
      message: 'a value that starts with {{ must be quoted: YAML reads {{ ... }} as a map; put the whole value in quotes',
    },
    {
      file: 'meaning.yaml',
      at: 'note',
      after: '"first"',
      message: `duplicate action id "note" (first used at line ${locate(text('meaning.yaml'), 'id: note').line}): action ids name results and must be unique in a rule`,
    },
    { file: 'meaning.yaml', at: '45d', message: 'a member mute lasts at most 30d; got 45d' },
    { file: 'meaning.yaml', at: '10 minutes', message: 'actions[3].delay.for must be a duration such as 500ms, 30s, 5m, 1h or 7d, got the string "10 minutes"' },
    // syntax.yaml: YAML syntax, and the other half of the duplicate id
    { file: 'syntax.yaml', at: 'is broken', message: 'YAML syntax: Unexpected scalar at node end (a value that starts with {{ must be quoted)' },
    {
      file: 'syntax.yaml',
      at: 'fixture-first',
      message: `duplicate rule id "fixture-first": also used at ${DIR}/shape.yaml:${duplicateInShape.line}:${duplicateInShape.col} (this one is left out)`,
    },
  ];
}

function expectedLines(): string[] {
  return expectedProblems().map(({ file, at, after, message }) => {
    const { line, col } = locate(text(file), at, after);
    return `${DIR}/${file}:${line}:${col}  ${message}`;
  });
}

describe('invalid rule fixtures', () => {
  const result = loadRules([DIR], { cwd: repoRoot });

  it('report every mistake at its file:line:col, and nothing else', () => {
    assert.deepEqual(result.problems.map(formatProblem).sort(), expectedLines().sort());
  });

  it('cover at least eight kinds of mistake across three files', () => {
    const codes = new Set(result.problems.map((problem) => problem.code));
    assert.ok(codes.size >= 8, [...codes].join(', '));
    assert.equal(new Set(result.problems.map((problem) => problem.file)).size, 3);
  });

  it('still load the valid rules beside the broken ones', () => {
    assert.deepEqual(result.rules.map((loaded) => loaded.rule.id).sort(), [
      'fixture-after-syntax',
      'fixture-before-syntax',
      'fixture-first',
      'fixture-last',
      'fixture-valid-middle',
    ]);
    const first = result.rules.find((loaded) => loaded.rule.id === 'fixture-first');
    assert.equal(first?.file, `${DIR}/shape.yaml`);
  });

  it('list each rule left out', () => {
    const ids = result.invalidRules.map((rule) => rule.id ?? `${path.basename(rule.file)}#${rule.index}`).sort();
    assert.deepEqual(ids, [
      'fixture-cron',
      'fixture-first',
      'fixture-ids',
      'fixture-no-trigger',
      'fixture-regex',
      'fixture-shape',
      'fixture-templates',
      'fixture-timezone',
      'fixture-unknown-trigger',
      'syntax.yaml#1',
    ]);
  });
});

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.RULEBOT_CONFIG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'rulebot.js'), ...args], { cwd: repoRoot, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('rulebot validate (child process)', () => {
  it('exits 1 and prints every problem as file:line:col  message', async () => {
    const { code, stdout } = await runCli(['validate', DIR]);
    assert.equal(code, 1);
    const printed = stdout.split('\n');
    for (const line of expectedLines()) assert.ok(printed.includes(line), `missing line: ${line}\n--- got:\n${stdout}`);
    assert.match(stdout, /5 valid rules:/);
    assert.match(stdout, /10 invalid rules, 18 problems/);
  });

  it('exits 0 on the example rules', async () => {
    const { code, stdout, stderr } = await runCli(['validate', 'rules']);
    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /morning-greeting\s+rules\/morning-greeting\.yaml:\d+/);
  });

  it('prints { valid, problems } with --json', async () => {
    const { code, stdout } = await runCli(['validate', DIR, '--json']);
    assert.equal(code, 1);
    const report = JSON.parse(stdout) as { valid: Array<{ id: string }>; problems: Array<{ file: string; line: number; col: number; message: string }> };
    assert.equal(report.valid.length, 5);
    assert.equal(report.problems.length, expectedProblems().length);
  });
});
