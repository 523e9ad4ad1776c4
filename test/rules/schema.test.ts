import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { buildRulesJsonSchema, renderRulesJsonSchema, RULES_SCHEMA_FILE } from '../../src/rules/generate-schema';
import { loadRules } from '../../src/rules/load';
import { parseYamlSource } from '../../src/shared/yaml-source';
import { repoRoot } from './helpers';

describe('schema/rules.schema.json', () => {
  it('is in sync with src/rules/schema.ts (run `npm run schema` when this fails)', () => {
    const committed = readFileSync(path.join(repoRoot, RULES_SCHEMA_FILE), 'utf8');
    // A plain boolean: the files are ~100 KB, too long for a readable diff here.
    assert.ok(committed === renderRulesJsonSchema(), `${RULES_SCHEMA_FILE} is out of date: run npm run schema`);
  });

  it('accepts every example rule, as an editor checking them would', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(buildRulesJsonSchema());
    const { rules, files } = loadRules(['rules'], { cwd: repoRoot });
    assert.ok(rules.length > 0);
    // The documents as written, which is what an editor sees.
    const documents = files.flatMap((file) => parseYamlSource(file, readFileSync(path.join(repoRoot, file), 'utf8')).documents);
    assert.equal(documents.length, rules.length);
    for (const doc of documents) {
      assert.ok(validate(doc.value), `${doc.file}#${doc.index}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it('rejects what the validator rejects: an unknown action kind', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(buildRulesJsonSchema());
    assert.equal(validate({ id: 'x', trigger: { manual: true }, actions: [{ sned: { to: { group: 1 }, text: 'hi' } }] }), false);
  });
});
