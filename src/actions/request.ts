/**
 * `request`: any backend call the bridge proxies, by ApiName. A known ApiName takes its
 * path and protoType from the protocol's table; an unknown one needs `path` and is
 * treated as changing the world (it may), so it waits for the limiter, is never retried
 * blindly, and is only built in a dry run.
 */
import { API_TABLE, isApiName, isWorldChanging } from '../protocol/wire';
import { withoutRaw } from '../engine/context';
import { retryPolicyOf, callBridge } from '../engine/bridge-call';
import { ActionError, beginStep, localStep, outcomeOfCall } from './shared';
import type { ActionHandler } from './types';

export const runRequest: ActionHandler<'request'> = async (call) => {
  const { run, options } = call;
  const apiName = options.api;
  const spec = isApiName(apiName) ? (API_TABLE[apiName] as { path: string; protoType?: 'group' }) : undefined;
  const path = options.path ?? spec?.path;
  if (path === undefined) {
    return localStep(call, { api: apiName }, () => {
      throw new ActionError('ACTION_INPUT_INVALID', `request ${apiName} is not a known ApiName, so it needs a path (e.g. /group/groupDetail)`);
    });
  }
  const protoType = options.protoType ?? spec?.protoType;
  let data: Record<string, unknown> | undefined;
  try {
    data = options.data === undefined ? undefined : (idsAsNumbers(run.renderDeep(options.data)) as Record<string, unknown>);
  } catch (err) {
    return localStep(call, { api: apiName, path }, () => {
      throw err;
    });
  }
  const worldChanging = isWorldChanging('request', apiName);
  const input = { api: apiName, path, ...(protoType && { protoType }), ...(data !== undefined && { data }) };
  const result = await callBridge(run, retryPolicyOf(call.action), {
    worldChanging,
    message: false,
    limiterKey: groupKeyOf(data) ?? 'bridge',
    begin: () => beginStep(call, input, groupKeyOf(data) ?? null),
    call: (onPrepared) => run.api.request(apiName, path, data, protoType, { onPrepared }),
    answerOf: (value) => withoutRaw(value),
  });
  return outcomeOfCall(result);
};

/** `group:<id>` when the request names a group, so the limiter spaces writes to one group. */
function groupKeyOf(data: Record<string, unknown> | undefined): string | undefined {
  const direct = data?.groupId;
  const nested = (data?.groupParam as { groupId?: unknown } | undefined)?.groupId;
  const id = direct ?? nested;
  return typeof id === 'number' || (typeof id === 'string' && /^\d+$/.test(id)) ? `group:${String(id)}` : undefined;
}

/** Keys whose values are ids: the bridge takes them as JSON numbers (PROTOCOL.md, gap 1). */
const ID_KEY = /^(?:uid|uids|groupId|targetUid|applyUid|[a-z]+(?:Id|Uid)s?)$/;

/**
 * Templates render ids as text (`"{{ message.groupId }}"` gives "389284"), while request
 * frames send ids as numbers: digit strings under id keys become numbers, other values
 * stay as written.
 */
export function idsAsNumbers(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => idsAsNumbers(item, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, idsAsNumbers(v, k)]));
  }
  if (key !== undefined && ID_KEY.test(key) && typeof value === 'string' && /^\d+$/.test(value) && Number.isSafeInteger(Number(value))) {
    return Number(value);
  }
  return value;
}
