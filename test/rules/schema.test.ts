import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { buildRulesJsonSchema, renderRulesJsonSchema, RULES_SCHEMA_FILE } from '../../src/rules/generate-schema';
import { loadRules } from '../../src/rules/load';
import { repoRoot } from './helpers';

describe('schema/rules.schema.json', () => {
  it('is in sync with src/rules/schema.ts (run `npm run schema` when this fails)', () => {
    const committed = readFileSync(path.join(repoRoot, RULES_SCHEMA_FILE), 'utf8');
    // A plain boolean: the files are ~100 KB, too long for a readable diff here.
    assert.ok(committed === renderRulesJsonSchema(), `${RULES_SCHEMA_FILE} is out of date: run npm run schema`);
  });

  it('accepts every example rule, as an editor checking them would', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(buildRulesJsonSchema());
    const { rules } = loadRules(['rules'], { cwd: repoRoot });
    assert.ok(rules.length > 0);
    for (const { source, rule } of rules) {
      assert.ok(validate(source.value), `${rule.id}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it('rejects what the validator rejects: an unknown action kind', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(buildRulesJsonSchema());
    assert.equal(validate({ id: 'x', trigger: { manual: true }, actions: [{ sned: { to: { group: 1 }, text: 'hi' } }] }), false);
  });
});
