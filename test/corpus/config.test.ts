/**
 * Broken config files, each beside its expected outcome: a ConfigError naming the file,
 * and every problem at its line with the key it is about; or, where the file itself is
 * fine but the daemon cannot use it, the daemon's refusal.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { formatProblem } from '../../src/shared/yaml-source';
import { caseNames, compareProblems, corpusDir, prepare, readJson, runCli, tempDir, type ExpectedProblem, type Preparation } from './helpers';

interface ConfigExpectation {
  description: string;
  /** Whether loadConfig accepts the file. */
  loads: boolean;
  problems?: ExpectedProblem[];
  prepare?: Preparation;
  /** A file loadConfig accepts but `rulebot start` refuses. */
  daemonRefuses?: { exit: number; messageIncludes: string };
}

const cases = caseNames('config').map((name) => ({ name, expect: readJson<ConfigExpectation>(path.join(corpusDir, 'config', `${name}.expect.json`)) }));

/** The folder a case is read from: the corpus, or a temp copy when the file is prepared first. */
function caseDir(name: string, preparation: Preparation | undefined): string {
  if (preparation === undefined) return path.join(corpusDir, 'config');
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, `${name}.yaml`), prepare(fs.readFileSync(path.join(corpusDir, 'config', `${name}.yaml`), 'utf8'), preparation));
  return dir;
}

describe('the bad-input corpus: config files', () => {
  it('has a case for every kind of mistake the corpus promises', () => {
    assert.ok(cases.length >= 10, `only ${cases.length} config cases`);
    for (const { name } of cases) assert.ok(fs.existsSync(path.join(corpusDir, 'config', `${name}.yaml`)), `${name}.expect.json has no ${name}.yaml beside it`);
  });

  for (const { name, expect } of cases) {
    it(`${name}: ${expect.description}`, () => {
      const file = `${name}.yaml`;
      // An empty environment: ${NAME} cases must not depend on the machine's.
      const load = () => loadConfig({ path: file, cwd: caseDir(name, expect.prepare), env: {} });
      if (expect.loads) {
        load();
        return;
      }
      let error: unknown;
      try {
        load();
      } catch (err) {
        error = err;
      }
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.equal(error.code, 'CONFIG_INVALID');
      assert.equal(error.file, file);
      for (const problem of error.problems) assert.equal(problem.file, file, formatProblem(problem));
      const diff = compareProblems(error.problems, expect.problems ?? []);
      assert.equal(diff, undefined, diff);
      // The message an operator sees lists every problem as file:line:col  message.
      const lines = error.message.split('\n');
      assert.equal(lines[0], `${file} has ${error.problems.length === 1 ? '1 problem' : `${error.problems.length} problems`}:`);
      assert.deepEqual(lines.slice(1), error.problems.map((problem) => `  ${formatProblem(problem)}`));
    });
  }

  for (const { name, expect } of cases.filter((c) => c.expect.daemonRefuses)) {
    it(`${name}: rulebot start refuses it and exits ${expect.daemonRefuses!.exit}`, { timeout: 60_000 }, async () => {
      const dir = tempDir();
      fs.copyFileSync(path.join(corpusDir, 'config', `${name}.yaml`), path.join(dir, 'config.yaml'));
      fs.mkdirSync(path.join(dir, 'rules'));
      const result = await runCli(['start', '--config', 'config.yaml'], dir);
      assert.equal(result.code, expect.daemonRefuses!.exit, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
      assert.ok(result.stderr.includes(expect.daemonRefuses!.messageIncludes), `stderr:\n${result.stderr}`);
      assert.doesNotMatch(result.stdout + result.stderr, /uncaughtException|unhandledRejection|\n\s+at /, 'a clear message, not a crash');
    });
  }
});
