/**
 * Options and argument parsers shared by commands, so every command spells and checks
 * them the same way. A parser throws commander's InvalidArgumentError, which the CLI
 * turns into a usage error (exit 2).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../shared/duration';
import { CONFIG_ENV, DEFAULT_CONFIG_FILE } from '../config';

/** Options every command that reads the config has. */
export interface ConfigOptions {
  config?: string;
}

/** Adds `-c, --config <path>`. */
export function addConfigOption(command: Command): Command {
  return command.option('-c, --config <path>', `config file (default: $${CONFIG_ENV}, else ./${DEFAULT_CONFIG_FILE})`);
}

/** Adds `--json`, for commands whose output is data. */
export function addJsonOption(command: Command, description = 'print JSON for scripts instead of text for people'): Command {
  return command.option('--json', description);
}

/** `--timeout <duration>`, parsed to milliseconds, with its default shown as written. */
export function timeoutOption(description: string, defaultDuration: string): Option {
  return new Option('--timeout <duration>', description).argParser(parseDurationArgument).default(parseDuration(defaultDuration), defaultDuration);
}

/** `--edition <seed|68>`. */
export function editionOption(description: string): Option {
  return new Option('--edition <edition>', description).choices(['seed', '68']);
}

/** A duration such as 500ms, 10s, 2m; returns milliseconds. */
export function parseDurationArgument(value: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw new InvalidArgumentError('expected a duration such as 500ms, 10s or 2m.');
  }
}

/** A TCP port, 0 to 65535 (0 lets the system choose). */
export function parsePortArgument(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535.');
  return port;
}

/** A whole number. */
export function parseIntegerArgument(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number.');
  return Number(value);
}

/** A probability from 0 to 1. */
export function parseRateArgument(value: string): number {
  const rate = Number(value);
  if (value.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) throw new InvalidArgumentError('expected a rate from 0 to 1, e.g. 0.2.');
  return rate;
}
