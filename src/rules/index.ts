// The rule language: its types, loading and validation, templates and regexes.

// === Types and kinds ===
export type {
  Action,
  ActionKind,
  ActionOf,
  ActionOptions,
  CommonActionOptions,
  ConcurrencyPolicy,
  ConcurrencySpec,
  Condition,
  ConditionKind,
  ConditionOf,
  ConditionOptions,
  Conditions,
  GroupTargetsSpec,
  MisfireSpec,
  ResumeSpec,
  Rule,
  TargetsSpec,
  Trigger,
  TriggerKind,
  TriggerOf,
  TriggerOptions,
  WeekdayName,
} from './types';
export {
  ACTION_KINDS,
  BRIDGE_ACTION_KINDS,
  COMMON_ACTION_OPTION_NAMES,
  CONDITION_KINDS,
  RULE_DEFAULTS,
  TRIGGER_KINDS,
  WORLD_CHANGING_ACTION_KINDS,
  actionKind,
  actionOptions,
  concurrencyOf,
  conditionKind,
  conditionList,
  cronSpecOf,
  everySpecOf,
  isActionKind,
  isConditionKind,
  isTriggerKind,
  misfireOf,
  nestedActionLists,
  resumeOf,
  triggerKind,
} from './types';
export { MAX_MEMBER_MUTE, RuleSchema, WEEKDAYS } from './schema';

// === Loading and validation ===
export { DEFAULT_RULES_DIR, loadRuleText, loadRules, ruleHash, type InvalidRule, type LoadOptions, type LoadResult, type LoadedRule } from './load';
export { validateSources, type ValidRuleSummary, type ValidationReport } from './validate';
export { RULE_PROBLEM_CODES, checkRuleDocument, isValidTimezone, type RuleCheck, type RuleProblemCode } from './check';

// === Templates and regexes ===
export {
  TEMPLATE_ROOTS,
  TemplateError,
  evaluateTemplate,
  isTemplateText,
  parseTemplate,
  renderDeep,
  renderTemplate,
  templateReferences,
  type ParsedTemplate,
  type RenderOptions,
  type TemplateContext,
} from './templates';
export { compileRegex, RegexError, type CompiledRegex } from './regex';
