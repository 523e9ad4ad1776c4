/**
 * `forEach`: runs `do` once per item of a list (a literal list, or a template that gives
 * one), with the item under `as` (default `item`). Bounded:
 * a list longer than MAX_FOR_EACH_ITEMS fails the action before any iteration, so a
 * mistaken template cannot fan out into thousands of sends.
 */
import { parseDuration } from '../shared/duration';
import { RULE_DEFAULTS } from '../rules/types';
import type { StoredError } from '../store/types';
import { ActionError, beginStep, pause } from './shared';
import { toStoredError } from '../store/json';
import type { ActionHandler } from './types';

/** Most iterations one forEach may run. */
export const MAX_FOR_EACH_ITEMS = 1000;

export const runForEach: ActionHandler<'forEach'> = async (call) => {
  const { run, options, path, staticPath } = call;
  const step = beginStep(call, { items: options.items, as: options.as ?? RULE_DEFAULTS.forEachAs });
  let items: unknown[];
  try {
    items = listOf(typeof options.items === 'string' ? run.evaluate(options.items) : run.renderDeep(options.items));
    if (items.length > MAX_FOR_EACH_ITEMS) {
      throw new ActionError('FOR_EACH_TOO_MANY', `forEach got ${items.length} items; at most ${MAX_FOR_EACH_ITEMS} are allowed`, { items: items.length });
    }
  } catch (err) {
    const error = toStoredError(err);
    step.finish({ status: 'failed', error });
    return { status: 'failed', error };
  }
  step.finish({ status: 'ok', answer: { count: items.length }, note: `${items.length} iteration${items.length === 1 ? '' : 's'}` });

  const name = options.as ?? RULE_DEFAULTS.forEachAs;
  const pauseMs = options.pause !== undefined ? parseDuration(options.pause) : 0;
  let partial = false;
  let failed: StoredError | undefined;
  let done = 0;
  for (const [index, item] of items.entries()) {
    if (index > 0) await pause(run, pauseMs);
    const list = await run.withLayer({ [name]: item }, () => run.runActions(options.do, `${path}/do`, `${staticPath}/do`, `[${index}]`));
    done += 1;
    if (list.partial) partial = true;
    if (list.stop) return { status: list.failed ? 'failed' : partial ? 'partial' : 'ok', result: { count: items.length, done }, stop: list.stop, ...(list.failed && { error: list.failed }) };
    if (list.failed) {
      failed = list.failed;
      break;
    }
  }
  const result = { count: items.length, done };
  // An action that failed inside with `onError: stop` stops the loop, and the forEach's own `onError` decides the rest.
  if (failed) return { status: 'failed', error: failed, result };
  return { status: partial ? 'partial' : run.dryRun ? 'dry-run' : 'ok', result };
};

/** The items to iterate: a list, or text holding a JSON list. */
function listOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === '') return [];
    if (trimmed.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(trimmed);
        if (Array.isArray(parsed)) return parsed;
      } catch {
        // Not JSON: reported below.
      }
    }
  }
  throw new ActionError('ACTION_INPUT_INVALID', `forEach items gave ${JSON.stringify(value)?.slice(0, 100)}, not a list`);
}
