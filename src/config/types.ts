/**
 * The resolved configuration: every default applied, durations in milliseconds, paths
 * absolute, ids as strings. The rest of rulebot reads this, never the file's shape.
 */
import type { BridgeEdition, NewlineEncoding } from '../protocol/wire';
import type { LogLevel } from '../shared/log';

/** The `bridge.url` that means "start the embedded simulator in-process". */
export const SIM_URL = 'sim://';

export interface SimConfig {
  /** Port of the embedded simulator; 0 lets the system pick a free one. */
  port: number;
  /** Seed of the simulated world; absent means the simulator's own default. */
  seed?: number;
  /** Edition the simulator speaks; defaults to `bridge.edition`. */
  edition: BridgeEdition;
}

export interface BridgeConfig {
  /** `sim://` or a `ws://` / `wss://` address. */
  url: string;
  /** True when `url` is `sim://`: the daemon starts the simulator itself. */
  simulated: boolean;
  edition: BridgeEdition;
  /** A fixed backend base URL, or `auto`: ask the bridge with getApiUrl after each connect. */
  apiUrl: 'auto' | string;
  requestTimeoutMs: number;
  newlines: NewlineEncoding;
  sim: SimConfig;
}

export interface HttpConfig {
  /** As written: `host:port`. */
  listen: string;
  host: string;
  port: number;
}

export interface FriendRequestsConfig {
  /** Whether accept / reject verdicts are carried out through the bridge (else only recorded). */
  act: boolean;
  /** The `request` ApiName that answers a friend request. */
  apiName: string;
  /** Its path, appended to the apiUrl. */
  path: string;
  /** The op that accepts. */
  acceptOp: number;
  /** The op that rejects; absent means a rejected request is left unanswered on the bridge. */
  rejectOp?: number;
}

export interface Config {
  /** Absolute path of the file this was read from. */
  file: string;
  bridge: BridgeConfig;
  /** Canonical IANA name of the default time zone of rules. */
  timezone: string;
  /** Absolute folder of rule files. */
  rulesDir: string;
  /** Absolute path of the SQLite execution log. */
  databaseFile: string;
  admins: { friends: string[]; groups: string[] };
  /** Uids never muted. */
  allowlist: string[];
  rateLimit: { perMinute: number; perTargetGapMs: number };
  /** The local health and control endpoint, or false when turned off. */
  http: HttpConfig | false;
  retention: { okMs: number; failedMs: number };
  /** How long a stopping daemon lets runs in flight finish before it interrupts them. */
  shutdownTimeoutMs: number;
  log: { level: LogLevel; pretty?: boolean };
  friendRequests: FriendRequestsConfig;
}
