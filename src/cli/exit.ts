/** Exit codes of every command (DESIGN.md, "Command line"). */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** The thing asked for failed: invalid rules, a bridge error, a failed run. */
  FAILED: 1,
  /** A usage error: unknown command or option, bad argument. */
  USAGE: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * Thrown by a command that has already printed what went wrong (a list of problems, a
 * failed run) and only needs the process to end with `exitCode`.
 */
export class CommandExit extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode) {
    super(`exit ${exitCode}`);
    this.name = 'CommandExit';
    this.exitCode = exitCode;
  }
}
