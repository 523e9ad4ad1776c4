/**
 * `rulebot start`: runs the daemon in the foreground until SIGINT, SIGTERM or pm2's
 * shutdown message, then stops it cleanly and exits 0. SIGHUP reloads the rules.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { Daemon } from '../../daemon/daemon';
import { clockFromEnv } from '../../shared/clock';
import { createLogger } from '../../shared/log';
import { addConfigOption, type ConfigOptions } from '../options';
import { onReloadRequest, onShutdownRequest, type ShutdownReason } from '../signals';

interface StartOptions extends ConfigOptions {
  strict?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('start')
    .description('run the daemon in the foreground (pm2 runs it this way); sim:// starts the embedded simulator')
    .option('--strict', 'refuse to start (exit 1) when any rule file has a problem, instead of leaving the invalid rules out');
  addConfigOption(command);
  command.addHelpText(
    'after',
    `
Signals: SIGINT, SIGTERM or pm2's shutdown message stop the daemon: no new fires,
runs in flight get until shutdownTimeout (default 10s) to finish, the rest end
interrupted, then it exits 0. SIGHUP reloads the rules (so does saving a rule file).`,
  );
  command.action(async (options: StartOptions) => {
    await startDaemon(options);
  });
}

async function startDaemon(options: StartOptions): Promise<void> {
  const config = loadConfig({ path: options.config });
  const logger = createLogger({ level: config.log.level, ...(config.log.pretty !== undefined && { pretty: config.log.pretty }) });
  const daemon = new Daemon({ config, logger, clock: clockFromEnv(), strict: options.strict === true });

  // One subscription for the whole run: the first request stops gracefully (also one
  // that arrives while starting). A later one is logged and changes nothing: exiting
  // then would leave runs `running` and the database half-closed, and the shutdown
  // deadline already bounds the wait.
  let stopRequested!: (reason: ShutdownReason) => void;
  const requested = new Promise<ShutdownReason>((resolve) => (stopRequested = resolve));
  let stopping = false;
  const unsubscribe = onShutdownRequest((reason) => {
    if (!stopping) {
      stopping = true;
      stopRequested(reason);
      return;
    }
    logger.warn({ reason }, 'already stopping; the shutdown goes on');
  });
  const stopReloading = onReloadRequest(() => {
    daemon.reload('SIGHUP');
  });
  try {
    await daemon.start();
    // pm2's wait_ready: config, store and scheduler are up. Not the bridge: a bridge that
    // is down must not turn into a restart loop; the daemon reconnects by itself.
    process.send?.('ready');
    logger.info({ reason: await requested }, 'stopping');
    await daemon.stop();
  } finally {
    unsubscribe();
    stopReloading();
  }
}
