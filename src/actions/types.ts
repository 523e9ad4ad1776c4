/**
 * The shape of an action handler: one function per action kind, typed by the kind's
 * options, registered in registry.ts. A handler writes its own steps (one per frame or
 * target) through the run context and returns how the action ended; it never decides
 * the run's outcome, which the executor derives from `status`, `onError` and `stop`.
 */
import type { ActionKind, ActionOf, ActionOptions } from '../rules/types';
import type { ActionOutcome, RunContext } from '../engine/run-context';

/** One execution of one action. */
export interface ActionCall<K extends ActionKind> {
  kind: K;
  action: ActionOf<K>;
  options: ActionOptions<K>;
  /** Trace path of this execution, e.g. `actions/1/do/0[3]`. */
  path: string;
  /** Path in the rule, without iteration marks, e.g. `actions/1/do/0`: compiled parts key off it. */
  staticPath: string;
  run: RunContext;
}

export type ActionHandler<K extends ActionKind> = (call: ActionCall<K>) => Promise<ActionOutcome>;

/** A handler for every kind: the registry's type. */
export type ActionHandlers = { [K in ActionKind]: ActionHandler<K> };
