/**
 * The simulator's HTTP control interface, served on the WebSocket's port: read the
 * record and the world, inject messages / members / friend requests, set faults, drop
 * connections. JSON in, JSON out; a bad body is a 400 naming the field. README.md in this
 * folder documents each route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RulebotError } from '../shared/errors';
import type { FaultRates, ScriptedFault } from './faults';
import type { MemberRole } from './initial-world';
import type { BridgeSimulator, InjectMessageInput } from './server';

/** Bodies larger than this are refused: the control interface takes small JSON only. */
const MAX_BODY_BYTES = 1 << 20;

type Json = Record<string, unknown>;
type Route = (sim: BridgeSimulator, body: Json, url: URL) => unknown;

/** A refusal of the control interface, sent as `{ error, code }` with its HTTP status. */
class ControlError extends RulebotError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('SIM_CONTROL', message);
  }
}

const ROUTES: Record<string, Route> = {
  'GET /': (sim) => ({
    edition: sim.edition,
    url: sim.url,
    connections: sim.connections,
    restarting: sim.restarting,
    faults: sim.faults,
    scriptedFaults: sim.scriptedFaults,
  }),
  'GET /record': (sim, _body, url) => {
    const since = queryInt(url, 'since') ?? 0;
    const limit = queryInt(url, 'limit');
    const direction = url.searchParams.get('direction');
    if (direction !== null && direction !== 'in' && direction !== 'out') throw new ControlError(400, 'direction must be "in" or "out"');
    let frames = sim.recordSince(since);
    if (direction !== null) frames = frames.filter((f) => f.direction === direction);
    if (limit !== undefined) frames = frames.slice(-limit);
    return { frames };
  },
  'GET /world': (sim) => sim.world.snapshot(),
  'POST /inject/message': (sim, body) => {
    const chat = body.chat;
    if (chat !== 'group' && chat !== 'friend') throw new ControlError(400, 'chat must be "group" or "friend"');
    const input: InjectMessageInput = { chat, senderId: requireInt(body, 'senderId'), content: requireString(body, 'content') };
    const groupId = optionalInt(body, 'groupId');
    const friendId = optionalInt(body, 'friendId');
    const msgType = optionalInt(body, 'msgType');
    const atUids = optionalIntList(body, 'atUids');
    if (groupId !== undefined) input.groupId = groupId;
    if (friendId !== undefined) input.friendId = friendId;
    if (msgType !== undefined) input.msgType = msgType;
    if (atUids !== undefined) input.atUids = atUids;
    return { message: sim.injectMessage(input) };
  },
  'POST /inject/member': (sim, body) => {
    const groupId = requireInt(body, 'groupId');
    const role = body.role;
    if (role !== undefined && role !== 'NORMAL' && role !== 'MANAGE') throw new ControlError(400, 'role must be "NORMAL" or "MANAGE"');
    const member = sim.world.addMember(groupId, { ...userFields(body), ...(role !== undefined ? { role: role as MemberRole } : {}) });
    return { member, user: sim.world.user(member.uid) };
  },
  'POST /inject/friend-request': (sim, body) => {
    const msg = optionalString(body, 'msg');
    const request = sim.world.addFriendRequest({ ...userFields(body), ...(msg !== undefined ? { msg } : {}) });
    return { request, user: sim.world.user(request.uid) };
  },
  'POST /inject/contact': (sim, body) => {
    const contact = sim.world.addContact(userFields(body));
    return { contact, user: sim.world.user(contact.uid) };
  },
  'POST /faults': (sim, body) => {
    const { script, clearScripted, ...rates } = body;
    if (clearScripted === true) sim.clearScriptedFaults();
    sim.setFaults(rates as Partial<FaultRates>);
    if (script !== undefined) {
      for (const fault of Array.isArray(script) ? script : [script]) sim.scriptFault(fault as ScriptedFault);
    }
    return { faults: sim.faults, scriptedFaults: sim.scriptedFaults };
  },
  'POST /drop': (sim) => ({ dropped: sim.dropConnections() }),
  'POST /restart': (sim) => {
    sim.restartApp();
    return { restarting: true };
  },
};

/** The request handler for `http.createServer`. */
export function createControlHandler(sim: BridgeSimulator): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void serve(sim, req, res);
  };
}

async function serve(sim: BridgeSimulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const route = ROUTES[`${req.method ?? 'GET'} ${path}`];
    if (!route) {
      const known = Object.keys(ROUTES).some((key) => key.endsWith(` ${path}`));
      throw known ? new ControlError(405, `${req.method} is not allowed on ${path}`) : new ControlError(404, `no route ${path}`);
    }
    const body = req.method === 'POST' ? await readJsonBody(req) : {};
    reply(res, 200, route(sim, body, url));
  } catch (err) {
    if (err instanceof ControlError) reply(res, err.status, { error: err.message, code: err.code });
    else if (err instanceof RulebotError) reply(res, 400, { error: err.message, code: err.code });
    else reply(res, 500, { error: err instanceof Error ? err.message : String(err), code: 'SIM_INTERNAL' });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJsonBody(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ControlError(413, `body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ControlError(400, 'body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ControlError(400, 'body must be a JSON object');
  return parsed as Json;
}

// === Field checks ===

function userFields(body: Json): { uid?: number; nickName?: string; icon?: string; createTime?: number } {
  const fields: { uid?: number; nickName?: string; icon?: string; createTime?: number } = {};
  const uid = optionalInt(body, 'uid');
  const nickName = optionalString(body, 'nickName');
  const icon = optionalString(body, 'icon');
  const createTime = optionalInt(body, 'createTime');
  if (uid !== undefined) fields.uid = uid;
  if (nickName !== undefined) fields.nickName = nickName;
  if (icon !== undefined) fields.icon = icon;
  if (createTime !== undefined) fields.createTime = createTime;
  return fields;
}

function requireInt(body: Json, key: string): number {
  const value = optionalInt(body, key);
  if (value === undefined) throw new ControlError(400, `${key} is required (a number)`);
  return value;
}

function optionalInt(body: Json, key: string): number | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new ControlError(400, `${key} must be an integer (got ${JSON.stringify(value)})`);
  return value;
}

function optionalIntList(body: Json, key: string): number[] | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((n) => typeof n === 'number' && Number.isSafeInteger(n))) {
    throw new ControlError(400, `${key} must be an array of integers`);
  }
  return value as number[];
}

function requireString(body: Json, key: string): string {
  const value = optionalString(body, key);
  if (value === undefined || value === '') throw new ControlError(400, `${key} is required (a non-empty string)`);
  return value;
}

function optionalString(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ControlError(400, `${key} must be a string (got ${JSON.stringify(value)})`);
  return value;
}

function queryInt(url: URL, key: string): number | undefined {
  const text = url.searchParams.get(key);
  if (text === null) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new ControlError(400, `${key} must be a non-negative integer`);
  return value;
}
