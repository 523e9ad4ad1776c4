/**
 * Pushes of the newer bridge edition (frames with no id, keyed by `operator`), turned
 * into events with normalised names and string ids. Pure: `parsePush` reads a decoded
 * JSON value and never throws; a push it cannot read becomes an UnknownPushEvent.
 */
import {
  CHAT_TYPE,
  DEFAULT_NEWLINE_ENCODING,
  GROUP_NOTIFICATION_TYPES,
  READ_STATUS,
  decodeNewlines,
  type ChatKind,
  type NewlineEncoding,
  type PushFrame,
} from './wire';
import { idString, isObject, numberOf, textOf, type JsonObject } from './values';

// === Event shapes ===

/** A chat message, incoming or the bot's own echoed back (`isSelf`). */
export interface MessageEvent {
  kind: 'message';
  chat: ChatKind;
  /** Set for group messages. */
  groupId?: string;
  /** Set for friend messages: the other party of the conversation. */
  friendId?: string;
  senderId: string;
  senderName: string;
  /** Text with newlines decoded; for images and files the bridge's `url||…` form. */
  content: string;
  msgType: number;
  chatType: number;
  /** The bridge's message id ('' when absent). */
  msgId: string;
  /** The sender's custom_msg_id ('' when absent); matches a sendText of ours when `isSelf`. */
  customMsgId: string;
  /** The bot's own message echoed back: rules that answer messages must ignore these. */
  isSelf: boolean;
  atUids: string[];
  /** Milliseconds since the epoch (0 when the bridge gave none). */
  sentAt: number;
  raw: PushFrame;
}

export type GroupNotificationType = (typeof GROUP_NOTIFICATION_TYPES)[number];

/** A group notification carried by msgNew with an `operatorType` (whole-group mute, burn-after-read). */
export interface GroupNotificationEvent {
  kind: 'groupNotification';
  groupId: string;
  /** `groupShutupAll`, `operatorReadCancel`, or whatever other type the bridge sends. */
  notification: GroupNotificationType | (string & {});
  /** For groupShutupAll: whether the whole group is now muted. */
  muted?: boolean;
  content: string;
  at: number;
  raw: PushFrame;
}

/** The delivery result of one message we sent, matched by customMsgId. */
export interface DeliveryEvent {
  kind: 'delivery';
  customMsgId: string;
  chat: ChatKind;
  targetId: string;
  state: 'delivered' | 'failed';
  /** The bridge's message id, when delivered. */
  msgId?: string;
  at?: number;
  raw: PushFrame;
}

/** A msgListPropertyUpdate push: one DeliveryEvent per list entry. */
export interface DeliveryReportEvent {
  kind: 'deliveryReport';
  deliveries: DeliveryEvent[];
  raw: PushFrame;
}

/** Group properties changed (name, ...), as `values` in the bridge's own keys. */
export interface GroupUpdateEvent {
  kind: 'groupUpdate';
  groupId: string;
  values: Record<string, unknown>;
  raw: PushFrame;
}

export interface RecalledMessage {
  msgId: string;
  targetId: string;
  clearTime: number;
}

/** Messages deleted on both sides. */
export interface RecallEvent {
  kind: 'recall';
  messages: RecalledMessage[];
  raw: PushFrame;
}

/** A push of an operator we do not know, or one we could not read; `reason` says which. */
export interface UnknownPushEvent {
  kind: 'unknownPush';
  operator: string;
  reason: string;
  raw: PushFrame;
}

export type PushEvent = MessageEvent | GroupNotificationEvent | DeliveryReportEvent | GroupUpdateEvent | RecallEvent | UnknownPushEvent;

export interface ParsePushOptions {
  /** How newlines travel in message content (PROTOCOL.md, gap 5). */
  newlineEncoding?: NewlineEncoding;
}

// === Parsing ===

function chatOf(value: unknown): ChatKind | undefined {
  return value === 'group' || value === 'friend' ? value : undefined;
}

function unknownPush(frame: PushFrame, reason: string): UnknownPushEvent {
  return { kind: 'unknownPush', operator: frame.operator, reason, raw: frame };
}

/** The display name of a message's sender, from whichever of the bridge's user objects is present. */
function senderNameOf(data: JsonObject): string {
  const member = isObject(data.sendMember) && isObject(data.sendMember.user) ? data.sendMember.user : undefined;
  for (const user of [member, data.sendUser, data.user]) {
    if (isObject(user) && typeof user.nickName === 'string') return user.nickName;
  }
  // The group push example also carries "sendUserName": "Pwgen：" with a trailing colon.
  return textOf(data.sendUserName).replace(/[：:]\s*$/, '');
}

function parseMsgNew(frame: PushFrame & JsonObject, options: ParsePushOptions): PushEvent {
  const data = frame.data;
  if (!isObject(data)) return unknownPush(frame, 'msgNew without a data object');

  // The operatorType sits beside `operator` in the docs' examples; data.notificationType repeats it.
  const notification = textOf(frame.operatorType) || textOf(data.notificationType);
  if (notification) {
    const groupId = idString(data.groupId) || idString(data.id);
    if (!groupId) return unknownPush(frame, `${notification} notification without a group id`);
    const event: GroupNotificationEvent = {
      kind: 'groupNotification',
      groupId,
      notification,
      content: textOf(data.content),
      at: numberOf(data.sendTime ?? data.time),
      raw: frame,
    };
    if (typeof data.bfShutup === 'boolean') event.muted = data.bfShutup;
    return event;
  }

  const chat = chatOf(data.type) ?? (data.groupId !== undefined ? 'group' : data.friendId !== undefined ? 'friend' : undefined);
  if (!chat) return unknownPush(frame, 'msgNew that is neither a group nor a friend message');
  const senderId = idString(data.sendUid) || idString(data.UserID);
  if (!senderId) return unknownPush(frame, 'msgNew without a sender');

  const msgType = numberOf(data.msgType);
  const event: MessageEvent = {
    kind: 'message',
    chat,
    senderId,
    senderName: senderNameOf(data),
    content: msgType === 0 ? decodeNewlines(textOf(data.content), options.newlineEncoding ?? DEFAULT_NEWLINE_ENCODING) : textOf(data.content),
    msgType,
    chatType: numberOf(data.chatType ?? data.ChatType, CHAT_TYPE.TEXT),
    msgId: idString(data.msgId) || idString(data.MsgID),
    customMsgId: idString(data.customMsgId),
    isSelf: data.isSelf === true,
    atUids: Array.isArray(data.atUids) ? data.atUids.map(idString).filter((uid) => uid !== '') : [],
    sentAt: numberOf(data.sendTime ?? data.time),
    raw: frame,
  };
  if (chat === 'group') {
    const groupId = idString(data.groupId) || idString(data.id);
    if (!groupId) return unknownPush(frame, 'group msgNew without a group id');
    event.groupId = groupId;
  } else {
    // A friend push names the conversation by friendId (or id); receiveUid is the bot.
    const friendId = idString(data.friendId) || idString(data.id);
    if (!friendId) return unknownPush(frame, 'friend msgNew without a friend id');
    event.friendId = friendId;
  }
  return event;
}

function parseDeliveryReport(frame: PushFrame): PushEvent {
  const data = frame.data;
  if (!isObject(data) || !Array.isArray(data.list)) return unknownPush(frame, 'msgListPropertyUpdate without a list');
  const chat = chatOf(data.type) ?? 'group';
  const targetId = idString(data.id);
  const deliveries: DeliveryEvent[] = [];
  for (const entry of data.list) {
    if (!isObject(entry) || !isObject(entry.updated)) continue;
    const customMsgId = idString(entry.customMsgId);
    const readStatus = entry.updated.readStatus ?? data.readStatus;
    if (!customMsgId || typeof readStatus !== 'number') continue;
    const delivery: DeliveryEvent = {
      kind: 'delivery',
      customMsgId,
      chat,
      targetId,
      state: readStatus === READ_STATUS.DELIVERED ? 'delivered' : 'failed',
      raw: frame,
    };
    const msgId = idString(entry.updated.MsgID);
    if (msgId) delivery.msgId = msgId;
    const at = numberOf(entry.updated.sendTime ?? entry.updated.time, NaN);
    if (!Number.isNaN(at)) delivery.at = at;
    deliveries.push(delivery);
  }
  if (deliveries.length === 0) return unknownPush(frame, 'msgListPropertyUpdate with no readable entry');
  return { kind: 'deliveryReport', deliveries, raw: frame };
}

function parseGroupUpdate(frame: PushFrame): PushEvent {
  const data = frame.data;
  if (!isObject(data)) return unknownPush(frame, 'groupUpdate without a data object');
  const groupId = idString(data.id) || idString(data.groupId);
  if (!groupId) return unknownPush(frame, 'groupUpdate without a group id');
  return { kind: 'groupUpdate', groupId, values: isObject(data.values) ? data.values : {}, raw: frame };
}

function parseRecall(frame: PushFrame): PushEvent {
  const data = frame.data;
  if (!isObject(data)) return unknownPush(frame, 'recall_msg without a data object');
  // The docs show recallOneToOneMessages; any other list of {msgId,...} is read the same way.
  const messages: RecalledMessage[] = [];
  for (const list of Object.values(data)) {
    if (!Array.isArray(list)) continue;
    for (const item of list) {
      if (!isObject(item)) continue;
      const msgId = idString(item.msgId);
      if (!msgId) continue;
      messages.push({ msgId, targetId: idString(item.msgTargetId ?? item.targetId), clearTime: numberOf(item.clearTime) });
    }
  }
  if (messages.length === 0) return unknownPush(frame, 'recall_msg naming no message');
  return { kind: 'recall', messages, raw: frame };
}

/** Reads one push frame into an event. Pure; never throws. */
export function parsePush(frame: PushFrame, options: ParsePushOptions = {}): PushEvent {
  try {
    switch (frame.operator) {
      case 'msgNew':
        return parseMsgNew(frame as PushFrame & JsonObject, options);
      case 'msgListPropertyUpdate':
        return parseDeliveryReport(frame);
      case 'groupUpdate':
        return parseGroupUpdate(frame);
      case 'recall_msg':
        return parseRecall(frame);
      default:
        return unknownPush(frame, 'operator not known to this client');
    }
  } catch (err) {
    // Only a hostile value (say, a getter that throws) can get here; JSON.parse output cannot.
    return unknownPush(frame, `unreadable: ${err instanceof Error ? err.message : String(err)}`);
  }
}
