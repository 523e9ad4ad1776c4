import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadRules, loadRuleText } from '../../src/rules/load';
import { formatProblem } from '../../src/shared/yaml-source';
import { repoRoot } from './helpers';

const MODELINE = '# yaml-language-server: $schema=../schema/rules.schema.json';

describe('example rules in rules/', () => {
  const files = readdirSync(path.join(repoRoot, 'rules')).filter((name) => /\.ya?ml$/.test(name));

  it('all validate', () => {
    const result = loadRules(['rules'], { cwd: repoRoot });
    assert.deepEqual(result.problems.map(formatProblem), []);
    assert.deepEqual(result.invalidRules, []);
    const ids = result.rules.map((loaded) => loaded.rule.id);
    for (const id of ['morning-greeting', 'demo-heartbeat', 'night-mode', 'anti-spam', 'notice-rotation', 'friend-audit']) {
      assert.ok(ids.includes(id), `missing example rule ${id}`);
    }
  });

  for (const name of files) {
    it(`${name} starts with the schema modeline`, () => {
      const text = readFileSync(path.join(repoRoot, 'rules', name), 'utf8');
      assert.equal(text.split('\n')[0], MODELINE);
    });
  }
});

describe('rule examples in docs/rules.md', () => {
  const doc = readFileSync(path.join(repoRoot, 'docs', 'rules.md'), 'utf8');
  // A block fenced as ```yaml rule holds one or more complete rules.
  const blocks = [...doc.matchAll(/^```yaml rule\n([\s\S]*?)^```$/gm)].map((match) => ({
    text: match[1] as string,
    line: doc.slice(0, match.index).split('\n').length + 1,
  }));

  it('has examples', () => {
    assert.ok(blocks.length >= 20, `only ${blocks.length} rule blocks`);
  });

  for (const block of blocks) {
    it(`the block at docs/rules.md:${block.line} validates`, () => {
      const result = loadRuleText(`docs/rules.md@${block.line}`, block.text);
      assert.deepEqual(result.problems.map(formatProblem), []);
      assert.ok(result.rules.length > 0);
    });
  }
});
