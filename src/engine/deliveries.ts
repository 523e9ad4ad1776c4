/**
 * Delivery results of sent messages (the newer edition's msgListPropertyUpdate pushes)
 * applied to the execution log: the step and the ledger target that sent the message
 * move from `accepted` to `delivered` or `failed`. One listener per process, attached
 * where the client and the store meet (the daemon, `rulebot run`), never per run.
 */
import type { DeliveryEvent } from '../protocol/events';
import type { RunStore } from '../store/run-store';
import type { RunLogger } from './run-context';

/** The part of a BridgeClient this needs. */
export interface DeliverySource {
  on(event: 'delivery', listener: (event: DeliveryEvent) => void): unknown;
  off(event: 'delivery', listener: (event: DeliveryEvent) => void): unknown;
}

/** Applies every delivery push to the store until the returned function is called. */
export function recordDeliveries(source: DeliverySource, store: RunStore, logger?: Pick<RunLogger, 'debug' | 'warn'>): () => void {
  const onDelivery = (event: DeliveryEvent): void => {
    try {
      const settled = store.settleDelivery(event.customMsgId, event.state);
      logger?.debug({ customMsgId: event.customMsgId, state: event.state, ...settled }, 'delivery recorded');
    } catch (err) {
      // A store that cannot be written must not take the client's event loop down with it.
      logger?.warn({ err, customMsgId: event.customMsgId }, 'could not record a delivery result');
    }
  };
  source.on('delivery', onDelivery);
  return () => {
    source.off('delivery', onDelivery);
  };
}
