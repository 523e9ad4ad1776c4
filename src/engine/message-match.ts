/**
 * Which `message` rules an incoming message fires. Pure: a rule's filter is compiled
 * once, when the rule is loaded (its regex with the linear-time engine), and matching
 * is a handful of set lookups and at most one regex search per rule.
 *
 * Every filter given must match:
 * - `chat`: `group`, `friend` or `any` (default);
 * - `groups` / `friends`: the conversations the rule listens to. A group message must
 *   come from a listed group, a friend message from a listed friend; when only one of
 *   the two lists is given, messages of the other chat kind do not match;
 * - `senders`: the sender's uid;
 * - `msgTypes`: the message type (0 text, 1 image, ...);
 * - `text`: a regex searched in the content;
 * - `contains`: at least one of these substrings, as written (case-sensitive).
 *
 * The bot's own messages (`isSelf`, the bridge's echo of what it sent) never match:
 * otherwise a rule that answers messages would answer its own answers forever.
 */
import { compileRegex, type CompiledRegex } from '../rules/regex';
import type { TriggerOptions } from '../rules/types';

/** The fields of a message the filters read (a protocol MessageEvent has them all). */
export interface MatchableMessage {
  chat: 'group' | 'friend';
  groupId?: string;
  friendId?: string;
  senderId: string;
  content: string;
  msgType: number;
  isSelf: boolean;
}

/** A message trigger's options, compiled. */
export interface MessageFilter {
  readonly chat: 'group' | 'friend' | 'any';
  readonly groups: ReadonlySet<string> | null;
  readonly friends: ReadonlySet<string> | null;
  readonly senders: ReadonlySet<string> | null;
  readonly msgTypes: ReadonlySet<number> | null;
  readonly text: CompiledRegex | null;
  readonly contains: readonly string[] | null;
}

/** The options of a `message` trigger as written in a rule. */
export type MessageTriggerOptions = TriggerOptions<'message'>;

/** Compiles a message trigger's options. Throws RegexError (REGEX_INVALID) for a bad `text`. */
export function compileMessageFilter(options: MessageTriggerOptions): MessageFilter {
  return {
    chat: options.chat ?? 'any',
    groups: idSet(options.groups),
    friends: idSet(options.friends),
    senders: idSet(options.senders),
    msgTypes: options.msgTypes ? new Set(options.msgTypes) : null,
    text: options.text !== undefined ? compileRegex(options.text) : null,
    contains: options.contains ? [...options.contains] : null,
  };
}

/** Whether `message` fires a rule with this filter. Never true for the bot's own messages. */
export function matchesMessage(filter: MessageFilter, message: MatchableMessage): boolean {
  if (message.isSelf) return false;
  if (filter.chat !== 'any' && filter.chat !== message.chat) return false;
  if (filter.groups !== null || filter.friends !== null) {
    const listed = message.chat === 'group' ? filter.groups : filter.friends;
    const conversation = message.chat === 'group' ? message.groupId : message.friendId;
    if (listed === null || conversation === undefined || !listed.has(conversation)) return false;
  }
  if (filter.senders !== null && !filter.senders.has(message.senderId)) return false;
  if (filter.msgTypes !== null && !filter.msgTypes.has(message.msgType)) return false;
  if (filter.contains !== null && !filter.contains.some((part) => message.content.includes(part))) return false;
  // The regex last: it is the costliest check.
  if (filter.text !== null && !filter.text.test(message.content)) return false;
  return true;
}

/** Ids as strings (the loader makes them strings already; numbers are accepted for callers that did not). */
function idSet(ids: ReadonlyArray<string | number> | undefined): ReadonlySet<string> | null {
  return ids ? new Set(ids.map(String)) : null;
}
