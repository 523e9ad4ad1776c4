/**
 * `rulebot sim`: runs the bridge simulator alone, in the foreground, for `rulebot call`,
 * for a daemon configured with its ws:// address, or for poking at by hand.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { BridgeEdition } from '../../protocol';
import { BridgeSimulator, type FaultRates } from '../../sim';
import { RulebotError } from '../../shared/errors';
import { parseDuration } from '../../shared/duration';
import { createLogger } from '../../shared/log';
import { addJsonOption, editionOption, parseIntegerArgument, parsePortArgument, parseRateArgument } from '../options';
import { printJson, printLines } from '../output';
import { waitForShutdown } from '../signals';

interface SimOptions {
  port: number;
  host: string;
  edition: BridgeEdition;
  seed?: number;
  apiUrl?: string;
  busy?: number;
  silence?: number;
  drop?: number;
  garbage?: number;
  deliveryFailure?: number;
  delay?: [number, number];
  json?: boolean;
}

/** The port the bridge's seed edition listens on. */
const DEFAULT_PORT = 5599;

export function register(program: Command): void {
  const command = program
    .command('sim')
    .description('run the bridge simulator in the foreground (a fake bridge for call, the daemon and tests)')
    .option('--port <port>', 'port to listen on; 0 picks a free one', parsePortArgument, DEFAULT_PORT)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .addOption(editionOption('bridge edition to play').default('seed'))
    .option('--seed <n>', 'seed of the simulated world and of the faults', parseIntegerArgument)
    .option('--api-url <url>', 'what getApiUrl answers (default: https://webbiz.qika.xyz)')
    .option('--busy <rate>', 'share of frames answered "service busy" (errorCode 300), 0 to 1', parseRateArgument)
    .option('--silence <rate>', 'share of frames never answered', parseRateArgument)
    .option('--drop <rate>', 'share of frames answered by closing the connection', parseRateArgument)
    .option('--garbage <rate>', 'share of frames answered with text that is not JSON', parseRateArgument)
    .option('--delivery-failure <rate>', 'edition 68: share of sent messages whose delivery fails', parseRateArgument)
    .option('--delay <range>', 'answer each frame after a delay, e.g. 200ms or 50ms-500ms', parseDelayArgument);
  addJsonOption(command, 'print the addresses as one JSON line');
  command.addHelpText(
    'after',
    `
The same port serves the WebSocket and an HTTP control interface (world, record,
injected messages and faults): see docs/cli.md and src/sim/README.md.

Example:
  rulebot sim --port 5599 --edition 68 --busy 0.1
  rulebot call getGroups --bridge ws://127.0.0.1:5599`,
  );
  command.action(async (options: SimOptions) => {
    await runSimulator(options);
  });
}

async function runSimulator(options: SimOptions): Promise<void> {
  const faults: Partial<FaultRates> = {
    ...(options.busy !== undefined && { busy: options.busy }),
    ...(options.silence !== undefined && { silence: options.silence }),
    ...(options.drop !== undefined && { drop: options.drop }),
    ...(options.garbage !== undefined && { garbage: options.garbage }),
    ...(options.deliveryFailure !== undefined && { deliveryFailure: options.deliveryFailure }),
    ...(options.delay !== undefined && { delayMs: options.delay }),
  };
  // Logs go to stderr: stdout carries only the addresses, for whoever started us.
  const logger = createLogger({ level: 'info', destination: process.stderr, pretty: process.stderr.isTTY === true }).child({
    component: 'sim',
  });
  const simulator = new BridgeSimulator({
    edition: options.edition,
    host: options.host,
    port: options.port,
    faults,
    logger,
    ...(options.seed !== undefined && { seed: options.seed }),
    ...(options.apiUrl !== undefined && { apiUrl: options.apiUrl }),
  });
  // Listening before the start, so a Ctrl-C while starting still stops cleanly.
  const shutdown = waitForShutdown();
  try {
    await simulator.start();
  } catch (err) {
    shutdown.cancel();
    throw listenError(err, options.host, options.port);
  }

  if (options.json) {
    printJson({ url: simulator.url, controlUrl: simulator.controlUrl, port: simulator.port, edition: simulator.edition }, { compact: true });
  } else {
    printLines(
      `bridge simulator (${simulator.edition} edition) listening`,
      `  ws:      ${simulator.url}`,
      `  control: ${simulator.controlUrl}/`,
      'Ctrl-C stops it.',
    );
  }
  await shutdown.requested;
  await simulator.stop();
}

/** Says what to do about a port that cannot be had, instead of the bare system error. */
function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new RulebotError('SIM_PORT_IN_USE', `port ${port} on ${host} is in use; choose another with --port, or --port 0 for a free one`, { host, port }, { cause: err });
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return new RulebotError('SIM_LISTEN_FAILED', `cannot listen on ${host}:${port} (${code})`, { host, port }, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** `200ms` or `50ms-500ms` → [min, max] in milliseconds. */
function parseDelayArgument(value: string): [number, number] {
  const parts = value.split('-');
  try {
    const [min, max] = parts.length === 1 ? [parseDuration(parts[0]!), parseDuration(parts[0]!)] : [parseDuration(parts[0]!), parseDuration(parts[1]!)];
    if (parts.length > 2 || min > max) throw new Error('bad range');
    return [min, max];
  } catch {
    throw new InvalidArgumentError('expected a delay such as 200ms, or a range such as 50ms-500ms.');
  }
}
