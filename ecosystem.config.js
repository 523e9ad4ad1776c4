'use strict';
/**
 * pm2 process file: `pm2 start ecosystem.config.js` (docs/operations.md).
 *
 * CommonJS on purpose: pm2 7 cannot load this file as an ES module ("No script path -
 * aborting"), so the package keeps its .js files CommonJS.
 *
 * The config file is `--config`, else RULEBOT_CONFIG, else ./config.yaml beside this
 * file. pm2 reads this file in the shell that runs `pm2 start`, so
 * `RULEBOT_CONFIG=/etc/rulebot/config.yaml pm2 start ecosystem.config.js` works; the
 * path is made absolute here because the daemon runs from this folder, not the shell's.
 * To pin it in the file instead: `args: 'start --config /etc/rulebot/config.yaml'`.
 */
const path = require('node:path');

const configFile = process.env.RULEBOT_CONFIG;

module.exports = {
  apps: [
    {
      name: 'rulebot',
      script: 'bin/rulebot.js',
      args: 'start',
      cwd: __dirname,
      exec_mode: 'fork',
      // One process only: two would each arm the scheduler and fire every rule twice.
      instances: 1,
      // `pm2 start` and `pm2 reload` wait for process.send('ready'), which the daemon sends
      // once config, store and scheduler are up. Not the bridge: the daemon reconnects to
      // it by itself, so a bridge that is down neither holds pm2 up nor crashes the daemon
      // into a restart loop. Past listen_timeout pm2 reports the process online anyway.
      wait_ready: true,
      listen_timeout: 30000,
      // pm2 asks with its `shutdown` message (the daemon also takes SIGINT), and sends
      // SIGKILL once kill_timeout has passed. The daemon gives runs in flight
      // shutdownTimeout (10s by default) to finish, then takes up to about 5s more to
      // record the rest as interrupted and close the database; a SIGKILL before that would
      // leave runs `running`. Keep kill_timeout above shutdownTimeout + 5s when raising it.
      shutdown_with_message: true,
      kill_timeout: 20000,
      // A crash loop (say, a broken config) backs off from 100 ms up to 15 s between tries.
      exp_backoff_restart_delay: 100,
      // Past this pm2 restarts the daemon, through the same graceful stop as `pm2 reload`.
      max_memory_restart: '300M',
      // The daemon watches its rule files itself and swaps changed rules in one by one; a
      // pm2 watch would restart the whole process instead.
      watch: false,
      // No time prefix (`time`, `log_date_format`): every line stays one pino JSON object
      // that carries its own "time". One out file whatever the pm2 id (no `-<id>` suffix).
      merge_logs: true,
      env: {
        NODE_ENV: 'production',
        ...(configFile ? { RULEBOT_CONFIG: path.resolve(configFile) } : {}),
      },
    },
  ],
};
