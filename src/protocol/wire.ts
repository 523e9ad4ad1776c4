/**
 * The bridge's wire format as data: frame types, the ApiName table, message items and
 * push shapes. Pure declarations, shared by the client and the simulator, so both sides
 * speak one protocol. Every "reading of a gap" in PROTOCOL.md that the code depends on
 * is a named constant here, so it can change in one place when a real bridge disagrees.
 */

// === Frame types ===

/** Frame types a client may send. `restartApp` (seed edition) and `restart68` (newer) are the same verb. */
export const CLIENT_FRAME_TYPES = ['request', 'getGroups', 'sendMsg', 'sendFile', 'getApiUrl', 'restartApp', 'restart68'] as const;
export type ClientFrameType = (typeof CLIENT_FRAME_TYPES)[number];

/** Frame types that change the world: never resent blindly after a timeout or a drop (PROTOCOL.md, gap 6). */
export const WORLD_CHANGING_FRAME_TYPES: ReadonlySet<ClientFrameType> = new Set(['sendMsg', 'sendFile', 'restartApp', 'restart68']);

/** Frame types that only read: the only ones, besides read ApiNames, a client may resend on its own. */
export const READ_FRAME_TYPES: ReadonlySet<string> = new Set(['getGroups', 'getApiUrl']);

/**
 * Whether a frame may change the world (PROTOCOL.md, gap 6). Reads are listed; anything
 * else, including a frame type or ApiName this table does not know, counts as a write.
 */
export function isWorldChanging(type: string, apiName?: string): boolean {
  if (type === 'request') return apiName === undefined || !isApiName(apiName) || API_TABLE[apiName].writes;
  return !READ_FRAME_TYPES.has(type);
}

/** A frame the client sends: `{ id, type, data? }`. */
export interface ClientFrame {
  id: string;
  type: ClientFrameType;
  data?: unknown;
}

/** The error body of a failed answer. */
export interface WireError {
  errorCode: number;
  errorDesc: string;
}

/** An answer: same id and type as the request, with `data` on success or `error` on failure. */
export interface AnswerFrame {
  id: string;
  type: string;
  data?: unknown;
  error?: WireError;
}

// === Bridge editions ===

export type BridgeEdition = 'seed' | '68';

export interface EditionTraits {
  /** The restart verb. */
  restartVerb: 'restartApp' | 'restart68';
  /** Whether the bridge greets with `{"message":"Hello"}` and is ready only after it. */
  greets: boolean;
  /** Whether the bridge sends pushes (msgNew, msgListPropertyUpdate, ...). */
  pushes: boolean;
}

export const EDITIONS: Record<BridgeEdition, EditionTraits> = {
  seed: { restartVerb: 'restartApp', greets: false, pushes: false },
  '68': { restartVerb: 'restart68', greets: true, pushes: true },
};

/** The greeting newer editions send on connect. */
export const HELLO_MESSAGE = 'Hello';

// === `request`: backend calls proxied by the bridge ===

export interface ApiSpec {
  /** Path appended to the apiUrl: the host rotates, the path does not. */
  path: string;
  /** `protoType: "group"` is sent for these. */
  protoType?: 'group';
  /** Changes the world: never resent blindly. */
  writes: boolean;
}

/** Every ApiName of PROTOCOL.md with its path. `UpdateContactsApply` is unverified (PROTOCOL.md, last section). */
export const API_TABLE = {
  UserInfo: { path: '/user/userInfo', writes: false },
  ContactsList: { path: '/contacts/contactsList', writes: false },
  ContactsDetail: { path: '/contacts/contactsDetail', writes: false },
  ContactsApplyList: { path: '/contacts/contactsApplyList', writes: false },
  GroupReqList: { path: '/group/groupReqList', writes: false },
  GroupMemberList: { path: '/group/groupMemberListV2', protoType: 'group', writes: false },
  GroupMemberOnLineStatusList: { path: '/group/groupMemberOnLineStatusList', protoType: 'group', writes: false },
  GroupDetail: { path: '/group/groupDetail', writes: false },
  GroupUpdate: { path: '/group/groupUpdate', writes: true },
  GroupMemberShutup: { path: '/group/groupMemberShutup', writes: true },
  UpdateContactsApply: { path: '/contacts/updateContactsApply', writes: true },
} as const satisfies Record<string, ApiSpec>;

export type ApiName = keyof typeof API_TABLE;

export function isApiName(name: string): name is ApiName {
  return Object.prototype.hasOwnProperty.call(API_TABLE, name);
}

/** `data` of a `request` frame. */
export interface RequestFrameData {
  type: string;
  url: string;
  protoType?: 'group';
  data?: Record<string, unknown>;
}

/** `commonResult.errCode` of a successful `request` answer. */
export const REQUEST_OK_CODE = 200;

/** errorCode the bridge uses for "service busy": transient, worth a retry with backoff (PROTOCOL.md, gap 3). */
export const BUSY_ERROR_CODE = 300;
export const TRANSIENT_ERROR_CODES: ReadonlySet<number> = new Set([BUSY_ERROR_CODE]);

/** GroupUpdate ops used here (docs/group.md of the newer edition lists the rest). */
export const GROUP_UPDATE_OP = { SHUTUP: 11, NOTICE: 12, CLEAR_NOTICE: 13 } as const;

/** UpdateContactsApply op that accepts a friend request (unverified; a configurable default). */
export const CONTACTS_APPLY_ACCEPT_OP = 8;

/** GroupMemberList page size: the seed asks for 1000 per page. */
export const GROUP_MEMBER_PAGE_SIZE = 1000;

// === sendMsg / sendFile ===

export type ChatKind = 'friend' | 'group';

/** chatType values of a text MessageItem. */
export const CHAT_TYPE = { TEXT: 0, NOTICE_CHANGED: 8, SHUTUP_CHANGED: 50 } as const;

export interface MessageItem {
  type: 'text';
  values: { chatType: number; content: string; bfAll?: boolean; bfShutup?: boolean };
}

export interface SendMsgData {
  id: number;
  type: ChatKind;
  custom_msg_id?: string;
  list: MessageItem[];
  quoteInfo?: null;
}

export interface SendFileData {
  file: string;
  type: ChatKind;
  id: number;
}

/** Length of `custom_msg_id`: 11 random digits, not starting with 0 (the docs' own example has 12). */
export const CUSTOM_MSG_ID_LENGTH = 11;

/**
 * How a newline travels in sendMsg content. The seed's multi-line example carries a
 * backslash followed by `n` (PROTOCOL.md, gap 5); `real` sends a real newline.
 */
export type NewlineEncoding = 'escaped' | 'real';
export const DEFAULT_NEWLINE_ENCODING: NewlineEncoding = 'escaped';

export function encodeNewlines(text: string, encoding: NewlineEncoding): string {
  const unified = text.replace(/\r\n?/g, '\n');
  return encoding === 'escaped' ? unified.replace(/\n/g, '\\n') : unified;
}

export function decodeNewlines(content: string, encoding: NewlineEncoding): string {
  return encoding === 'escaped' ? content.replace(/\\n/g, '\n') : content;
}

// === Pushes (newer edition): frames with no id, keyed by `operator` ===

export const PUSH_OPERATORS = ['msgNew', 'msgListPropertyUpdate', 'groupUpdate', 'recall_msg'] as const;
export type PushOperator = (typeof PUSH_OPERATORS)[number];

export interface PushFrame {
  operator: string;
  data?: unknown;
}

/** Group notification kinds carried by msgNew with `operatorType`. */
export const GROUP_NOTIFICATION_TYPES = ['groupShutupAll', 'operatorReadCancel'] as const;

/** readStatus of a delivery result: 1 delivered, 0 failed. */
export const READ_STATUS = { FAILED: 0, DELIVERED: 1 } as const;

/** One entry of a msgListPropertyUpdate push. */
export interface DeliveryUpdateWire {
  customMsgId: string;
  updated: { readStatus: number; MsgID?: number; time?: string; sendTime?: string };
}

/** A user object as the bridge shows it (ids as strings). */
export interface UserWire {
  uid: string;
  nickName: string;
  icon?: string;
  signature?: string;
  identify?: string;
  createTime?: string;
  friendRelation?: { bfFriend: boolean };
}

/** msgNew `data` for a message (group or friend). Ids are numbers in pushes. */
export interface MsgNewWire {
  msgType: number;
  type: ChatKind;
  content: string;
  sendUid: number;
  groupId?: number;
  friendId?: number;
  receiveUid?: number;
  atUids?: number[];
  msgId?: number;
  MsgID?: number;
  customMsgId?: string;
  isSelf?: boolean;
  chatType?: number;
  ChatType?: number;
  sendTime?: number;
  time?: number;
  id?: number;
  name?: string;
  groupName?: string;
  sendMember?: { user: UserWire; groupId: string; type?: string; right?: Record<string, boolean> };
  sendUser?: UserWire;
  user?: UserWire;
  operatorType?: string;
}
