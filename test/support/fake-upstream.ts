/**
 * A fake AI provider for tests and benchmarks: one plain node:http server (keep-alive on)
 * that speaks the real wire formats of OpenAI (/v1/chat/completions, /v1/completions,
 * /v1/embeddings, /v1/responses, GET /v1/models), Anthropic (/v1/messages,
 * /v1/messages/count_tokens) and Gemini (/v1beta/models/{model}:generateContent and
 * :streamGenerateContent), JSON and streaming, each with its own auth and error shape.
 *
 * Replies are deterministic and never echo the prompt; usage is derived from word counts
 * (rules and markers in fake-upstream/text.ts, whose helpers are re-exported here).
 *
 * Tests steer it in-process, never over HTTP, so no control route can leak through the
 * gateway: `script()` queues behaviours (500s, hangs, slow or cut streams), one per request.
 * Benchmarks pace a normal answer from its prompt, so the same body paces it directly and
 * through a proxy: `[first-byte-ms:N]` sends the headers and first chunk after N ms, and
 * `[chunk-ms:N]` each further chunk of a stream N ms after the one before (a real model's rhythm).
 *
 * With `tls` it serves HTTPS instead (a certificate made at test time, support/tls-cert.ts),
 * offering HTTP/2 and HTTP/1.1 by ALPN (node:http2's secure server with allowHTTP1), so a client
 * gets h2 only if it asks for it; each request records the protocol, its connection and h2 stream.
 *
 * Run alone (after a build): `node dist/test/support/fake-upstream.js [--port N]
 * [--api-key K] [--latency-ms N]` prints `{"url","apiKey"}` on one line and serves until
 * SIGTERM/SIGINT, recording nothing.
 */
import { randomBytes } from 'node:crypto';
import { IncomingHttpHeaders, IncomingMessage, ServerResponse, createServer } from 'node:http';
import { Http2ServerRequest, Http2ServerResponse, createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { testCert } from './tls-cert';
import { anthropic, countTokens, messages } from './fake-upstream/anthropic';
import { gemini, geminiNotFound, generateContent } from './fake-upstream/gemini';
import { embeddings, models, openai } from './fake-upstream/openai';
import { chatCompletions, completions } from './fake-upstream/openai-chat';
import { responses } from './fake-upstream/openai-responses';
import { Handler, Provider, Reply, RequestContext, asObject } from './fake-upstream/reply';
import { overrideUsage } from './fake-upstream/usage-override';

export * from './fake-upstream/text';

export type Behaviour =
  | { kind: 'ok' }
  /** Answer with this status; the body defaults to the provider's own error shape. */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Accept the request and never send headers. */
  | { kind: 'hang' }
  /** Send each chunk (SSE event; a JSON body is one chunk) after this delay. */
  | { kind: 'slow'; delayMsPerChunk: number }
  /** Send headers and this many chunks, then destroy the socket. A JSON body counts as two halves. */
  | { kind: 'cut'; afterChunks: number }
  /**
   * Send the headers and this many chunks (default none), then nothing, keeping the connection
   * open until the client leaves: an upstream gone silent. A JSON body counts as two halves.
   */
  | { kind: 'headers-then-silence'; afterChunks?: number }
  /** Wait this long before sending headers, then answer normally. */
  | { kind: 'delay-headers'; ms: number }
  /** Answer normally, but with every usage count replaced by this raw JSON text (see fake-upstream/usage-override.ts). */
  | { kind: 'usage'; counts: string }
  /**
   * OpenAI chat/completions only: answer with a call to this function (whole or streamed, as a
   * tool call always is), whether or not the request declared it, as a real model may.
   */
  | { kind: 'tool-call'; name: string; args?: Record<string, unknown> };

export interface RecordedRequest {
  method: string;
  /** Without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON; the raw text when it was not JSON; undefined when empty. */
  body: unknown;
  behaviour: Behaviour['kind'];
  /** The status sent, once headers went out. */
  status?: number;
  /** When the headers went out. */
  answeredAt?: number;
  /** True when the client went away before the response was complete (not when 'cut' did it). */
  aborted: boolean;
  receivedAt: number;
  /** When the response finished, was cut, or the client went away. */
  endedAt?: number;
  /** 'h2' or 'http/1.1' (over TLS, as ALPN chose; plain HTTP is 'http/1.1'). */
  protocol: 'h2' | 'http/1.1';
  /** Which connection carried it: 1 for the server's first, and so on (kept across reset()). */
  connection: number;
  /** Its h2 stream id; undefined over HTTP/1.1. */
  streamId?: number;
}

/** One client connection, in arrival order (see `connections`). */
export interface RecordedConnection {
  id: number;
  /** What ALPN chose: 'h2', 'http/1.1', or false (none offered, or plain HTTP). */
  alpn: string | false;
}

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;
/** Node's HTTP/2 compatibility response has no `destroyed`: its stream has. */
const gone = (res: AnyResponse): boolean => (res instanceof Http2ServerResponse ? res.stream.destroyed : res.destroyed);

export interface FakeUpstream {
  /** http://127.0.0.1:PORT, no trailing slash. */
  url: string;
  apiKey: string;
  /** Every request in arrival order (empty when started with `record: false`). */
  requests: RecordedRequest[];
  /** Every connection a client opened, in arrival order (empty when started with `record: false`). */
  connections: RecordedConnection[];
  /**
   * Queues behaviours, consumed one per request in arrival order; then normal answers.
   * 'status' and 'hang' apply to any request as it is (no route or auth check first).
   */
  script(...behaviours: Behaviour[]): void;
  /** Forgets recorded requests and any behaviours still queued. */
  reset(): void;
  /** Resolves once `count` requests have arrived (rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Resolves when this request's response has finished, been cut, or been abandoned by the client. */
  settled(request: RecordedRequest): Promise<void>;
  close(): Promise<void>;
}

export interface FakeUpstreamOptions {
  /** The key every provider accepts; a random one by default. */
  apiKey?: string;
  /** 0 (any free port) by default. */
  port?: number;
  /** Added before the headers of every answer (not 'hang'). */
  latencyMs?: number;
  /** Every answer waits for this before its headers (after latencyMs): a test decides when answers may go. */
  gate?: Promise<void>;
  /** Keep `requests` (default true); benchmarks turn it off so memory stays flat. */
  record?: boolean;
  /**
   * HTTPS offering h2 and HTTP/1.1 (see the header); 'http/1.1': HTTPS offering HTTP/1.1 only (an
   * upstream that declines h2). `url` is then https://127.0.0.1:PORT.
   */
  tls?: boolean | 'http/1.1';
}

const OPENAI_POST: Record<string, Handler> = {
  '/v1/chat/completions': chatCompletions,
  '/v1/completions': completions,
  '/v1/embeddings': embeddings,
  '/v1/responses': responses,
};
const ANTHROPIC_POST: Record<string, Handler> = { '/v1/messages': messages, '/v1/messages/count_tokens': countTokens };
const GEMINI_PATH = /^\/(?:v1beta|v1)\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

function route(method: string, path: string): { provider: Provider; handler?: Handler } {
  if (method === 'POST') {
    const o = OPENAI_POST[path];
    if (o) return { provider: openai, handler: o };
    const a = ANTHROPIC_POST[path];
    if (a) return { provider: anthropic, handler: a };
    const g = GEMINI_PATH.exec(path);
    if (g) {
      const model = decodeURIComponent(g[1]);
      const stream = g[2] === 'streamGenerateContent';
      return { provider: gemini, handler: (ctx) => generateContent(ctx, model, stream) };
    }
  } else if (method === 'GET' && path === '/v1/models') {
    return { provider: openai, handler: models };
  }
  if (path.startsWith('/v1beta/') || path.includes(':')) return { provider: gemini };
  return { provider: path.startsWith('/v1/messages') ? anthropic : openai };
}

function notFound(provider: Provider, method: string, path: string): Reply {
  if (provider === gemini) return geminiNotFound(path);
  return provider.error(404, provider === openai ? `Invalid URL (${method} ${path})` : 'Not Found');
}

function scripted(provider: Provider, b: { status: number; body?: unknown; headers?: Record<string, string> }): Reply {
  const base = provider.error(b.status) as Extract<Reply, { type: 'json' }>;
  const body = b.body === undefined ? base.body : typeof b.body === 'string' ? b.body : JSON.stringify(b.body);
  return { type: 'json', status: b.status, headers: { ...base.headers, ...b.headers }, body };
}

const FIRST_BYTE_MS = /\[first-byte-ms:(\d{1,5})\]/;
const CHUNK_MS = /\[chunk-ms:(\d{1,5})\]/;

/** The pace a prompt asks for (see the header); no marker, no wait. */
function paceOf(raw: string): { firstMs: number; gapMs: number } {
  if (raw.indexOf('-ms:') < 0) return { firstMs: 0, gapMs: 0 };
  return { firstMs: Number(FIRST_BYTE_MS.exec(raw)?.[1] ?? 0), gapMs: Number(CHUNK_MS.exec(raw)?.[1] ?? 0) };
}

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const apiKey = opts.apiKey ?? `sk-fake-${randomBytes(12).toString('hex')}`;
  const latencyMs = opts.latencyMs ?? 0;
  const record = opts.record ?? true;
  const requests: RecordedRequest[] = [];
  const queue: Behaviour[] = [];
  const settledBy = new WeakMap<RecordedRequest, Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const arrivals = new Set<() => void>();
  let seq = 0;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  /** Parses and records the body, then the normal answer (or undefined when 'hang' wants none). */
  const build = (req: AnyRequest, rec: RecordedRequest, raw: string, query: URLSearchParams, n: number, b: Behaviour): Reply | undefined => {
    const { provider, handler } = route(rec.method, rec.path);
    let body: unknown;
    let parsed = true;
    try {
      body = raw.length ? JSON.parse(raw) : undefined;
    } catch {
      parsed = false;
    }
    rec.body = parsed ? body : raw;
    if (b.kind === 'hang') return undefined;
    if (b.kind === 'status') return scripted(provider, b);
    if (!parsed) return provider.badJson();
    if (!handler) return notFound(provider, rec.method, rec.path);
    const ctx: RequestContext = { method: rec.method, path: rec.path, query, headers: req.headers, body, apiKey, seq: n };
    if (b.kind === 'tool-call') ctx.toolCall = { name: b.name, args: b.args ?? {} };
    const denied = provider.auth(ctx);
    if (denied) return denied;
    if (rec.method === 'POST' && !asObject(body)) return provider.badJson();
    try {
      const reply = handler(ctx);
      return b.kind === 'usage' && reply.status < 300 ? overrideUsage(reply, b.counts) : reply;
    } catch (err) {
      return provider.error(500, `fake upstream failed: ${(err as Error).message}`);
    }
  };

  const write = async (res: AnyResponse, rec: RecordedRequest, reply: Reply, b: Behaviour, cut: () => void, gapMs = 0) => {
    const slowMs = b.kind === 'slow' ? b.delayMsPerChunk : 0;
    const silentAfter = b.kind === 'headers-then-silence' ? (b.afterChunks ?? 0) : undefined;
    const cutAfter = b.kind === 'cut' ? b.afterChunks : silentAfter;
    let chunks: string[];
    const headers: Record<string, string | number> = reply.headers;
    if (reply.type === 'json') {
      headers['content-length'] = Buffer.byteLength(reply.body);
      const half = reply.body.length >> 1;
      chunks = cutAfter === undefined ? [reply.body] : [reply.body.slice(0, half), reply.body.slice(half)];
    } else {
      chunks = reply.chunks;
    }
    rec.status = reply.status;
    rec.answeredAt = Date.now();
    res.writeHead(reply.status, headers);
    if (!slowMs && !gapMs && cutAfter === undefined) {
      res.end(chunks.length === 1 ? chunks[0] : chunks.join(''));
      return;
    }
    // Both kinds of response have these two; the h2 one's types just do not say so (flushHeaders).
    const out = res as ServerResponse;
    out.flushHeaders();
    const n = cutAfter === undefined ? chunks.length : Math.min(cutAfter, chunks.length);
    for (let i = 0; i < n; i++) {
      if (slowMs) await sleep(slowMs);
      else if (gapMs && i > 0) await sleep(gapMs);
      if (gone(res)) return;
      // Wait for the chunk to reach the socket, so a cut after it cannot swallow it.
      await new Promise<void>((resolve) => out.write(chunks[i], () => resolve()));
    }
    if (gone(res) || silentAfter !== undefined) return; // silent: the client (or close()) ends it
    if (cutAfter === undefined) {
      res.end();
    } else {
      cut();
      res.destroy();
    }
  };

  const respond = async (req: AnyRequest, res: AnyResponse, rec: RecordedRequest, raw: string, query: URLSearchParams, n: number, b: Behaviour, cut: () => void) => {
    const reply = build(req, rec, raw, query, n, b);
    if (!reply) return;
    const pace = paceOf(raw);
    const delay = latencyMs + (b.kind === 'delay-headers' ? b.ms : 0) + pace.firstMs;
    if (delay > 0) {
      await sleep(delay);
      if (gone(res)) return;
    }
    if (opts.gate) {
      await opts.gate;
      if (gone(res)) return;
    }
    await write(res, rec, reply, b, cut, reply.type === 'stream' ? pace.gapMs : 0);
  };

  const onRequest = (req: AnyRequest, res: AnyResponse) => {
    const n = ++seq;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const b = queue.shift() ?? { kind: 'ok' };
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? {} : Object.fromEntries(query),
      headers: req.headers,
      body: undefined,
      behaviour: b.kind,
      aborted: false,
      receivedAt: Date.now(),
      protocol: req.httpVersion === '2.0' ? 'h2' : 'http/1.1',
      connection: connectionIds.get(req.socket.remotePort ?? -1) ?? 0,
      streamId: req instanceof Http2ServerRequest ? req.stream.id : undefined,
    };
    let wasCut = false;
    let settle = () => {};
    if (record) {
      requests.push(rec);
      settledBy.set(rec, new Promise<void>((resolve) => (settle = resolve)));
      for (const wake of arrivals) wake();
    }
    res.on('close', () => {
      // An h2 stream the client closed counts as finished for writing (and undici closes it with
      // NO_ERROR): it left if the stream closed before this side ended it, or with an error code.
      const left = res instanceof Http2ServerResponse ? !res.writableEnded || res.stream.rstCode !== 0 : !res.writableFinished;
      if (left && !wasCut) rec.aborted = true;
      rec.endedAt = Date.now();
      settle();
    });
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('error', () => undefined); // a client that goes away mid-body: 'close' above records it
    req.on('end', () => {
      const raw = parts.length === 1 ? parts[0].toString('utf8') : Buffer.concat(parts).toString('utf8');
      respond(req, res, rec, raw, query, n, b, () => (wasCut = true)).catch(() => res.destroy());
    });
  };

  // Connections by the client's port (h2's request.socket is a proxy: its port is what is the same).
  const connectionIds = new Map<number, number>();
  const connections: RecordedConnection[] = [];
  let connectionSeq = 0;
  const sockets = new Set<Socket>();
  const opened = (socket: Socket, alpn: string | false) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (!record) return;
    const id = ++connectionSeq; // never reused: reset() forgets the list, not the numbering
    connections.push({ id, alpn });
    if (socket.remotePort !== undefined) connectionIds.set(socket.remotePort, id);
  };
  let server: ReturnType<typeof createServer> | ReturnType<typeof createSecureServer> | ReturnType<typeof createHttpsServer>;
  if (opts.tls) {
    const cert = testCert();
    if ('missing' in cert) throw new Error(`fake upstream: ${cert.missing}`);
    if (opts.tls === 'http/1.1') {
      const h1 = createHttpsServer({ key: cert.key, cert: cert.cert, ALPNProtocols: ['http/1.1'], keepAlive: true, noDelay: true }, onRequest);
      h1.keepAliveTimeout = 65_000;
      server = h1;
    } else {
      server = createSecureServer({ key: cert.key, cert: cert.cert, allowHTTP1: true }, onRequest);
    }
    server.on('secureConnection', (socket: TLSSocket) => opened(socket, socket.alpnProtocol || false));
  } else {
    const plain = createServer({ keepAlive: true, noDelay: true }, onRequest);
    plain.keepAliveTimeout = 65_000; // longer than undici's default idle time, so the client closes first
    plain.on('connection', (socket: Socket) => opened(socket, false));
    server = plain;
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    apiKey,
    requests,
    connections,
    script: (...behaviours) => void queue.push(...behaviours),
    reset() {
      requests.length = 0;
      connections.length = 0;
      queue.length = 0;
    },
    waitForRequests(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (requests.length < count) return;
          cleanup();
          resolve(requests.slice(0, count));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`fake upstream: ${requests.length} of ${count} requests arrived in ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          arrivals.delete(check);
        };
        arrivals.add(check);
        check();
      });
    },
    settled: (r) => settledBy.get(r) ?? Promise.reject(new Error('fake upstream: not a recorded request')),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

if (require.main === module) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const num = (name: string) => (arg(name) === undefined ? undefined : Number(arg(name)));
  void startFakeUpstream({ apiKey: arg('api-key'), port: num('port'), latencyMs: num('latency-ms'), record: false }).then((f) => {
    process.stdout.write(JSON.stringify({ url: f.url, apiKey: f.apiKey }) + '\n');
    const stop = () => void f.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
