/**
 * `npm run soak [-- --seed <n>] [--duration <seconds>] [--rules <n>] [--log-dir <dir>]`:
 * the fault-injection soak from the command line. Prints the report and exits 1 when
 * the checker found any violation (2 on bad arguments). Without `--seed` the seed is
 * random and printed first, so a failure can be replayed.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, runSoak } from './soak';

const USAGE = 'usage: node dist/test/soak/run.js [--seed <n>] [--duration <seconds>] [--after-restart <seconds>] [--rules <n>] [--log-dir <dir>] [--no-kill]';

function wholeNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number >= 0, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse().values;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  let seed: number;
  let durationS: number;
  let rules: number;
  let afterRestartS: number | undefined;
  try {
    seed = wholeNumber('seed', values.seed, Math.floor(Math.random() * 2 ** 31));
    durationS = wholeNumber('duration', values.duration, 90);
    rules = wholeNumber('rules', values.rules, 50);
    afterRestartS = values['after-restart'] === undefined ? undefined : wholeNumber('after-restart', values['after-restart'], 0);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const logDir = path.resolve(values['log-dir'] ?? path.join(os.tmpdir(), `rulebot-soak-${seed}-${Date.now()}`));
  process.stdout.write(`soak seed ${seed} (replay with: npm run soak -- --seed ${seed})\n`);
  const report = await runSoak({
    seed,
    durationMs: durationS * 1000,
    rules,
    killAndRestart: values['no-kill'] !== true,
    logDir,
    ...(afterRestartS !== undefined && { afterRestartMs: afterRestartS * 1000 }),
    progress: (line) => process.stdout.write(`  ${line}\n`),
  });
  process.stdout.write(`${formatReport(report)}\n`);
  return report.ok ? 0 : 1;
}

function parse() {
  return parseArgs({
    options: {
      seed: { type: 'string' },
      duration: { type: 'string' },
      'after-restart': { type: 'string' },
      rules: { type: 'string' },
      'log-dir': { type: 'string' },
      'no-kill': { type: 'boolean' },
    },
    strict: true,
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soak failed to run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
