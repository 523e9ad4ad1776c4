/**
 * What a rule needs compiled before it runs: every condition list (`when`, each action's
 * `if`, `choose.if`, audit rules) and every `groupsMatching` regex, keyed by their path
 * in the rule. Compiled once per rule object and cached, so nothing is compiled while an
 * event is handled; a reloaded rule is a new object and compiles afresh.
 */
import { compileRegex, type CompiledRegex } from '../rules/regex';
import { actionKind, type Action, type Rule } from '../rules/types';
import { compileConditions, type CompiledConditions } from './conditions';

/** A rule's compiled parts, by static path (no iteration marks). */
export interface CompiledRule {
  readonly when: CompiledConditions;
  /** Conditions at a path such as `when`, `actions/2/if`, `actions/3/choose/if`, `actions/0/audit/rules/1/when`. */
  conditionsAt(path: string): CompiledConditions;
  /** The compiled `groupsMatching` of the action at `path`, if it has one. */
  groupPatternAt(path: string): CompiledRegex | undefined;
}

const ALWAYS = compileConditions(undefined, '');

const cache = new WeakMap<Rule, CompiledRule>();

/** The compiled form of `rule`, compiled on first use. Throws what compiling throws (RegexError, TemplateError). */
export function compiledRuleOf(rule: Rule): CompiledRule {
  let compiled = cache.get(rule);
  if (!compiled) {
    compiled = compileRule(rule);
    cache.set(rule, compiled);
  }
  return compiled;
}

function compileRule(rule: Rule): CompiledRule {
  const conditions = new Map<string, CompiledConditions>();
  const patterns = new Map<string, CompiledRegex>();
  const visit = (actions: readonly Action[], prefix: string): void => {
    actions.forEach((action, i) => {
      const path = `${prefix}/${i}`;
      if (action.if !== undefined) conditions.set(`${path}/if`, compileConditions(action.if, `${path}/if`));
      switch (actionKind(action)) {
        case 'choose':
          if ('choose' in action) {
            conditions.set(`${path}/choose/if`, compileConditions(action.choose.if, `${path}/choose/if`));
            visit(action.choose.then, `${path}/then`);
            if (action.choose.else) visit(action.choose.else, `${path}/else`);
          }
          break;
        case 'forEach':
          if ('forEach' in action) visit(action.forEach.do, `${path}/do`);
          break;
        case 'audit':
          if ('audit' in action) {
            action.audit.rules.forEach((entry, r) => {
              const at = `${path}/audit/rules/${r}/when`;
              conditions.set(at, compileConditions(entry.when, at));
            });
          }
          break;
        default: {
          const pattern = groupsMatchingOf(action);
          if (pattern !== undefined) patterns.set(path, compileRegex(pattern));
        }
      }
    });
  };
  visit(rule.actions, 'actions');
  const when = compileConditions(rule.when, 'when');
  conditions.set('when', when);
  return {
    when,
    conditionsAt: (path) => conditions.get(path) ?? ALWAYS,
    groupPatternAt: (path) => patterns.get(path),
  };
}

/** The `groupsMatching` pattern of a send or group-management action. */
function groupsMatchingOf(action: Action): string | undefined {
  if ('send' in action) return action.send.to.groupsMatching;
  for (const spec of [
    'groupMute' in action ? action.groupMute.groups : undefined,
    'setNotice' in action ? action.setNotice.groups : undefined,
    'rotateNotice' in action ? action.rotateNotice.groups : undefined,
  ]) {
    if (spec !== undefined && !Array.isArray(spec)) return spec.groupsMatching;
  }
  return undefined;
}
