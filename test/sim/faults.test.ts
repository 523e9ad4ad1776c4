import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/shared/clock';
import { BridgeSimulator, FaultPlan, SimOptionError, mulberry32, type BridgeSimulatorOptions } from '../../src/sim';
import { TestClient, requestFrame, sendMsgFrame } from './helpers';

const START = Date.parse('2025-12-21T02:00:00Z');

describe('FaultPlan', () => {
  /** The fault names of `n` frames alternating between a read and a write. */
  function sequence(seed: number, n: number): string[] {
    const plan = new FaultPlan(seed, { busy: 0.2, silence: 0.1, drop: 0.1, garbage: 0.1, acted: 0.5 });
    return Array.from({ length: n }, (_, i) => {
      const write = i % 2 === 0;
      const d = plan.decide(write ? 'sendMsg' : 'getGroups', undefined, write);
      return d ? `${d.name}${write ? (d.acted ? '+acted' : '-acted') : ''}` : 'none';
    });
  }

  it('makes the same decisions for the same seed, and different ones for another seed', () => {
    const a = sequence(42, 200);
    assert.deepEqual(sequence(42, 200), a);
    assert.notDeepEqual(sequence(43, 200), a);
    const faults = a.filter((name) => name !== 'none').length;
    assert.ok(faults > 60 && faults < 140, `about half the frames are struck (got ${faults} of 200)`);
    assert.ok(a.some((n) => n.endsWith('+acted')) && a.some((n) => n.endsWith('-acted')), 'writes are sometimes acted on, sometimes not');
  });

  it('mulberry32 repeats for a seed and stays in [0, 1)', () => {
    const a = mulberry32(9);
    const b = mulberry32(9);
    const values = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      values,
      Array.from({ length: 1000 }, () => b()),
    );
    assert.ok(values.every((v) => v >= 0 && v < 1));
  });

  it('plays scripted faults first, in order, as many times as asked, matching type or ApiName', () => {
    const plan = new FaultPlan(1);
    plan.script({ match: { apiName: 'GroupUpdate' }, action: 'busy', times: 2, acted: true });
    plan.script({ match: { type: 'sendMsg' }, action: { error: { errorCode: 777, errorDesc: 'scripted' } } });
    assert.equal(plan.decide('getGroups', undefined, false), undefined);
    assert.deepEqual(plan.decide('request', 'GroupUpdate', true), { action: 'busy', name: 'busy', acted: true, scripted: true });
    assert.equal(plan.decide('sendMsg', undefined, true)?.name, 'error');
    assert.equal(plan.decide('request', 'GroupUpdate', true)?.name, 'busy');
    assert.equal(plan.decide('request', 'GroupUpdate', true), undefined, 'used up');
    assert.equal(plan.scripted.length, 0);
  });

  it('refuses rates outside [0, 1], unknown faults, exclusive rates over 1 and bad scripts', () => {
    const plan = new FaultPlan(1);
    assert.throws(() => plan.setRates({ busy: 1.5 }), SimOptionError);
    assert.throws(() => plan.setRates({ busy: 0.6, drop: 0.6 }), /must not exceed 1/);
    assert.throws(() => plan.setRates({ delayMs: [10, 5] }), /delayMs/);
    assert.throws(() => plan.setRates({ explode: 1 } as never), /unknown fault "explode"/);
    assert.throws(() => plan.script({ match: {}, action: 'explode' as never }), /scripted fault action/);
    assert.throws(() => plan.script({ match: {}, action: 'busy', times: 0 }), /times/);
    assert.equal(plan.rates.busy, 0, 'a refused change leaves the rates alone');
  });
});

describe('faults on the wire', () => {
  const open: Array<TestClient | BridgeSimulator> = [];
  afterEach(async () => {
    for (const item of open.splice(0).reverse()) {
      if (item instanceof TestClient) await item.close();
      else await item.stop();
    }
  });

  async function setup(options: BridgeSimulatorOptions = {}) {
    const clock = new ManualClock(START);
    const sim = new BridgeSimulator({ clock, ...options });
    open.push(sim);
    await sim.start();
    const client = await TestClient.connect(sim.url);
    open.push(client);
    return { sim, client, clock };
  }

  const mute = (id: string, shutup = true) =>
    requestFrame(id, 'GroupUpdate', '/group/groupUpdate', { op: 11, groupParam: { shutup, groupId: 389284 } });

  it('gives the same fault sequence for the same seed over real sockets', async () => {
    async function run(seed: number): Promise<string[]> {
      const { sim, client } = await setup({ seed, faults: { busy: 0.3, garbage: 0.2 } });
      for (let i = 0; i < 60; i++) client.send({ id: `q${i}`, type: 'getApiUrl' });
      // Every frame gets one reply: the answer, a busy error, or garbage.
      await TestClient.until(() => client.raws.length === 60);
      return sim.received().map((r) => r.fault ?? 'ok');
    }
    const first = await run(11);
    const second = await run(11);
    assert.deepEqual(second, first);
    assert.ok(first.includes('busy') && first.includes('garbage') && first.includes('ok'));
    assert.notDeepEqual(await run(12), first);
  });

  it('a scripted busy after acting: the answer is errorCode 300 yet the world changed, and the record says so', async () => {
    const { sim, client } = await setup();
    sim.scriptFault({ match: { apiName: 'GroupUpdate' }, action: 'busy', acted: true });
    const answer = await client.call(mute('a1'));
    assert.deepEqual(answer.error, { errorCode: 300, errorDesc: '很抱歉，服务繁忙，请联系客服 #A0030' });
    assert.equal(sim.world.group(389284).bfShutup, true, 'the bridge acted');
    const [entry] = sim.worldChangingReceived();
    assert.equal(entry?.fault, 'busy');
    assert.equal(entry?.actedBeforeFault, true);
  });

  it('a scripted busy without acting leaves the world as it was', async () => {
    const { sim, client } = await setup();
    sim.scriptFault({ match: { type: 'sendMsg' }, action: 'busy', acted: false });
    const answer = await client.call(sendMsgFrame('a2', { group: 389284 }, 'hi'));
    assert.equal(answer.error.errorCode, 300);
    assert.equal(sim.world.messages.length, 0);
    assert.equal(sim.received('sendMsg')[0]?.actedBeforeFault, false);
    const retry = await client.call(sendMsgFrame('a3', { group: 389284 }, 'hi'));
    assert.equal(retry.data, 'success', 'the script was used up');
  });

  it('silence: no answer ever comes, later frames are still answered', async () => {
    const { sim, client } = await setup();
    sim.scriptFault({ match: { type: 'getGroups' }, action: 'silence' });
    client.send({ id: 'quiet', type: 'getGroups' });
    assert.equal((await client.call({ id: 'next', type: 'getApiUrl' })).id, 'next');
    await TestClient.pause(30);
    assert.equal(client.frames.some((f) => f.id === 'quiet'), false);
    assert.equal(sim.received('getGroups')[0]?.fault, 'silence');
  });

  it('drop: the connection is terminated instead of answering; an acted drop still changes the world', async () => {
    const { sim, client } = await setup();
    sim.scriptFault({ match: { apiName: 'GroupUpdate' }, action: 'drop', acted: true });
    client.send(mute('d1'));
    await client.closed;
    assert.equal(client.frames.length, 0);
    assert.equal(sim.world.group(389284).bfShutup, true);
    assert.equal(sim.received('GroupUpdate')[0]?.actedBeforeFault, true);
  });

  it('garbage: the answer starts like the real one and is not JSON', async () => {
    const { sim, client } = await setup();
    sim.scriptFault({ match: {}, action: 'garbage' });
    client.send({ id: 'g1', type: 'getApiUrl' });
    await TestClient.until(() => client.raws.length === 1);
    assert.match(client.raws[0]!, /^\{"id":"g1"/);
    assert.throws(() => JSON.parse(client.raws[0]!));
  });

  it('invalid-utf8: a text frame the client library rejects, closing with 1007', async () => {
    const { sim, client } = await setup();
    sim.scriptFault({ match: {}, action: 'invalid-utf8' });
    client.send({ id: 'u1', type: 'getApiUrl' });
    await client.closed;
    assert.equal(client.errors[0]?.code, 'WS_ERR_INVALID_UTF8');
    // The client closes with 1007; the server sees it.
    await TestClient.until(() => sim.connections === 0);
  });

  it('a scripted error answers with that error', async () => {
    const { sim, client } = await setup();
    sim.scriptFault({ match: { type: 'getApiUrl' }, action: { error: { errorCode: 501, errorDesc: '暂不可用' } } });
    const answer = await client.call({ id: 'e1', type: 'getApiUrl' });
    assert.deepEqual(answer, { id: 'e1', type: 'getApiUrl', error: { errorCode: 501, errorDesc: '暂不可用' } });
  });

  it('a scripted delay holds the answer until the clock passes it', async () => {
    const { sim, client, clock } = await setup();
    sim.scriptFault({ match: { type: 'getApiUrl' }, action: { delayMs: 5000 } });
    const answer = client.call({ id: 'late', type: 'getApiUrl' });
    await TestClient.until(() => sim.received().length === 1);
    await TestClient.pause(20);
    assert.equal(client.frames.length, 0);
    clock.advance(5000);
    assert.equal((await answer).data, 'https://webbiz.qika.xyz');
    assert.equal(sim.received('getApiUrl')[0]?.fault, 'delay');
  });

  it('delayMs rates hold every frame back by a seeded amount within the range', async () => {
    const { sim, client, clock } = await setup({ faults: { delayMs: [100, 200] } });
    const answer = client.call({ id: 'slow', type: 'getApiUrl' });
    await TestClient.until(() => sim.received().length === 1);
    clock.advance(99);
    await TestClient.pause(20);
    assert.equal(client.frames.length, 0);
    clock.advance(101);
    assert.equal((await answer).id, 'slow');
  });

  it('setPongs(false) leaves pings unanswered; true answers them again', async () => {
    const { sim, client } = await setup();
    const pong = () =>
      new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 100);
        client.socket.once('pong', () => {
          clearTimeout(timer);
          resolve(true);
        });
        client.socket.ping();
      });
    assert.equal(await pong(), true);
    sim.setPongs(false);
    assert.equal(await pong(), false);
    client.socket.removeAllListeners('pong');
    sim.setPongs(true);
    assert.equal(await pong(), true);
  });

  it('dropConnections and sendRaw reach every client', async () => {
    const { sim, client } = await setup();
    const other = await TestClient.connect(sim.url);
    open.push(other);
    assert.equal(sim.connections, 2);
    sim.sendRaw('not json at all');
    sim.sendRaw(Buffer.from([0x7b, 0xff, 0x7d]));
    await Promise.all([client.closed, other.closed]);
    assert.deepEqual([client.errors[0]?.code, other.errors[0]?.code], ['WS_ERR_INVALID_UTF8', 'WS_ERR_INVALID_UTF8']);
    assert.deepEqual([client.raws, other.raws], [['not json at all'], ['not json at all']]);

    const third = await TestClient.connect(sim.url);
    open.push(third);
    assert.equal(sim.dropConnections(), 1);
    assert.equal((await third.closed).code, 1006);
  });
});
