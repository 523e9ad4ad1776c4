/**
 * `read`: a listing or a detail from the bridge into the run, for later actions as
 * `steps.<id>`. Reads change nothing, so they go to the bridge in a dry run too, and
 * `retry` retries them on transient errors (busy, timeouts, drops).
 */
import type { ChatApi } from '../protocol/api';
import { withoutRaw } from '../engine/context';
import type { RunContext } from '../engine/run-context';
import { ActionError, localStep, outcomeOfCall, readCall } from './shared';
import type { ActionCall, ActionHandler } from './types';

type ReadOptions = ActionCall<'read'>['options'];

export const runRead: ActionHandler<'read'> = async (call) => {
  const { run, options } = call;
  let prepared: { input: Record<string, unknown>; read: (api: ChatApi) => Promise<unknown>; target?: string };
  try {
    prepared = prepareRead(run, options);
  } catch (err) {
    return localStep(call, { from: options.from }, () => {
      throw err;
    });
  }
  const result = await readCall(call, prepared.input, () => prepared.read(run.api), prepared.target);
  return outcomeOfCall(result, result.status === 'ok' ? withoutRaw(result.value) : undefined);
};

function prepareRead(run: RunContext, options: ReadOptions): { input: Record<string, unknown>; read: (api: ChatApi) => Promise<unknown>; target?: string } {
  const group = options.group !== undefined ? run.text(options.group) : undefined;
  const uid = options.uid !== undefined ? run.text(options.uid) : undefined;
  const needGroup = (): string => {
    if (!group) throw new ActionError('ACTION_INPUT_INVALID', `read from ${options.from} needs group`);
    return group;
  };
  const needUid = (): string => {
    if (!uid) throw new ActionError('ACTION_INPUT_INVALID', `read from ${options.from} needs uid`);
    return uid;
  };
  switch (options.from) {
    case 'groups':
      return { input: { from: 'groups' }, read: (api) => api.getGroups() };
    case 'groupDetail': {
      const id = needGroup();
      return { input: { from: 'groupDetail', group: id }, read: (api) => api.groupDetail(id), target: `group:${id}` };
    }
    case 'members': {
      const id = needGroup();
      return { input: { from: 'members', group: id }, read: (api) => api.groupMembers(id), target: `group:${id}` };
    }
    case 'onlineStatus': {
      const id = needGroup();
      const uids = uidList(run, options.uids);
      return { input: { from: 'onlineStatus', group: id, uids }, read: (api) => api.onlineStatus(id, uids), target: `group:${id}` };
    }
    case 'contacts':
      return { input: { from: 'contacts' }, read: (api) => api.contacts() };
    case 'contactDetail': {
      const id = needUid();
      return { input: { from: 'contactDetail', uid: id }, read: (api) => api.contactDetail(id), target: `friend:${id}` };
    }
    case 'userInfo':
      return { input: { from: 'userInfo' }, read: (api) => api.userInfo() };
    case 'friendRequests':
      return { input: { from: 'friendRequests' }, read: (api) => api.friendRequests() };
  }
}

/** `uids`: a list of ids (each may be a template), or one template that gives a list. */
function uidList(run: RunContext, uids: ReadOptions['uids']): string[] {
  if (uids === undefined) throw new ActionError('ACTION_INPUT_INVALID', 'read from onlineStatus needs uids');
  if (Array.isArray(uids)) return uids.map((uid) => run.text(uid));
  const value = run.evaluate(uids);
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'object' && item !== null && 'uid' in item ? String((item as { uid: unknown }).uid) : String(item)));
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((part) => part !== '');
  throw new ActionError('ACTION_INPUT_INVALID', `uids gave ${JSON.stringify(value)}, not a list of uids`);
}
