/**
 * Hostile frames from the bridge, each beside its expected outcome. Every case runs
 * against a real BridgeClient on a real socket to a BridgeSimulator: a read is in flight
 * (the simulator holds its answer back), the frame arrives, and the test checks the
 * event or error it caused, that the client survived, that the read still gets its
 * answer, and that a normal request succeeds afterwards — on a new connection where the
 * frame was one `ws` refuses.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ChatApi } from '../../src/protocol/api';
import { BridgeClient, type BridgeClientEvents, type BridgeLogger } from '../../src/protocol/client';
import { BridgeError } from '../../src/protocol/errors';
import type { PushEvent } from '../../src/protocol/events';
import { BridgeSimulator } from '../../src/sim';
import { caseNames, corpusDir, frameBytes, readJson, waitFor, type FrameCase } from './helpers';

const cases = caseNames('frames').map((name) => ({ name, frameCase: readJson<FrameCase>(path.join(corpusDir, 'frames', `${name}.json`)) }));

/** Every event the client emits, in order. */
const EVENTS: ReadonlyArray<keyof BridgeClientEvents> = [
  'ready',
  'disconnected',
  'reconnecting',
  'message',
  'groupNotification',
  'delivery',
  'groupUpdate',
  'recall',
  'push',
  'unknownFrame',
  'garbage',
  'unsolicited',
];

interface Seen {
  event: keyof BridgeClientEvents;
  arg: unknown;
}

/** A push nobody else sends: once the client has read it, it has read every frame before it. */
const SENTINEL = 'corpusSentinel';

interface Settled<T> {
  state: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: unknown;
}

function track<T>(promise: Promise<T>): Settled<T> {
  const settled: Settled<T> = { state: 'pending' };
  promise.then(
    (value) => Object.assign(settled, { state: 'resolved', value }),
    (error: unknown) => Object.assign(settled, { state: 'rejected', error }),
  );
  return settled;
}

function errorLog(): BridgeLogger & { errors: string[] } {
  const errors: string[] = [];
  const noop = (): void => undefined;
  return { errors, debug: noop, info: noop, warn: noop, error: (obj, msg) => errors.push(`${msg} ${JSON.stringify(obj)}`) };
}

async function connect(t: TestContext): Promise<{ sim: BridgeSimulator; client: BridgeClient; api: ChatApi; seen: Seen[]; log: ReturnType<typeof errorLog> }> {
  const sim = new BridgeSimulator({ edition: '68', port: 0, seed: 1 });
  await sim.start();
  const log = errorLog();
  const client = new BridgeClient({
    url: sim.url,
    edition: '68',
    // Generous: the machine may be loaded, and no case waits for a timeout.
    requestTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
    greetingTimeoutMs: 5_000,
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    heartbeat: { intervalMs: 0 },
    readRetry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    logger: log,
  });
  const api = new ChatApi(client);
  const seen: Seen[] = [];
  for (const event of EVENTS) client.on(event, (arg: unknown) => seen.push({ event, arg }));
  t.after(async () => {
    api.dispose();
    await client.stop();
    await sim.stop();
  });
  client.start();
  await client.waitReady(20_000);
  return { sim, client, api, seen, log };
}

const isSentinel = (entry: Seen) => entry.event === 'push' && (entry.arg as PushEvent).kind === 'unknownPush' && (entry.arg as { operator: string }).operator === SENTINEL;

describe('the bad-input corpus: hostile frames', () => {
  it('has a case for every kind of frame the corpus promises', () => {
    assert.ok(cases.length >= 14, `only ${cases.length} frame cases`);
  });

  for (const { name, frameCase } of cases) {
    it(`${name}: ${frameCase.description}`, { timeout: 90_000 }, async (t) => {
      const { sim, client, api, seen, log } = await connect(t);
      const pendingKind = frameCase.pending ?? 'getGroups';
      const wireName = pendingKind === 'getGroups' ? 'getGroups' : 'GroupDetail';

      // A read in flight: the simulator swallows it, the test answers it (or the frame does).
      sim.scriptFault({ match: pendingKind === 'getGroups' ? { type: 'getGroups' } : { type: 'request', apiName: 'GroupDetail' }, action: 'silence' });
      const before = sim.received(wireName).length;
      const pending = track<unknown>(pendingKind === 'getGroups' ? api.getGroups() : api.groupDetail('389284'));
      const written = await waitFor('the read to reach the simulator', () => sim.received(wireName)[before]);
      const pendingId = written.frame.id;
      const connectionsBefore = seen.filter((entry) => entry.event === 'ready').length;

      sim.sendRaw(frameBytes(frameCase.send, pendingId));
      const expect = frameCase.expect;

      if (expect.outcome === 'drop-and-reconnect') {
        const drop = await waitFor('the connection to drop', () => seen.find((entry) => entry.event === 'disconnected'));
        const reason = (drop.arg as { reason: string }).reason;
        assert.ok(reason.includes(expect.reasonMentions ?? ''), `disconnect reason: ${reason}`);
        await waitFor('a new connection', () => seen.filter((entry) => entry.event === 'ready').length > connectionsBefore);
        // The read was written on the dropped socket: reads are retried, so it succeeds on the new one.
        await waitFor('the read to settle', () => pending.state !== 'pending', 30_000);
        assert.equal(pending.state, 'resolved', String(pending.error));
        assert.ok(client.metrics().reconnects >= 1);
      } else {
        sim.sendRaw(JSON.stringify({ operator: SENTINEL, data: {} }));
        await waitFor('the client to read past the frame', () => seen.some(isSentinel));
        const caused = seen.slice(0, seen.findIndex(isSentinel)).filter((entry) => entry.event !== 'ready');
        const events = caused.map((entry) => entry.event);
        assert.ok(!events.includes('disconnected'), `the connection dropped: ${events.join(', ')}`);

        switch (expect.outcome) {
          case 'garbage':
          case 'unknown-frame':
          case 'unsolicited': {
            const event = expect.outcome === 'garbage' ? 'garbage' : expect.outcome === 'unknown-frame' ? 'unknownFrame' : 'unsolicited';
            assert.deepEqual(events, [event]);
            break;
          }
          case 'push':
            assert.deepEqual(events.sort(), [expect.event!, 'push'].sort());
            break;
          case 'push-ignored': {
            assert.deepEqual(events, ['push']);
            const push = caused[0]!.arg as PushEvent;
            assert.equal(push.kind, 'unknownPush');
            if (push.kind === 'unknownPush') assert.ok(push.reason.includes(expect.reasonIncludes ?? ''), push.reason);
            break;
          }
          case 'ignored':
            assert.deepEqual(events, []);
            break;
          case 'pending-answered':
            assert.deepEqual(events, []);
            await waitFor('the read to settle', () => pending.state !== 'pending');
            assert.equal(pending.state, 'resolved', String(pending.error));
            break;
          case 'pending-failed': {
            assert.deepEqual(events, []);
            await waitFor('the read to settle', () => pending.state !== 'pending');
            assert.equal(pending.state, 'rejected', 'the read should have failed');
            const error = pending.error as Error;
            assert.equal(error.constructor.name, expect.error!.name, String(error));
            if (expect.error!.errorCode !== undefined) {
              assert.ok(error instanceof BridgeError);
              assert.equal(error.errorCode, expect.error!.errorCode);
            }
            assert.ok(error.message.includes(expect.error!.messageIncludes ?? ''), error.message);
            break;
          }
        }

        if (pending.state === 'pending') {
          // Still waiting, as it should be: its real answer arrives now and is taken.
          const data = pendingKind === 'getGroups' ? [] : { commonResult: { errCode: 200 }, group: { groupId: '389284', name: 'huimei' } };
          sim.sendRaw(JSON.stringify({ id: pendingId, type: written.frame.type, data }));
          await waitFor('the read to get its answer', () => pending.state !== 'pending');
          assert.equal(pending.state, 'resolved', String(pending.error));
        }
      }

      // The client survived: a normal request succeeds, and nothing was logged as an error.
      const groups = await api.getGroups();
      assert.ok(groups.length > 0);
      assert.equal(client.state, 'ready');
      assert.deepEqual(log.errors, []);
      assert.equal(({} as Record<string, unknown>).polluted, undefined, 'an object prototype was changed');
    });
  }
});
