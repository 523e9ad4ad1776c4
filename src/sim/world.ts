import type { ChatKind } from '../protocol/wire';
import { CONTACTS_APPLY_ACCEPT_OP } from '../protocol/wire';
import { systemClock, type Clock } from '../shared/clock';
import { SimError } from './errors';
import { mulberry32, randomInt, type Random } from './faults';
import {
  BOT_UID,
  DEFAULT_GROUP_PIC,
  DEFAULT_USER_ICON,
  INITIAL_CONTACTS,
  INITIAL_FRIEND_REQUESTS,
  INITIAL_GROUPS,
  INITIAL_USERS,
  type MemberRole,
} from './initial-world';

export { BOT_UID, type MemberRole } from './initial-world';

// === State ===

export interface SimUser {
  uid: number;
  nickName: string;
  icon: string;
  signature: string;
  /** The account's search id. Group views show "--" instead, as the bridge does. */
  identify: string;
  createTime: number;
  /** Last time seen online (`userOnOrOffline.createTime` on the wire). */
  lastSeen: number;
  online: boolean;
}

export interface SimMember {
  uid: number;
  role: MemberRole;
  /** An opaque ordering value the bridge shows per member; kept as text. */
  score: string;
  joinedAt: number;
  /** Epoch ms until which the member may not speak; 0 when not muted. */
  mutedUntil: number;
}

export interface SimNotice {
  noticeId: number;
  notice: string;
  releaseTime: number;
  editUid: number;
}

export interface SimGroup {
  id: number;
  name: string;
  hostId: number;
  pic: string;
  aliasName: string;
  createTime: number;
  msgCancelTime: number;
  qrUrl: string;
  qrExpire: number;
  bfShutup: boolean;
  bfGroupReadCancel: boolean;
  bfJoinCheck: boolean;
  bfJoinFriend: boolean;
  bfAddress: boolean;
  notice: SimNotice | null;
  /** In join order. */
  members: Map<number, SimMember>;
  membersUpdatedAt: number;
}

export interface SimContact {
  uid: number;
  since: number;
  msgCancelTime: number;
  bfReadReceipt: boolean;
}

export type FriendRequestState = 'pending' | 'accepted' | 'rejected';

export interface SimFriendRequest {
  uid: number;
  msg: string;
  modifyTime: number;
  state: FriendRequestState;
  /** The UpdateContactsApply op that answered it. */
  op?: number;
}

/** accepted: taken by the bridge; then delivered or failed (the edition-68 delivery result). */
export type DeliveryStatus = 'accepted' | 'delivered' | 'failed';

export interface SimMessage {
  msgId: number;
  chat: ChatKind;
  /** The conversation: the group id, or the friend's uid (for both directions). */
  targetId: number;
  senderUid: number;
  /** 0 text, 8 notice announcement, 50 mute announcement, ... */
  chatType: number;
  /** docs/msg.md's msgType: 0 text, 1 image, 7 file, ... */
  msgType: number;
  content: string;
  customMsgId: string;
  time: number;
  status: DeliveryStatus;
  bfAll?: boolean;
  bfShutup?: boolean;
  /** sendFile: the path on the bridge host. */
  file?: string;
  atUids?: number[];
}

/** What a client changed through the bridge. */
export type WorldChangeKind =
  | { kind: 'groupShutup'; groupId: number; bfShutup: boolean }
  | { kind: 'notice'; groupId: number; noticeId: number; notice: string }
  | { kind: 'noticeCleared'; groupId: number }
  | { kind: 'memberMute'; groupId: number; uid: number; seconds: number; until: number }
  | { kind: 'friendRequestAnswered'; uid: number; op: number; accepted: boolean };

/** One change with its time, for tests that count effects (a mute applied twice shows twice). */
export type WorldChange = WorldChangeKind & { at: number };

// === Inputs of the mutators ===

export interface UserInput {
  uid?: number;
  nickName?: string;
  icon?: string;
  signature?: string;
  identify?: string;
  createTime?: number;
  lastSeen?: number;
  online?: boolean;
}

export interface MemberInput extends UserInput {
  role?: MemberRole;
}

export interface GroupInput {
  id?: number;
  name: string;
  hostId: number;
  /** Besides the host; the bot joins as MANAGE unless `botRole` is null. */
  memberIds?: number[];
  botRole?: MemberRole | null;
  notice?: string;
}

export interface FriendRequestInput extends UserInput {
  msg?: string;
}

export interface MessageInput {
  chat: ChatKind;
  targetId: number;
  senderUid: number;
  chatType?: number;
  msgType?: number;
  content: string;
  customMsgId?: string;
  bfAll?: boolean;
  bfShutup?: boolean;
  file?: string;
  atUids?: number[];
}

export interface WorldOptions {
  /** Seeds fake ids (message ids, notice ids, new uids). @default 1 */
  seed?: number;
  clock?: Clock;
  /** Sent and injected messages kept; older ones are forgotten. @default 100000 */
  messageLimit?: number;
  /** Start from the built-in world (INITIAL_*); false starts with the bot alone. @default true */
  populate?: boolean;
}

/** `memberType` of getGroups for each role: the example shows 1 for the bot as MANAGE; 0 and 2 are our reading. */
export const MEMBER_TYPE_OF_ROLE: Record<MemberRole, number> = { NORMAL: 0, MANAGE: 1, HOST: 2 };

const ADMIN_ROLES: ReadonlySet<MemberRole> = new Set(['HOST', 'MANAGE']);
const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyz0123456789';
const HEX = '0123456789ABCDEF';
/** Far-future QR expiry, as the example shows it. */
const QR_EXPIRE = 4070908800000;
const FIRST_MSG_ID = 4688172503;

/**
 * The simulated platform as the bot sees it: users, groups and members, contacts, friend
 * requests, and every message sent or injected. Mutators validate like the backend would
 * and throw SimError (with the wire errorCode) when they refuse. Ids and times come from a
 * seeded PRNG and the injected Clock, so a run is reproducible.
 */
export class World {
  readonly users = new Map<number, SimUser>();
  readonly groups = new Map<number, SimGroup>();
  readonly contacts = new Map<number, SimContact>();
  /** Keyed by the applicant's uid: one request per user, pending or handled. */
  readonly friendRequests = new Map<number, SimFriendRequest>();
  /** Oldest first, bounded by `messageLimit`. */
  readonly messages: SimMessage[] = [];
  readonly changes: WorldChange[] = [];
  contactsUpdatedAt: number;

  readonly #clock: Clock;
  readonly #random: Random;
  readonly #messageLimit: number;
  readonly #customMsgIds = new Set<string>();
  #lastMsgId = FIRST_MSG_ID;
  #lastNoticeId = 0;

  constructor(options: WorldOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#random = mulberry32(options.seed ?? 1);
    this.#messageLimit = options.messageLimit ?? 100_000;
    this.contactsUpdatedAt = 1766113547565;
    this.#loadBot();
    if (options.populate !== false) this.#loadInitial();
  }

  get botUid(): number {
    return BOT_UID;
  }

  get bot(): SimUser {
    return this.users.get(BOT_UID)!;
  }

  now(): number {
    return this.#clock.now();
  }

  // --- lookups ---

  user(uid: number): SimUser {
    const user = this.users.get(uid);
    if (!user) throw new SimError('NOT_FOUND', `no user ${uid}`, { uid });
    return user;
  }

  group(groupId: number): SimGroup {
    const group = this.groups.get(groupId);
    if (!group) throw new SimError('NOT_FOUND', `no group ${groupId}`, { groupId });
    return group;
  }

  member(groupId: number, uid: number): SimMember {
    const member = this.group(groupId).members.get(uid);
    if (!member) throw new SimError('NOT_FOUND', `user ${uid} is not a member of group ${groupId}`, { groupId, uid });
    return member;
  }

  /** Groups the bot belongs to, in creation order. */
  botGroups(): SimGroup[] {
    return [...this.groups.values()].filter((g) => g.members.has(BOT_UID));
  }

  isFriend(uid: number): boolean {
    return this.contacts.has(uid);
  }

  isMuted(groupId: number, uid: number): boolean {
    return this.member(groupId, uid).mutedUntil > this.now();
  }

  /** How many groups the bot shares with `uid`. */
  commonGroupCount(uid: number): number {
    let count = 0;
    for (const group of this.groups.values()) if (group.members.has(uid) && group.members.has(BOT_UID)) count++;
    return count;
  }

  pendingFriendRequests(): SimFriendRequest[] {
    return [...this.friendRequests.values()].filter((r) => r.state === 'pending');
  }

  handledFriendRequests(): SimFriendRequest[] {
    return [...this.friendRequests.values()].filter((r) => r.state !== 'pending');
  }

  /** The conversation with a group or a friend, oldest first. */
  messagesFor(chat: ChatKind, targetId: number): SimMessage[] {
    return this.messages.filter((m) => m.chat === chat && m.targetId === targetId);
  }

  // --- population ---

  addUser(input: UserInput = {}): SimUser {
    const uid = input.uid ?? this.#freshId(1_000_000, 9_999_999, this.users);
    if (this.users.has(uid)) throw new SimError('DUPLICATE', `user ${uid} already exists`, { uid });
    const now = this.now();
    const user: SimUser = {
      uid,
      nickName: input.nickName ?? `user${uid}`,
      icon: input.icon ?? DEFAULT_USER_ICON,
      signature: input.signature ?? '',
      identify: input.identify ?? this.#randomText(ALPHANUMERIC, 10),
      createTime: input.createTime ?? now,
      lastSeen: input.lastSeen ?? now,
      online: input.online ?? false,
    };
    this.users.set(uid, user);
    return user;
  }

  /** The user with this uid, created from the rest of the input when unknown. */
  ensureUser(input: UserInput): SimUser {
    return (input.uid !== undefined && this.users.get(input.uid)) || this.addUser(input);
  }

  addGroup(input: GroupInput): SimGroup {
    const id = input.id ?? this.#freshId(100_000, 999_999, this.groups);
    if (this.groups.has(id)) throw new SimError('DUPLICATE', `group ${id} already exists`, { groupId: id });
    this.user(input.hostId);
    const now = this.now();
    const group = this.#newGroup(id, input.name, input.hostId, now);
    this.groups.set(id, group);
    this.#join(group, input.hostId, 'HOST', now);
    const botRole = input.botRole === undefined ? 'MANAGE' : input.botRole;
    if (botRole !== null && input.hostId !== BOT_UID) this.#join(group, BOT_UID, botRole, now);
    for (const uid of input.memberIds ?? []) {
      this.user(uid);
      if (!group.members.has(uid)) this.#join(group, uid, 'NORMAL', now);
    }
    if (input.notice !== undefined) {
      group.notice = { noticeId: this.#nextNoticeId(), notice: input.notice, releaseTime: now, editUid: input.hostId };
    }
    return group;
  }

  /** Adds a member (creating the user when the uid is unknown or absent). */
  addMember(groupId: number, input: MemberInput = {}): SimMember {
    const group = this.group(groupId);
    if (input.uid !== undefined && group.members.has(input.uid)) {
      throw new SimError('DUPLICATE', `user ${input.uid} is already a member of group ${groupId}`, { groupId, uid: input.uid });
    }
    if (input.role === 'HOST') throw new SimError('INVALID_DATA', `group ${groupId} already has a host`, { groupId });
    const user = this.ensureUser(input);
    const member = this.#join(group, user.uid, input.role ?? 'NORMAL', this.now());
    group.membersUpdatedAt = this.now();
    return member;
  }

  removeMember(groupId: number, uid: number): void {
    const group = this.group(groupId);
    const member = this.member(groupId, uid);
    if (member.role === 'HOST') throw new SimError('NO_PERMISSION', `the host of group ${groupId} cannot leave it`, { groupId, uid });
    group.members.delete(uid);
    group.membersUpdatedAt = this.now();
  }

  setRole(groupId: number, uid: number, role: Exclude<MemberRole, 'HOST'>): void {
    const member = this.member(groupId, uid);
    if (member.role === 'HOST') throw new SimError('NO_PERMISSION', `the host of group ${groupId} keeps its role`, { groupId, uid });
    member.role = role;
  }

  addContact(input: UserInput): SimContact {
    const user = this.ensureUser(input);
    const existing = this.contacts.get(user.uid);
    if (existing) return existing;
    const contact: SimContact = { uid: user.uid, since: this.now(), msgCancelTime: 30, bfReadReceipt: true };
    this.contacts.set(user.uid, contact);
    this.contactsUpdatedAt = this.now();
    return contact;
  }

  /** A new pending friend request (the user is created when unknown). */
  addFriendRequest(input: FriendRequestInput = {}): SimFriendRequest {
    const user = this.ensureUser(input);
    if (user.uid === BOT_UID) throw new SimError('INVALID_DATA', 'the bot cannot ask itself for friendship');
    if (this.friendRequests.get(user.uid)?.state === 'pending') {
      throw new SimError('DUPLICATE', `user ${user.uid} already has a pending friend request`, { uid: user.uid });
    }
    const request: SimFriendRequest = {
      uid: user.uid,
      msg: input.msg ?? `我是${user.nickName}`,
      modifyTime: this.now(),
      state: 'pending',
    };
    // Re-inserted so the newest request lists last, as a fresh application would.
    this.friendRequests.delete(user.uid);
    this.friendRequests.set(user.uid, request);
    return request;
  }

  // --- changes made through the bridge ---

  /** GroupUpdate op 11. */
  setGroupShutup(groupId: number, bfShutup: boolean): void {
    const group = this.#administered(groupId);
    group.bfShutup = bfShutup;
    this.#change({ kind: 'groupShutup', groupId, bfShutup });
  }

  /** GroupUpdate op 12: a new notice, edited by the bot. */
  setNotice(groupId: number, text: string): SimNotice {
    const group = this.#administered(groupId);
    const notice: SimNotice = { noticeId: this.#nextNoticeId(), notice: text, releaseTime: this.now(), editUid: BOT_UID };
    group.notice = notice;
    this.#change({ kind: 'notice', groupId, noticeId: notice.noticeId, notice: text });
    return notice;
  }

  /** GroupUpdate op 13. */
  clearNotice(groupId: number): void {
    const group = this.#administered(groupId);
    group.notice = null;
    this.#change({ kind: 'noticeCleared', groupId });
  }

  /** GroupMemberShutup: mutes for `seconds` (0 lifts the mute); returns the end, 0 when lifted. */
  muteMember(groupId: number, uid: number, seconds: number): number {
    const group = this.#administered(groupId);
    const member = this.member(groupId, uid);
    if (uid === BOT_UID) throw new SimError('NO_PERMISSION', 'the bot cannot mute itself', { groupId });
    const botRole = group.members.get(BOT_UID)!.role;
    if (member.role === 'HOST' || (member.role === 'MANAGE' && botRole !== 'HOST')) {
      throw new SimError('NO_PERMISSION', `the bot may not mute ${member.role === 'HOST' ? 'the host' : 'an admin'} of group ${groupId}`, {
        groupId,
        uid,
      });
    }
    const until = seconds > 0 ? this.now() + seconds * 1000 : 0;
    member.mutedUntil = until;
    this.#change({ kind: 'memberMute', groupId, uid, seconds, until });
    return until;
  }

  /** UpdateContactsApply: op 8 accepts (the applicant becomes a contact); any other op rejects. */
  answerFriendRequest(uid: number, op: number): SimFriendRequest {
    const request = this.friendRequests.get(uid);
    if (!request || request.state !== 'pending') throw new SimError('NOT_FOUND', `no pending friend request from ${uid}`, { uid });
    const accepted = op === CONTACTS_APPLY_ACCEPT_OP;
    request.state = accepted ? 'accepted' : 'rejected';
    request.op = op;
    request.modifyTime = this.now();
    if (accepted) this.addContact({ uid });
    this.#change({ kind: 'friendRequestAnswered', uid, op, accepted });
    return request;
  }

  /**
   * Appends a message to the log. The target must exist: a group the sender belongs to,
   * or a contact of the bot. A repeated custom_msg_id is refused.
   */
  recordMessage(input: MessageInput): SimMessage {
    if (input.chat === 'group') {
      const group = this.group(input.targetId);
      if (!group.members.has(input.senderUid)) {
        throw new SimError('NOT_FOUND', `user ${input.senderUid} is not a member of group ${input.targetId}`, {
          groupId: input.targetId,
          uid: input.senderUid,
        });
      }
    } else if (!this.contacts.has(input.targetId)) {
      throw new SimError('NOT_FOUND', `user ${input.targetId} is not a contact of the bot`, { uid: input.targetId });
    }
    if (input.customMsgId !== undefined && this.#customMsgIds.has(input.customMsgId)) {
      throw new SimError('DUPLICATE', `custom_msg_id ${input.customMsgId} was already used`, { customMsgId: input.customMsgId });
    }
    const customMsgId = input.customMsgId ?? this.newCustomMsgId();
    const chatType = input.chatType ?? 0;
    const message: SimMessage = {
      msgId: this.#nextMsgId(),
      chat: input.chat,
      targetId: input.targetId,
      senderUid: input.senderUid,
      chatType,
      msgType: input.msgType ?? chatType,
      content: input.content,
      customMsgId,
      time: this.now(),
      status: 'accepted',
    };
    if (input.bfAll !== undefined) message.bfAll = input.bfAll;
    if (input.bfShutup !== undefined) message.bfShutup = input.bfShutup;
    if (input.file !== undefined) message.file = input.file;
    if (input.atUids !== undefined) message.atUids = input.atUids;
    this.#customMsgIds.add(customMsgId);
    this.messages.push(message);
    this.#trim();
    return message;
  }

  /** 11 digits, not starting with 0, never handed out twice. */
  newCustomMsgId(): string {
    for (;;) {
      const id = String(randomInt(this.#random, 1, 9)) + this.#randomText('0123456789', 10);
      if (!this.#customMsgIds.has(id)) return id;
    }
  }

  /** Everything, as plain JSON (Maps become arrays). */
  snapshot(): WorldSnapshot {
    return {
      botUid: BOT_UID,
      now: this.now(),
      users: [...this.users.values()],
      groups: [...this.groups.values()].map((g) => ({ ...g, members: [...g.members.values()] })),
      contacts: [...this.contacts.values()],
      friendRequests: [...this.friendRequests.values()],
      messages: this.messages,
      changes: this.changes,
    };
  }

  // --- internals ---

  #administered(groupId: number): SimGroup {
    const group = this.group(groupId);
    const bot = group.members.get(BOT_UID);
    if (!bot || !ADMIN_ROLES.has(bot.role)) {
      throw new SimError('NO_PERMISSION', `the bot is not host or admin of group ${groupId}`, { groupId });
    }
    return group;
  }

  #change(change: WorldChangeKind): void {
    this.changes.push({ ...change, at: this.now() });
    if (this.changes.length > this.#messageLimit * 1.25) this.changes.splice(0, this.changes.length - this.#messageLimit);
  }

  #trim(): void {
    // Trimmed in chunks so the log stays O(1) per message on average.
    if (this.messages.length <= this.#messageLimit * 1.25) return;
    const dropped = this.messages.splice(0, this.messages.length - this.#messageLimit);
    for (const m of dropped) this.#customMsgIds.delete(m.customMsgId);
  }

  #join(group: SimGroup, uid: number, role: MemberRole, joinedAt: number, score?: string): SimMember {
    const member: SimMember = { uid, role, score: score ?? String(joinedAt), joinedAt, mutedUntil: 0 };
    group.members.set(uid, member);
    return member;
  }

  #newGroup(id: number, name: string, hostId: number, createTime: number): SimGroup {
    return {
      id,
      name,
      hostId,
      pic: DEFAULT_GROUP_PIC,
      aliasName: this.#randomText(ALPHANUMERIC, 10),
      createTime,
      msgCancelTime: 30,
      qrUrl:
        `https://68chat.com?qrCode=${this.#randomText('ABCDEFGHJKLMNPQRSTUVWXYZ23456789', 8)}` +
        `&imQrCodeType=1&IdCode=${this.#randomText(HEX, 32)}&fromUid=${BOT_UID}`,
      qrExpire: QR_EXPIRE,
      bfShutup: false,
      bfGroupReadCancel: false,
      bfJoinCheck: false,
      bfJoinFriend: true,
      bfAddress: true,
      notice: null,
      members: new Map(),
      membersUpdatedAt: createTime,
    };
  }

  #loadBot(): void {
    const seed = INITIAL_USERS.find((u) => u.uid === BOT_UID)!;
    this.addUser(seed);
  }

  #loadInitial(): void {
    for (const seed of INITIAL_USERS) if (seed.uid !== BOT_UID) this.addUser(seed);
    for (const seed of INITIAL_GROUPS) {
      const group = this.#newGroup(seed.id, seed.name, seed.hostId, seed.createTime);
      if (seed.aliasName) group.aliasName = seed.aliasName;
      if (seed.qrUrl) group.qrUrl = seed.qrUrl;
      if (seed.bfJoinCheck !== undefined) group.bfJoinCheck = seed.bfJoinCheck;
      for (const m of seed.members) this.#join(group, m.uid, m.role ?? 'NORMAL', m.joinedAt, m.score);
      group.membersUpdatedAt = seed.membersUpdatedAt ?? Math.max(...seed.members.map((m) => m.joinedAt));
      if (seed.notice) {
        group.notice = { ...seed.notice };
        this.#lastNoticeId = Math.max(this.#lastNoticeId, seed.notice.noticeId);
      }
      this.groups.set(group.id, group);
    }
    for (const { uid, since } of INITIAL_CONTACTS) {
      this.contacts.set(uid, { uid, since, msgCancelTime: 30, bfReadReceipt: true });
    }
    for (const seed of INITIAL_FRIEND_REQUESTS) this.friendRequests.set(seed.uid, { ...seed });
  }

  #nextMsgId(): number {
    this.#lastMsgId += randomInt(this.#random, 1, 97);
    return this.#lastMsgId;
  }

  #nextNoticeId(): number {
    this.#lastNoticeId = (this.#lastNoticeId || 1040000) + randomInt(this.#random, 1, 5000);
    return this.#lastNoticeId;
  }

  #freshId<T>(min: number, max: number, taken: Map<number, T>): number {
    for (;;) {
      const id = randomInt(this.#random, min, max);
      if (!taken.has(id)) return id;
    }
  }

  #randomText(alphabet: string, length: number): string {
    let text = '';
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(this.#random() * alphabet.length)];
    return text;
  }
}

/** World.snapshot(): the state as plain JSON. */
export interface WorldSnapshot {
  botUid: number;
  now: number;
  users: SimUser[];
  groups: Array<Omit<SimGroup, 'members'> & { members: SimMember[] }>;
  contacts: SimContact[];
  friendRequests: SimFriendRequest[];
  messages: SimMessage[];
  changes: WorldChange[];
}
