/**
 * The bridge simulator in a process of its own, so the client under test and the server
 * don't share an event loop (BASELINES.md runs its ws server the same way). Reports its
 * URL once listening and stops on a `stop` message or when the parent goes away.
 */
import { BridgeSimulator } from '../../src/sim';

export interface SimServerReady {
  kind: 'listening';
  url: string;
  pid: number;
}

async function main(): Promise<void> {
  // recordLimit 0: a kept record would cost the server GC time at these rates.
  const sim = new BridgeSimulator({ recordLimit: 0, control: false, seed: 1 });
  await sim.start();
  const stop = (): void => {
    void sim.stop().finally(() => process.exit(0));
  };
  process.on('message', (message) => {
    if ((message as { kind?: string }).kind === 'stop') stop();
  });
  process.on('disconnect', stop);
  process.send?.({ kind: 'listening', url: sim.url, pid: process.pid } satisfies SimServerReady);
}

main().catch((err: unknown) => {
  process.stderr.write(`sim-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
