// Action handlers: one module per kind, gathered in the registry.

export { ACTION_HANDLERS } from './registry';
export type { ActionCall, ActionHandler, ActionHandlers } from './types';
export { ActionError, type TargetResult } from './shared';
export { MAX_FOR_EACH_ITEMS } from './for-each';
export { nextPosition } from './rotate-notice';
