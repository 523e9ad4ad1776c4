/**
 * `rulebot call <type> [data-json]`: sends one frame to a running bridge and prints the
 * answer frame. A tool for looking at what a bridge really answers, so it sends the
 * frame as given, once, with no retry, and gives up on a bridge it cannot reach at once.
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, resolveConfigPath, SIM_URL, type Config } from '../../config';
import { API_TABLE, BridgeClient, isApiName, isWorldChanging, normaliseApiUrl, type AnswerFrame, type BridgeEdition } from '../../protocol';
import { RulebotError, UsageError } from '../../shared/errors';
import { createLogger } from '../../shared/log';
import { addConfigOption, addJsonOption, editionOption, timeoutOption, type ConfigOptions } from '../options';
import { debugEnabled, printJson } from '../output';

interface CallOptions extends ConfigOptions {
  bridge?: string;
  edition?: BridgeEdition;
  apiUrl?: string;
  timeout: number;
  yes?: boolean;
  json?: boolean;
}

const DEFAULT_TIMEOUT = '10s';

export function register(program: Command): void {
  const command = program
    .command('call')
    .description('send one frame to a running bridge and print its answer frame')
    .argument('<type>', 'frame type: getGroups, getApiUrl, request, sendMsg, sendFile, restartApp, restart68')
    .argument('[data-json]', "the frame's data as JSON, as the bridge protocol has it; a request may give path instead of url")
    .option('--bridge <url>', 'bridge address, e.g. ws://127.0.0.1:5599 (default: bridge.url of the config)')
    .addOption(editionOption('bridge edition (default: bridge.edition of the config, else seed)'))
    .option('--api-url <url>', 'backend base URL put before a request path (default: bridge.apiUrl of the config, else asked with getApiUrl)')
    .addOption(timeoutOption('how long to wait for the connection and for the answer', DEFAULT_TIMEOUT))
    .option('--yes', 'allow a frame that changes the world (sends, restarts, group and contact changes)');
  addConfigOption(command);
  addJsonOption(command, 'print the answer frame on one line');
  command.addHelpText(
    'after',
    `
Examples:
  rulebot call getGroups --bridge ws://127.0.0.1:5599
  rulebot call request '{"type":"GroupDetail","path":"/group/groupDetail","data":{"groupId":389284}}'
  rulebot call sendMsg '{"id":389284,"type":"group","list":[{"type":"text","values":{"chatType":0,"content":"hi"}}]}' --yes`,
  );
  command.action(async (type: string, dataJson: string | undefined, options: CallOptions) => {
    await callBridge(type, dataJson, options);
  });
}

async function callBridge(type: string, dataJson: string | undefined, options: CallOptions): Promise<void> {
  const data = parseData(dataJson);
  const frame = type === 'request' ? requestFrame(data) : { data, apiName: undefined, path: undefined };
  if (isWorldChanging(type, frame.apiName) && !options.yes) throw new UsageError(worldChangingRefusal(type, frame.apiName));

  const config = readConfigFor(options);
  const url = options.bridge ?? config?.bridge.url;
  if (url === undefined) throw new UsageError('no bridge to call: give --bridge ws://127.0.0.1:5599, or a config with bridge.url');
  if (url === SIM_URL) {
    throw new UsageError(
      `bridge.url is ${SIM_URL}, the simulator the daemon embeds, which exists only while the daemon runs: ` +
        'call needs a running bridge; start one with `rulebot sim` and pass --bridge ws://127.0.0.1:5599',
    );
  }
  if (!/^wss?:\/\/\S+$/.test(url)) throw new UsageError(`"${url}" is not a bridge address (expected e.g. ws://127.0.0.1:5599)`);
  if (options.apiUrl !== undefined && normaliseApiUrl(options.apiUrl) === undefined) {
    throw new UsageError(`--api-url "${options.apiUrl}" is not an https:// URL`);
  }
  const apiUrl = options.apiUrl ?? config?.bridge.apiUrl ?? 'auto';

  const client = new BridgeClient({
    url,
    edition: options.edition ?? config?.bridge.edition ?? 'seed',
    apiUrl,
    requestTimeoutMs: options.timeout,
    connectTimeoutMs: options.timeout,
    heartbeat: { intervalMs: 0 },
    readRetry: { attempts: 1 },
    ...(debugEnabled() && { logger: createLogger({ level: 'debug', destination: process.stderr }) }),
  });
  try {
    await connectOnce(client, url, options.timeout);
    const answer = await send(client, type, frame, options.timeout);
    printJson(answer, { compact: options.json === true });
  } finally {
    await client.stop();
  }
}

/** Sends the frame once, with no retry, and resolves with its answer frame. */
function send(client: BridgeClient, type: string, frame: PreparedFrame, timeoutMs: number): Promise<AnswerFrame> {
  const callOptions = { timeoutMs, retry: false };
  if (frame.path === undefined) return client.call(type, frame.data, callOptions);
  const { path, type: apiName, protoType, data, ...extra } = frame.data as Record<string, unknown>;
  if (Object.keys(extra).length === 0 && (protoType === undefined || protoType === 'group')) {
    // The client builds `<apiUrl><path>` itself, and names the ApiName in its errors.
    const requestData = data as Record<string, unknown> | undefined;
    return client.request(String(apiName), String(path), requestData, { ...callOptions, ...(protoType === 'group' && { protoType }) });
  }
  // Fields the client does not know of travel as given; only `path` becomes `url`.
  const url = `${client.apiUrl ?? ''}${String(path)}`;
  return client.call(type, { type: apiName, url, ...(protoType !== undefined && { protoType }), ...(data !== undefined && { data }), ...extra }, callOptions);
}

/** `data-json` as a value; absent means the frame has no data. */
function parseData(dataJson: string | undefined): unknown {
  if (dataJson === undefined) return undefined;
  try {
    return JSON.parse(dataJson) as unknown;
  } catch (err) {
    throw new UsageError(`data-json is not valid JSON: ${(err as Error).message}`);
  }
}

interface PreparedFrame {
  data: unknown;
  apiName: string | undefined;
  /** Set when the data gives `path`, to be put after the apiUrl once it is known. */
  path: string | undefined;
}

/**
 * Checks a `request` frame's data: an ApiName in `type`, and `url` or `path`. With
 * neither, a known ApiName takes its path (and protoType) from the protocol's table.
 */
function requestFrame(data: unknown): PreparedFrame {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new UsageError('a request needs data-json such as {"type":"GroupDetail","path":"/group/groupDetail","data":{"groupId":389284}}');
  }
  const fields = data as Record<string, unknown>;
  const apiName = fields.type;
  if (typeof apiName !== 'string' || apiName === '') throw new UsageError('a request needs "type": the ApiName, e.g. "GroupDetail"');
  if (fields.url !== undefined && fields.path !== undefined) throw new UsageError('give a request either "url" or "path", not both');
  if (fields.path !== undefined) {
    if (typeof fields.path !== 'string' || !fields.path.startsWith('/')) throw new UsageError('a request "path" must start with "/", e.g. "/group/groupDetail"');
    return { data, apiName, path: fields.path };
  }
  if (fields.url === undefined) {
    if (!isApiName(apiName)) throw new UsageError(`a request of the unknown ApiName ${apiName} needs "url" or "path"`);
    const spec = API_TABLE[apiName];
    const withPath: Record<string, unknown> = { ...fields, path: spec.path };
    if ('protoType' in spec && fields.protoType === undefined) withPath.protoType = spec.protoType;
    return { data: withPath, apiName, path: spec.path };
  }
  return { data, apiName, path: undefined };
}

/** Why a frame needs --yes, in the operator's terms. */
function worldChangingRefusal(type: string, apiName: string | undefined): string {
  return `${worldChangingReason(type, apiName)}; run again with --yes to send it`;
}

function worldChangingReason(type: string, apiName: string | undefined): string {
  if (type === 'request') {
    return apiName !== undefined && isApiName(apiName)
      ? `request ${apiName} changes the world`
      : `request ${apiName} is not a known read, so it may change the world`;
  }
  if (type === 'sendMsg' || type === 'sendFile') return `${type} sends to a real chat`;
  if (type === 'restartApp' || type === 'restart68') return `${type} restarts the chat app`;
  return `${type} is not a frame type rulebot knows as a read, so it may change the world`;
}

/**
 * The config, when one is named or present. With --bridge the config is optional, so a
 * missing ./config.yaml is fine; a named one that is missing or invalid is an error.
 */
function readConfigFor(options: CallOptions): Config | undefined {
  const location = resolveConfigPath({ path: options.config });
  const needed = options.bridge === undefined || location.source !== 'default';
  if (!needed && !fs.existsSync(location.file)) return undefined;
  return loadConfig({ path: options.config });
}

/**
 * Connects and waits until the bridge is ready, failing on the first connection that
 * closes before that: a debugging tool should say "refused" now, not retry for a minute.
 */
function connectOnce(client: BridgeClient, url: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDisconnected = (info: { reason: string }): void => {
      client.off('ready', onReady);
      reject(new RulebotError('BRIDGE_UNREACHABLE', `cannot reach the bridge at ${url}: ${info.reason}`, { url, reason: info.reason }));
    };
    const onReady = (): void => {
      client.off('disconnected', onDisconnected);
      resolve();
    };
    client.once('disconnected', onDisconnected);
    client.once('ready', onReady);
    client.start();
    client.waitReady(timeoutMs).catch((err: unknown) => {
      client.off('disconnected', onDisconnected);
      client.off('ready', onReady);
      reject(err as Error);
    });
  });
}
