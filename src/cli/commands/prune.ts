/**
 * `rulebot prune`: applies the retention policy to the execution log once, with the
 * ages of the config's `retention` unless options override them, and prints what was
 * (or, with --dry-run, would be) deleted per status. Safe while the daemon runs: it
 * deletes in short transactions and waits for the daemon's writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig } from '../../config';
import { clockFromEnv } from '../../shared/clock';
import {
  DEFAULT_KEEP_PER_RULE_AND_STATUS,
  PRUNABLE_STATUSES,
  RETENTION_CLASS,
  RunStore,
  pruneRuns,
  type PrunePolicy,
  type PruneResult,
  type RetentionClass,
} from '../../store';
import { CommandExit, ExitCode } from '../exit';
import { addConfigOption, addJsonOption, parseDurationArgument, type ConfigOptions } from '../options';
import { printJson, printLines, printNotice } from '../output';
import { onShutdownRequest } from '../signals';

interface PruneCommandOptions extends ConfigOptions {
  olderThan?: number;
  failedOlderThan?: number;
  keep: number;
  dryRun?: boolean;
  json?: boolean;
}

/** The ages a prune applies, in milliseconds. */
export interface PruneAges {
  ok: number;
  failed: number;
}

/**
 * The ages of one prune: `--older-than` sets both, `--failed-older-than` sets the
 * failures' age and wins over `--older-than` for them; what neither sets comes from the
 * config's `retention`.
 */
export function resolvePruneAges(options: { olderThan?: number; failedOlderThan?: number }, retention: { okMs: number; failedMs: number }): PruneAges {
  return {
    ok: options.olderThan ?? retention.okMs,
    failed: options.failedOlderThan ?? options.olderThan ?? retention.failedMs,
  };
}

export function register(program: Command): void {
  const command = program
    .command('prune')
    .description('delete old runs from the execution log, keeping the newest of each rule and status and the lifetime counts')
    .addOption(
      new Option(
        '--older-than <duration>',
        'age after which ok, skipped, missed and dry-run runs are deleted; also sets the age of failures unless --failed-older-than is given (default: retention.ok of the config)',
      ).argParser(parseDurationArgument),
    )
    .addOption(
      new Option(
        '--failed-older-than <duration>',
        'age after which failed, partial and interrupted runs are deleted (default: --older-than when given, else retention.failed of the config)',
      ).argParser(parseDurationArgument),
    )
    .addOption(
      new Option('--keep <n>', 'newest runs of each rule and status kept whatever their age')
        .argParser(parseKeepArgument)
        .default(DEFAULT_KEEP_PER_RULE_AND_STATUS),
    )
    .option('--dry-run', 'count what would be deleted and change nothing');
  addConfigOption(command);
  addJsonOption(command, 'print { dryRun, database, policy, deleted, total, batches, keptByFloor, aborted } as JSON');
  command.addHelpText(
    'after',
    `
Which runs go:
  A finished run is deleted when it started longer ago than the age of its status
  and is not among the newest --keep runs of its rule with that status. Runs still
  running are never deleted. Deleted runs take their steps and broadcast ledger with
  them and are added to the lifetime counts, so totals per rule stay the same.

  status                              age
  ok, skipped, missed, dry-run        --older-than, else retention.ok (default 30d)
  failed, partial, interrupted        --failed-older-than, else --older-than,
                                      else retention.failed (default 180d)

  So --older-than alone sets both ages; add --failed-older-than to keep failures
  longer (or shorter) than the rest.

Durations: 500ms, 10s, 2m, 1h, 7d, 2w.
Exit status: 0 when done, 1 when the prune failed or was stopped, 2 on a bad option.

Examples:
  rulebot prune --dry-run
  rulebot prune --older-than 90d --failed-older-than 365d
  rulebot prune --older-than 14d --keep 5 --json`,
  );
  command.action(async (options: PruneCommandOptions) => {
    await prune(options);
  });
}

async function prune(options: PruneCommandOptions): Promise<void> {
  const config = loadConfig({ path: options.config });
  const ages = resolvePruneAges(options, config.retention);
  const policy: PrunePolicy = { ok: ages.ok, failed: ages.failed, keepPerRuleAndStatus: options.keep };
  const dryRun = options.dryRun ?? false;
  const now = clockFromEnv().now();
  const database = config.databaseFile;

  if (!fs.existsSync(database)) {
    // Nothing recorded yet; a prune must not create the file.
    const empty = emptyResult(dryRun);
    if (options.json) printJson(jsonReport(database, now, ages, options.keep, empty));
    else printLines(`No execution log at ${shownPath(database)} yet: nothing to prune.`);
    return;
  }

  // A dry run reads only, so it can never change the file (nor migrate it).
  const store = RunStore.open(database, { readonly: dryRun });
  const controller = new AbortController();
  const unsubscribe = onShutdownRequest(() => controller.abort());
  let result: PruneResult;
  try {
    result = await pruneRuns(store, policy, now, { dryRun, signal: controller.signal });
  } finally {
    unsubscribe();
    store.close();
  }

  if (options.json) printJson(jsonReport(database, now, ages, options.keep, result));
  else printReport(database, ages, options.keep, result);
  if (result.aborted) {
    printNotice(`stopped before the end; the ${result.total} runs reported were deleted, the rest are as they were`);
    throw new CommandExit(ExitCode.FAILED);
  }
}

function parseKeepArgument(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of 0 or more.');
  return Number(value);
}

function printReport(database: string, ages: PruneAges, keep: number, result: PruneResult): void {
  const runs = plural(result.total, 'run');
  const head = result.dryRun
    ? `Would delete ${runs} from ${shownPath(database)}:`
    : `Deleted ${runs} from ${shownPath(database)}${result.batches > 0 ? ` in ${plural(result.batches, 'batch', 'batches')}` : ''}:`;
  const width = Math.max(...PRUNABLE_STATUSES.map((status) => status.length));
  const countWidth = Math.max(...PRUNABLE_STATUSES.map((status) => String(result.deleted[status]).length));
  const lines = [head];
  for (const status of PRUNABLE_STATUSES) {
    lines.push(`  ${status.padEnd(width)}  ${String(result.deleted[status]).padStart(countWidth)}  older than ${exactDuration(ageOf(ages, RETENTION_CLASS[status]))}`);
  }
  if (keep > 0) {
    lines.push(`Kept ${plural(result.keptByFloor, 'run')} past their age as the newest ${keep} of their rule and status; running runs are never deleted.`);
  } else {
    lines.push('Running runs are never deleted.');
  }
  printLines(...lines);
}

function jsonReport(database: string, now: number, ages: PruneAges, keep: number, result: PruneResult): unknown {
  return {
    dryRun: result.dryRun,
    database,
    now: new Date(now).toISOString(),
    policy: { okMs: ages.ok, failedMs: ages.failed, ok: exactDuration(ages.ok), failed: exactDuration(ages.failed), keepPerRuleAndStatus: keep },
    deleted: result.deleted,
    total: result.total,
    batches: result.batches,
    keptByFloor: result.keptByFloor,
    aborted: result.aborted,
  };
}

function emptyResult(dryRun: boolean): PruneResult {
  const deleted = Object.fromEntries(PRUNABLE_STATUSES.map((status) => [status, 0])) as PruneResult['deleted'];
  return { deleted, total: 0, batches: 0, keptByFloor: 0, dryRun, aborted: false };
}

function ageOf(ages: PruneAges, retentionClass: RetentionClass): number {
  return retentionClass === 'ok' ? ages.ok : ages.failed;
}

const UNITS: ReadonlyArray<[unit: string, millis: number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** A duration in the largest unit that writes it exactly: 90m stays "90m" rather than rounding to "2h". */
function exactDuration(millis: number): string {
  for (const [unit, size] of UNITS) {
    if (millis > 0 && millis % size === 0) return `${millis / size}${unit}`;
  }
  return `${millis}ms`;
}

function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

/** A path as the operator would type it: relative to the working folder when inside it. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
