/**
 * What commands print. Data goes to stdout, diagnostics to stderr, so `--json` output
 * can be piped to another program untouched.
 */

/** Prints a value as JSON: indented for people, one line with `compact` (for `--json`). */
export function printJson(value: unknown, options: { compact?: boolean } = {}): void {
  process.stdout.write(`${JSON.stringify(value, null, options.compact ? undefined : 2)}\n`);
}

/** Prints lines of text to stdout. */
export function printLines(...lines: string[]): void {
  process.stdout.write(lines.map((line) => `${line}\n`).join(''));
}

/** Prints a diagnostic line to stderr, prefixed like every other message of the CLI. */
export function printNotice(message: string): void {
  process.stderr.write(`rulebot: ${message}\n`);
}

/** Environment variable that makes errors print their stack and details, and `call` log its traffic. */
export const DEBUG_ENV = 'RULEBOT_DEBUG';

/** Whether RULEBOT_DEBUG=1 is set. */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[DEBUG_ENV] === '1';
}
