/**
 * Who a member mute must leave alone: the config's allowlist, the rule's own `exempt.uids`,
 * the bot itself, the group's host and the group's admins. Each reason is a short phrase
 * the trace shows ("not muted: 7237423 is the group host").
 *
 * The bot's uid comes from UserInfo, asked once per bridge API (one per process) and
 * kept: it does not change while the bridge stays logged in, and asking on every mute
 * would double the reads of a flood.
 */
import type { ChatApi, Group, GroupMember } from '../protocol/api';

/** The `exempt` options of a muteMember action, defaults applied by the caller. */
export interface ExemptionOptions {
  /** Leave the group's host alone. @default true */
  host: boolean;
  /** Leave the group's admins alone. @default true */
  admins: boolean;
  /** Uids the rule exempts, rendered. */
  uids: readonly string[];
}

/** What an exemption check needs. */
export interface ExemptionInput {
  uid: string;
  group: Pick<Group, 'id' | 'hostId'>;
  /** The config's `allowlist`. */
  allowlist: readonly string[];
  options: ExemptionOptions;
  api: Pick<ChatApi, 'userInfo' | 'groupMembers'>;
}

/**
 * Why `uid` must not be muted in the group, or undefined when it may be. The checks that
 * need no bridge call come first; the member list is read only when the others passed.
 */
export async function exemptionOf(input: ExemptionInput): Promise<string | undefined> {
  const { uid, group, options, api } = input;
  if (input.allowlist.includes(uid)) return 'on the allowlist';
  if (options.uids.includes(uid)) return 'exempt by the rule';
  if (options.host && uid === group.hostId) return 'the group host';
  // Always exempt, whatever the options: a bot that mutes itself can no longer moderate.
  if (uid === (await botUidOf(api))) return 'the bot itself';
  if (options.admins) {
    const member = (await api.groupMembers(group.id)).find((m) => m.uid === uid);
    const evidence = member ? adminEvidence(member) : undefined;
    if (evidence) return `a group admin (${evidence})`;
  }
  return undefined;
}

// === The bot's own uid ===

const botUids = new WeakMap<object, Promise<string>>();

/**
 * The uid of the account the bridge is logged in as, asked once per API object. A failed
 * read is not kept, so the next mute asks again.
 */
export function botUidOf(api: Pick<ChatApi, 'userInfo'>): Promise<string> {
  let known = botUids.get(api);
  if (!known) {
    known = api.userInfo().then((info) => info.uid);
    botUids.set(api, known);
    known.catch(() => botUids.delete(api));
  }
  return known;
}

// === Admins in member lists ===

/** Member roles that mark an admin, however a bridge spells them. */
const ADMIN_ROLES: ReadonlySet<string> = new Set(['MANAGE', 'HOST', 'OWNER', 'ADMIN']);

/**
 * Why a member-list entry reads as an admin, or undefined. Our reading of the bridge
 * (the seed shows only `right: {}`): an admin carries `type: "MANAGE"` (as msgNew's
 * `sendMember` does), a numeric role of 1 or more (as getGroups' `memberType`), or a
 * `right` object with any right granted. Kept in this one place so it can follow a
 * real bridge that says it otherwise.
 */
export function adminEvidence(member: Pick<GroupMember, 'raw'>): string | undefined {
  const raw = member.raw as { type?: unknown; memberType?: unknown; role?: unknown; right?: unknown };
  for (const key of ['type', 'memberType', 'role'] as const) {
    const value = raw[key];
    if (typeof value === 'string' && ADMIN_ROLES.has(value.toUpperCase())) return `${key} ${value}`;
    if (typeof value === 'number' && value >= 1) return `${key} ${value}`;
  }
  const right = raw.right;
  if (right !== null && typeof right === 'object' && !Array.isArray(right)) {
    const granted = Object.entries(right as Record<string, unknown>)
      .filter(([, value]) => value === true)
      .map(([name]) => name);
    if (granted.length > 0) return `rights ${granted.join(', ')}`;
  }
  return undefined;
}
