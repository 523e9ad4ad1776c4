/**
 * `set`: variables for later actions, as `vars.<name>`. Values are rendered (a lone
 * `{{ ... }}` keeps its type: a list stays a list).
 */
import { localStep } from './shared';
import type { ActionHandler } from './types';

export const runSet: ActionHandler<'set'> = (call) => {
  const { run, options } = call;
  return localStep(call, options, () => {
    const values = run.renderDeep(options) as Record<string, unknown>;
    Object.assign(run.scope.vars, values);
    return { answer: values };
  });
};
