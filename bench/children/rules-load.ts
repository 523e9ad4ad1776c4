/**
 * One rules-loading run in a fresh process started with --expose-gc: time and memory of
 * reading every rule file under a folder, the result kept alive while memory is read.
 *
 *   node --expose-gc rules-load.js <yaml|validate|load> <dir>
 *
 * - yaml: the baseline, plain `yaml` parsing of the same files (parseAllDocuments, toJS).
 * - validate: `validateSources`, what `rulebot validate` runs.
 * - load: `loadRules`, what the daemon runs at start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseAllDocuments } from 'yaml';
import { loadRules } from '../../src/rules/load';
import { validateSources } from '../../src/rules/validate';
import { childMain, collectGarbage, megabytes } from '../lib/system';

export type RulesLoadMode = 'yaml' | 'validate' | 'load';

export interface RulesLoadResult {
  mode: RulesLoadMode;
  ms: number;
  /** RSS with the result alive (after gc), and its growth from before, MB. */
  rssMb: number;
  rssGrowthMb: number;
  heapGrowthMb: number;
  rules: number;
  problems: number;
  firstProblem?: string;
}

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return yamlFiles(full);
      return /\.ya?ml$/.test(entry.name) ? [full] : [];
    });
}

function parsePlain(dir: string): { documents: unknown[]; problems: number } {
  const documents: unknown[] = [];
  let problems = 0;
  for (const file of yamlFiles(dir)) {
    for (const doc of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      problems += doc.errors.length;
      documents.push(doc.toJS());
    }
  }
  return { documents, problems };
}

/** Keeps the result reachable until memory has been read. */
let kept: unknown;

async function main(args: string[]): Promise<RulesLoadResult> {
  const [mode, dir] = args;
  if ((mode !== 'yaml' && mode !== 'validate' && mode !== 'load') || !dir) throw new Error('usage: rules-load <yaml|validate|load> <dir>');
  collectGarbage();
  const before = process.memoryUsage();
  const t0 = performance.now();
  let rules: number;
  let problems: string[];
  if (mode === 'yaml') {
    const parsed = parsePlain(dir);
    kept = parsed;
    rules = parsed.documents.length;
    problems = parsed.problems > 0 ? [`${parsed.problems} YAML errors`] : [];
  } else if (mode === 'validate') {
    const report = validateSources([dir]);
    kept = report;
    rules = report.valid.length;
    problems = report.problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.message}`);
  } else {
    const loaded = loadRules([dir]);
    kept = loaded;
    rules = loaded.rules.length;
    problems = loaded.problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.message}`);
  }
  const ms = performance.now() - t0;
  collectGarbage();
  const after = process.memoryUsage();
  const result: RulesLoadResult = {
    mode,
    ms,
    rssMb: megabytes(after.rss),
    rssGrowthMb: megabytes(after.rss - before.rss),
    heapGrowthMb: megabytes(after.heapUsed - before.heapUsed),
    rules,
    problems: problems.length,
    ...(problems[0] !== undefined && { firstProblem: problems[0] }),
  };
  if (kept === undefined) throw new Error('nothing was loaded');
  return result;
}

childMain(main);
