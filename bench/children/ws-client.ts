/**
 * One client run against the simulator process, in a fresh process: keeps `inflight`
 * GroupDetail reads outstanding, and measures a window after a warm-up (BASELINES.md
 * §1–2, `ws-client.js`).
 *
 *   node ws-client.js <url> <raw|bridge> <inflight> <durationMs> <warmupMs> <serverPid>
 *
 * - raw: the BASELINES.md `raw` mode: JSON.stringify + send; answers arrive in order on
 *   one socket, so the send time comes off a FIFO; JSON.parse on each answer. No Map, no
 *   Promise, no timer.
 * - bridge: rulebot's BridgeClient, `request('GroupDetail', …)` from `inflight` async
 *   workers: correlation by id, a Promise and a timeout timer per frame, the codec.
 *
 * Both send the same frame: {"id":…,"type":"request","data":{"type":"GroupDetail",
 * "url":"https://webbiz.qika.xyz/group/groupDetail","data":{"groupId":389284}}}.
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { BridgeClient } from '../../src/protocol/client';
import { API_TABLE } from '../../src/protocol/wire';
import { DEFAULT_API_URL } from '../../src/sim/server';
import { percentiles, type Percentiles } from '../lib/stats';
import { childMain, processCpuMs } from '../lib/system';

export type ClientMode = 'raw' | 'bridge';

export interface ClientRunResult {
  mode: ClientMode;
  inflight: number;
  windowMs: number;
  responses: number;
  perSecond: number;
  /** Round-trip latency in ms, every answer of the window. */
  latency: Percentiles;
  /** Process CPU time ÷ wall time (GC threads included, so it can pass 100). */
  clientCpuPercent: number;
  serverCpuPercent: number | null;
  clientCpuUsPerRequest: number;
  answerBytes: number;
}

const GROUP_ID = 389284;
const PATH = API_TABLE.GroupDetail.path;
const URL = DEFAULT_API_URL + PATH;
/** Latency samples kept per run; ~100k answers/s × 3 s fits with room. */
const SAMPLE_CAP = 1 << 20;

/** Switches between warm-up, the measured window and the drain, and keeps the samples. */
class Window {
  readonly samples = new Float64Array(SAMPLE_CAP);
  count = 0;
  measuring = false;
  stopped = false;
  #startedAt = 0;
  #cpu = process.cpuUsage();
  #serverCpu: number | null = null;
  readonly #durationMs: number;
  readonly #warmupMs: number;
  readonly #serverPid: number;
  result: Omit<ClientRunResult, 'mode' | 'inflight' | 'answerBytes'> | undefined;

  constructor(durationMs: number, warmupMs: number, serverPid: number) {
    this.#durationMs = durationMs;
    this.#warmupMs = warmupMs;
    this.#serverPid = serverPid;
  }

  /** Starts the warm-up; call once connected, so connecting is not part of it. */
  begin(): void {
    setTimeout(() => this.#open(), this.#warmupMs);
  }

  record(latencyMs: number): void {
    if (!this.measuring) return;
    if (this.count < SAMPLE_CAP) this.samples[this.count] = latencyMs;
    this.count++;
  }

  #open(): void {
    this.#startedAt = performance.now();
    this.#cpu = process.cpuUsage();
    this.#serverCpu = processCpuMs(this.#serverPid);
    this.measuring = true;
    setTimeout(() => this.#close(), this.#durationMs);
  }

  #close(): void {
    const windowMs = performance.now() - this.#startedAt;
    this.measuring = false;
    this.stopped = true;
    const cpu = process.cpuUsage(this.#cpu);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const serverNow = processCpuMs(this.#serverPid);
    const serverCpuMs = serverNow !== null && this.#serverCpu !== null ? serverNow - this.#serverCpu : null;
    this.result = {
      windowMs,
      responses: this.count,
      perSecond: (this.count * 1000) / windowMs,
      latency: percentiles(this.samples, Math.min(this.count, SAMPLE_CAP)),
      clientCpuPercent: (cpuMs / windowMs) * 100,
      serverCpuPercent: serverCpuMs === null ? null : (serverCpuMs / windowMs) * 100,
      clientCpuUsPerRequest: this.count > 0 ? (cpuMs * 1000) / this.count : NaN,
    };
  }
}

/** The error of an error frame; the raw client checks only that, as a minimal client would. */
function failureOf(answer: unknown): string | undefined {
  const error = (answer as { error?: unknown }).error;
  return error === undefined ? undefined : JSON.stringify(error);
}

async function runRaw(url: string, inflight: number, window: Window): Promise<number> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const sentAt = new Float64Array(inflight);
  let head = 0;
  let tail = 0;
  let outstanding = 0;
  let seq = 0;
  let answerBytes = 0;
  const send = (): void => {
    const frame = { id: String(++seq), type: 'request', data: { type: 'GroupDetail', url: URL, data: { groupId: GROUP_ID } } };
    sentAt[tail] = performance.now();
    tail = (tail + 1) % inflight;
    outstanding++;
    ws.send(JSON.stringify(frame));
  };
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const now = performance.now();
      const answer: unknown = JSON.parse(data.toString());
      const failure = failureOf(answer);
      if (failure !== undefined) {
        reject(new Error(`the simulator refused the frame: ${failure}`));
        ws.terminate();
        return;
      }
      if (answerBytes === 0) answerBytes = data.length;
      window.record(now - sentAt[head]!);
      head = (head + 1) % inflight;
      outstanding--;
      if (!window.stopped) send();
      else if (outstanding === 0) resolve();
    });
    ws.on('close', () => reject(new Error('the simulator closed the connection')));
    window.begin();
    for (let i = 0; i < inflight; i++) send();
  });
  ws.removeAllListeners('close');
  ws.close();
  return answerBytes;
}

async function runBridge(url: string, inflight: number, window: Window): Promise<number> {
  const client = new BridgeClient({ url, apiUrl: DEFAULT_API_URL });
  let answerBytes = 0;
  client.start();
  await client.waitReady(10_000);
  window.begin();
  const worker = async (): Promise<void> => {
    while (!window.stopped) {
      const startedAt = performance.now();
      const answer = await client.request('GroupDetail', PATH, { groupId: GROUP_ID });
      window.record(performance.now() - startedAt);
      if (answerBytes === 0) answerBytes = JSON.stringify(answer).length;
    }
  };
  await Promise.all(Array.from({ length: inflight }, () => worker()));
  await client.stop();
  return answerBytes;
}

async function main(args: string[]): Promise<ClientRunResult> {
  const [url, mode, inflightText, durationText, warmupText, serverPidText] = args;
  if (!url || (mode !== 'raw' && mode !== 'bridge')) throw new Error('usage: ws-client <url> <raw|bridge> <inflight> <durationMs> <warmupMs> <serverPid>');
  const inflight = Number(inflightText);
  const window = new Window(Number(durationText), Number(warmupText), Number(serverPidText));
  const answerBytes = mode === 'raw' ? await runRaw(url, inflight, window) : await runBridge(url, inflight, window);
  if (!window.result) throw new Error('the window never closed');
  return { mode, inflight, answerBytes, ...window.result };
}

childMain(main);
