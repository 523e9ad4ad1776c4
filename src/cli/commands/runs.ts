/**
 * `rulebot runs`: the execution log as a table, newest first: what ran, when, how long,
 * how it ended and why. Reads the database only (opened read-only), so it works while
 * the daemon is down, and beside a running one.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadConfig, type Config } from '../../config';
import { clockFromEnv } from '../../shared/clock';
import { parseDuration } from '../../shared/duration';
import { StoreError } from '../../store/errors';
import { RunStore } from '../../store/run-store';
import { RUN_STATUSES, type RunFilter, type RunStatus } from '../../store/types';
import { addConfigOption, addJsonOption, type ConfigOptions } from '../options';
import { printJson, printLines, printNotice } from '../output';
import { formatRunsTable } from '../format';

interface RunsOptions extends ConfigOptions {
  rule?: string;
  status?: RunStatus;
  /** Epoch ms, parsed from a duration or an instant. */
  since?: number;
  limit: number;
  json?: boolean;
}

const DEFAULT_LIMIT = 50;

export function register(program: Command): void {
  const command = program
    .command('runs')
    .description('list recorded runs, newest first (works while the daemon is down)')
    .option('--rule <id>', 'only runs of this rule')
    .addOption(new Option('--status <status>', 'only runs with this outcome').choices([...RUN_STATUSES]))
    .addOption(
      new Option('--since <when>', 'only runs started since then: a duration back from now (1h, 2d) or an ISO-8601 instant').argParser((value) =>
        parseSince(value, clockFromEnv().now()),
      ),
    )
    .addOption(new Option('--limit <n>', 'how many runs at most').argParser(parseLimit).default(DEFAULT_LIMIT));
  addConfigOption(command);
  addJsonOption(command, 'print the runs as a JSON list');
  command.addHelpText(
    'after',
    `
Exit status: 0 when the log could be read (an empty or missing log included), 1 when
it could not, 2 on a bad option.

Examples:
  rulebot runs
  rulebot runs --rule morning-greeting --since 1d
  rulebot runs --status failed --limit 10 --json`,
  );
  command.action(async (options: RunsOptions) => {
    listRuns(options);
  });
}

function listRuns(options: RunsOptions): void {
  const config = loadConfig({ path: options.config });
  const filter: RunFilter = { limit: options.limit };
  if (options.rule !== undefined) filter.ruleId = options.rule;
  if (options.status !== undefined) filter.status = options.status;
  if (options.since !== undefined) filter.since = options.since;

  const store = openForReading(config);
  if (!store) {
    if (options.json) printJson([]);
    else printLines(`No execution log at ${config.databaseFile} yet: no run has been recorded.`);
    return;
  }
  try {
    const runs = store.listRuns(filter);
    if (options.json) printJson(runs);
    else if (runs.length === 0) printLines(`No runs${describeFilter(options)}.`);
    else printLines(formatRunsTable(runs, config.timezone));
  } finally {
    store.close();
  }
}

/** The log opened read-only, or undefined when there is none yet (said on stderr). */
export function openForReading(config: Config): RunStore | undefined {
  try {
    return RunStore.open(config.databaseFile, { readonly: true });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'STORE_NOT_FOUND') {
      printNotice(`no execution log at ${config.databaseFile}: nothing has run with this config yet`);
      return undefined;
    }
    throw err;
  }
}

/** `--since`: a duration back from `now`, or an instant. */
export function parseSince(value: string, now: number): number {
  try {
    return now - parseDuration(value);
  } catch {
    // Not a duration: an instant, then.
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) throw new InvalidArgumentError(`--since "${value}" is neither a duration (1h, 2d) nor an ISO-8601 instant (2025-06-01T09:00:00+08:00)`);
  return at;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return limit;
}

function describeFilter(options: RunsOptions): string {
  const parts: string[] = [];
  if (options.rule !== undefined) parts.push(`of rule ${options.rule}`);
  if (options.status !== undefined) parts.push(`with status ${options.status}`);
  if (options.since !== undefined) parts.push(`since ${new Date(options.since).toISOString()}`);
  return parts.length > 0 ? ` ${parts.join(' ')}` : ' recorded yet';
}
