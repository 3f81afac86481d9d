/**
 * The proxy's POST endpoints are answered ahead of Fastify (src/proxy/http/proxy-front-door.ts),
 * which keeps its own routes for the same paths for whatever the front door leaves to it. Both
 * doors must answer alike: the body limit however the body comes (declared, chunked), a body
 * the client gives up on, URLs only the router reads (escapes, a trailing slash, other
 * methods), many requests at once, and a gateway behind a trusted proxy, where the front door reads
 * the client's address as Fastify does (platform/http/client-address.ts).
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { DEFAULT_MODEL, geminiClient, openaiClient, rawCall } from '../../support/proxy-formats';
import { ProxyRoutes } from '../../../src/proxy/http/proxy-routes';

const BODY_LIMIT = 4096;
let fake: FakeUpstream;
let gw: Gateway;
let secret: string;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ openai: fake, anthropic: fake, gemini: fake, env: { PROXY_BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
  ({ secret } = await gw.key(await gw.account(100_000_000n)));
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

/** A POST whose body is sent in chunks (no Content-Length); the answer's status, headers and text. */
function chunkedPost(path: string, chunks: string[], headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const url = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    // The gateway may answer and close before the rest is written: that is the point.
    req.on('error', (err) => (err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

it('a chunked body over the limit is refused with 413 in the API shape, and the connection closes', async () => {
  const filler = 'x'.repeat(1024);
  const a = await chunkedPost('/v1/chat/completions', ['{"model":"gpt-4o-mini","messages":[{"role":"user","content":"', ...Array.from({ length: 8 }, () => filler), '"}]}'], {
    authorization: `Bearer ${secret}`,
    'content-type': 'application/json',
  });
  expect(a.status).toBe(413);
  expect(a.headers.connection).toBe('close');
  expect(JSON.parse(a.text)).toMatchObject({ error: { code: 'body_too_large' } });
  expect(fake.requests).toHaveLength(0);
});

it('a declared length over the limit is refused before the body is read', async () => {
  const url = new URL(gw.url);
  const socket = connect(Number(url.port), url.hostname);
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (c: string) => (text += c));
  const closed = new Promise((r) => socket.on('close', r));
  socket.write(`POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: ${secret}\r\nanthropic-version: 2023-06-01\r\ncontent-type: application/json\r\ncontent-length: ${BODY_LIMIT * 10}\r\n\r\n{"mo`);
  await closed; // answered and closed without the rest of the body
  expect(text).toMatch(/^HTTP\/1\.1 413 /);
  expect(text).toMatch(/"type":"error"/); // Anthropic's error shape
  expect(text).toContain('request_too_large');
});

it('a client that gives up halfway through its body is let go; the gateway goes on serving', async () => {
  const url = new URL(gw.url);
  for (let i = 0; i < 5; i++) {
    const socket = connect(Number(url.port), url.hostname);
    await new Promise((r) => socket.on('connect', r));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${secret}\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"model":"gpt-4o-mini",`);
    socket.destroy();
  }
  const a = await rawCall(gw.url, 'openai', { secret });
  expect(a.status).toBe(200);
  expect(fake.requests).toHaveLength(1);
});

it('URLs the front door leaves to the router are answered the same way', async () => {
  // An escaped colon in Gemini's model segment, and an escaped query: Fastify's routes serve them.
  const model = DEFAULT_MODEL.gemini;
  const escaped = await fetch(`${gw.url}/v1beta/models/${model}%3AgenerateContent?alt=%6Ason`, {
    method: 'POST',
    headers: { 'x-goog-api-key': secret, 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
  });
  expect(escaped.status).toBe(200);
  expect(((await escaped.json()) as { candidates: unknown[] }).candidates.length).toBeGreaterThan(0);
  // A trailing slash is no route (404), another method on a served path is 405, each in its API's shape.
  const slash = await fetch(`${gw.url}/v1/chat/completions/`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: '{}' });
  expect(slash.status).toBe(404);
  expect(await slash.json()).toMatchObject({ error: { code: 'not_found' } });
  const get = await fetch(`${gw.url}/v1/chat/completions`, { headers: { authorization: `Bearer ${secret}` } });
  expect(get.status).toBe(405);
  expect(get.headers.get('allow')).toBe('POST');
  // A model segment longer than the router takes is the router's answer too.
  const long = await fetch(`${gw.url}/v1beta/models/${'m'.repeat(120)}:generateContent`, {
    method: 'POST',
    headers: { 'x-goog-api-key': secret, 'content-type': 'application/json' },
    body: '{}',
  });
  expect(long.status).toBeGreaterThanOrEqual(400);
  expect(long.status).toBeLessThan(500);
});

it('many requests at once, through the official SDKs, each answered and billed', async () => {
  const accountId = await gw.account(100_000_000n);
  const { secret: s } = await gw.key(accountId);
  const openai = openaiClient(gw.url, s);
  const gemini = geminiClient(gw.url, s);
  const calls = Array.from({ length: 24 }, (_, i) =>
    i % 2 === 0
      ? openai.chat.completions.create({ model: DEFAULT_MODEL.openai, messages: [{ role: 'user', content: 'hi [reply:3]' }] }).then((r) => r.choices[0].message.content)
      : gemini.models.generateContent({ model: DEFAULT_MODEL.gemini, contents: 'hi [reply:3]' }).then((r) => r.text),
  );
  for (const text of await Promise.all(calls)) expect(text?.split(' ')).toHaveLength(3);
  const rows = await gw.requests(accountId, 24);
  expect(rows.filter((r) => r.billing === 'settled' && r.status === 200)).toHaveLength(24);
});

describe('behind a trusted proxy (TRUST_PROXY)', () => {
  let behind: Gateway;
  let entered: jest.SpyInstance;
  beforeAll(async () => {
    behind = await startGateway({ db: gw.db, openai: fake, env: { TRUST_PROXY: '127.0.0.1', AUTH_FAILURES_PER_MINUTE: '3' } });
    // Counts (and calls through to) the front door's entry, to show which door took a request.
    const routes = behind.app.get<ProxyRoutes, { enterFront: () => Promise<void> }>(ProxyRoutes);
    entered = jest.spyOn(routes, 'enterFront');
  });
  afterAll(async () => {
    entered?.mockRestore();
    await behind?.close();
  });

  const bad = (ip: string, path = '/v1/chat/completions') =>
    fetch(`${behind.url}${path}`, { method: 'POST', headers: { authorization: 'Bearer sk-wrong', 'x-forwarded-for': ip, 'content-type': 'application/json' }, body: '{}' });

  it('the front door still takes plain requests, and counts failures per forwarded address', async () => {
    const before = entered.mock.calls.length;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await bad('203.0.113.7')).status);
    expect(statuses).toEqual([401, 401, 401, 429]); // one address past its 3 failures
    expect(entered.mock.calls.length - before).toBe(4); // every one answered by the front door
    expect((await bad('203.0.113.8')).status).toBe(401); // another address is not
    expect((await rawCall(behind.url, 'openai', { secret })).status).toBe(200);
  });

  it('a forwarded chain: the nearest untrusted hop is the client (what the client wrote itself is ignored)', async () => {
    // The client wrote "198.51.100.9" itself; the (untrusted) hop 203.0.113.20 appended it, and our trusted peer that.
    for (let i = 0; i < 3; i++) await bad('198.51.100.9, 203.0.113.20');
    expect((await bad('198.51.100.9, 203.0.113.20')).status).toBe(429);
    expect((await bad('198.51.100.10, 203.0.113.20')).status).toBe(429); // a new spoofed prefix buys nothing
    expect((await bad('198.51.100.9')).status).toBe(401); // the address it claimed is not the one that failed
  });

  it('the two doors count against one budget: the router (an escaped URL) sees the same address', async () => {
    const before = entered.mock.calls.length;
    expect((await bad('203.0.113.30')).status).toBe(401); // front door
    expect((await bad('203.0.113.30', '/v1/chat/completion%73')).status).toBe(401); // Fastify's route
    expect((await bad('203.0.113.30')).status).toBe(401);
    expect(entered.mock.calls.length - before).toBe(2);
    expect((await bad('203.0.113.30')).status).toBe(429);
    expect((await bad('203.0.113.30', '/v1/chat/completion%73')).status).toBe(429);
  });
});
