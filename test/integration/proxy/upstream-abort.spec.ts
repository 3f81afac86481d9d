/**
 * The upstream client gives undici a RequestAbort as the call's signal, not an AbortSignal
 * (upstream-client.ts: an AbortController per try was about 1% of the gateway's CPU). undici
 * takes any object with addEventListener; these tests hold it to what the proxy relies on,
 * against a real local server: the client going away aborts the call before the headers (an
 * 'aborted' failure) and after them (the body is destroyed), the upstream's silence aborts it
 * with UpstreamSilence, and each time the connection to the upstream is closed and the
 * channel's slot given back. A RequestAbort already aborted sends nothing at all.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestAbort, UpstreamClient, UpstreamFailure, UpstreamTarget } from '../../../src/proxy/upstream/upstream-client';
import { UpstreamSilence } from '../../../src/proxy/upstream/silence-watch';

let server: Server;
let base: string;
/** Requests the server got, and whether each one's connection closed. */
let seen: Array<{ path: string; closed: Promise<void> }>;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    seen.push({ path: req.url ?? '', closed });
    req.resume();
    // /hang: never answers; /head: headers and a first chunk, then nothing.
    if (req.url?.endsWith('/head')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"first":true}\n\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

beforeEach(() => {
  seen = [];
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const client = (timeoutMs = 60_000) => new UpstreamClient({ UPSTREAM_TIMEOUT_MS: timeoutMs, UPSTREAM_MAX_CONNECTIONS: 10, UPSTREAM_CA_FILE: undefined });
const channel = (): UpstreamTarget => ({ id: 'ch-abort', baseUrl: base, maxConnections: null, http2: false });
const call = (path: string, signal: RequestAbort) => ({ channel: channel(), path, headers: { 'content-type': 'application/json' }, body: '{}', signal });

async function arrived(n: number): Promise<void> {
  while (seen.length < n) await new Promise((r) => setTimeout(r, 5));
}

describe('an upstream call aborted through its RequestAbort', () => {
  it('before the headers: the call fails as aborted, the upstream connection closes, the slot is free', async () => {
    const c = client();
    const abort = new RequestAbort();
    const sent = c.send(call('/hang', abort));
    await arrived(1);
    expect(c.inFlight('ch-abort')).toBe(1);
    abort.abort();
    await expect(sent).rejects.toMatchObject({ name: 'UpstreamFailure', kind: 'aborted' });
    await seen[0].closed;
    expect(c.inFlight('ch-abort')).toBe(0);
    await c.onModuleDestroy();
  });

  it('after the headers: the body is destroyed with the reason, the upstream connection closes, the slot is free', async () => {
    const c = client();
    const abort = new RequestAbort();
    const res = await c.send(call('/head', abort));
    expect(res.status).toBe(200);
    const ended = new Promise<unknown>((resolve) => res.body.once('error', resolve).once('close', () => resolve('closed')));
    const reason = new Error('the client went away');
    abort.abort(reason);
    expect(await ended).toBe(reason);
    await seen[0].closed;
    await new Promise((r) => setImmediate(r));
    expect(c.inFlight('ch-abort')).toBe(0);
    await c.onModuleDestroy();
  });

  it("the upstream's silence aborts the body with UpstreamSilence", async () => {
    const c = client(150);
    const res = await c.send(call('/head', new RequestAbort()));
    res.body.resume();
    const err = await new Promise<unknown>((resolve) => res.body.once('error', resolve));
    expect(err).toBeInstanceOf(UpstreamSilence);
    await seen[0].closed;
    await new Promise((r) => setImmediate(r));
    expect(c.inFlight('ch-abort')).toBe(0);
    await c.onModuleDestroy();
  });

  it('already aborted: nothing is sent', async () => {
    const c = client();
    const abort = new RequestAbort();
    abort.abort();
    await expect(c.send(call('/hang', abort))).rejects.toBeInstanceOf(UpstreamFailure);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(0);
    await c.onModuleDestroy();
  });
});
