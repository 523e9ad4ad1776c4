import { RulebotError } from '../shared/errors';
import { formatProblem, sortProblems, type SourceProblem } from '../shared/yaml-source';

export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_NOT_FOUND' | 'CONFIG_UNREADABLE';

/**
 * A config that cannot be used. `CONFIG_INVALID` carries every problem found, each at
 * `file:line:col`, so the operator fixes them all in one pass; the message lists them.
 */
export class ConfigError extends RulebotError {
  override readonly code: ConfigErrorCode;
  readonly file: string;
  readonly problems: readonly SourceProblem[];

  constructor(code: ConfigErrorCode, file: string, message: string, problems: readonly SourceProblem[] = [], options?: { cause?: unknown }) {
    super(code, message, { file, problems }, options);
    this.code = code;
    this.file = file;
    this.problems = problems;
  }

  /** The error for a file with mistakes: a summary line, then one `file:line:col  message` line per problem. */
  static invalid(file: string, problems: readonly SourceProblem[]): ConfigError {
    const sorted = sortProblems([...problems]);
    const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
    const lines = sorted.map((problem) => `  ${formatProblem(problem)}`);
    return new ConfigError('CONFIG_INVALID', file, [`${file} has ${count}:`, ...lines].join('\n'), sorted);
  }
}
