/**
 * The typed face of the bridge: one call per frame type and ApiName of PROTOCOL.md,
 * answers normalised to string ids and plain fields (with `raw` kept beside them).
 * Ids are strings here; they become JSON numbers only in the frames that send numbers.
 */
import { systemClock, type Clock, type TimerHandle } from '../shared/clock';
import type { BridgeClient, CallOptions } from './client';
import type { OutgoingFrame } from './codec';
import { BridgeArgumentError, BridgeDisconnectedError, ProtocolViolationError } from './errors';
import type { DeliveryEvent } from './events';
import { idString, listAt, numberOf, objectAt, textOf, type JsonObject } from './values';
import {
  API_TABLE,
  CHAT_TYPE,
  CONTACTS_APPLY_ACCEPT_OP,
  CUSTOM_MSG_ID_LENGTH,
  EDITIONS,
  GROUP_MEMBER_PAGE_SIZE,
  GROUP_UPDATE_OP,
  encodeNewlines,
  type ApiName,
  type ChatKind,
  type MessageItem,
  type SendFileData,
  type SendMsgData,
} from './wire';

// === Ids ===

/**
 * An id as a JSON number for the frames that send numbers. Refuses anything but digits,
 * and ids beyond Number.MAX_SAFE_INTEGER, which a JSON number would silently change.
 */
export function toWireId(id: string | number, what = 'id'): number {
  const text = typeof id === 'number' ? (Number.isInteger(id) && id >= 0 ? String(id) : '') : id.trim();
  if (!/^\d+$/.test(text)) throw new BridgeArgumentError(`${what} must be a string of digits, got ${JSON.stringify(id)}`, { id });
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new BridgeArgumentError(
      `${what} ${text} is larger than ${Number.MAX_SAFE_INTEGER}, the largest id a JSON number carries exactly; it cannot be sent to the bridge`,
      { id: text },
    );
  }
  return value;
}

/**
 * Issues custom_msg_id values: CUSTOM_MSG_ID_LENGTH digits, never starting with 0, never
 * repeated. Values walk a random permutation of the whole id space (a multiplier coprime
 * with its size, from a random offset), so they look random and cannot repeat until the
 * space is used up, without remembering the ids already issued.
 */
export class CustomMsgIdSource {
  readonly #low: bigint;
  readonly #space: bigint;
  readonly #multiplier: bigint;
  readonly #offset: bigint;
  #issued = 0n;

  constructor(random: () => number = Math.random, length: number = CUSTOM_MSG_ID_LENGTH) {
    this.#low = 10n ** BigInt(length - 1);
    this.#space = 9n * this.#low;
    const pick = (): bigint => BigInt(Math.floor(random() * Number(this.#space))) % this.#space;
    // The space is 2^a·3^2·5^b, so a multiplier not divisible by 2, 3 or 5 is coprime with it.
    let multiplier = pick() | 1n;
    while (multiplier % 3n === 0n || multiplier % 5n === 0n || multiplier < 2n) multiplier = (multiplier + 2n) % this.#space;
    this.#multiplier = multiplier;
    this.#offset = pick();
  }

  next(): string {
    if (this.#issued >= this.#space) throw new BridgeArgumentError('every custom_msg_id of this process has been used');
    const value = this.#low + ((this.#offset + this.#issued * this.#multiplier) % this.#space);
    this.#issued += 1n;
    return value.toString();
  }
}

/** One source for the whole process, so no two ChatApi instances issue the same id. */
let processMsgIds: CustomMsgIdSource | undefined;

// === Normalised answers ===

export interface Group {
  id: string;
  name: string;
  hostId: string;
  memberCount: number;
  /** Whole-group mute (bfShutup). */
  muted: boolean;
  /** Current notice text ('' when none). */
  notice: string;
  noticeId: string;
  raw: JsonObject;
}

export interface GroupDetail {
  id: string;
  name: string;
  hostId: string;
  memberCount: number;
  notice: string;
  noticeId: string;
  /** The bot's role in the group, e.g. "MANAGE". */
  memberType: string;
  createTime: number;
  raw: JsonObject;
}

export interface GroupMember {
  uid: string;
  nickName: string;
  groupId: string;
  identify: string;
  isFriend: boolean;
  raw: JsonObject;
}

export interface OnlineStatus {
  uid: string;
  online: boolean;
  /** The bridge's createTime: when the status was last recorded. */
  lastSeenAt: number;
  raw: JsonObject;
}

export interface UserInfo {
  uid: string;
  nickName: string;
  icon: string;
  signature: string;
  identify: string;
  /** Account creation, ms since the epoch. */
  createTime: number;
  raw: JsonObject;
}

export interface Contact {
  uid: string;
  nickName: string;
  identify: string;
  isFriend: boolean;
  letter: string;
  raw: JsonObject;
}

export interface ContactDetail extends Contact {
  commonGroupNum: number;
  createTime: number;
}

export interface FriendRequest {
  uid: string;
  nickName: string;
  msg: string;
  /** The applicant's account creation time (for account-age checks). */
  createTime: number;
  modifyTime: number;
  type: string;
  raw: JsonObject;
}

function noticeOf(value: unknown): { notice: string; noticeId: string } {
  // getGroups may carry groupNotice as "" when there is none.
  const notice = objectAt(value);
  return { notice: textOf(notice.notice), noticeId: idString(notice.noticeId) };
}

export function normaliseGroup(raw: unknown): Group {
  const group = objectAt(raw);
  return {
    id: idString(group.id) || idString(group.groupId),
    name: textOf(group.name),
    hostId: idString(group.hostId),
    memberCount: numberOf(group.memberCount),
    muted: group.bfShutup === true,
    ...noticeOf(group.groupNotice),
    raw: group,
  };
}

export function normaliseGroupDetail(payload: JsonObject): GroupDetail {
  const group = objectAt(payload.group);
  return {
    id: idString(group.groupId),
    name: textOf(group.name),
    hostId: idString(group.hostId),
    memberCount: numberOf(group.memberCount),
    ...noticeOf(payload.groupNotice),
    memberType: textOf(payload.memberType),
    createTime: numberOf(group.createTime),
    raw: payload,
  };
}

export function normaliseMember(raw: unknown): GroupMember {
  const member = objectAt(raw);
  const user = objectAt(member.user);
  return {
    uid: idString(user.uid),
    nickName: textOf(user.nickName),
    groupId: idString(member.groupId),
    identify: textOf(user.identify),
    isFriend: objectAt(user.friendRelation).bfFriend === true,
    raw: member,
  };
}

function normaliseUser(raw: unknown): UserInfo {
  const user = objectAt(raw);
  return {
    uid: idString(user.uid),
    nickName: textOf(user.nickName),
    icon: textOf(user.icon),
    signature: textOf(user.signature),
    identify: textOf(user.identify),
    createTime: numberOf(user.createTime),
    raw: user,
  };
}

function normaliseContact(raw: unknown): Contact {
  const contact = objectAt(raw);
  const user = objectAt(contact.userInfo);
  return {
    uid: idString(user.uid),
    nickName: textOf(user.nickName),
    identify: textOf(user.identify),
    isFriend: objectAt(user.friendRelation).bfFriend === true,
    letter: textOf(contact.letter),
    raw: contact,
  };
}

export function normaliseFriendRequest(raw: unknown): FriendRequest {
  const record = objectAt(raw);
  const user = objectAt(record.userInfo);
  return {
    uid: idString(user.uid),
    nickName: textOf(user.nickName),
    msg: textOf(record.msg),
    createTime: numberOf(user.createTime),
    modifyTime: numberOf(record.modifyTime),
    type: typeof record.type === 'number' ? String(record.type) : textOf(record.type),
    raw: record,
  };
}

// === Sends ===

export interface ChatTarget {
  chat: ChatKind;
  /** Group id or friend uid. */
  id: string;
}

export interface SendOptions {
  timeoutMs?: number;
  /** Called with each frame just before it is written, so it can be recorded durably first. */
  onPrepared?: (frame: OutgoingFrame) => void;
}

export interface SendTextOptions extends SendOptions {
  /** 0 ordinary text (default), 8 notice announcement, 50 mute announcement. */
  chatType?: number;
  bfAll?: boolean;
  bfShutup?: boolean;
}

/** The bridge accepted the frame; whether the message reached anyone comes later, as a delivery. */
export interface SendResult {
  frameId: string;
  answer: unknown;
  state: 'accepted';
}

export interface TextSendResult extends SendResult {
  customMsgId: string;
}

/** A backend change and, when asked for and the change succeeded, its chat announcement. */
export interface AnnouncedChange {
  update: JsonObject;
  announcement: TextSendResult | undefined;
}

export interface DeliveryOutcome {
  customMsgId: string;
  /** 'accepted' when no delivery result arrived in time (the seed's edition never sends one). */
  state: 'delivered' | 'failed' | 'accepted';
  msgId?: string;
  event?: DeliveryEvent;
}

export interface RestartResult {
  verb: string;
  frameId: string;
  answer: unknown;
  /** The connection dropped before an answer: expected, as the chat app restarts. */
  connectionDropped: boolean;
}

export interface FriendRequestAnswerOptions extends SendOptions {
  apiName?: string;
  path?: string;
  acceptOp?: number;
  /** No op for rejecting is documented; rejecting needs one configured. */
  rejectOp?: number;
}

export interface ChatApiOptions {
  /** Source of custom_msg_id randomness; by default one process-wide source. */
  random?: () => number;
  clock?: Clock;
  /** How many recent delivery results to remember for waitForDelivery. @default 1000 */
  deliveryMemory?: number;
  /** @default GROUP_MEMBER_PAGE_SIZE (1000) */
  memberPageSize?: number;
}

/** Bounds a bridge that keeps returning full pages. */
const MAX_MEMBER_PAGES = 1000;

/**
 * Typed calls over a BridgeClient.
 *
 * @example
 * const api = new ChatApi(client);
 * const sent = await api.sendText({ chat: 'group', id: '389284' }, 'line one\nline two');
 * const outcome = await api.waitForDelivery(sent.customMsgId, 10_000);
 */
export class ChatApi {
  readonly client: BridgeClient;
  readonly #msgIds: CustomMsgIdSource;
  readonly #clock: Clock;
  readonly #deliveryMemory: number;
  readonly #pageSize: number;
  readonly #recentDeliveries = new Map<string, DeliveryEvent>();
  readonly #deliveryWaiters = new Map<string, Set<(event: DeliveryEvent | undefined) => void>>();
  readonly #onDelivery = (event: DeliveryEvent): void => this.#recordDelivery(event);

  constructor(client: BridgeClient, options: ChatApiOptions = {}) {
    this.client = client;
    this.#msgIds = options.random ? new CustomMsgIdSource(options.random) : (processMsgIds ??= new CustomMsgIdSource());
    this.#clock = options.clock ?? systemClock;
    this.#deliveryMemory = Math.max(1, options.deliveryMemory ?? 1000);
    this.#pageSize = Math.max(1, options.memberPageSize ?? GROUP_MEMBER_PAGE_SIZE);
    client.on('delivery', this.#onDelivery);
  }

  /** Stops listening to the client; delivery waiters resolve as 'accepted'. */
  dispose(): void {
    this.client.off('delivery', this.#onDelivery);
    for (const waiters of this.#deliveryWaiters.values()) for (const waiter of waiters) waiter(undefined);
    this.#deliveryWaiters.clear();
  }

  // === Raw access ===

  /** Any frame type; resolves with the answer's `data`. */
  async call(type: string, data?: unknown, options?: CallOptions): Promise<unknown> {
    return (await this.client.call(type, data, options)).data;
  }

  /** Any `request`; resolves with the answer's `data` (commonResult included). */
  async request(apiName: string, path: string, data?: Record<string, unknown>, protoType?: 'group', options?: CallOptions): Promise<JsonObject> {
    const answer = await this.client.request(apiName, path, data, { ...options, protoType });
    return objectAt(answer.data);
  }

  #api(apiName: ApiName, data?: Record<string, unknown>, options?: CallOptions): Promise<JsonObject> {
    const spec: { path: string; protoType?: 'group' } = API_TABLE[apiName];
    return this.request(apiName, spec.path, data, spec.protoType, options);
  }

  // === Reads ===

  async getGroups(): Promise<Group[]> {
    const data = await this.call('getGroups');
    if (!Array.isArray(data)) throw new ProtocolViolationError('the bridge answered getGroups without a list of groups', { data });
    return data.map(normaliseGroup);
  }

  async getApiUrl(): Promise<string> {
    return this.client.discoverApiUrl();
  }

  async userInfo(): Promise<UserInfo> {
    const payload = await this.#api('UserInfo');
    return { ...normaliseUser(payload.userInfo), raw: payload };
  }

  async groupDetail(groupId: string): Promise<GroupDetail> {
    return normaliseGroupDetail(await this.#api('GroupDetail', { groupId: toWireId(groupId, 'groupId') }));
  }

  /** Every member, page after page, while pages come back full and the count is not reached. */
  async groupMembers(groupId: string): Promise<GroupMember[]> {
    const wireGroupId = toWireId(groupId, 'groupId');
    const members = new Map<string, GroupMember>();
    for (let pageNum = 1; pageNum <= MAX_MEMBER_PAGES; pageNum++) {
      const payload = await this.#api('GroupMemberList', { groupId: wireGroupId, pageSize: this.#pageSize, pageNum });
      const page = listAt(payload.members);
      for (const raw of page) {
        const member = normaliseMember(raw);
        if (member.uid) members.set(member.uid, member);
      }
      const count = numberOf(payload.count, Infinity);
      if (page.length < this.#pageSize || members.size >= count) break;
    }
    return [...members.values()];
  }

  async onlineStatus(groupId: string, uids: readonly string[]): Promise<OnlineStatus[]> {
    const payload = await this.#api('GroupMemberOnLineStatusList', {
      groupId: toWireId(groupId, 'groupId'),
      uids: uids.map((uid) => toWireId(uid, 'uid')),
    });
    return listAt(payload.userOnLineStatusList).map((raw) => {
      const status = objectAt(raw);
      return { uid: idString(status.uid), online: status.online === true, lastSeenAt: numberOf(status.createTime), raw: status };
    });
  }

  async contacts(): Promise<Contact[]> {
    const payload = await this.#api('ContactsList', {});
    return listAt(payload.contactsList).map(normaliseContact);
  }

  async contactDetail(uid: string): Promise<ContactDetail> {
    const payload = await this.#api('ContactsDetail', { targetUid: toWireId(uid, 'uid') });
    const base = objectAt(payload.contactsDetailBase);
    const contact = normaliseContact(base);
    return { ...contact, commonGroupNum: numberOf(base.commonGroupNum), createTime: numberOf(objectAt(base.userInfo).createTime), raw: payload };
  }

  /** Pending requests (unRecordList) and handled ones (recordList); the seed shows only the latter. */
  async friendRequests(): Promise<{ pending: FriendRequest[]; handled: FriendRequest[] }> {
    const payload = await this.#api('ContactsApplyList');
    return {
      pending: listAt(payload.unRecordList).map(normaliseFriendRequest),
      handled: listAt(payload.recordList).map(normaliseFriendRequest),
    };
  }

  /** Requests to join groups (GroupReqList); the answer's shape is not documented, so it comes back as it is. */
  async groupJoinRequests(pageNum = 1, pageSize = 100): Promise<JsonObject> {
    return this.#api('GroupReqList', { pageNum, pageSize });
  }

  // === Writes: each frame is written at most once ===

  /**
   * Sends a text message. Newlines are encoded per the client's setting; a fresh
   * custom_msg_id is attached and handed to `onPrepared` with the frame before it is written.
   */
  async sendText(target: ChatTarget, message: string, options: SendTextOptions = {}): Promise<TextSendResult> {
    const id = this.#targetId(target);
    if (typeof message !== 'string' || message.length === 0) throw new BridgeArgumentError('a message needs some text');
    const chatType = options.chatType ?? CHAT_TYPE.TEXT;
    const values: MessageItem['values'] = { chatType, content: encodeNewlines(message, this.client.newlineEncoding) };
    if (options.bfAll !== undefined) values.bfAll = options.bfAll;
    if (options.bfShutup !== undefined) values.bfShutup = options.bfShutup;
    const customMsgId = this.#msgIds.next();
    const data: SendMsgData = { id, type: target.chat, custom_msg_id: customMsgId, list: [{ type: 'text', values }] };
    // The seed's ordinary messages carry quoteInfo: null; its announcements do not.
    if (chatType === CHAT_TYPE.TEXT) data.quoteInfo = null;
    const sent = await this.#send('sendMsg', data, options);
    return { ...sent, customMsgId };
  }

  /** Sends a file by its path on the bridge's host. */
  async sendFile(target: ChatTarget, path: string, options: SendOptions = {}): Promise<SendResult> {
    const id = this.#targetId(target);
    if (typeof path !== 'string' || path.trim() === '') throw new BridgeArgumentError('sendFile needs the path of a file on the bridge host');
    const data: SendFileData = { file: path, type: target.chat, id };
    return this.#send('sendFile', data, options);
  }

  /**
   * Sets the group notice (GroupUpdate op 12) and, unless `announce` is false, announces
   * it with a chatType 8 message; the announcement is sent only if the update succeeded.
   */
  async setNotice(groupId: string, notice: string, options: SendOptions & { announce?: boolean } = {}): Promise<AnnouncedChange> {
    const wireGroupId = toWireId(groupId, 'groupId');
    const update = await this.#api('GroupUpdate', { op: GROUP_UPDATE_OP.NOTICE, groupParam: { notice, bfAll: true, groupId: wireGroupId } }, this.#writeOptions(options));
    const announcement =
      options.announce === false
        ? undefined
        : await this.sendText({ chat: 'group', id: groupId }, notice, { ...options, chatType: CHAT_TYPE.NOTICE_CHANGED, bfAll: true });
    return { update, announcement };
  }

  /**
   * Turns whole-group mute on or off (GroupUpdate op 11) and, when `announce` gives a
   * text, sends it as a chatType 50 message once the update succeeded.
   */
  async setGroupMute(groupId: string, muted: boolean, options: SendOptions & { announce?: string } = {}): Promise<AnnouncedChange> {
    const wireGroupId = toWireId(groupId, 'groupId');
    const update = await this.#api('GroupUpdate', { op: GROUP_UPDATE_OP.SHUTUP, groupParam: { shutup: muted, groupId: wireGroupId } }, this.#writeOptions(options));
    const announcement =
      options.announce === undefined || options.announce === ''
        ? undefined
        : await this.sendText({ chat: 'group', id: groupId }, options.announce, { ...options, chatType: CHAT_TYPE.SHUTUP_CHANGED, bfShutup: muted });
    return { update, announcement };
  }

  /** Mutes one member for `seconds` (GroupMemberShutup). */
  async muteMember(groupId: string, uid: string, seconds: number, options: SendOptions = {}): Promise<JsonObject> {
    if (!Number.isInteger(seconds) || seconds < 0) throw new BridgeArgumentError(`a mute lasts a whole number of seconds >= 0, got ${seconds}`);
    return this.#api(
      'GroupMemberShutup',
      { targetUid: toWireId(uid, 'uid'), shutupTime: seconds, groupId: toWireId(groupId, 'groupId') },
      this.#writeOptions(options),
    );
  }

  /**
   * Accepts or rejects a friend request (UpdateContactsApply, unverified against a live
   * bridge: every part of it can be overridden).
   */
  async answerFriendRequest(uid: string, accept: boolean, options: FriendRequestAnswerOptions = {}): Promise<JsonObject> {
    const op = accept ? (options.acceptOp ?? CONTACTS_APPLY_ACCEPT_OP) : options.rejectOp;
    if (op === undefined) {
      throw new BridgeArgumentError('no op is documented for rejecting a friend request through the bridge; configure rejectOp to enable it');
    }
    const apiName = options.apiName ?? 'UpdateContactsApply';
    const path = options.path ?? API_TABLE.UpdateContactsApply.path;
    return this.request(apiName, path, { applyUid: toWireId(uid, 'uid'), op }, undefined, this.#writeOptions(options));
  }

  /** Restarts the chat app (restartApp or restart68 by edition). The connection is expected to drop. */
  async restart(options: SendOptions = {}): Promise<RestartResult> {
    const verb = EDITIONS[this.client.edition].restartVerb;
    let frameId = '';
    try {
      const answer = await this.client.call(verb, undefined, {
        ...this.#writeOptions(options),
        onPrepared: (frame) => {
          frameId = frame.id;
          options.onPrepared?.(frame);
        },
      });
      return { verb, frameId, answer: answer.data, connectionDropped: false };
    } catch (err) {
      if (err instanceof BridgeDisconnectedError && err.written) return { verb, frameId, answer: undefined, connectionDropped: true };
      throw err;
    }
  }

  // === Delivery results ===

  /**
   * Resolves with the delivery result of a message sent with `customMsgId` (it may have
   * arrived already), or with state 'accepted' when none comes within `timeoutMs`.
   */
  waitForDelivery(customMsgId: string, timeoutMs: number): Promise<DeliveryOutcome> {
    const known = this.#recentDeliveries.get(customMsgId);
    if (known) return Promise.resolve(outcomeOf(customMsgId, known));
    return new Promise<DeliveryOutcome>((resolve) => {
      let waiters = this.#deliveryWaiters.get(customMsgId);
      if (!waiters) this.#deliveryWaiters.set(customMsgId, (waiters = new Set()));
      const set = waiters;
      let timer: TimerHandle | undefined;
      const waiter = (event: DeliveryEvent | undefined): void => {
        if (timer !== undefined) this.#clock.clearTimeout(timer);
        set.delete(waiter);
        if (set.size === 0 && this.#deliveryWaiters.get(customMsgId) === set) this.#deliveryWaiters.delete(customMsgId);
        resolve(outcomeOf(customMsgId, event));
      };
      set.add(waiter);
      timer = this.#clock.setTimeout(() => {
        timer = undefined;
        waiter(undefined);
      }, timeoutMs);
    });
  }

  #recordDelivery(event: DeliveryEvent): void {
    this.#recentDeliveries.delete(event.customMsgId);
    this.#recentDeliveries.set(event.customMsgId, event);
    if (this.#recentDeliveries.size > this.#deliveryMemory) {
      const oldest = this.#recentDeliveries.keys().next().value;
      if (oldest !== undefined) this.#recentDeliveries.delete(oldest);
    }
    const waiters = this.#deliveryWaiters.get(event.customMsgId);
    if (waiters) for (const waiter of [...waiters]) waiter(event);
  }

  // === Helpers ===

  #targetId(target: ChatTarget): number {
    if (target.chat !== 'group' && target.chat !== 'friend') {
      throw new BridgeArgumentError(`a message goes to a "group" or a "friend", not ${JSON.stringify(target.chat)}`);
    }
    return toWireId(target.id, target.chat === 'group' ? 'group id' : 'friend uid');
  }

  #writeOptions(options: SendOptions): CallOptions {
    const callOptions: CallOptions = {};
    if (options.timeoutMs !== undefined) callOptions.timeoutMs = options.timeoutMs;
    if (options.onPrepared) callOptions.onPrepared = options.onPrepared;
    return callOptions;
  }

  async #send(type: 'sendMsg' | 'sendFile', data: SendMsgData | SendFileData, options: SendOptions): Promise<SendResult> {
    let frameId = '';
    const answer = await this.client.call(type, data, {
      ...this.#writeOptions(options),
      onPrepared: (frame) => {
        frameId = frame.id;
        options.onPrepared?.(frame);
      },
    });
    return { frameId, answer: answer.data, state: 'accepted' };
  }
}

function outcomeOf(customMsgId: string, event: DeliveryEvent | undefined): DeliveryOutcome {
  if (!event) return { customMsgId, state: 'accepted' };
  const outcome: DeliveryOutcome = { customMsgId, state: event.state, event };
  if (event.msgId !== undefined) outcome.msgId = event.msgId;
  return outcome;
}
