/** Real HTTP for the ops tests: one request, its status, headers and body. */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { HealthReport } from '../../src/ops/health';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent with a content-length unless `chunked`. */
  body?: string | Buffer;
  /** Sends the body in pieces without a content-length. */
  chunked?: boolean;
}

export function request(baseUrl: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    const body = options.body;
    if (body !== undefined && !options.chunked) headers['content-length'] = String(Buffer.byteLength(body));
    const req = httpRequest(`${baseUrl}${path}`, { method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined && options.chunked) {
      const buffer = Buffer.from(body);
      const piece = 16 * 1024;
      for (let i = 0; i < buffer.length; i += piece) req.write(buffer.subarray(i, i + piece));
      req.end();
    } else req.end(body);
  });
}

export function json(reply: Reply): Record<string, unknown> {
  return JSON.parse(reply.body) as Record<string, unknown>;
}

/** A report of a daemon where everything works; tests change parts of it. */
export function healthyReport(): HealthReport {
  return {
    bridge: { connected: true, ready: true, lastAnswerAt: Date.UTC(2025, 0, 2, 3, 4, 5), lastError: null },
    scheduler: { alive: true, lastTickAt: Date.UTC(2025, 0, 2, 3, 4, 6), queued: 2 },
    rules: { loaded: 4, invalid: [] },
    lastError: null,
  };
}

export const TOKEN = 'f'.repeat(64);
