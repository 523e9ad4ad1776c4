/**
 * The bad-input corpus: case files beside their expected outcomes (README.md in this
 * folder), the inputs too big or too odd to keep in git generated here, and the
 * processes and folders the tests make, cleaned up when the test file ends.
 */
import { after } from 'node:test';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_PAYLOAD_BYTES } from '../../src/protocol/transport';
import { mulberry32 } from '../../src/sim';

/** dist/test/corpus → the repository root. */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
/** The case files live in the source tree: tsc copies no YAML or JSON into dist. */
export const corpusDir = path.join(repoRoot, 'test', 'corpus');
const bin = path.join(repoRoot, 'bin', 'rulebot.js');

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temp folder removed when the file's tests end. */
export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebot-corpus-'));
  tempDirs.push(dir);
  return dir;
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** The cases of a category: `<name>.expect.json` (rules, config) or `<name>.json` (frames), in name order. */
export function caseNames(category: 'rules' | 'config' | 'frames'): string[] {
  const suffix = category === 'frames' ? '.json' : '.expect.json';
  return fs
    .readdirSync(path.join(corpusDir, category))
    .filter((name) => name.endsWith(suffix))
    .map((name) => name.slice(0, -suffix.length))
    .sort();
}

// === Source files: expectations ===

/** One expected problem: where, and what it says (exactly, or a stable part of it). */
export interface ExpectedProblem {
  line: number;
  col?: number;
  message?: string;
  messageIncludes?: string;
  code?: string;
  /** Config cases: the key the problem is about, which its message must name. */
  key?: string;
}

/** Generated inputs: too big, too deep or too binary to keep in git. */
export type Generator =
  | { kind: 'many-rules'; count: number }
  | { kind: 'long-string'; bytes: number }
  /** Under `vars` of a rule, or the whole first document with `topLevel`; a valid rule follows. */
  | { kind: 'nested-flow-sequences'; depth: number; topLevel?: boolean }
  | { kind: 'random-bytes'; bytes: number; seed: number };

/** Variants made from the case file at test time, so no checkout setting can undo them. */
export type Preparation = 'bom' | 'crlf';

/** Checks an actual problem list against the expected one, in order; returns what differs, or undefined. */
export function compareProblems(actual: ReadonlyArray<{ line: number; col: number; message: string; code: string }>, expected: readonly ExpectedProblem[]): string | undefined {
  const shown = actual.map((p) => `  ${p.line}:${p.col}  ${p.message}  [${p.code}]`).join('\n');
  if (actual.length !== expected.length) return `expected ${expected.length} problems, got ${actual.length}:\n${shown}`;
  for (const [i, want] of expected.entries()) {
    const got = actual[i]!;
    const wrong: string[] = [];
    if (got.line !== want.line) wrong.push(`line ${got.line}, expected ${want.line}`);
    if (want.col !== undefined && got.col !== want.col) wrong.push(`col ${got.col}, expected ${want.col}`);
    if (want.message !== undefined && got.message !== want.message) wrong.push(`message ${JSON.stringify(got.message)}, expected ${JSON.stringify(want.message)}`);
    if (want.messageIncludes !== undefined && !got.message.includes(want.messageIncludes)) wrong.push(`message ${JSON.stringify(got.message)} lacks ${JSON.stringify(want.messageIncludes)}`);
    if (want.code !== undefined && got.code !== want.code) wrong.push(`code ${got.code}, expected ${want.code}`);
    if (want.key !== undefined && !got.message.includes(want.key)) wrong.push(`message ${JSON.stringify(got.message)} does not name the key ${want.key}`);
    if (wrong.length > 0) return `problem ${i + 1}: ${wrong.join('; ')}\nall problems:\n${shown}`;
  }
  return undefined;
}

/** The text (or bytes) of a generated rule file. */
export function generateRuleFile(generator: Generator): string | Buffer {
  switch (generator.kind) {
    case 'many-rules': {
      const docs: string[] = [];
      for (let i = 0; i < generator.count; i++) {
        docs.push(`id: generated-${i}\ntrigger: { cron: "${i % 60} ${i % 24} * * *" }\nactions:\n  - log: { message: "rule ${i} of ${generator.count}" }\n`);
      }
      return docs.join('---\n');
    }
    case 'long-string':
      return `id: long-string\ntrigger: { cron: "0 9 * * *" }\nactions:\n  - log: { message: "${'x'.repeat(generator.bytes)}" }\n`;
    case 'nested-flow-sequences': {
      const nested = `${'['.repeat(generator.depth)}${']'.repeat(generator.depth)}`;
      const neighbour = [`id: ${generator.topLevel ? 'deep-top-neighbour' : 'deep-neighbour'}`, 'trigger: { cron: "0 9 * * *" }', 'actions:', '  - log: { message: still loads }', ''];
      if (generator.topLevel) return [nested, '---', ...neighbour].join('\n');
      return [
        'id: deep-nesting',
        'trigger: { cron: "0 9 * * *" }',
        'actions:',
        '  - log: { message: hello }',
        'vars:',
        `  x: ${nested}`,
        '---',
        ...neighbour,
      ].join('\n');
    }
    case 'random-bytes': {
      const random = mulberry32(generator.seed);
      const bytes = Buffer.alloc(generator.bytes);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      return bytes;
    }
  }
}

export function prepare(text: string, preparation: Preparation | undefined): string {
  switch (preparation) {
    case 'bom':
      return text.startsWith('\uFEFF') ? text : `\uFEFF${text}`;
    case 'crlf':
      return text.replace(/\r?\n/g, '\r\n');
    default:
      return text;
  }
}

// === Frames ===

/** How a frame case's bytes are given: JSON to serialise, raw text, hex bytes, or a generator. */
export type FrameSource =
  | { json: unknown }
  | { text: string }
  | { hex: string }
  | { generate: 'over-max-payload' }
  | { generate: 'nested-arrays'; depth: number }
  | { generate: 'nested-answer'; depth: number }
  | { generate: 'nested-group-update'; depth: number };

export type FrameOutcome =
  /** Not JSON: the `garbage` event; nothing pending is touched. */
  | 'garbage'
  /** JSON of no known shape: the `unknownFrame` event. */
  | 'unknown-frame'
  /** An answer to nothing in flight: the `unsolicited` event. */
  | 'unsolicited'
  /** A push the client reads and emits (`event` names which); nobody is waiting for it. */
  | 'push'
  /** A push the client cannot read: emitted as an unknownPush and otherwise ignored. */
  | 'push-ignored'
  /** Ignored without an event (e.g. a greeting outside the handshake). */
  | 'ignored'
  /** It answers the pending read, which resolves. */
  | 'pending-answered'
  /** It answers the pending read, which fails with a typed error. */
  | 'pending-failed'
  /** `ws` refuses it and closes the socket: a drop, then a reconnect; the pending read is retried and succeeds. */
  | 'drop-and-reconnect';

export interface FrameCase {
  description: string;
  /** The read in flight while the frame arrives. @default getGroups */
  pending?: 'getGroups' | 'groupDetail';
  send: FrameSource;
  expect: {
    outcome: FrameOutcome;
    /** For `push`: the client event besides `push` (message, delivery, ...). */
    event?: string;
    /** For `push-ignored`: part of the unknownPush's reason. */
    reasonIncludes?: string;
    /** For `pending-failed`: the error's class, its errorCode, part of its message. */
    error?: { name: string; errorCode?: number; messageIncludes?: string };
    /** For `drop-and-reconnect`: part of the disconnect reason (the close code `ws` gave). */
    reasonMentions?: string;
  };
}

/** Stands for the id of the frame in flight; replaced before sending. */
export const PENDING_ID = '$PENDING_ID';

/**
 * The bytes of a frame case. `pendingId` fills PENDING_ID in JSON and text sources; the
 * daemon replay passes a made-up id, so those frames answer nothing there.
 */
export function frameBytes(source: FrameSource, pendingId: string): string | Buffer {
  const fill = (text: string) => text.split(JSON.stringify(PENDING_ID)).join(JSON.stringify(pendingId)).split(PENDING_ID).join(pendingId);
  if ('json' in source) return fill(JSON.stringify(source.json));
  if ('text' in source) return fill(source.text);
  if ('hex' in source) return Buffer.from(source.hex, 'hex');
  switch (source.generate) {
    case 'over-max-payload':
      // Valid JSON, a little over the limit: `ws` refuses it for its size alone.
      return `{"id":"oversized","type":"getGroups","data":"${'x'.repeat(MAX_PAYLOAD_BYTES)}"}`;
    case 'nested-arrays':
      return '['.repeat(source.depth) + ']'.repeat(source.depth);
    case 'nested-answer':
      return `{"id":${JSON.stringify(pendingId)},"type":"request","data":{"commonResult":{"errCode":200},"group":${'{"a":'.repeat(source.depth)}1${'}'.repeat(source.depth)}}}`;
    case 'nested-group-update':
      return `{"operator":"groupUpdate","data":{"type":"group","id":389284,"values":${'{"a":'.repeat(source.depth)}1${'}'.repeat(source.depth)}}}`;
  }
}

// === The command line ===

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `rulebot <args>` to the end; fails after `timeoutMs`. */
export function runCli(args: readonly string[], cwd: string, timeoutMs = 60_000): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.RULEBOT_CONFIG;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rulebot ${args.join(' ')} did not finish within ${timeoutMs}ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// === Waiting ===

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` every `everyMs` until it returns something other than undefined / false; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
