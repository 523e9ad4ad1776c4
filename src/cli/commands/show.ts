/**
 * `rulebot show <run>`: one run as a timeline: its trigger, each condition's result, and
 * each step with its target, input, exact frame, answer, delivery, timing and note.
 * `--json` prints the whole record. Reads the database only, so it works while the
 * daemon is down.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config';
import { RulebotError } from '../../shared/errors';
import { addConfigOption, addJsonOption, type ConfigOptions } from '../options';
import { printJson, printLines } from '../output';
import { formatRunTimeline } from '../format';
import { openForReading } from './runs';

interface ShowOptions extends ConfigOptions {
  json?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('show')
    .description('show one run as a timeline: conditions, steps, frames, answers, deliveries')
    .argument('<run>', 'the run id, as `rulebot runs` lists it', parseRunId);
  addConfigOption(command);
  addJsonOption(command, 'print the whole run record (steps and ledger included) as JSON');
  command.addHelpText(
    'after',
    `
Exit status: 0 when the run was found, 1 when it was not (or the log could not be
read), 2 on a bad option.

Examples:
  rulebot show 42
  rulebot show 42 --json`,
  );
  command.action(async (runId: number, options: ShowOptions) => {
    const config = loadConfig({ path: options.config });
    const store = openForReading(config);
    if (!store) throw new RulebotError('RUN_NOT_FOUND', `run ${runId} is not recorded: there is no execution log yet`);
    try {
      const run = store.getRun(runId);
      if (!run) throw new RulebotError('RUN_NOT_FOUND', `run ${runId} is not in the execution log ${config.databaseFile} (rulebot runs lists the runs)`);
      if (options.json) printJson(run);
      else printLines(formatRunTimeline(run, { timezone: config.timezone }));
    } finally {
      store.close();
    }
  });
}

function parseRunId(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a run id (a whole number).');
  return Number(value);
}
