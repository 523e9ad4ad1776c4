/**
 * `rulebot resume <run>`: finishes a broadcast that stopped half-way (a crash, a shutdown
 * deadline, a bridge that went away). The resume is a new run, trigger `resume`, that
 * sends only to the targets the original run's ledger shows the message never left for;
 * targets whose delivery is unknown (in flight when the process died) are skipped unless
 * `--resend-unknown` says the operator accepts that they may get it twice.
 *
 * Like `rulebot run`, it goes through the daemon when one answers on the config's http
 * address (its concurrency and rate limit apply), and otherwise runs in this process,
 * marking what a dead process left `running` as `interrupted` first.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Config } from '../../config';
import { executeRun } from '../../engine/executor';
import { checkResumable, resumedLedgerOf, summarizeResume, unknownTargets, type ResumedLedger, type ResumeSummary, type ResumeTarget } from '../../engine/resume';
import { defaultControlTokenFile, findDaemon, type ControlClient } from '../../ops';
import { loadRules, type LoadedRule } from '../../rules/load';
import { clockFromEnv, type Clock } from '../../shared/clock';
import { isRulebotError } from '../../shared/errors';
import { RunStore } from '../../store/run-store';
import type { RunDetail } from '../../store/types';
import { CommandExit, ExitCode } from '../exit';
import { formatDryRunFrames, formatRunTimeline } from '../format';
import { awaitDeliveries, openBridge, prepareInProcessRun } from '../in-process';
import { addConfigOption, addJsonOption, type ConfigOptions } from '../options';
import { printJson, printLines, printNotice } from '../output';

interface ResumeCommandOptions extends ConfigOptions {
  resendUnknown?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** Where the resume ran, for the report. */
interface Where {
  url: string;
  simulated: boolean;
  daemon: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('resume')
    .description('finish an interrupted broadcast: send only to the targets it had not reached')
    .argument('<run>', 'the id of the run to resume (see rulebot runs --status interrupted)', parseRunId)
    .option('--resend-unknown', 'also send to targets whose delivery is unknown (in flight when the run stopped): they may get the message twice')
    .option('--dry-run', 'resolve targets and build every frame the resume would send, but send nothing');
  addConfigOption(command);
  addJsonOption(command, 'print { bridge, original, run, summary } as JSON');
  command.addHelpText(
    'after',
    `
The resume is a new run (trigger "resume") of the same rule. Per target, the original
run's ledger decides:
  planned, or failed before its frame was written   sent now
  accepted, delivered                                never sent again
  unknown (in flight when the process stopped)       skipped; --resend-unknown sends it
  failed after its frame went out                    skipped
A run can be resumed again (after a resume that was cut off too, or with
--resend-unknown after a plain one): what its earlier resumes sent counts as sent.
Its rule must be as it was when the run started. Through the running daemon when one
answers on the config's http address; in this process otherwise.

Exit status: 0 when the resume went through (or there was nothing left to send);
1 when the run cannot be resumed (unknown, still running or being resumed, itself a
resume, its rule changed) or the resume failed; 2 on a bad option.

Examples:
  rulebot resume 42
  rulebot resume 42 --dry-run
  rulebot resume 42 --resend-unknown --json`,
  );
  command.action(async (runId: number, options: ResumeCommandOptions) => {
    await resume(runId, options);
  });
}

/** A run id: a positive whole number. */
function parseRunId(value: string): number {
  const id = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(id) || id < 1) throw new InvalidArgumentError('expected a run id (a positive whole number).');
  return id;
}

async function resume(runId: number, options: ResumeCommandOptions): Promise<void> {
  const config = loadConfig({ path: options.config });
  const daemon = await findDaemon({ listen: config.http === false ? false : config.http.listen, tokenFile: defaultControlTokenFile(config.databaseFile) });
  try {
    if (daemon) await resumeInDaemon(daemon, runId, config, options);
    else await resumeInProcess(runId, config, options);
  } catch (err) {
    // Nothing left to send is what the operator wanted to know, not a failure.
    if (!isRulebotError(err) || err.code !== 'NOTHING_TO_RESUME') throw err;
    if (options.json) printJson({ original: runId, run: null, nothingToSend: err.message });
    else printLines(`${err.message}. Nothing was sent.`);
  }
}

// === Through the daemon ===

async function resumeInDaemon(daemon: ControlClient, runId: number, config: Config, options: ResumeCommandOptions): Promise<void> {
  if (!options.json) printLines(`Resuming run ${runId} in the daemon at ${daemon.url}.`);
  // The daemon checks the run; the warning names the targets from the log as the resume will read it.
  if (options.resendUnknown) {
    const before = readLog(config, (log) => resumedLedgerOf(log, runId));
    if (before) warnResendUnknown(before);
  }
  const answer = await daemon.resume({ run: runId, ...(options.resendUnknown && { resendUnknown: true }), ...(options.dryRun && { dryRun: true }) });
  const run = runOfAnswer(answer) ?? readAnsweredRun(answer, config);
  if (!run) {
    printJson(answer);
    return;
  }
  const before = readLog(config, (log) => resumedLedgerOf(log, runId, { exclude: run.id }));
  report(before, run, config, { url: daemon.url, simulated: config.bridge.simulated, daemon: true }, options);
}

/** The run a daemon's answer holds (`{ runId, run }`). */
function runOfAnswer(answer: unknown): RunDetail | undefined {
  if (answer === null || typeof answer !== 'object') return undefined;
  const run = (answer as { run?: unknown }).run;
  if (run === null || typeof run !== 'object' || !Array.isArray((run as { steps?: unknown }).steps)) return undefined;
  return run as RunDetail;
}

/** The run an answer names only by id, read back from the log. */
function readAnsweredRun(answer: unknown, config: Config): RunDetail | undefined {
  const id = answer !== null && typeof answer === 'object' ? (answer as { runId?: unknown }).runId : undefined;
  return typeof id === 'number' ? readLog(config, (log) => log.getRun(id)) : undefined;
}

/** Reads the log read-only (the daemon holds it open for writing); undefined when it cannot be read. */
function readLog<T>(config: Config, read: (log: RunStore) => T | undefined): T | undefined {
  let store: RunStore;
  try {
    store = RunStore.open(config.databaseFile, { readonly: true });
  } catch {
    return undefined;
  }
  try {
    return read(store);
  } finally {
    store.close();
  }
}

// === In this process ===

async function resumeInProcess(runId: number, config: Config, options: ResumeCommandOptions): Promise<void> {
  const clock = clockFromEnv();
  // No daemon answers, so a run still `running` was left by a process that died: it is interrupted.
  const store = RunStore.open(config.databaseFile, { clock, markInterrupted: true });
  try {
    const interrupted = store.interruptedOnOpen?.runIds ?? [];
    if (interrupted.length > 0 && !options.json) printNotice(`marked ${interrupted.length} run(s) left running by a stopped process as interrupted: ${interrupted.join(', ')}`);
    const rules = loadRules([config.rulesDir]).rules;
    const { original, loaded } = checkResumable(store, (ruleId) => rules.find((candidate) => candidate.rule.id === ruleId), runId, { resendUnknown: options.resendUnknown === true });
    if (options.resendUnknown) warnResendUnknown(resumedLedgerOf(store, original.id));
    const run = await runHere(store, original, loaded, config, clock, options);
    report(resumedLedgerOf(store, original.id, { exclude: run.detail.id }), run.detail, config, run.where, options);
  } finally {
    store.close();
  }
}

/** Connects the bridge as `rulebot run` does and runs the resume to its end. */
async function runHere(
  store: RunStore,
  original: RunDetail,
  loaded: LoadedRule,
  config: Config,
  clock: Clock,
  options: ResumeCommandOptions,
): Promise<{ detail: RunDetail; where: Where }> {
  const bridge = await openBridge(config, clock);
  const inProcess = prepareInProcessRun(bridge, store, config, clock);
  try {
    if (!options.json) printLines(`Resuming run ${original.id} of ${loaded.rule.id} in this process.`, bridge.description);
    const detail = await executeRun({
      loaded,
      trigger: { kind: 'resume', data: original.triggerData ?? undefined, slot: original.slot },
      deps: inProcess.deps,
      resumedFrom: original.id,
      ...(options.resendUnknown && { resendUnknown: true }),
      dryRun: options.dryRun === true,
      signal: inProcess.signal,
    });
    return { detail: await awaitDeliveries(detail, bridge, store), where: { url: bridge.url, simulated: bridge.simulated, daemon: false } };
  } finally {
    inProcess.close();
    await bridge.close();
  }
}

// === Reporting ===

function warnResendUnknown(before: ResumedLedger): void {
  const unknown = unknownTargets(before);
  if (unknown.length === 0) return;
  printNotice(
    `warning: --resend-unknown sends again to ${unknown.length} target(s) whose delivery is unknown; each may get the message twice: ${names(unknown)}`,
  );
}

function report(before: ResumedLedger | undefined, run: RunDetail, config: Config, where: Where, options: ResumeCommandOptions): void {
  const summary = before ? summarizeResume(before, run) : undefined;
  if (options.json) {
    printJson({ bridge: { url: where.url, simulated: where.simulated, daemon: where.daemon }, original: run.resumedFrom, run, summary: summary ?? null });
  } else {
    printLines('', formatRunTimeline(run, { timezone: config.timezone, frames: false }));
    if (options.dryRun) printLines('', formatDryRunFrames(run));
    if (summary) printLines('', ...summaryLines(summary, run));
    printLines('', `Recorded as run ${run.id}: rulebot show ${run.id}`);
  }
  if (run.status !== 'ok' && run.status !== 'dry-run') throw new CommandExit(ExitCode.FAILED);
}

/** The summary: what was sent now and what was skipped, each line with the targets it names when they are few. */
function summaryLines(summary: ResumeSummary, run: RunDetail): string[] {
  const lines = [`Resumed run ${run.resumedFrom} as run ${run.id} (${run.status}):`];
  const line = (label: string, targets: readonly ResumeTarget[], always = false, hint = ''): void => {
    if (targets.length === 0 && !always) return;
    lines.push(`  ${label.padEnd(34)}${String(targets.length).padStart(4)}${targets.length > 0 && targets.length <= 10 ? `  ${names(targets)}` : ''}${hint}`);
  };
  if (run.status === 'dry-run') line('would send now', summary.wouldSend, true);
  else line('sent now', summary.sent, true);
  line('failed now', summary.failed);
  line('in flight when this run stopped', summary.interrupted);
  line('not attempted (the bridge went away)', summary.notAttempted);
  line('skipped, already sent', summary.alreadySent, true);
  line('skipped, delivery unknown', summary.skippedUnknown, true, summary.skippedUnknown.length > 0 ? '  (--resend-unknown sends to them)' : '');
  line('skipped, failed after its frame left', summary.skippedFailed);
  line('sent again although unknown', summary.resentUnknown);
  return lines;
}

/** Target keys, each with its action's path when the rule broadcasts from more than one. */
function names(targets: readonly ResumeTarget[]): string {
  const paths = new Set(targets.map((t) => t.path));
  return targets.map((t) => (paths.size > 1 ? `${t.target} (${t.path})` : t.target)).join(', ');
}
