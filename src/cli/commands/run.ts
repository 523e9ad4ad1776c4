/**
 * `rulebot run <rule-id>`: runs one rule once, now, and prints the run (with
 * `--dry-run`, every frame it would have sent, and sends none). The run is recorded in
 * the execution log like any other, with trigger `manual`; `--event` gives it trigger
 * data (a sample message for a message rule, a friend request for an audit).
 *
 * When a daemon answers on the config's http address the run goes through it, so its
 * concurrency and rate limit apply; otherwise it runs in this process, and opening the
 * log marks what a dead process left `running` as `interrupted`.
 */
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config';
import { executeRun } from '../../engine/executor';
import { compileRuleSchedule, windowTriggerData } from '../../engine/rule-schedule';
import { loadRules, type LoadedRule } from '../../rules/load';
import { WindowSchedule } from '../../schedule';
import { clockFromEnv } from '../../shared/clock';
import { RulebotError, UsageError } from '../../shared/errors';
import { didYouMean, formatProblem } from '../../shared/yaml-source';
import { defaultControlTokenFile, findDaemon, type ControlClient } from '../../ops';
import { RunStore } from '../../store/run-store';
import type { RunDetail } from '../../store/types';
import type { Rule } from '../../rules/types';
import { CommandExit, ExitCode } from '../exit';
import { addConfigOption, addJsonOption, type ConfigOptions } from '../options';
import { printJson, printLines, printNotice } from '../output';
import { formatDryRunFrames, formatRunTimeline } from '../format';
import { awaitDeliveries, openBridge, prepareInProcessRun, type OpenBridge } from '../in-process';

interface RunCommandOptions extends ConfigOptions {
  dryRun?: boolean;
  event?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('run')
    .description('run one rule once, now, and print what it did (--dry-run: what it would send)')
    .argument('<rule-id>', 'the id of the rule')
    .option('--dry-run', 'resolve targets and build every frame, but send nothing that changes the world')
    .option('--event <json>', 'trigger data as JSON, e.g. a sample message: {"groupId":"389284","senderId":"7237423","content":"hi"}');
  addConfigOption(command);
  addJsonOption(command, 'print { bridge, run } as JSON, the run with its steps, frames and ledger');
  command.addHelpText(
    'after',
    `
The rule runs in this process against the config's bridge; with bridge.url sim://
the embedded simulator is started for the run (nothing reaches a real chat).

Exit status: 0 when the run is ok, a dry run, or skipped by its conditions;
1 when it failed, went through only in part, was interrupted, or the rule or the
bridge could not be reached; 2 on a bad option.

Examples:
  rulebot run morning-greeting --dry-run
  rulebot run anti-spam --event '{"groupId":"389284","senderId":"7128348","content":"加微 123"}'
  rulebot run notice-rotation --json`,
  );
  command.action(async (ruleId: string, options: RunCommandOptions) => {
    await runRule(ruleId, options);
  });
}

async function runRule(ruleId: string, options: RunCommandOptions): Promise<void> {
  const event = parseEvent(options.event);
  const config = loadConfig({ path: options.config });
  const daemon = await findDaemon({ listen: config.http === false ? false : config.http.listen, tokenFile: defaultControlTokenFile(config.databaseFile) });
  if (daemon) {
    await runInDaemon(daemon, ruleId, event, config, options);
    return;
  }
  const loaded = findRule(config, ruleId);
  const clock = clockFromEnv();
  const store = RunStore.open(config.databaseFile, { clock, markInterrupted: true });
  const bridge = await openBridge(config, clock).catch((err: unknown) => {
    store.close();
    throw err;
  });
  const inProcess = prepareInProcessRun(bridge, store, config, clock);
  try {
    if (!options.json) {
      const interrupted = store.interruptedOnOpen?.runIds ?? [];
      if (interrupted.length > 0) printNotice(`marked ${interrupted.length} run(s) left running by a stopped process as interrupted: ${interrupted.join(', ')}`);
      printLines(bridge.description);
    }
    const data = event ?? manualTriggerData(loaded.rule, config, clock.now());
    let detail = await executeRun({
      loaded,
      trigger: { kind: 'manual', ...(data !== undefined && { data }) },
      deps: inProcess.deps,
      dryRun: options.dryRun === true,
      signal: inProcess.signal,
    });
    detail = await awaitDeliveries(detail, bridge, store);
    report(detail, config, bridge, options);
    if (!succeeded(detail)) throw new CommandExit(ExitCode.FAILED);
  } finally {
    inProcess.close();
    await bridge.close();
    store.close();
  }
}

/** ok, dry-run and skipped are what was asked for; anything else is a failure of the run. */
function succeeded(run: RunDetail): boolean {
  return run.status === 'ok' || run.status === 'dry-run' || run.status === 'skipped';
}

function parseEvent(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`--event is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError('--event must be a JSON object, e.g. {"groupId":"389284","senderId":"7237423","content":"hi"}');
  }
  return value as Record<string, unknown>;
}

/**
 * What a window rule sees when run by hand without `--event`: the window's state now,
 * as the scheduler would give it, so `muted: "{{ window.inside }}"` means what it says.
 */
function manualTriggerData(rule: Rule, config: Config, now: number): Record<string, unknown> | undefined {
  if (!('window' in rule.trigger)) return undefined;
  const compiled = compileRuleSchedule(rule, config.timezone);
  if (!compiled || !(compiled.schedule instanceof WindowSchedule)) return undefined;
  return { ...windowTriggerData(rule, compiled.schedule, now, 'reconcile') };
}

/**
 * Asks the running daemon to run the rule, so the run shares its concurrency and rate
 * limit, then prints the run from the log (the daemon answers with the run or its id).
 */
async function runInDaemon(daemon: ControlClient, ruleId: string, event: Record<string, unknown> | undefined, config: Config, options: RunCommandOptions): Promise<void> {
  if (!options.json) printLines(`Running ${ruleId} in the daemon at ${daemon.url}.`);
  const answer = await daemon.run({ rule: ruleId, ...(event !== undefined && { event }), ...(options.dryRun && { dryRun: true }) });
  const run = runFromAnswer(answer, config);
  if (!run) {
    printJson(answer);
    return;
  }
  report(run, config, { url: daemon.url, simulated: config.bridge.simulated }, options);
  if (!succeeded(run)) throw new CommandExit(ExitCode.FAILED);
}

/** The run a daemon's answer names: the run itself, or `{ runId }` / `{ id }` read back from the log. */
function runFromAnswer(answer: unknown, config: Config): RunDetail | undefined {
  if (answer === null || typeof answer !== 'object') return undefined;
  const fields = answer as Record<string, unknown>;
  if (Array.isArray(fields.steps) && typeof fields.status === 'string' && typeof fields.id === 'number') return answer as RunDetail;
  const nested = fields.run;
  if (nested !== null && typeof nested === 'object' && Array.isArray((nested as Record<string, unknown>).steps)) return nested as RunDetail;
  const id = typeof fields.runId === 'number' ? fields.runId : typeof fields.id === 'number' ? fields.id : undefined;
  if (id === undefined) return undefined;
  const store = RunStore.open(config.databaseFile, { readonly: true });
  try {
    return store.getRun(id);
  } finally {
    store.close();
  }
}

/** The rule with that id; an unknown or invalid one is told with what is there instead. */
function findRule(config: Config, ruleId: string): LoadedRule {
  const result = loadRules([config.rulesDir]);
  const found = result.rules.find((loaded) => loaded.rule.id === ruleId);
  if (found) {
    if (found.rule.enabled === false) printNotice(`rule ${ruleId} is disabled (enabled: false); running it once because it was asked for by name`);
    const others = result.problems.length;
    if (others > 0) printNotice(`${others} problem(s) in other rules (see rulebot validate); ${ruleId} is valid`);
    return found;
  }
  const invalid = result.invalidRules.find((rule) => rule.id === ruleId);
  if (invalid) {
    const problems = result.problems.filter((problem) => problem.file === invalid.file).map((problem) => `  ${formatProblem(problem)}`);
    throw new RulebotError('RULE_INVALID', [`rule ${ruleId} (${invalid.file}:${invalid.line}) is invalid and cannot run:`, ...problems].join('\n'));
  }
  const ids = result.rules.map((loaded) => loaded.rule.id);
  const hint = didYouMean(ruleId, ids);
  const known = ids.length > 0 ? `; rules in ${config.rulesDir}: ${ids.join(', ')}` : `; ${config.rulesDir} holds no valid rule`;
  throw new RulebotError('RULE_NOT_FOUND', `no rule with id "${ruleId}"${hint ? ` (did you mean "${hint}"?)` : known}`);
}

function report(run: RunDetail, config: Config, bridge: Pick<OpenBridge, 'url' | 'simulated'>, options: RunCommandOptions): void {
  if (options.json) {
    printJson({ bridge: { url: bridge.url, simulated: bridge.simulated }, run });
    return;
  }
  // Frames are long: a dry run lists them once below; `rulebot show` prints them with each step.
  printLines('', formatRunTimeline(run, { timezone: config.timezone, frames: false }));
  if (options.dryRun) printLines('', formatDryRunFrames(run));
  printLines('', `Recorded as run ${run.id}: rulebot show ${run.id}`);
}
