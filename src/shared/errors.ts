/**
 * The base of every error rulebot throws on purpose. Each carries a stable `code`
 * (documented in docs/errors.md) so callers branch on codes, never on message text.
 */
export class RulebotError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** A bad command line: the CLI exits 2. */
export class UsageError extends RulebotError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export function isRulebotError(err: unknown): err is RulebotError {
  return err instanceof RulebotError;
}

/** One line for an operator: the message, and the code where there is one. */
export function describeError(err: unknown): string {
  if (err instanceof RulebotError) return `${err.message} [${err.code}]`;
  if (err instanceof Error) return err.message;
  return String(err);
}
