/**
 * Process logs: one pino root per process, a child logger per concern
 * (`log.child({ component: 'bridge' })`), errors under `err`. JSON lines on stdout
 * for pm2 by default; human-readable lines when stdout is a terminal or when asked.
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import pinoPretty from 'pino-pretty';

export type Logger = PinoLogger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Paths whose values never reach a log line. pino's redaction matches one level per
 * `*`, so the common nestings are listed.
 */
export const REDACTED_PATHS: readonly string[] = [
  'token',
  'password',
  'secret',
  '*.token',
  '*.password',
  '*.secret',
  '*.*.token',
  '*.*.password',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
];

export interface LoggerOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** Human-readable lines instead of JSON. @default true when stdout is a terminal and no destination is given */
  pretty?: boolean;
  /** Where lines go (tests pass a stream they read). @default stdout, written synchronously */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Bindings on every line of the root. */
  base?: Record<string, unknown>;
}

/** The root logger of a process. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  const pinoOptions: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: { pid: process.pid, ...options.base },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    // ISO times read better in pm2 logs than epoch milliseconds.
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (pretty) {
    const stream = pinoPretty({
      // Synchronous, in-process: no worker thread, and nothing lost when the process exits.
      sync: true,
      destination: options.destination ?? 1,
      colorize: options.destination === undefined && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      // The concern in front of the message reads better than one more indented field.
      messageFormat: '{if component}[{component}] {end}{msg}',
      ignore: 'pid,hostname,component',
    });
    return pino(pinoOptions, stream);
  }
  // Synchronous writes so the last lines before process.exit are not lost.
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(pinoOptions, destination as DestinationStream);
}

/** A logger that writes nothing, for code run without a process logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
