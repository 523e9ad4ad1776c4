/**
 * From a validated config file to the Config the program reads: defaults applied,
 * durations parsed, paths resolved against the config file's folder, ids as strings.
 */
import path from 'node:path';
import { API_TABLE, CONTACTS_APPLY_ACCEPT_OP, DEFAULT_NEWLINE_ENCODING } from '../protocol/wire';
import { parseDuration } from '../shared/duration';
import type { ConfigFile } from './schema';
import { SIM_URL, type Config } from './types';
import { canonicalTimeZone, parseListen } from './validate';

/** Every default, in one place; docs/config.md and config.example.yaml show the same values. */
export const CONFIG_DEFAULTS = {
  edition: 'seed',
  apiUrl: 'auto',
  requestTimeout: '15s',
  newlines: DEFAULT_NEWLINE_ENCODING,
  simPort: 0,
  rules: './rules',
  database: './data/rulebot.db',
  perMinute: 20,
  perTargetGap: '3s',
  httpListen: '127.0.0.1:9464',
  retentionOk: '30d',
  retentionFailed: '180d',
  shutdownTimeout: '10s',
  logLevel: 'info',
  friendRequests: {
    act: false,
    apiName: 'UpdateContactsApply',
    path: API_TABLE.UpdateContactsApply.path,
    acceptOp: CONTACTS_APPLY_ACCEPT_OP,
  },
} as const;

/** The time zone of this machine (honours TZ), for configs that name none. */
export function systemTimeZone(): string {
  return canonicalTimeZone(Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC') ?? 'UTC';
}

/**
 * Applies defaults and resolves a config file that passed validation.
 * @param file Absolute path of the config file: relative paths in it resolve against its folder.
 */
export function resolveConfig(raw: ConfigFile, file: string): Config {
  const folder = path.dirname(file);
  const bridge = raw.bridge;
  const edition = editionOf(bridge.edition) ?? CONFIG_DEFAULTS.edition;
  const listen = raw.http === false ? undefined : (raw.http?.listen ?? CONFIG_DEFAULTS.httpListen);
  // Validation has checked `listen`, the time zone and every duration, so none of these throws.
  const http = listen === undefined ? false : { listen, ...parseListen(listen)! };
  const friendRequests = raw.friendRequests ?? {};

  return {
    file,
    bridge: {
      url: bridge.url,
      simulated: bridge.url === SIM_URL,
      edition,
      apiUrl: bridge.apiUrl ?? CONFIG_DEFAULTS.apiUrl,
      requestTimeoutMs: parseDuration(bridge.requestTimeout ?? CONFIG_DEFAULTS.requestTimeout),
      newlines: bridge.newlines ?? CONFIG_DEFAULTS.newlines,
      sim: {
        port: bridge.sim?.port ?? CONFIG_DEFAULTS.simPort,
        ...(bridge.sim?.seed !== undefined && { seed: bridge.sim.seed }),
        edition: editionOf(bridge.sim?.edition) ?? edition,
      },
    },
    timezone: raw.timezone === undefined ? systemTimeZone() : canonicalTimeZone(raw.timezone)!,
    rulesDir: path.resolve(folder, raw.rules ?? CONFIG_DEFAULTS.rules),
    databaseFile: path.resolve(folder, raw.database ?? CONFIG_DEFAULTS.database),
    admins: {
      friends: (raw.admins?.friends ?? []).map(String),
      groups: (raw.admins?.groups ?? []).map(String),
    },
    allowlist: (raw.allowlist ?? []).map(String),
    rateLimit: {
      perMinute: raw.rateLimit?.perMinute ?? CONFIG_DEFAULTS.perMinute,
      perTargetGapMs: parseDuration(raw.rateLimit?.perTargetGap ?? CONFIG_DEFAULTS.perTargetGap),
    },
    http,
    retention: {
      okMs: parseDuration(raw.retention?.ok ?? CONFIG_DEFAULTS.retentionOk),
      failedMs: parseDuration(raw.retention?.failed ?? CONFIG_DEFAULTS.retentionFailed),
    },
    shutdownTimeoutMs: parseDuration(raw.shutdownTimeout ?? CONFIG_DEFAULTS.shutdownTimeout),
    log: {
      level: raw.log?.level ?? CONFIG_DEFAULTS.logLevel,
      ...(raw.log?.pretty !== undefined && { pretty: raw.log.pretty }),
    },
    friendRequests: {
      act: friendRequests.act ?? CONFIG_DEFAULTS.friendRequests.act,
      apiName: friendRequests.apiName ?? CONFIG_DEFAULTS.friendRequests.apiName,
      path: friendRequests.path ?? CONFIG_DEFAULTS.friendRequests.path,
      acceptOp: friendRequests.acceptOp ?? CONFIG_DEFAULTS.friendRequests.acceptOp,
      ...(friendRequests.rejectOp !== undefined && { rejectOp: friendRequests.rejectOp }),
    },
  };
}

/** The edition as a string: `68` written unquoted in YAML arrives as a number. */
function editionOf(value: 'seed' | '68' | 68 | undefined): 'seed' | '68' | undefined {
  return value === undefined ? undefined : value === 68 ? '68' : value;
}
