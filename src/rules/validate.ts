/**
 * Validation of rule files as `rulebot validate` reports it: every problem of every file
 * at once, the rules that passed, and the documents left out.
 */
import type { SourceProblem } from '../shared/yaml-source';
import { DEFAULT_RULES_DIR, loadRules, type InvalidRule, type LoadOptions, type LoadedRule } from './load';

/** A rule that passed, as the report lists it. */
export interface ValidRuleSummary {
  id: string;
  file: string;
  line: number;
  description?: string;
  enabled: boolean;
}

export interface ValidationReport {
  valid: ValidRuleSummary[];
  /** Sorted by file, line, column. Empty means every rule is valid. */
  problems: SourceProblem[];
  invalid: InvalidRule[];
  files: string[];
  /** The valid rules themselves, for callers that go on to use them. */
  rules: LoadedRule[];
}

/** Validates the rule files under `paths` (files or folders). */
export function validateSources(paths: readonly string[] = [DEFAULT_RULES_DIR], options: LoadOptions = {}): ValidationReport {
  const loaded = loadRules(paths, options);
  return {
    valid: loaded.rules.map(summarise),
    problems: loaded.problems,
    invalid: loaded.invalidRules,
    files: loaded.files,
    rules: loaded.rules,
  };
}

function summarise({ rule, file, line }: LoadedRule): ValidRuleSummary {
  return { id: rule.id, file, line, ...(rule.description !== undefined && { description: rule.description }), enabled: rule.enabled !== false };
}
