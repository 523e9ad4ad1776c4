/**
 * Writes schema/rules.schema.json, the JSON Schema editors use for rule files, from
 * schema.ts. Run with `npm run schema`; a test fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULE_SCHEMA_DEFINITIONS, RuleSchema } from './schema';

/** Where the editor schema lives, relative to the repository root. */
export const RULES_SCHEMA_FILE = join('schema', 'rules.schema.json');

const DEFINITIONS_PREFIX = '#/definitions/';

/**
 * The editor schema as a plain JSON value (draft-07). TypeBox's recursive schemas refer
 * to each other by bare `$id` (`"$ref": "Action"`); editors resolve JSON pointers more
 * reliably, so the definitions move under `definitions` and the refs point there.
 */
export function buildRulesJsonSchema(): Record<string, unknown> {
  const names = new Set(Object.keys(RULE_SCHEMA_DEFINITIONS));
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (key === '$id' && typeof child === 'string' && names.has(child)) continue;
      if (key === '$ref' && typeof child === 'string' && names.has(child)) out[key] = DEFINITIONS_PREFIX + child;
      else out[key] = rewrite(child);
    }
    return out;
  };
  const definitions: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(RULE_SCHEMA_DEFINITIONS)) definitions[name] = rewrite(schema);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    ...(rewrite(RuleSchema) as Record<string, unknown>),
    definitions,
  };
}

/** The file's exact text: two-space JSON and a final newline, so regenerating is a no-op. */
export function renderRulesJsonSchema(): string {
  return `${JSON.stringify(buildRulesJsonSchema(), null, 2)}\n`;
}

/** Writes the schema file under `root` and returns its path. */
export function writeRulesJsonSchema(root: string): string {
  const file = join(root, RULES_SCHEMA_FILE);
  writeFileSync(file, renderRulesJsonSchema());
  return file;
}

if (require.main === module) {
  // dist/src/rules/generate-schema.js → the repository root is three levels up.
  const file = writeRulesJsonSchema(join(__dirname, '..', '..', '..'));
  process.stdout.write(`wrote ${file}\n`);
}
