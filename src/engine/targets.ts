/**
 * Who an action reaches, resolved at run time against the bridge's own listing
 * (getGroups), so a rule names groups by id or by a pattern on their names and always
 * acts on the groups the bot is really in.
 *
 * Order is stable: explicit ids in the order written, then pattern and all-groups matches
 * in getGroups order, then friends, then admins; each target once. A group id the bot is
 * not in is not dropped silently: it comes back in `unknown`, and the action records a
 * failed step for it (TARGET_UNKNOWN) while the other targets go ahead.
 */
import type { Contact, Group } from '../protocol/api';
import type { ChatKind } from '../protocol/wire';
import type { CompiledRegex } from '../rules/regex';
import type { GroupTargetsSpec, TargetsSpec } from '../rules/types';
import type { ExecutorConfig } from './run-context';

/** One target an action sends to or acts on. */
export interface ResolvedTarget {
  chat: ChatKind;
  id: string;
  /** The group's name or the friend's nickname ('' when unknown). */
  name: string;
  /** `group:389284`, `friend:7237423`: the ledger's and the limiter's key. */
  key: string;
  /** The group as getGroups listed it (for groups). */
  group?: Group;
}

/** A target named by the rule that the bridge does not know. */
export interface UnknownTarget {
  chat: ChatKind;
  id: string;
  key: string;
  reason: string;
}

export interface TargetResolution {
  targets: ResolvedTarget[];
  unknown: UnknownTarget[];
}

/** Where names come from, and how ids written as templates become ids. */
export interface TargetSources {
  groups(): Promise<Group[]>;
  /** Friends' nicknames, for `target.name`; a failure leaves names empty rather than stopping a send. */
  contacts(): Promise<Contact[]>;
  admins: ExecutorConfig['admins'];
  /** Renders an id that may be a template. */
  text(value: string | number): string;
}

export function targetKey(chat: ChatKind, id: string): string {
  return `${chat}:${id}`;
}

/** Resolves `send.to`. `pattern` is the compiled `groupsMatching`. */
export async function resolveSendTargets(spec: TargetsSpec, pattern: CompiledRegex | undefined, sources: TargetSources): Promise<TargetResolution> {
  const except = new Set((spec.except ?? []).map((id) => sources.text(id)));
  const builder = new TargetListBuilder(except);

  const explicitGroups = [...(spec.group !== undefined ? [spec.group] : []), ...(spec.groups ?? [])].map((id) => sources.text(id));
  const adminGroups = spec.admins ? sources.admins.groups : [];
  const needGroups = explicitGroups.length > 0 || adminGroups.length > 0 || spec.groupsMatching !== undefined || spec.allGroups === true;
  if (needGroups) {
    const groups = await sources.groups();
    addGroups(builder, groups, explicitGroups, pattern, spec.allGroups === true);
    for (const id of adminGroups) builder.addGroup(id, groups);
  }

  const friends = [...(spec.friend !== undefined ? [spec.friend] : []), ...(spec.friends ?? [])].map((id) => sources.text(id));
  if (spec.admins) friends.push(...sources.admins.friends);
  if (friends.length > 0) {
    const names = await friendNames(sources);
    for (const id of friends) builder.addFriend(id, names.get(id) ?? '');
  }
  return builder.result();
}

/** Resolves the `groups` of a group-management action: a list of ids, or group selectors. */
export async function resolveGroupTargets(spec: GroupTargetsSpec, pattern: CompiledRegex | undefined, sources: Pick<TargetSources, 'groups' | 'text'>): Promise<TargetResolution> {
  const groups = await sources.groups();
  if (Array.isArray(spec)) {
    const builder = new TargetListBuilder(new Set());
    for (const id of spec) builder.addGroup(sources.text(id), groups);
    return builder.result();
  }
  const builder = new TargetListBuilder(new Set((spec.except ?? []).map((id) => sources.text(id))));
  const explicit = [...(spec.group !== undefined ? [spec.group] : []), ...(spec.groups ?? [])].map((id) => sources.text(id));
  addGroups(builder, groups, explicit, pattern, spec.allGroups === true);
  return builder.result();
}

function addGroups(builder: TargetListBuilder, groups: readonly Group[], explicit: readonly string[], pattern: CompiledRegex | undefined, all: boolean): void {
  for (const id of explicit) builder.addGroup(id, groups);
  for (const group of groups) {
    if (all || (pattern !== undefined && pattern.test(group.name))) builder.addGroup(group.id, groups);
  }
}

async function friendNames(sources: TargetSources): Promise<Map<string, string>> {
  try {
    return new Map((await sources.contacts()).map((contact) => [contact.uid, contact.nickName]));
  } catch {
    return new Map();
  }
}

class TargetListBuilder {
  readonly #except: ReadonlySet<string>;
  readonly #seen = new Set<string>();
  readonly #targets: ResolvedTarget[] = [];
  readonly #unknown: UnknownTarget[] = [];

  constructor(except: ReadonlySet<string>) {
    this.#except = except;
  }

  addGroup(id: string, groups: readonly Group[]): void {
    const key = targetKey('group', id);
    if (this.#except.has(id) || this.#seen.has(key)) return;
    this.#seen.add(key);
    const group = groups.find((g) => g.id === id);
    if (!group) {
      const reason = /^\d+$/.test(id)
        ? `group ${id} is not among the bot's ${groups.length} groups (getGroups)`
        : `"${id}" is not a group id (expected digits)`;
      this.#unknown.push({ chat: 'group', id, key, reason });
      return;
    }
    this.#targets.push({ chat: 'group', id, name: group.name, key, group });
  }

  addFriend(id: string, name: string): void {
    const key = targetKey('friend', id);
    if (this.#except.has(id) || this.#seen.has(key)) return;
    this.#seen.add(key);
    if (!/^\d+$/.test(id)) {
      this.#unknown.push({ chat: 'friend', id, key, reason: `"${id}" is not a uid (expected digits)` });
      return;
    }
    this.#targets.push({ chat: 'friend', id, name, key });
  }

  result(): TargetResolution {
    return { targets: this.#targets, unknown: this.#unknown };
  }
}
