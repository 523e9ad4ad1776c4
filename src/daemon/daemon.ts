/**
 * The daemon: owns the long-lived parts (the embedded simulator when the config says
 * `sim://`, the bridge client) and starts and stops them in order. The scheduler and
 * the executor plug in here, between the bridge and the shutdown.
 */
import type { Config } from '../config';
import { BridgeClient, type PushEvent } from '../protocol';
import { BridgeSimulator } from '../sim';
import { systemClock, type Clock } from '../shared/clock';
import { RulebotError } from '../shared/errors';
import type { Logger } from '../shared/log';

export interface DaemonOptions {
  config: Config;
  /** The process's root logger; the daemon makes a child per concern. */
  logger: Logger;
  /** @default systemClock */
  clock?: Clock;
}

export type DaemonState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * One rulebot process's work. `start()` resolves once everything is up (the bridge may
 * still be connecting: the daemon keeps working, and reconnecting, without it);
 * `stop()` takes everything down in the reverse order.
 *
 * @example
 * const daemon = new Daemon({ config: loadConfig(), logger: createLogger() });
 * await daemon.start();
 * // ... until a signal
 * await daemon.stop();
 */
export class Daemon {
  readonly #config: Config;
  readonly #rootLog: Logger;
  readonly #log: Logger;
  readonly #clock: Clock;
  #state: DaemonState = 'idle';
  #simulator: BridgeSimulator | undefined;
  #bridge: BridgeClient | undefined;

  constructor(options: DaemonOptions) {
    this.#config = options.config;
    this.#rootLog = options.logger;
    this.#log = options.logger.child({ component: 'daemon' });
    this.#clock = options.clock ?? systemClock;
  }

  get state(): DaemonState {
    return this.#state;
  }

  /** The bridge client, once started. */
  get bridge(): BridgeClient | undefined {
    return this.#bridge;
  }

  /** The address the daemon connects to: the embedded simulator's once it listens. */
  get bridgeUrl(): string | undefined {
    return this.#bridge?.url;
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`the daemon cannot start from state ${this.#state}`);
    this.#state = 'starting';
    try {
      const url = await this.#startBridgeEndpoint();
      this.#bridge = this.#startBridgeClient(url);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#state = 'running';
    this.#log.info(
      {
        config: this.#config.file,
        bridge: this.#bridge.url,
        simulated: this.#config.bridge.simulated,
        edition: this.#bridge.edition,
        timezone: this.#config.timezone,
      },
      'rulebot started',
    );
  }

  /** Stops everything that started; safe to call more than once. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'stopping') return;
    this.#state = 'stopping';
    await this.#bridge?.stop();
    await this.#simulator?.stop();
    this.#state = 'stopped';
    this.#log.info('rulebot stopped');
  }

  /** `sim://` starts the simulator in this process; any other URL is a bridge already running. */
  async #startBridgeEndpoint(): Promise<string> {
    const bridge = this.#config.bridge;
    if (!bridge.simulated) return bridge.url;
    const simulator = new BridgeSimulator({
      edition: bridge.sim.edition,
      host: '127.0.0.1',
      port: bridge.sim.port,
      ...(bridge.sim.seed !== undefined && { seed: bridge.sim.seed }),
      logger: this.#rootLog.child({ component: 'sim' }),
    });
    try {
      await simulator.start();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      throw new RulebotError(
        'SIM_PORT_IN_USE',
        `bridge.sim.port ${bridge.sim.port} is in use; choose another in ${this.#config.file}, or 0 for a free one`,
        { port: bridge.sim.port },
        { cause: err },
      );
    }
    this.#simulator = simulator;
    return simulator.url;
  }

  #startBridgeClient(url: string): BridgeClient {
    const bridge = this.#config.bridge;
    const client = new BridgeClient({
      url,
      edition: this.#config.bridge.simulated ? bridge.sim.edition : bridge.edition,
      apiUrl: bridge.apiUrl,
      requestTimeoutMs: bridge.requestTimeoutMs,
      newlineEncoding: bridge.newlines,
      clock: this.#clock,
      // The client logs its own connects, readiness, losses and reconnects.
      logger: this.#rootLog.child({ component: 'bridge' }),
    });
    const pushLog = this.#rootLog.child({ component: 'push' });
    client.on('push', (event) => pushLog.info({ push: summarisePush(event) }, 'push received'));
    client.start();
    return client;
  }
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
