/**
 * The daemon: the composition root of a rulebot process. It starts, in order, the rule
 * set, the execution log, the bridge (the embedded simulator for `sim://`, and the
 * client), the engine (scheduler, dispatcher, watcher, all running rules through one
 * runner; and the friend-request hold resolver), the ops endpoint and the retention timer; it reloads rules on request and
 * when their files change; and it stops everything in the reverse order, letting runs
 * in flight finish up to the shutdown deadline.
 */
import type { Config } from '../config';
import { recordDeliveries } from '../engine/deliveries';
import { createDaemonMetrics, type DaemonMetrics } from '../ops/daemon-metrics';
import { startOpsServer, type OpsServer } from '../ops/http-server';
import { defaultControlTokenFile, ensureControlToken } from '../ops/token';
import { ChatApi } from '../protocol/api';
import type { BridgeClient } from '../protocol/client';
import type { BridgeSimulator } from '../sim';
import { systemClock, type Clock } from '../shared/clock';
import { RulebotError } from '../shared/errors';
import type { Logger } from '../shared/log';
import { formatProblem } from '../shared/yaml-source';
import type { RunStore } from '../store/run-store';
import { createBridgeClient, startBridgeEndpoint } from './bridge';
import { createControlHandlers } from './control';
import { collectMetricsFrom, healthReport } from './observability';
import { RetentionTimer } from './retention';
import { RuleSource, type RuleSetChanges } from './rules-source';
import { drainEngine, settlesWithin, FINAL_SETTLE_MS, OPS_CLOSE_TIMEOUT_MS } from './shutdown';
import { openDaemonStore } from './store';
import { RuleEngine } from './wiring';

export interface DaemonOptions {
  config: Config;
  /** The process's root logger; the daemon makes a child per concern. */
  logger: Logger;
  /** @default systemClock */
  clock?: Clock;
  /** Refuse to start when a rule file has any problem (`rulebot start --strict`). @default false */
  strict?: boolean;
  /** Reload the rules when a file in the rules folder changes. @default true */
  watchRules?: boolean;
}

export type DaemonState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/** Everything a started daemon owns, so `stop()` takes down exactly what started. */
interface Running {
  metrics: DaemonMetrics;
  store?: RunStore;
  simulator?: BridgeSimulator;
  client?: BridgeClient;
  api?: ChatApi;
  stopDeliveries?: () => void;
  engine?: RuleEngine;
  ops?: OpsServer;
  retention?: RetentionTimer;
  stopWatchingRules?: () => void;
}

/**
 * One rulebot process's work. `start()` resolves once config, rules, store, scheduler
 * and ops endpoint are up — the bridge may still be connecting: the daemon keeps
 * working, and reconnecting, without it. `stop()` takes everything down in the reverse
 * order.
 *
 * @example
 * const daemon = new Daemon({ config: loadConfig(), logger: createLogger() });
 * await daemon.start();
 * // ... until a signal; SIGHUP: await daemon.reload()
 * await daemon.stop();
 */
export class Daemon {
  readonly #config: Config;
  readonly #rootLog: Logger;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #strict: boolean;
  readonly #watchRules: boolean;
  readonly #rules: RuleSource;
  #state: DaemonState = 'idle';
  #running: Running | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: DaemonOptions) {
    this.#config = options.config;
    this.#rootLog = options.logger;
    this.#log = options.logger.child({ component: 'daemon' });
    this.#clock = options.clock ?? systemClock;
    this.#strict = options.strict ?? false;
    this.#watchRules = options.watchRules ?? true;
    this.#rules = new RuleSource({ rulesDir: options.config.rulesDir, logger: options.logger.child({ component: 'rules' }) });
  }

  get state(): DaemonState {
    return this.#state;
  }

  /** The bridge client, once started. */
  get bridge(): BridgeClient | undefined {
    return this.#running?.client;
  }

  /** The address the daemon connects to: the embedded simulator's once it listens. */
  get bridgeUrl(): string | undefined {
    return this.#running?.client?.url;
  }

  /** The ops endpoint's address (`http://127.0.0.1:port`), when it is on. */
  get opsUrl(): string | undefined {
    return this.#running?.ops?.url;
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`the daemon cannot start from state ${this.#state}`);
    this.#state = 'starting';
    const running: Running = { metrics: createDaemonMetrics({ onWarning: (message, details) => this.#log.warn(details, message) }) };
    this.#running = running;
    try {
      await this.#startParts(running);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#state = 'running';
    this.#log.info(
      {
        config: this.#config.file,
        bridge: running.client!.url,
        simulated: this.#config.bridge.simulated,
        edition: running.client!.edition,
        timezone: this.#config.timezone,
        rules: this.#rules.snapshot.rules.length,
        ...(running.ops && { ops: running.ops.url }),
      },
      'rulebot started',
    );
  }

  /**
   * Reads the rule files again and swaps in what changed, rule by rule (SIGHUP and the
   * folder watch call it). An invalid edit keeps the rule's previous version running.
   */
  reload(reason = 'requested'): RuleSetChanges | undefined {
    const engine = this.#running?.engine;
    if (this.#state !== 'running' || !engine) return undefined;
    this.#log.info({ reason }, 'reloading rules');
    try {
      const changes = this.#rules.reload();
      engine.replace(this.#rules.snapshot.rules);
      return changes;
    } catch (err) {
      // Whatever failed, the rules in force keep running.
      this.#log.error({ err }, 'reloading rules failed; the rules in force keep running');
      return undefined;
    }
  }

  /** Stops everything that started; safe to call more than once (later calls wait for the first). */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  // === Starting ===

  async #startParts(running: Running): Promise<void> {
    const config = this.#config;
    const clock = this.#clock;

    this.#rules.load();
    const { problems } = this.#rules.snapshot;
    if (this.#strict && problems.length > 0) {
      throw new RulebotError(
        'RULES_INVALID',
        [`${problems.length} problem(s) in the rules in ${this.#rules.dir}; --strict refuses to start:`, ...problems.map((problem) => `  ${formatProblem(problem)}`)].join('\n'),
        { problems: problems.length },
      );
    }

    const { store, interrupted } = openDaemonStore(config.databaseFile, clock, (row) => running.metrics.runs.inc({ rule: row.ruleId, status: row.status }));
    running.store = store;
    if (interrupted.runIds.length > 0) {
      this.#log.warn(
        { runs: interrupted.runIds, steps: interrupted.stepIds.length, unknownDeliveries: interrupted.unknownDeliveryStepIds.length, unknownTargets: interrupted.unknownTargets.length },
        'runs a stopped process left running are marked interrupted',
      );
    }

    const endpoint = await startBridgeEndpoint(config, this.#rootLog);
    running.simulator = endpoint.simulator;
    const client = createBridgeClient(config, endpoint.url, clock, this.#rootLog);
    running.client = client;
    const api = new ChatApi(client, { clock });
    running.api = api;
    running.stopDeliveries = recordDeliveries(client, store, this.#rootLog.child({ component: 'deliveries' }));
    client.on('delivery', (event) => {
      if (event.state === 'failed') running.metrics.deliveryFailures.inc();
    });

    const engine = new RuleEngine({ config, clock, store, api, metrics: running.metrics, logger: this.#rootLog, rules: () => this.#rules.snapshot.rules });
    running.engine = engine;
    this.#followBridge(client, engine);
    engine.load(this.#rules.snapshot.rules);

    // The endpoint comes up before anything fires: an address in use, or a token file
    // that is refused, stops the start before a run begins.
    const sources = { bridge: client, scheduler: engine.scheduler, watcher: engine.watcher, rules: this.#rules, runner: engine.runner };
    collectMetricsFrom(running.metrics, { ...sources, limiter: engine.limiter });
    if (config.http !== false) {
      const token = await ensureControlToken(defaultControlTokenFile(config.databaseFile));
      running.ops = await startOpsServer({
        listen: config.http.listen,
        health: () => healthReport(sources),
        metrics: running.metrics.registry,
        control: createControlHandlers({
          dispatcher: engine.dispatcher,
          runner: engine.runner,
          resumer: engine.resumer,
          rules: () => this.#rules.snapshot.rules,
          clock,
          defaultTimezone: config.timezone,
          stopping: () => this.#state === 'stopping' || this.#state === 'stopped',
        }),
        token,
        logger: this.#rootLog.child({ component: 'ops' }),
        closeTimeoutMs: OPS_CLOSE_TIMEOUT_MS,
      });
    }

    engine.start(client);
    running.retention = new RetentionTimer({ store, clock, retention: config.retention, logger: this.#rootLog.child({ component: 'retention' }) });
    running.retention.start();
    if (this.#watchRules) running.stopWatchingRules = this.#rules.watch(clock, () => this.reload('rule files changed'));

    client.start();
  }

  /**
   * Reacts to the bridge's comings and goings: when it is ready again after a drop,
   * window rules re-apply their state (an edge may have failed while it was away); when
   * it is first ready, interrupted broadcasts are resumed.
   */
  #followBridge(client: BridgeClient, engine: RuleEngine): void {
    let dropped = false;
    let resumed = false;
    client.on('disconnected', () => {
      dropped = true;
    });
    client.on('ready', () => {
      if (this.#state === 'stopping' || this.#state === 'stopped') return;
      if (dropped) {
        dropped = false;
        engine.scheduler.reconcileWindows();
      }
      if (!resumed) {
        resumed = true;
        engine.resumer.resumeInterrupted();
      }
    });
  }

  // === Stopping ===

  async #stop(): Promise<void> {
    const running = this.#running;
    this.#state = 'stopping';
    if (!running) {
      this.#state = 'stopped';
      return;
    }
    running.stopWatchingRules?.();
    const retentionStopped = running.retention?.stop();

    if (running.engine) {
      const drain = await drainEngine(running.engine, this.#config.shutdownTimeoutMs, this.#clock, this.#log);
      if (drain.dropped > 0) this.#log.info({ dropped: drain.dropped }, 'queued fires dropped');
    }
    await running.ops?.close();
    running.stopDeliveries?.();
    running.engine?.limiter.close();
    running.api?.dispose();
    // Stopping the client fails what is still waiting on the bridge, so the last aborted runs can end.
    await running.client?.stop();
    if (running.engine) {
      const engine = running.engine;
      await settlesWithin(Promise.all([engine.runner.whenSettled(), engine.intakeStopped()]), FINAL_SETTLE_MS, this.#clock);
    }
    await running.simulator?.stop();
    await retentionStopped;
    if (running.store) this.#closeStore(running.store);
    this.#state = 'stopped';
    this.#log.info('rulebot stopped');
  }

  /** Closes the log; a run that did not even end after its abort is marked interrupted first, never left `running`. */
  #closeStore(store: RunStore): void {
    try {
      const left = store.markInterrupted();
      if (left.runIds.length > 0) this.#log.warn({ runs: left.runIds }, 'runs that did not end in time are marked interrupted');
    } catch (err) {
      this.#log.error({ err }, 'could not mark the last runs interrupted');
    }
    store.close();
  }
}
