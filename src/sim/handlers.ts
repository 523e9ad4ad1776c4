/**
 * What the simulated bridge does with one frame: strict validation, then the change to
 * the world and the answer. No sockets, no timers and no faults here (server.ts owns
 * those), so every rule of the protocol can be read in one place.
 */
import {
  API_TABLE,
  CLIENT_FRAME_TYPES,
  EDITIONS,
  GROUP_UPDATE_OP,
  WORLD_CHANGING_FRAME_TYPES,
  isApiName,
  type ApiName,
  type BridgeEdition,
  type ChatKind,
  type ClientFrameType,
  type PushFrame,
} from '../protocol/wire';
import { SimError } from './errors';
import {
  contactsApplyListPayload,
  contactsDetailPayload,
  contactsListPayload,
  getGroupsEntry,
  groupDetailPayload,
  groupMemberListPayload,
  groupShutupPush,
  msgNewPush,
  onlineStatusPayload,
  requestAnswer,
  userInfoPayload,
} from './shapes';
import { BOT_UID, type SimMessage, type World } from './world';

// === Envelope ===

/** A frame that passed the envelope checks: JSON object, string id, known type. */
export interface IncomingFrame {
  id: string;
  type: ClientFrameType;
  data?: unknown;
}

export type EnvelopeCheck =
  | { ok: true; frame: IncomingFrame }
  /** `id` and `type` are echoed on the error frame when they were readable. */
  | { ok: false; error: SimError; id?: string; type?: string };

const FRAME_TYPES: ReadonlySet<string> = new Set(CLIENT_FRAME_TYPES);
const RESTART_VERBS: ReadonlySet<string> = new Set(['restartApp', 'restart68']);

/** Parses one text frame and checks `id` and `type`; the data is checked by handleFrame. */
export function checkEnvelope(raw: string, edition: BridgeEdition): EnvelopeCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, error: new SimError('BAD_FRAME', `frame is not JSON: ${preview(raw)}`) };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, error: new SimError('BAD_FRAME', `frame must be a JSON object (got ${preview(raw)})`) };
  }
  const { id, type } = parsed as { id?: unknown; type?: unknown };
  const echo = { ...(typeof id === 'string' ? { id } : {}), ...(typeof type === 'string' ? { type } : {}) };
  if (typeof id !== 'string' || id === '') {
    return { ok: false, ...echo, error: new SimError('BAD_FRAME', `frame "id" must be a non-empty string (got ${describe(id)})`) };
  }
  if (typeof type !== 'string') {
    return { ok: false, ...echo, error: new SimError('BAD_FRAME', `frame "type" must be a string (got ${describe(type)})`) };
  }
  if (!FRAME_TYPES.has(type)) {
    return {
      ok: false,
      ...echo,
      error: new SimError('UNKNOWN_FRAME_TYPE', `unknown frame type "${type}" (known: ${knownFrameTypes(edition).join(', ')})`),
    };
  }
  const verb = EDITIONS[edition].restartVerb;
  if (RESTART_VERBS.has(type) && type !== verb) {
    return {
      ok: false,
      ...echo,
      error: new SimError('UNKNOWN_FRAME_TYPE', `"${type}" is not a verb of this bridge (edition ${edition}); its restart verb is "${verb}"`),
    };
  }
  return { ok: true, frame: parsed as IncomingFrame };
}

function knownFrameTypes(edition: BridgeEdition): string[] {
  const verb = EDITIONS[edition].restartVerb;
  return CLIENT_FRAME_TYPES.filter((t) => !RESTART_VERBS.has(t) || t === verb);
}

/** The ApiName a `request` frame names, checked or not; undefined for other frames. */
export function apiNameOf(frame: { type: string; data?: unknown }): string | undefined {
  if (frame.type !== 'request' || typeof frame.data !== 'object' || frame.data === null) return undefined;
  const name = (frame.data as { type?: unknown }).type;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Whether the bridge acts on the world for this frame (PROTOCOL.md, gap 6): known writes
 * only, since the simulator refuses unknown frame types and ApiNames before acting.
 */
export function changesWorld(frame: { type: string; data?: unknown }): boolean {
  if ((WORLD_CHANGING_FRAME_TYPES as ReadonlySet<string>).has(frame.type)) return true;
  const api = apiNameOf(frame);
  return api !== undefined && isApiName(api) && API_TABLE[api].writes;
}

// === Handling ===

export interface HandlerContext {
  world: World;
  edition: BridgeEdition;
  apiUrl: string;
}

/** What one accepted frame produced. */
export interface Outcome {
  /** The answer's `data`. */
  data: unknown;
  /** Pushes to every client, in order, after the answer (edition 68 only). */
  pushes: PushFrame[];
  /** Messages taken by sendMsg that await their delivery result. */
  sent: SimMessage[];
  /** The restart verb: the bridge drops every connection after answering. */
  restart: boolean;
}

/** The HTTP twin's answers, reused on the socket where the WebSocket docs show none. */
export const SEND_ANSWER = 'success';
export const RESTART_ANSWER = 'restarting';

/** Handles a frame that passed checkEnvelope. Throws SimError when the bridge refuses it. */
export function handleFrame(ctx: HandlerContext, frame: IncomingFrame): Outcome {
  switch (frame.type) {
    case 'request':
      return handleRequest(ctx, frame.data);
    case 'getGroups':
      return answer(ctx.world.botGroups().map((g) => getGroupsEntry(ctx.world, g)));
    case 'getApiUrl':
      return answer(ctx.apiUrl);
    case 'sendMsg':
      return handleSendMsg(ctx, frame.data);
    case 'sendFile':
      return handleSendFile(ctx, frame.data);
    case 'restartApp':
    case 'restart68':
      return { data: RESTART_ANSWER, pushes: [], sent: [], restart: true };
  }
}

function answer(data: unknown, pushes: PushFrame[] = []): Outcome {
  return { data, pushes, sent: [], restart: false };
}

// --- request ---

/** `<http or https>://<any host><path>`: the host rotates (the seed's examples use three), the path does not. */
const URL_PATTERN = /^https?:\/\/[^/?#\s]+(\/[^?#\s]*)$/;

function handleRequest(ctx: HandlerContext, rawData: unknown): Outcome {
  const request = Fields.of(rawData, 'request data');
  const apiName = request.string('type');
  if (!isApiName(apiName)) {
    throw new SimError('UNKNOWN_API', `unknown ApiName "${apiName}" (known: ${Object.keys(API_TABLE).join(', ')})`, { apiName });
  }
  const spec = API_TABLE[apiName];
  const url = request.string('url');
  const path = URL_PATTERN.exec(url)?.[1];
  if (path !== spec.path) {
    throw new SimError('URL_MISMATCH', `${apiName} url must be <apiUrl>${spec.path} (got ${preview(url)})`, { apiName, url });
  }
  const protoType = request.optional('protoType');
  const wanted = 'protoType' in spec ? spec.protoType : undefined;
  if (protoType !== wanted) {
    throw new SimError(
      'URL_MISMATCH',
      wanted ? `${apiName} needs protoType "${wanted}" (got ${describe(protoType)})` : `${apiName} takes no protoType (got ${describe(protoType)})`,
      { apiName },
    );
  }
  const data = request.optional('data') === undefined ? Fields.of({}, `${apiName} data`) : request.object('data', `${apiName} data`);
  return REQUEST_HANDLERS[apiName](ctx, data);
}

type RequestHandler = (ctx: HandlerContext, data: Fields) => Outcome;

const REQUEST_HANDLERS: { [K in ApiName]: RequestHandler } = {
  UserInfo: ({ world }) => answer(requestAnswer(userInfoPayload(world))),
  ContactsList: ({ world }) => answer(requestAnswer(contactsListPayload(world))),
  ContactsDetail: ({ world }, data) => answer(requestAnswer(contactsDetailPayload(world, data.id('targetUid')))),
  ContactsApplyList: ({ world }) => answer(requestAnswer(contactsApplyListPayload(world))),
  // The seed shows this call only failing; with no join requests simulated, it answers an empty list.
  GroupReqList: (_ctx, data) => {
    data.int('pageNum', 0);
    data.int('pageSize', 1);
    return answer(requestAnswer({ reqList: [], count: '0' }));
  },
  GroupMemberList: ({ world }, data) => {
    const group = world.group(data.id('groupId'));
    return answer(requestAnswer(groupMemberListPayload(world, group, data.int('pageNum', 1), data.int('pageSize', 1))));
  },
  GroupMemberOnLineStatusList: ({ world }, data) => {
    const group = world.group(data.id('groupId'));
    return answer(requestAnswer(onlineStatusPayload(world, group, data.idList('uids'))));
  },
  GroupDetail: ({ world }, data) => answer(requestAnswer(groupDetailPayload(world, world.group(data.id('groupId'))))),
  GroupUpdate: handleGroupUpdate,
  GroupMemberShutup: ({ world }, data) => {
    const groupId = data.id('groupId');
    const targetUid = data.id('targetUid');
    const seconds = data.int('shutupTime', 0);
    world.muteMember(groupId, targetUid, seconds);
    return answer(requestAnswer());
  },
  UpdateContactsApply: ({ world }, data) => {
    const uid = data.id('applyUid');
    world.answerFriendRequest(uid, data.int('op', 0));
    return answer(requestAnswer());
  },
};

/** GroupUpdate ops docs/group.md lists, 0 ADD … 18 UPDATE_REMARK. */
const KNOWN_GROUP_OPS = 18;

function handleGroupUpdate(ctx: HandlerContext, data: Fields): Outcome {
  const { world } = ctx;
  const op = data.int('op', 0);
  const param = data.object('groupParam', 'GroupUpdate data.groupParam');
  const groupId = param.id('groupId');
  switch (op) {
    case GROUP_UPDATE_OP.SHUTUP: {
      const bfShutup = param.boolean('shutup');
      world.setGroupShutup(groupId, bfShutup);
      const pushes = EDITIONS[ctx.edition].pushes ? [groupShutupPush(groupId, bfShutup, world.now())] : [];
      return answer(requestAnswer(), pushes);
    }
    case GROUP_UPDATE_OP.NOTICE: {
      const text = param.string('notice');
      if (text === '') throw new SimError('INVALID_DATA', 'GroupUpdate op 12 needs a non-empty notice (op 13 clears it)');
      param.optionalBoolean('bfAll');
      const notice = world.setNotice(groupId, text);
      return answer(requestAnswer({ noticeId: String(notice.noticeId) }));
    }
    case GROUP_UPDATE_OP.CLEAR_NOTICE:
      world.clearNotice(groupId);
      return answer(requestAnswer());
    default:
      if (op <= KNOWN_GROUP_OPS) throw new SimError('NOT_SIMULATED', `GroupUpdate op ${op} is not simulated (only 11, 12, 13)`, { op });
      throw new SimError('INVALID_DATA', `GroupUpdate op ${op} is not an op (0 to ${KNOWN_GROUP_OPS})`, { op });
  }
}

// --- sendMsg / sendFile ---

/** custom_msg_id: digits, no leading 0; 11 long per the docs' words, 12 in their own example. */
const CUSTOM_MSG_ID_PATTERN = /^[1-9][0-9]{10,11}$/;

function handleSendMsg(ctx: HandlerContext, rawData: unknown): Outcome {
  const { world } = ctx;
  const data = Fields.of(rawData, 'sendMsg data');
  const targetId = data.id('id');
  const chat = data.chatKind('type');
  const customMsgId = data.optional('custom_msg_id');
  if (customMsgId !== undefined && (typeof customMsgId !== 'string' || !CUSTOM_MSG_ID_PATTERN.test(customMsgId))) {
    throw new SimError('INVALID_DATA', `sendMsg data.custom_msg_id must be 11 digits not starting with 0 (got ${describe(customMsgId)})`);
  }
  const quoteInfo = data.optional('quoteInfo');
  if (quoteInfo !== undefined && quoteInfo !== null && (typeof quoteInfo !== 'object' || Array.isArray(quoteInfo))) {
    throw new SimError('INVALID_DATA', `sendMsg data.quoteInfo must be null or an object (got ${describe(quoteInfo)})`);
  }
  const list = data.array('list');
  if (list.length === 0) throw new SimError('INVALID_DATA', 'sendMsg data.list is empty: it needs at least one message item');
  const items = list.map((raw, index) => {
    const item = Fields.of(raw, `sendMsg data.list[${index}]`);
    const type = item.string('type');
    if (type !== 'text') throw new SimError('INVALID_DATA', `sendMsg data.list[${index}].type must be "text" (got ${describe(type)})`);
    const values = item.object('values', `sendMsg data.list[${index}].values`);
    const content = values.string('content');
    if (content === '') throw new SimError('INVALID_DATA', `sendMsg data.list[${index}].values.content is empty`);
    return {
      chatType: values.int('chatType', 0),
      content,
      bfAll: values.optionalBoolean('bfAll'),
      bfShutup: values.optionalBoolean('bfShutup'),
    };
  });
  checkMaySpeak(world, chat, targetId);
  // The frame's custom_msg_id names the first message; further items get ids of their own.
  const sent = items.map((item, index) =>
    world.recordMessage({
      chat,
      targetId,
      senderUid: BOT_UID,
      ...item,
      ...(index === 0 && typeof customMsgId === 'string' ? { customMsgId } : {}),
    }),
  );
  const pushes = EDITIONS[ctx.edition].pushes ? sent.map((m) => msgNewPush(world, m)) : [];
  return { data: SEND_ANSWER, pushes, sent, restart: false };
}

/** docs/msg.md's msgType of a file message. */
const FILE_MSG_TYPE = 7;

function handleSendFile(ctx: HandlerContext, rawData: unknown): Outcome {
  const { world } = ctx;
  const data = Fields.of(rawData, 'sendFile data');
  const file = data.string('file');
  if (file.trim() === '') throw new SimError('INVALID_DATA', 'sendFile data.file is empty: it needs a path on the bridge host');
  const chat = data.chatKind('type');
  const targetId = data.id('id');
  checkMaySpeak(world, chat, targetId);
  const name = file.split(/[\\/]/).pop() || file;
  // Content as a received file message carries it: url||name||size (the size is unknown here).
  const message = world.recordMessage({
    chat,
    targetId,
    senderUid: BOT_UID,
    chatType: FILE_MSG_TYPE,
    msgType: FILE_MSG_TYPE,
    content: `http://sim.invalid/file/${encodeURIComponent(name)}||${name}||0`,
    file,
  });
  const pushes = EDITIONS[ctx.edition].pushes ? [msgNewPush(world, message)] : [];
  return answer(SEND_ANSWER, pushes);
}

/** A muted bot (whole group muted while it is no admin, or muted itself) cannot post. */
function checkMaySpeak(world: World, chat: ChatKind, targetId: number): void {
  if (chat !== 'group') return;
  const group = world.group(targetId);
  const bot = group.members.get(BOT_UID);
  if (!bot) throw new SimError('NOT_FOUND', `the bot is not a member of group ${targetId}`, { groupId: targetId });
  if (bot.mutedUntil > world.now()) throw new SimError('NO_PERMISSION', `the bot is muted in group ${targetId}`, { groupId: targetId });
  if (group.bfShutup && bot.role === 'NORMAL') {
    throw new SimError('NO_PERMISSION', `group ${targetId} is muted and the bot is no admin`, { groupId: targetId });
  }
}

// === Field checks ===

/** A JSON object under validation; `where` names it in error messages ("GroupDetail data"). */
class Fields {
  private constructor(
    private readonly where: string,
    private readonly fields: Record<string, unknown>,
  ) {}

  static of(value: unknown, where: string): Fields {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SimError('INVALID_DATA', `${where} must be an object (got ${describe(value)})`);
    }
    return new Fields(where, value as Record<string, unknown>);
  }

  optional(key: string): unknown {
    return this.fields[key];
  }

  #fail(key: string, expected: string): never {
    const value = this.fields[key];
    const got = value === undefined ? 'it is missing' : `got ${describe(value)}`;
    throw new SimError('INVALID_DATA', `${this.where}.${key} must be ${expected} (${got})`, { field: `${this.where}.${key}` });
  }

  string(key: string): string {
    const value = this.fields[key];
    if (typeof value !== 'string') this.#fail(key, 'a string');
    return value;
  }

  boolean(key: string): boolean {
    const value = this.fields[key];
    if (typeof value !== 'boolean') this.#fail(key, 'true or false');
    return value;
  }

  optionalBoolean(key: string): boolean | undefined {
    const value = this.fields[key];
    if (value !== undefined && typeof value !== 'boolean') this.#fail(key, 'true or false when present');
    return value as boolean | undefined;
  }

  int(key: string, min: number): number {
    const value = this.fields[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) this.#fail(key, `an integer >= ${min}`);
    return value;
  }

  /** Ids travel as JSON numbers in requests (PROTOCOL.md, gap 1): a string id is refused. */
  id(key: string): number {
    const value = this.fields[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) this.#fail(key, 'a positive integer id, as a JSON number');
    return value;
  }

  idList(key: string): number[] {
    const list = this.array(key);
    list.forEach((value, index) => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
        throw new SimError('INVALID_DATA', `${this.where}.${key}[${index}] must be a number (got ${describe(value)})`);
      }
    });
    return list as number[];
  }

  array(key: string): unknown[] {
    const value = this.fields[key];
    if (!Array.isArray(value)) this.#fail(key, 'an array');
    return value;
  }

  object(key: string, where: string): Fields {
    const value = this.fields[key];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.#fail(key, 'an object');
    return new Fields(where, value as Record<string, unknown>);
  }

  chatKind(key: string): ChatKind {
    const value = this.fields[key];
    if (value !== 'friend' && value !== 'group') this.#fail(key, '"friend" or "group"');
    return value;
  }
}

/** A short, printable view of a value for an error message. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${preview(text)}`;
}

function preview(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
