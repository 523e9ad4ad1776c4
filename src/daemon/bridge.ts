/**
 * The daemon's side of the bridge: the embedded simulator when the config says
 * `sim://`, and the one BridgeClient every rule talks through.
 */
import type { Config } from '../config';
import { BridgeClient, type PushEvent } from '../protocol';
import { BridgeSimulator } from '../sim';
import type { Clock } from '../shared/clock';
import { RulebotError } from '../shared/errors';
import type { Logger } from '../shared/log';

/** Where the client connects, and the simulator serving it when there is one. */
export interface BridgeEndpoint {
  url: string;
  simulator: BridgeSimulator | undefined;
}

/** Frames the embedded simulator keeps for its control interface's `/record`. */
export const EMBEDDED_RECORD_LIMIT = 1_000;

/** `sim://` starts the simulator in this process; any other URL is a bridge already running. */
export async function startBridgeEndpoint(config: Config, rootLog: Logger): Promise<BridgeEndpoint> {
  const bridge = config.bridge;
  if (!bridge.simulated) return { url: bridge.url, simulator: undefined };
  const simulator = new BridgeSimulator({
    edition: bridge.sim.edition,
    host: '127.0.0.1',
    port: bridge.sim.port,
    ...(bridge.sim.seed !== undefined && { seed: bridge.sim.seed }),
    // The daemon never reads the frame log; only a peek through the control interface
    // (`/record`) does, and the standalone default (100,000 frames) costs a busy daemon 100+ MB.
    recordLimit: EMBEDDED_RECORD_LIMIT,
    logger: rootLog.child({ component: 'sim' }),
  });
  try {
    await simulator.start();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new RulebotError(
      'SIM_PORT_IN_USE',
      `bridge.sim.port ${bridge.sim.port} is in use; choose another in ${config.file}, or 0 for a free one`,
      { port: bridge.sim.port },
      { cause: err },
    );
  }
  return { url: simulator.url, simulator };
}

/**
 * The bridge client, not yet started: the daemon connects it once everything that
 * listens to it is in place, so no push arrives before the dispatcher hears it.
 */
export function createBridgeClient(config: Config, url: string, clock: Clock, rootLog: Logger): BridgeClient {
  const bridge = config.bridge;
  const client = new BridgeClient({
    url,
    edition: bridge.simulated ? bridge.sim.edition : bridge.edition,
    apiUrl: bridge.apiUrl,
    requestTimeoutMs: bridge.requestTimeoutMs,
    newlineEncoding: bridge.newlines,
    clock,
    // The client logs its own connects, readiness, losses and reconnects.
    logger: rootLog.child({ component: 'bridge' }),
  });
  const pushLog = rootLog.child({ component: 'push' });
  client.on('push', (event) => pushLog.info({ push: summarisePush(event) }, 'push received'));
  return client;
}

/** A push for the log: its own fields without the raw frame, and without message text. */
function summarisePush(event: PushEvent): Record<string, unknown> {
  const { raw: _raw, ...fields } = event;
  if (fields.kind === 'message') {
    const { content, ...rest } = fields;
    return { ...rest, contentLength: content.length };
  }
  return fields;
}
