import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/shared/clock';
import { BridgeSimulator } from '../../src/sim';
import { TestClient, requestFrame, sendMsgFrame } from './helpers';

const START = Date.parse('2025-12-21T02:00:00Z');

describe('the record', () => {
  const clock = new ManualClock(START);
  const sim = new BridgeSimulator({ clock });
  let client: TestClient;

  before(async () => {
    await sim.start();
    client = await TestClient.connect(sim.url);
  });

  after(async () => {
    await client.close();
    await sim.stop();
  });

  it('holds every frame in and out, in order, with seq, time, connection and the raw text', async () => {
    await client.call({ id: 'r1', type: 'getApiUrl' });
    clock.advance(10);
    await client.call(requestFrame('r2', 'GroupDetail', '/group/groupDetail', { groupId: 389284 }));
    client.send('garbage');
    await client.waitFor((f) => f.error !== undefined && f.id === undefined);
    const record = sim.record;
    assert.deepEqual(
      record.map((r) => [r.seq, r.direction, r.connectionId, r.at]),
      [
        [1, 'in', 1, START],
        [2, 'out', 1, START],
        [3, 'in', 1, START + 10],
        [4, 'out', 1, START + 10],
        [5, 'in', 1, START + 10],
        [6, 'out', 1, START + 10],
      ],
    );
    assert.equal(record[0]!.raw, '{"id":"r1","type":"getApiUrl"}');
    assert.deepEqual(record[1]!.frame, { id: 'r1', type: 'getApiUrl', data: 'https://webbiz.qika.xyz' });
    assert.equal(record[4]!.frame, undefined, 'text that is not JSON has no frame');
    assert.equal(JSON.parse(JSON.stringify(record[1])).frame.data, 'https://webbiz.qika.xyz', 'entries serialise with their frame');
  });

  it('received() filters incoming frames by frame type or ApiName', async () => {
    await client.call(sendMsgFrame('r3', { group: 389284 }, 'x'));
    await client.call(requestFrame('r4', 'GroupUpdate', '/group/groupUpdate', { op: 13, groupParam: { groupId: 389284 } }));
    assert.deepEqual(
      sim.received().map((r) => r.frame.id),
      ['r1', 'r2', 'r3', 'r4'],
      'the garbage frame is not a received frame',
    );
    assert.deepEqual(
      sim.received('request').map((r) => r.frame.id),
      ['r2', 'r4'],
    );
    assert.deepEqual(
      sim.received('GroupDetail').map((r) => r.frame.id),
      ['r2'],
    );
    assert.deepEqual(
      sim.worldChangingReceived().map((r) => r.frame.id),
      ['r3', 'r4'],
    );
  });
});

describe('a bounded record', () => {
  it('keeps only the last recordLimit frames, seq still counting', async () => {
    const sim = new BridgeSimulator({ recordLimit: 10 });
    await sim.start();
    const client = await TestClient.connect(sim.url);
    try {
      for (let i = 0; i < 100; i++) client.send({ id: `b${i}`, type: 'getApiUrl' });
      await client.waitFor((f) => f.id === 'b99');
      const record = sim.record;
      assert.equal(record.length, 10);
      assert.deepEqual(
        record.map((r) => r.seq),
        Array.from({ length: 10 }, (_, i) => 191 + i),
      );
      assert.deepEqual(
        sim.recordSince(198).map((r) => r.seq),
        [199, 200],
      );
    } finally {
      await client.close();
      await sim.stop();
    }
  });
});
