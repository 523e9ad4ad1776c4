/**
 * The `rulebot` command line: builds the program from the command registry, runs it,
 * and turns every outcome into an exit code and at most a few clear lines.
 *
 * A command is a module in ./commands exporting `register(program)`, which adds itself
 * with `program.command(name)` (so it inherits the error handling set up here) and
 * gives it an async action. An action that returns means success (exit 0); one that
 * throws a UsageError means exit 2; any other error means exit 1, printed as
 * `rulebot: <message>`; CommandExit ends with its code after the command printed why.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { isRulebotError } from '../shared/errors';
import * as audit from './commands/audit';
import * as call from './commands/call';
import * as next from './commands/next';
import * as prune from './commands/prune';
import * as resume from './commands/resume';
import * as runOnce from './commands/run';
import * as runs from './commands/runs';
import * as show from './commands/show';
import * as sim from './commands/sim';
import * as start from './commands/start';
import * as validate from './commands/validate';
import { CommandExit, ExitCode } from './exit';
import { DEBUG_ENV, debugEnabled } from './output';

/** A command of the CLI. */
export interface CommandModule {
  register(program: Command): void;
}

/** Every command, in the order `rulebot --help` lists them. Adding a command: import it, list it here. */
const COMMANDS: readonly CommandModule[] = [start, validate, runOnce, resume, runs, show, next, audit, prune, call, sim];

/** Builds the program with every registered command. */
export function buildProgram(): Command {
  const program = new Command('rulebot')
    .description('Rule-based automation for chat groups, over a local WebSocket bridge.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    // Commander's own error line is replaced by ours (see reportCommanderError).
    .configureOutput({ outputError: () => undefined });
  for (const command of COMMANDS) command.register(program);
  return program;
}

/** Runs the CLI and returns the exit code, without exiting (tests and embedders call this). */
export async function run(argv: readonly string[]): Promise<ExitCode> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return ExitCode.OK;
  } catch (err) {
    return report(err, program, argv);
  }
}

/** Entry point of bin/rulebot.js: runs the CLI and ends the process with its exit code. */
export async function main(argv: readonly string[]): Promise<void> {
  const code = await run(argv);
  process.exitCode = code;
  // A finished command must not be kept alive by a handle some library left behind;
  // unref'd, this timer fires only if something else still holds the process open.
  setTimeout(() => process.exit(code), 1000).unref();
}

function report(err: unknown, program: Command, argv: readonly string[]): ExitCode {
  if (err instanceof CommanderError) return reportCommanderError(err, program, argv);
  if (err instanceof CommandExit) return err.exitCode;
  const usage = isRulebotError(err) && err.code === 'USAGE';
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`rulebot: ${message}${usage ? ` (see ${helpHint(program, argv)})` : ''}\n`);
  if (debugEnabled()) {
    process.stderr.write(`${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
    if (isRulebotError(err)) process.stderr.write(`code ${err.code} ${JSON.stringify(err.details)}\n`);
  } else if (!usage && !isRulebotError(err)) {
    // An error rulebot did not expect: say how to see more.
    process.stderr.write(`rulebot: run with ${DEBUG_ENV}=1 for the stack trace\n`);
  }
  return usage ? ExitCode.USAGE : ExitCode.FAILED;
}

/** Help and version exit 0; every other commander error is a usage error, told in one line. */
function reportCommanderError(err: CommanderError, program: Command, argv: readonly string[]): ExitCode {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return ExitCode.OK;
  // `rulebot` alone: commander has already printed the help to stderr.
  if (err.code === 'commander.help') return ExitCode.USAGE;
  const message = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim();
  process.stderr.write(`rulebot: ${message} (see ${helpHint(program, argv)})\n`);
  return ExitCode.USAGE;
}

/** `rulebot <command> --help` for the command the user typed, else `rulebot --help`. */
function helpHint(program: Command, argv: readonly string[]): string {
  const names = new Set(program.commands.flatMap((command) => [command.name(), ...command.aliases()]));
  const typed = argv.slice(2).find((arg) => names.has(arg));
  return typed === undefined ? 'rulebot --help' : `rulebot ${typed} --help`;
}

function packageVersion(): string {
  // dist/src/cli/main.js → the package root, three folders up.
  const manifest = path.join(__dirname, '..', '..', '..', 'package.json');
  try {
    return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
