/**
 * `rulebot start`: runs the daemon in the foreground until SIGINT, SIGTERM or pm2's
 * shutdown message, then stops it cleanly and exits 0.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { Daemon } from '../../daemon/daemon';
import { clockFromEnv } from '../../shared/clock';
import { createLogger } from '../../shared/log';
import { addConfigOption, type ConfigOptions } from '../options';
import { onShutdownRequest, type ShutdownReason } from '../signals';

export function register(program: Command): void {
  const command = program
    .command('start')
    .description('run the daemon in the foreground (pm2 runs it this way); sim:// starts the embedded simulator');
  addConfigOption(command);
  command.action(async (options: ConfigOptions) => {
    await startDaemon(options);
  });
}

async function startDaemon(options: ConfigOptions): Promise<void> {
  const config = loadConfig({ path: options.config });
  const logger = createLogger({ level: config.log.level, ...(config.log.pretty !== undefined && { pretty: config.log.pretty }) });
  const daemon = new Daemon({ config, logger, clock: clockFromEnv() });

  // One subscription for the whole run: the first request stops gracefully (also one
  // that arrives while starting); a second one, while stopping, means "now".
  let stopRequested!: (reason: ShutdownReason) => void;
  const requested = new Promise<ShutdownReason>((resolve) => (stopRequested = resolve));
  let stopping = false;
  const unsubscribe = onShutdownRequest((reason) => {
    if (!stopping) {
      stopping = true;
      stopRequested(reason);
      return;
    }
    logger.warn({ reason }, 'second stop request; exiting at once');
    process.exit(1);
  });
  try {
    await daemon.start();
    // pm2's wait_ready: config and daemon are up (the bridge may still be connecting).
    process.send?.('ready');
    logger.info({ reason: await requested }, 'stopping');
    await daemon.stop();
  } finally {
    unsubscribe();
  }
}
