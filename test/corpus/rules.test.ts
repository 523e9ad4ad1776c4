/**
 * Broken rule files, each beside its expected outcome: every problem at its line and
 * column with a clear message, the valid rules beside the broken ones still loaded, and
 * nothing — a huge file, an alias bomb, deep nesting, binary garbage — that throws.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { validateSources } from '../../src/rules/validate';
import { formatProblem } from '../../src/shared/yaml-source';
import {
  caseNames,
  compareProblems,
  corpusDir,
  generateRuleFile,
  prepare,
  readJson,
  runCli,
  tempDir,
  type ExpectedProblem,
  type Generator,
  type Preparation,
} from './helpers';

interface RuleExpectation {
  description: string;
  /** What `rulebot validate` exits with: 1 when there is any problem. */
  exit: 0 | 1;
  problems?: ExpectedProblem[];
  /** For generated garbage, where the exact problems are the parser's business. */
  eachProblem?: { messageMatches: string };
  /** Ids of the rules that load (in file order). */
  valid?: string[];
  validCount?: number;
  generate?: Generator;
  prepare?: Preparation;
  /** Also checked through `rulebot validate` in a child process. */
  cli?: boolean;
}

interface RuleCase {
  name: string;
  expect: RuleExpectation;
  /** Folder holding `<name>.yaml` as validated (the corpus, or a temp folder for made files). */
  dir: string;
}

/** Cases whose file is generated or prepared are written to one temp folder, under their own name. */
function loadCases(): RuleCase[] {
  let made: string | undefined;
  return caseNames('rules').map((name) => {
    const expect = readJson<RuleExpectation>(path.join(corpusDir, 'rules', `${name}.expect.json`));
    if (expect.generate === undefined && expect.prepare === undefined) return { name, expect, dir: path.join(corpusDir, 'rules') };
    made ??= tempDir();
    const content = expect.generate ? generateRuleFile(expect.generate) : prepare(fs.readFileSync(path.join(corpusDir, 'rules', `${name}.yaml`), 'utf8'), expect.prepare);
    fs.writeFileSync(path.join(made, `${name}.yaml`), content);
    return { name, expect, dir: made };
  });
}

const cases = loadCases();

describe('the bad-input corpus: rule files', () => {
  it('has a case for every kind of mistake the corpus promises', () => {
    assert.ok(cases.length >= 18, `only ${cases.length} rule cases`);
    for (const { name } of cases.filter((c) => c.expect.generate === undefined)) {
      assert.ok(fs.existsSync(path.join(corpusDir, 'rules', `${name}.yaml`)), `${name}.expect.json has no ${name}.yaml beside it`);
    }
  });

  for (const { name, expect, dir } of cases) {
    it(`${name}: ${expect.description}`, () => {
      const file = `${name}.yaml`;
      const report = validateSources([file], { cwd: dir });
      const problems = report.problems;

      for (const problem of problems) assert.equal(problem.file, file, formatProblem(problem));
      if (expect.problems) {
        const diff = compareProblems(problems, expect.problems);
        assert.equal(diff, undefined, diff);
      }
      if (expect.eachProblem) {
        assert.ok(problems.length > 0, 'garbage reported no problem');
        const pattern = new RegExp(expect.eachProblem.messageMatches);
        for (const problem of problems) assert.match(problem.message, pattern, formatProblem(problem));
      }
      assert.equal(problems.length > 0 ? 1 : 0, expect.exit, 'the exit status validate would give');

      // Nothing is lost silently: a file with problems has rules left out, and the valid ones load.
      if (expect.valid) assert.deepEqual(report.valid.map((rule) => rule.id), expect.valid);
      if (expect.validCount !== undefined) assert.equal(report.valid.length, expect.validCount);
      if (problems.length > 0) assert.ok(report.invalid.length > 0, 'problems reported, but no rule counted as left out');
      for (const invalid of report.invalid) assert.equal(invalid.file, file);
    });
  }

  it('rulebot validate prints the same problems as file:line:col  message and exits 1', { timeout: 120_000 }, async () => {
    const broken = cases.filter((c) => c.expect.cli && c.expect.exit === 1);
    assert.ok(broken.length >= 4, 'a handful of cases go through the command line');
    const dir = tempDir();
    for (const { name, dir: from } of broken) fs.copyFileSync(path.join(from, `${name}.yaml`), path.join(dir, `${name}.yaml`));

    const result = await runCli(['validate', ...broken.map(({ name }) => `${name}.yaml`)], dir);
    assert.equal(result.code, 1, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    assert.equal(result.stderr, '');
    const lines = result.stdout.split('\n');
    for (const { name, expect } of broken) {
      for (const problem of expect.problems ?? []) {
        const prefix = `${name}.yaml:${problem.line}:${problem.col}  `;
        const found = lines.find((line) => line.startsWith(prefix) && (problem.message === undefined || line === prefix + problem.message));
        assert.ok(found, `no line ${prefix}${problem.message ?? '…'}\nstdout:\n${result.stdout}`);
      }
      // The rules beside the broken ones are listed as valid.
      for (const id of expect.valid ?? []) assert.match(result.stdout, new RegExp(`^  ${id}\\s+${name}\\.yaml:\\d+`, 'm'));
    }
  });

  it('rulebot validate exits 0 on a file with a byte order mark', { timeout: 60_000 }, async () => {
    const bom = cases.find((c) => c.expect.cli && c.expect.exit === 0);
    assert.ok(bom);
    const result = await runCli(['validate', `${bom.name}.yaml`], bom.dir);
    assert.equal(result.code, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
    assert.match(result.stdout, /^1 valid rule:/m);
  });
});
