/**
 * `rulebot validate [paths...]`: checks rule files and prints every problem as
 * `file:line:col  message`, then the rules that passed. Reads files only, so it works
 * while the daemon is down. Exit 1 on any problem, 0 when every rule is valid.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, resolveConfigPath } from '../../config';
import { DEFAULT_RULES_DIR } from '../../rules/load';
import { validateSources, type ValidationReport } from '../../rules/validate';
import { formatProblem } from '../../shared/yaml-source';
import { CommandExit, ExitCode } from '../exit';
import { addConfigOption, addJsonOption, type ConfigOptions } from '../options';
import { printJson, printLines } from '../output';

interface ValidateOptions extends ConfigOptions {
  json?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('validate')
    .description('check rule files and report every mistake as file:line:col  message')
    .argument('[paths...]', `rule files or folders (default: the rules folder of the config, else ./${DEFAULT_RULES_DIR})`);
  addConfigOption(command);
  addJsonOption(command, 'print { valid, problems, invalid } as JSON');
  command.addHelpText(
    'after',
    `
Exit status: 0 when every rule is valid, 1 when there is any problem.

Examples:
  rulebot validate
  rulebot validate rules/night-mode.yaml
  rulebot validate rules/ --json`,
  );
  command.action(async (paths: string[], options: ValidateOptions) => {
    const report = validateSources(paths.length > 0 ? paths : [defaultRulesPath(options)]);
    if (options.json) printJson(jsonReport(report));
    else printReport(report);
    if (report.problems.length > 0) throw new CommandExit(ExitCode.FAILED);
  });
}

/** The config's rules folder when a config is named or present, else ./rules. */
function defaultRulesPath(options: ValidateOptions): string {
  const location = resolveConfigPath({ path: options.config });
  if (location.source === 'default' && !fs.existsSync(location.file)) return DEFAULT_RULES_DIR;
  const rulesDir = loadConfig({ path: options.config }).rulesDir;
  const relative = path.relative(process.cwd(), rulesDir);
  return relative !== '' && !relative.startsWith('..') ? relative : rulesDir;
}

function printReport(report: ValidationReport): void {
  const lines = report.problems.map(formatProblem);
  if (lines.length > 0) lines.push('');
  if (report.valid.length > 0) {
    lines.push(`${count(report.valid.length, 'valid rule')}:`);
    const width = Math.max(...report.valid.map((rule) => rule.id.length));
    for (const rule of report.valid) {
      lines.push(`  ${rule.id.padEnd(width)}  ${rule.file}:${rule.line}${rule.enabled ? '' : '  (disabled)'}`);
    }
  } else {
    lines.push(report.files.length === 0 ? 'no rule files found' : 'no valid rules');
  }
  if (report.invalid.length > 0 || report.problems.length > 0) {
    lines.push(`${count(report.invalid.length, 'invalid rule')}, ${count(report.problems.length, 'problem')}`);
  }
  printLines(...lines);
}

function jsonReport(report: ValidationReport): unknown {
  return {
    valid: report.valid,
    problems: report.problems.map(({ file, line, col, code, message }) => ({ file, line, col, code, message })),
    invalid: report.invalid,
    files: report.files,
  };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
