/**
 * What a command that runs a rule in its own process needs when no daemon is up
 * (`rulebot run`, `rulebot resume`): a connection to the config's bridge — starting the
 * embedded simulator for `sim://` — and a moment for delivery results to arrive.
 */
import type { Config } from '../config';
import { recordDeliveries } from '../engine/deliveries';
import { OutboundLimiter } from '../engine/ratelimit';
import type { ExecutorDeps } from '../engine/run-context';
import { ChatApi } from '../protocol/api';
import { BridgeClient } from '../protocol/client';
import { EDITIONS } from '../protocol/wire';
import { BridgeSimulator } from '../sim/server';
import type { Clock } from '../shared/clock';
import { RulebotError, describeError } from '../shared/errors';
import { createLogger } from '../shared/log';
import type { RunStore } from '../store/run-store';
import type { RunDetail } from '../store/types';
import { debugEnabled } from './output';
import { onShutdownRequest } from './signals';

/** How long a finished run waits for delivery results of its messages (edition 68 pushes them). */
export const DELIVERY_WAIT_MS = 3000;

export interface OpenBridge {
  client: BridgeClient;
  api: ChatApi;
  url: string;
  simulated: boolean;
  /** A line saying which bridge the run talks to. */
  description: string;
  close(): Promise<void>;
}

/** Connects to the config's bridge, starting the embedded simulator for `sim://`. */
export async function openBridge(config: Config, clock: Clock): Promise<OpenBridge> {
  const bridge = config.bridge;
  let simulator: BridgeSimulator | undefined;
  let url = bridge.url;
  if (bridge.simulated) {
    simulator = new BridgeSimulator({
      edition: bridge.sim.edition,
      port: bridge.sim.port,
      control: false,
      ...(bridge.sim.seed !== undefined && { seed: bridge.sim.seed }),
    });
    await simulator.start();
    url = simulator.url;
  }
  const edition = bridge.simulated ? bridge.sim.edition : bridge.edition;
  const client = new BridgeClient({
    url,
    edition,
    apiUrl: bridge.apiUrl,
    requestTimeoutMs: bridge.requestTimeoutMs,
    newlineEncoding: bridge.newlines,
    clock,
    // Short reconnect delays: a one-off command should not sit out a long backoff.
    reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
    ...(debugEnabled() && { logger: createLogger({ level: 'debug', destination: process.stderr }) }),
  });
  const close = async (): Promise<void> => {
    await client.stop();
    await simulator?.stop();
  };
  client.start();
  try {
    await client.waitReady(bridge.requestTimeoutMs);
  } catch (err) {
    await close();
    throw new RulebotError('BRIDGE_UNREACHABLE', `cannot reach the bridge at ${url}: ${describeError(err)}; nothing was run`, { url });
  }
  const api = new ChatApi(client, { clock });
  const description = simulator
    ? `Bridge: the embedded simulator (sim://), started in this process at ${url} for this run; nothing reaches a real chat.`
    : `Bridge: ${url} (edition ${edition}).`;
  return {
    client,
    api,
    url,
    simulated: simulator !== undefined,
    description,
    close: async () => {
      api.dispose();
      await close();
    },
  };
}

/**
 * Edition 68 reports each message's delivery with a push: give the ones this run sent a
 * moment to arrive, so the printed run shows them. The seed edition sends none.
 */
export async function awaitDeliveries(run: RunDetail, bridge: OpenBridge, store: RunStore): Promise<RunDetail> {
  if (!EDITIONS[bridge.client.edition].pushes) return run;
  const pending = run.steps.filter((step) => step.delivery === 'accepted' && step.customMsgId !== null);
  if (pending.length === 0) return run;
  await Promise.all(pending.map((step) => bridge.api.waitForDelivery(step.customMsgId!, DELIVERY_WAIT_MS)));
  return store.getRun(run.id) ?? run;
}

/** The executor's deps for a run in this process, the signal that aborts it, and the undo. */
export interface InProcessRun {
  deps: ExecutorDeps;
  /** Aborted by Ctrl-C or SIGTERM: the run ends `interrupted`. */
  signal: AbortSignal;
  /** Stops listening for signals and deliveries and closes the limiter (not the bridge or store). */
  close(): void;
}

/**
 * What a run in this process shares with the daemon's runs, built the same way: the
 * config's outbound limit, delivery results recorded, logs on stderr (stdout carries the
 * command's output), and a stop signal that interrupts the run instead of killing it.
 */
export function prepareInProcessRun(bridge: OpenBridge, store: RunStore, config: Config, clock: Clock): InProcessRun {
  const controller = new AbortController();
  const stopListening = onShutdownRequest((reason) => controller.abort(new Error(`${reason} received`)));
  const stopDeliveries = recordDeliveries(bridge.client, store);
  const limiter = new OutboundLimiter({ perMinute: config.rateLimit.perMinute, perTargetGapMs: config.rateLimit.perTargetGapMs, clock });
  const logger = createLogger({ level: debugEnabled() ? 'debug' : 'warn', destination: process.stderr, pretty: process.stderr.isTTY === true });
  return {
    deps: { api: bridge.api, store, clock, limiter, logger, config },
    signal: controller.signal,
    close: () => {
      stopListening();
      stopDeliveries();
      limiter.close();
    },
  };
}
