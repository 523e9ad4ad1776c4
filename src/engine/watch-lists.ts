/**
 * The listings a `watch` trigger polls. For each kind: how to read it whole from the
 * bridge, how to key its items so one poll can be compared with the last, and which
 * listing (kind and group) a seen-set belongs to.
 *
 * A read either returns the complete listing or throws: the watcher compares what it
 * gets with what it saw, so a short list would look like removals and a garbled one
 * like new items.
 */
import { toWireId, type ChatApi, type Contact, type FriendRequest, type Group, type GroupMember } from '../protocol/api';
import { WATCH_LISTS } from '../rules/schema';
import { RulebotError } from '../shared/errors';

/** The listings a watch can poll. */
export type WatchListKind = (typeof WATCH_LISTS)[number];
export { WATCH_LISTS };

/** Where a friend request was listed: `unRecordList` (pending) or `recordList` (handled). */
export type FriendRequestStatus = 'pending' | 'handled';

/** A friend request as a watch hands it to a rule. */
export interface WatchedFriendRequest extends FriendRequest {
  status: FriendRequestStatus;
}

/** An item of a watched listing: the normalised answer (ids as strings) with its `raw` frame part. */
export type WatchItem = WatchedFriendRequest | GroupMember | Contact | Group;

/** An item with its identity in the listing. */
export interface KeyedItem {
  key: string;
  item: WatchItem;
}

/** What a watch trigger says about its listing. */
export interface WatchListSpec {
  list: WatchListKind;
  /** The group whose members to watch; `members` only. */
  group?: string | number;
}

/**
 * The codes a WatchError carries:
 * - `WATCH_BAD_LIST`: a list kind this version does not know.
 * - `WATCH_BAD_GROUP`: `members` without a group, or a group that is not an id
 *   (a template cannot be rendered: a watch has no run to render it in).
 * - `WATCH_INCOMPLETE_READ`: the bridge answered, but the listing cannot be whole
 *   (a group with no members); the poll is discarded.
 */
export type WatchErrorCode = 'WATCH_BAD_LIST' | 'WATCH_BAD_GROUP' | 'WATCH_INCOMPLETE_READ';

/** A watch that cannot poll, or a poll that cannot be trusted. */
export class WatchError extends RulebotError {
  declare readonly code: WatchErrorCode;

  constructor(code: WatchErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
  }
}

/** One watched listing: how to read it and key its items. */
export interface WatchList {
  kind: WatchListKind;
  /** The group, for `members`. */
  group?: string;
  /**
   * The listing's name in the seen-set (`friendRequests`, `members:389284`). A rule's
   * seen-set and baseline belong to this name, so watching another group starts over.
   */
  id: string;
  /** The whole listing, keyed, each key once (the first occurrence wins). */
  read(api: ChatApi): Promise<KeyedItem[]>;
  /**
   * Whether `next`, under a new key, is `previous` (a stored item whose key just left
   * the listing) in a later state, rather than a new item. Absent: keys never move.
   */
  continues?(previous: unknown, next: WatchItem): boolean;
}

/** The watched listing a trigger names; throws WatchError when it names none. */
export function watchListOf(spec: WatchListSpec): WatchList {
  switch (spec.list) {
    case 'friendRequests':
      return { kind: 'friendRequests', id: 'friendRequests', read: readFriendRequests, continues: requestWasHandled };
    case 'members': {
      const group = groupIdOf(spec.group);
      return { kind: 'members', group, id: `members:${group}`, read: (api) => readMembers(api, group) };
    }
    case 'contacts':
      return { kind: 'contacts', id: 'contacts', read: async (api) => keyed(await api.contacts(), (contact) => contact.uid) };
    case 'groups':
      return { kind: 'groups', id: 'groups', read: async (api) => keyed(await api.getGroups(), (group) => group.id) };
    default:
      throw new WatchError('WATCH_BAD_LIST', `a watch polls one of ${WATCH_LISTS.join(', ')}, not ${JSON.stringify(spec.list)}`, { list: spec.list });
  }
}

/**
 * A friend request's key: the applicant and the request's time, so the same person
 * asking again later is a new request. The time is `modifyTime`, or the applicant's
 * `createTime` when the bridge gives none (the same pair the audit log keys on).
 */
export function friendRequestKey(request: Pick<FriendRequest, 'uid' | 'modifyTime' | 'createTime'>): string {
  return `${request.uid}@${request.modifyTime || request.createTime}`;
}

// === Readers ===

async function readFriendRequests(api: ChatApi): Promise<KeyedItem[]> {
  const { pending, handled } = await api.friendRequests();
  const items: WatchedFriendRequest[] = [
    ...pending.map((request) => ({ ...request, status: 'pending' as const })),
    ...handled.map((request) => ({ ...request, status: 'handled' as const })),
  ];
  return keyed(items, (request) => (request.uid ? friendRequestKey(request) : ''));
}

async function readMembers(api: ChatApi, group: string): Promise<KeyedItem[]> {
  // groupMembers reads every page or throws: a page that fails fails the whole read.
  const members = keyed(await api.groupMembers(group), (member) => member.uid);
  // A group always has its host, and the bot reads it as a member: an empty answer is a
  // broken read, and taking it at its word would report every member as gone.
  if (members.length === 0) {
    throw new WatchError('WATCH_INCOMPLETE_READ', `the bridge listed no members in group ${group}; the poll is discarded`, { group });
  }
  return members;
}

/**
 * A pending request the bot (or anyone) answered moves to the handled list, and the
 * bridge may stamp it with a new modifyTime: the same request, not a new one.
 */
function requestWasHandled(previous: unknown, next: WatchItem): boolean {
  if (typeof previous !== 'object' || previous === null || !('status' in next)) return false;
  const before = previous as Partial<WatchedFriendRequest>;
  return before.status === 'pending' && next.status === 'handled' && before.uid === next.uid;
}

// === Helpers ===

/** Keys items, dropping those without an identity and repeats of a key. */
function keyed<T extends WatchItem>(items: readonly T[], keyOf: (item: T) => string): KeyedItem[] {
  const byKey = new Map<string, KeyedItem>();
  for (const item of items) {
    const key = keyOf(item);
    if (key !== '' && !byKey.has(key)) byKey.set(key, { key, item });
  }
  return [...byKey.values()];
}

function groupIdOf(group: string | number | undefined): string {
  if (group === undefined || group === '') {
    throw new WatchError('WATCH_BAD_GROUP', 'watching members needs the group whose members to watch (group: <id>)');
  }
  try {
    return String(toWireId(group, 'group'));
  } catch {
    throw new WatchError('WATCH_BAD_GROUP', `a watched group must be a group id (digits), not ${JSON.stringify(group)}`, { group });
  }
}
