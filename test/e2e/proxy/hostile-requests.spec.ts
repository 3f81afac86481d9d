/**
 * Requests a hostile or careless client sends, and upstream faults, that used to be answered
 * as 500 or in the wrong shape (issue 16, items 7 and 8): bodies nested 100,000 deep, duplicate
 * keys, `?key=` outside Gemini, a megabyte model name, unknown paths and methods, oversized and
 * malformed headers, and an upstream that cuts its JSON answer half-way.
 */
import { connect } from 'node:net';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { DEFAULT_MODEL, FORMATS, Format, RawAnswer, expectGatewayError, rawCall, sdkCall } from '../../support/proxy-formats';

let fake: FakeUpstream;
let gw: Gateway;
let secret: string;
let accountId: string;
const FUNDS = 100_000_000n;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ openai: fake, anthropic: fake, gemini: fake, env: { CIRCUIT_FAILURES: '1000' } });
  accountId = await gw.account(FUNDS);
  ({ secret } = await gw.key(accountId));
});

afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

beforeEach(() => fake.reset());

/** Any request as raw HTTP. */
async function call(method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  const res = await fetch(gw.url + path, { method, headers: init.headers, body: init.body });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text: the shape checks say so
  }
  return { status: res.status, headers: res.headers, body, text };
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** A valid body of each format with `inner` (raw JSON text) placed where a client's content goes. */
function bodyWith(format: Format, inner: string, model = DEFAULT_MODEL[format]): string {
  switch (format) {
    case 'openai':
      return `{"model":${JSON.stringify(model)},"messages":[{"role":"user","content":${inner}}]}`;
    case 'anthropic':
      return (
        `{"model":${JSON.stringify(model)},"max_tokens":50,"messages":[{"role":"user","content":"hi"},` +
        `{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{"x":${inner}}}]},` +
        `{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":${inner}}]}]}`
      );
    case 'gemini':
      return `{"contents":[{"role":"user","parts":[{"text":"hi"},{"functionResponse":{"name":"f","response":{"x":${inner}}}}]}]}`;
  }
}

describe.each(FORMATS)('%s format', (format: Format) => {
  it('a body nested 100,000 deep is 400 invalid_request, not 500, and never sent upstream', async () => {
    const raw = await rawCall(gw.url, format, { secret, body: bodyWith(format, deep(100_000)) });
    expectGatewayError(raw, format, 400, 'invalid_request');
    expect(raw.text).toContain('128');
    expect(fake.requests).toHaveLength(0);
  });

  it('a key twice in one object is 400, whatever the depth', async () => {
    const body =
      format === 'gemini'
        ? '{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":1,"maxOutputTokens":100000}}'
        : format === 'openai'
          ? '{"model":"gpt-4o-mini","model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'
          : '{"model":"claude-haiku-4-5","max_tokens":50,"messages":[{"role":"user","content":"hi"}],"model":"claude-opus-4-1"}';
    const raw = await rawCall(gw.url, format, { secret, body });
    expectGatewayError(raw, format, 400, 'invalid_request');
    expect(raw.text).toMatch(/twice/);
    const nested = bodyWith(format, '{"a":1,"b":{"c":2,"c":3}}');
    expectGatewayError(await rawCall(gw.url, format, { secret, body: nested }), format, 400, 'invalid_request');
    expect(fake.requests).toHaveLength(0);
  });

  it('a model name of a megabyte is echoed at most 200 characters long', async () => {
    // Gemini's model is a path segment: Node caps headers at 16 KB, and a segment over Fastify's
    // 100 characters is 414 before any route runs; both in Gemini's shape, without the echo.
    const model = 'm'.repeat(format === 'gemini' ? 8_000 : 1_000_000);
    const raw = await rawCall(gw.url, format, { secret, model });
    if (format === 'gemini') expectGatewayError(raw, format, 414, 'uri_too_long');
    else expectGatewayError(raw, format, 404, 'model_not_found');
    const longest = Math.max(...(raw.text.match(/m+/g) ?? ['']).map((s) => s.length));
    if (format !== 'gemini') expect(longest).toBeGreaterThan(0);
    expect(longest).toBeLessThanOrEqual(200);
    expect(raw.text.length).toBeLessThan(600);
  });

  it('an upstream that cuts its JSON answer half-way: 502 upstream_error, logged as such, hold voided', async () => {
    const before = await gw.available(accountId);
    fake.script({ kind: 'cut', afterChunks: 1 });
    const raw = await rawCall(gw.url, format, { secret });
    expectGatewayError(raw, format, 502, 'upstream_error');
    const id = raw.headers.get('x-request-id')!;
    const rows = await waitForRow(id);
    expect(rows).toMatchObject({ status: 502, error_code: 'upstream_error', billing: 'voided' });
    expect(await gw.available(accountId)).toBe(before);
  });
});

describe('499 client_disconnected', () => {
  it('is recorded only when the client really went away (here before the first byte), hold voided', async () => {
    const before = await gw.available(accountId);
    fake.script({ kind: 'delay-headers', ms: 1_500 });
    const abort = new AbortController();
    const answered = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: bodyWith('openai', '"hi"'),
      signal: abort.signal,
    }).catch((e: unknown) => e);
    const [upstream] = await fake.waitForRequests(1);
    abort.abort();
    await answered;
    await fake.settled(upstream);
    const deadline = Date.now() + 5_000;
    let rows: Record<string, unknown>[] = [];
    while (!rows.length && Date.now() < deadline) {
      ({ rows } = await gw.db.pool.query("SELECT * FROM request_log WHERE account_id = $1 AND status = 499", [accountId]));
      if (!rows.length) await new Promise((r) => setTimeout(r, 25));
    }
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ error_code: 'client_disconnected', billing: 'voided' });
    expect(await gw.available(accountId)).toBe(before);
  });
});

async function waitForRow(requestId: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { rows } = await gw.db.pool.query('SELECT * FROM request_log WHERE request_id = $1', [requestId]);
    if (rows.length) return rows[0];
    if (Date.now() > deadline) throw new Error(`no request log row for ${requestId}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('?key= in the query', () => {
  it('is refused on the OpenAI and Anthropic routes (401 in their shape)', async () => {
    const q = `?key=${encodeURIComponent(secret)}`;
    const openai = await call('POST', `/v1/chat/completions${q}`, {
      headers: { 'content-type': 'application/json' },
      body: bodyWith('openai', '"hi"'),
    });
    expectGatewayError(openai, 'openai', 401, 'invalid_api_key');
    const anthropic = await call('POST', `/v1/messages${q}`, {
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: bodyWith('anthropic', '"hi"'),
    });
    expectGatewayError(anthropic, 'anthropic', 401, 'invalid_api_key');
    expectGatewayError(await call('GET', `/v1/models${q}`), 'openai', 401, 'invalid_api_key');
    expectGatewayError(await call('GET', `/v1/generations/x${q}`), 'openai', 401, 'invalid_api_key');
    expect(fake.requests).toHaveLength(0);
  });

  it('is accepted on the Gemini routes, as Google documents', async () => {
    const q = `?key=${encodeURIComponent(secret)}`;
    const generated = await call('POST', `/v1beta/models/gemini-2.0-flash:generateContent${q}`, {
      headers: { 'content-type': 'application/json' },
      body: '{"contents":[{"parts":[{"text":"hi"}]}]}',
    });
    expect(generated.status).toBe(200);
    expect((await call('GET', `/v1beta/models${q}`)).status).toBe(200);
    expect(await sdkCall(gw.url, secret, 'gemini')).toMatch(/^Hello from fake-/);
  });
});

describe('unknown paths and methods', () => {
  it("answer 404 in OpenAI's shape under /v1, Anthropic's under /v1/messages, Gemini's under /v1beta", async () => {
    expectGatewayError(await call('GET', '/v1/nope'), 'openai', 404, 'not_found');
    expectGatewayError(await call('POST', '/v1/chat/completion', { body: '{}', headers: { 'content-type': 'application/json' } }), 'openai', 404, 'not_found');
    expectGatewayError(await call('POST', '/v1/messages/batches', { body: '{}', headers: { 'content-type': 'application/json' } }), 'anthropic', 404, 'not_found');
    expectGatewayError(await call('GET', '/v1beta/files'), 'gemini', 404, 'not_found');
    expectGatewayError(await call('GET', '/v1'), 'openai', 404, 'not_found');
    // Outside the proxy's prefixes Nest still answers in its own shape.
    expect(await call('GET', '/nope')).toMatchObject({ status: 404, body: { statusCode: 404 } });
  });

  it('a known path with another method is 405 with Allow, in the same shapes', async () => {
    const chat = await call('GET', '/v1/chat/completions');
    expectGatewayError(chat, 'openai', 405, 'method_not_allowed');
    expect(chat.headers.get('allow')).toBe('POST');
    const messages = await call('DELETE', '/v1/messages');
    expectGatewayError(messages, 'anthropic', 405, 'method_not_allowed');
    expect(messages.headers.get('allow')).toBe('POST');
    const models = await call('POST', '/v1beta/models', { body: '{}', headers: { 'content-type': 'application/json' } });
    expectGatewayError(models, 'gemini', 405, 'method_not_allowed');
    expect(models.headers.get('allow')).toBe('GET, HEAD');
    expectGatewayError(await call('GET', '/v1beta/models/gemini-2.0-flash:generateContent'), 'gemini', 405, 'method_not_allowed');
  });

  it('an unknown path echoes at most 200 characters of itself', async () => {
    const raw = await call('GET', `/v1/${'p'.repeat(5_000)}`);
    expectGatewayError(raw, 'openai', 404, 'not_found');
    expect(raw.text.length).toBeLessThan(600);
  });
});

/** Writes raw bytes on a socket and returns what came back before the gateway closed it. */
function rawExchange(bytes: string): Promise<string> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes));
    const parts: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error('no answer in 5 s')), 5_000);
    socket.on('data', (c) => parts.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts).toString('utf8'));
    });
  });
}

function parsedAnswer(text: string): RawAnswer {
  const [head, body] = text.split('\r\n\r\n');
  const headers = new Headers();
  for (const line of head.split('\r\n').slice(1)) {
    const at = line.indexOf(':');
    headers.append(line.slice(0, at), line.slice(at + 1).trim());
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers, body: JSON.parse(body), text: body };
}

describe('headers Node refuses before any route runs', () => {
  it("oversized headers are 431 in the route's shape", async () => {
    const big = 'x'.repeat(20_000);
    const anthropic = await rawExchange(`POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-big: ${big}\r\nContent-Length: 2\r\n\r\n{}`);
    expectGatewayError(parsedAnswer(anthropic), 'anthropic', 431, 'headers_too_large');
    const gemini = await rawExchange(`GET /v1beta/models HTTP/1.1\r\nHost: x\r\nx-big: ${big}\r\n\r\n`);
    expectGatewayError(parsedAnswer(gemini), 'gemini', 431, 'headers_too_large');
  });

  it("malformed headers are 400 in the route's shape", async () => {
    const openai = await rawExchange('POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nbad header: 1\r\nContent-Length: 2\r\n\r\n{}');
    expectGatewayError(parsedAnswer(openai), 'openai', 400, 'invalid_request');
  });
});
