/**
 * Finding and reading the config file: `--config`, else RULEBOT_CONFIG, else
 * ./config.yaml; then YAML, `${NAME}` substitution, schema, defaults.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseYamlSource, type SourceProblem } from '../shared/yaml-source';
import { substituteEnv } from './env';
import { ConfigError } from './errors';
import { resolveConfig } from './resolve';
import type { Config } from './types';
import { validateConfigValue } from './validate';

/** Environment variable naming the config file when `--config` is not given. */
export const CONFIG_ENV = 'RULEBOT_CONFIG';
/** The config file looked for in the working folder when nothing names one. */
export const DEFAULT_CONFIG_FILE = 'config.yaml';
/** The commented example shipped at the repository root. */
export const EXAMPLE_CONFIG_FILE = 'config.example.yaml';

export interface ConfigLocation {
  /** Absolute path. */
  file: string;
  /** What named it. */
  source: 'option' | 'env' | 'default';
}

export interface ConfigPathOptions {
  /** The `--config` option, if given. */
  path?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Folder that relative paths and ./config.yaml are taken from. @default process.cwd() */
  cwd?: string;
}

/** Where the config file is: `--config`, else RULEBOT_CONFIG, else ./config.yaml. */
export function resolveConfigPath({ path: given, env = process.env, cwd = process.cwd() }: ConfigPathOptions = {}): ConfigLocation {
  if (given !== undefined && given !== '') return { file: path.resolve(cwd, given), source: 'option' };
  const fromEnv = env[CONFIG_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { file: path.resolve(cwd, fromEnv), source: 'env' };
  return { file: path.resolve(cwd, DEFAULT_CONFIG_FILE), source: 'default' };
}

/**
 * Reads, checks and resolves the config file.
 * @throws ConfigError — CONFIG_NOT_FOUND, CONFIG_UNREADABLE, or CONFIG_INVALID with every problem at once.
 */
export function loadConfig(options: ConfigPathOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const location = resolveConfigPath({ ...options, env, cwd });
  const shown = displayPath(location.file, cwd);

  let text: string;
  try {
    text = fs.readFileSync(location.file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(location, shown);
    throw new ConfigError('CONFIG_UNREADABLE', shown, `cannot read config ${shown}: ${(err as Error).message}`, [], { cause: err });
  }
  return parseConfigText(shown, text, location.file, env);
}

/**
 * Checks and resolves config text (the part of loadConfig after reading the file).
 * @param shownFile The name problems are reported under.
 * @param file Absolute path: relative paths in the config resolve against its folder.
 */
export function parseConfigText(shownFile: string, text: string, file: string, env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = parseYamlSource(shownFile, text);
  if (parsed.problems.length > 0) throw ConfigError.invalid(shownFile, parsed.problems);
  const [doc, ...extra] = parsed.documents;
  if (doc === undefined) {
    throw ConfigError.invalid(shownFile, [problem(shownFile, 1, 1, 'the config is empty: it needs at least bridge.url (see config.example.yaml)')]);
  }
  if (extra.length > 0) {
    const at = extra[0]!.positionOf([]);
    throw ConfigError.invalid(shownFile, [problem(shownFile, at.line, at.col, 'a config file holds one YAML document; remove the extra "---" documents')]);
  }
  const substituted = substituteEnv(doc, text, env);
  const validated = validateConfigValue(substituted.value, doc, substituted.unresolved);
  const problems = [...substituted.problems, ...validated.problems];
  if (problems.length > 0 || validated.config === undefined) throw ConfigError.invalid(shownFile, problems);
  return resolveConfig(validated.config, file);
}

function notFound(location: ConfigLocation, shown: string): ConfigError {
  const named =
    location.source === 'option' ? ' (named by --config)' : location.source === 'env' ? ` (named by ${CONFIG_ENV})` : '';
  const hint =
    location.source === 'default'
      ? `; start from the example: cp ${EXAMPLE_CONFIG_FILE} ${DEFAULT_CONFIG_FILE}, or name one with --config or ${CONFIG_ENV}`
      : `; start from ${EXAMPLE_CONFIG_FILE} at the root of rulebot`;
  return new ConfigError('CONFIG_NOT_FOUND', shown, `config file ${shown} not found${named}${hint}`);
}

function problem(file: string, line: number, col: number, message: string): SourceProblem {
  return { file, line, col, code: 'CONFIG', message };
}

/** A path as the operator would type it: relative to the working folder when inside it. */
function displayPath(file: string, cwd: string): string {
  const relative = path.relative(cwd, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
