/**
 * Requests to stop: SIGINT, SIGTERM, or pm2's `shutdown` message (sent instead of a
 * signal where signals do not exist, and with `shutdown_with_message`); and requests to
 * reload: SIGHUP.
 */

export type ShutdownReason = 'SIGINT' | 'SIGTERM' | 'shutdown message';

/**
 * Calls `handler` on every request to stop until the returned function is called.
 * While subscribed, the signals no longer kill the process.
 */
export function onShutdownRequest(handler: (reason: ShutdownReason) => void): () => void {
  const onSigint = (): void => handler('SIGINT');
  const onSigterm = (): void => handler('SIGTERM');
  const onMessage = (message: unknown): void => {
    if (message === 'shutdown') handler('shutdown message');
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  // A 'message' listener holds the IPC channel open, so it must not outlive its use.
  process.on('message', onMessage);
  return () => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('message', onMessage);
  };
}

/** A wait for the first request to stop, subscribed from the moment it is made. */
export interface ShutdownWait {
  /** Resolves with the first request to stop. */
  readonly requested: Promise<ShutdownReason>;
  /** Stops listening (when the work ended some other way). */
  cancel(): void;
}

/** Starts listening for the first request to stop. */
export function waitForShutdown(): ShutdownWait {
  let resolveRequested!: (reason: ShutdownReason) => void;
  const requested = new Promise<ShutdownReason>((resolve) => (resolveRequested = resolve));
  const unsubscribe = onShutdownRequest((reason) => {
    unsubscribe();
    resolveRequested(reason);
  });
  return { requested, cancel: unsubscribe };
}

/**
 * Calls `handler` on every SIGHUP until the returned function is called. While
 * subscribed, SIGHUP no longer ends the process (its default).
 */
export function onReloadRequest(handler: () => void): () => void {
  const onSighup = (): void => handler();
  process.on('SIGHUP', onSighup);
  return () => {
    process.off('SIGHUP', onSighup);
  };
}
