/** `log`: a line in the process log (and the step), rendered against the run. */
import { localStep } from './shared';
import type { ActionHandler } from './types';

export const runLog: ActionHandler<'log'> = (call) => {
  const { run, options } = call;
  return localStep(call, { message: options.message, level: options.level ?? 'info' }, () => {
    const message = run.render(options.message);
    run.log[options.level ?? 'info']({ path: call.path }, message);
    return { answer: { message } };
  });
};
