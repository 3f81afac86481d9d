/**
 * Every way the gateway refuses or fails a request, in each API format's own shape and status,
 * seen both as raw HTTP and through the official SDK's error classes (issue 3, "Errors in each
 * format's own shape and status"); and what each costs: nothing, for anything that failed
 * before the first byte reached the client, checked on the balance and on the receipt.
 */
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import {
  DEFAULT_MODEL,
  FORMATS,
  Format,
  RawAnswer,
  expectGatewayError,
  expectSdkError,
  openaiClient,
  rawCall,
  sdkCall,
  sdkError,
  sdkErrorBody,
  sdkRequestId,
} from '../../support/proxy-formats';

let fake: FakeUpstream;
let gw: Gateway;
/** Small body limit and upstream timeout, for 413 and 504. */
let tight: Gateway;
const BODY_LIMIT = 2048;

beforeAll(async () => {
  fake = await startFakeUpstream();
  // Many upstream failures on purpose: keep the circuit breakers from taking the channels out.
  const env = { CIRCUIT_FAILURES: '1000' };
  gw = await startGateway({ openai: fake, anthropic: fake, gemini: fake, env });
  tight = await startGateway({
    openai: fake,
    anthropic: fake,
    gemini: fake,
    env: { ...env, PROXY_BODY_LIMIT_BYTES: String(BODY_LIMIT), UPSTREAM_TIMEOUT_MS: '500' },
  });
});

afterAll(async () => {
  await gw?.close();
  await tight?.close();
  await fake?.close();
});

beforeEach(() => fake.reset());

async function funded(g: Gateway = gw, limits?: Parameters<Gateway['key']>[1]) {
  const accountId = await g.account(100_000_000n);
  const { secret } = await g.key(accountId, limits);
  return { accountId, secret };
}

/** GET /v1/generations/<id> as raw HTTP. */
async function receipt(g: Gateway, secret: string, id: string): Promise<RawAnswer> {
  const res = await fetch(`${g.url}/v1/generations/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${secret}` } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: JSON.parse(text), text };
}

/**
 * The receipt once its row is written. Waits, because settling (and for an upstream refusal,
 * voiding) happens after the answer; the test 'receipts › are there as soon as the answer is'
 * holds the gateway to its promise of no wait.
 */
async function writtenReceipt(g: Gateway, secret: string, id: string): Promise<RawAnswer> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const r = await receipt(g, secret, id);
    if (r.status !== 404 || Date.now() > deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Fixed one-minute rate windows: do not start a two-request check on a minute's last seconds. */
async function awayFromMinuteEdge(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 57_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 100));
}

describe.each(FORMATS)('%s format', (format: Format) => {
  it('401 for a missing or a bad key', async () => {
    expectGatewayError(await rawCall(gw.url, format, { secret: null }), format, 401, 'invalid_api_key');
    expectGatewayError(await rawCall(gw.url, format, { secret: 'tg-not-a-key' }), format, 401, 'invalid_api_key');
    expectSdkError(await sdkError(gw.url, 'tg-not-a-key', format), format, 401);
    expectSdkError(await sdkError(gw.url, 'sk-someone-elses-key', format), format, 401);
    expect(fake.requests).toHaveLength(0);
  });

  it('402 with no credits and no free requests, and nothing sent upstream', async () => {
    const accountId = await gw.account(0n, 0);
    const { secret } = await gw.key(accountId);
    expectGatewayError(await rawCall(gw.url, format, { secret }), format, 402, 'insufficient_credits');
    expectSdkError(await sdkError(gw.url, secret, format), format, 402);
    expect(fake.requests).toHaveLength(0);
    expect(await gw.available(accountId)).toBe(0n);
  });

  it('404 for a model that does not exist', async () => {
    const { secret } = await funded();
    const model = 'no-such-model-9';
    expectGatewayError(await rawCall(gw.url, format, { secret, model }), format, 404, 'model_not_found');
    expectSdkError(await sdkError(gw.url, secret, format, { model }), format, 404);
    expect(fake.requests).toHaveLength(0);
  });

  it('403 for a model the key may not use', async () => {
    const { secret } = await funded(gw, { models: ['gpt-4o'] });
    expectGatewayError(await rawCall(gw.url, format, { secret }), format, 403, 'model_not_allowed');
    expectSdkError(await sdkError(gw.url, secret, format), format, 403);
    expect(fake.requests).toHaveLength(0);
  });

  it('429 with retry-after once the key has used its requests for the minute', async () => {
    await awayFromMinuteEdge();
    const { secret } = await funded(gw, { rpm: 1 });
    expect(await sdkCall(gw.url, secret, format)).toMatch(/^Hello from fake-/);
    const raw = await rawCall(gw.url, format, { secret });
    expectGatewayError(raw, format, 429, 'rate_limited');
    const retryAfter = Number(raw.headers.get('retry-after'));
    expect(retryAfter >= 1 && retryAfter <= 60).toBe(true);
    const err = await sdkError(gw.url, secret, format);
    expectSdkError(err, format, 429);
    if (format !== 'gemini') expect(Number((err as { headers: Headers }).headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(fake.requests).toHaveLength(1);
  });

  it('400 for malformed JSON, a body that is not an object, and a bad output limit', async () => {
    const { secret } = await funded();
    expectGatewayError(await rawCall(gw.url, format, { secret, body: '{"model": "x", "messages": [' }), format, 400, 'invalid_json');
    expectGatewayError(await rawCall(gw.url, format, { secret, body: '[1, 2]' }), format, 400, 'invalid_json');
    expectGatewayError(await rawCall(gw.url, format, { secret, body: '' }), format, 400, 'invalid_json');
    expectSdkError(await sdkError(gw.url, secret, format, { maxTokens: -1 }), format, 400);
    expect(fake.requests).toHaveLength(0);
  });

  // Issue 16: max_tokens 0 reserved nothing for the answer, which the provider gave (and billed) anyway.
  it('400 for an output limit below 1, naming the parameter, and nothing sent upstream or charged', async () => {
    const { accountId, secret } = await funded();
    for (const maxTokens of [0, -1]) expectSdkError(await sdkError(gw.url, secret, format, { maxTokens }), format, 400);
    const limits: Record<Format, [string, Record<string, unknown>][]> = {
      openai: [
        ['max_tokens', { model: DEFAULT_MODEL.openai, max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] }],
        ['max_completion_tokens', { model: DEFAULT_MODEL.openai, max_completion_tokens: 0, messages: [{ role: 'user', content: 'hi' }] }],
      ],
      anthropic: [['max_tokens', { model: DEFAULT_MODEL.anthropic, max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] }]],
      gemini: [
        ['generationConfig.maxOutputTokens', { contents: [{ parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 0 } }],
        ['generation_config.max_output_tokens', { contents: [{ parts: [{ text: 'hi' }] }], generation_config: { max_output_tokens: 0 } }],
      ],
    };
    for (const [param, body] of limits[format]) {
      const a = await rawCall(gw.url, format, { secret, body });
      expectGatewayError(a, format, 400, 'invalid_request');
      expect(a.text).toContain(param);
      if (format === 'openai') expect((a.body as { error: { param: string } }).error.param).toBe(param);
    }
    const responses = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: DEFAULT_MODEL.openai, input: 'hi', max_output_tokens: 0 }),
    });
    if (format === 'openai') expect({ status: responses.status, body: await responses.json() }).toMatchObject({ status: 400, body: { error: { param: 'max_output_tokens' } } });
    expect(fake.requests).toHaveLength(0);
    expect(await gw.available(accountId)).toBe(100_000_000n);
  });

  it('413 for a body over the size limit', async () => {
    const { secret } = await funded(tight);
    const prompt = 'word '.repeat(BODY_LIMIT / 2);
    const big = await rawCall(tight.url, format, { secret, body: { model: DEFAULT_MODEL[format], max_tokens: 5, messages: [{ role: 'user', content: prompt }], contents: [{ parts: [{ text: prompt }] }] } });
    expectGatewayError(big, format, 413, 'body_too_large');
    expectSdkError(await sdkError(tight.url, secret, format, { prompt }), format, 413);
    expect(fake.requests).toHaveLength(0);
  });

  it('502 when the only channel fails (500), and nothing charged', async () => {
    const { accountId, secret } = await funded();
    const before = await gw.available(accountId);
    fake.script({ kind: 'status', status: 500 });
    const raw = await rawCall(gw.url, format, { secret });
    expectGatewayError(raw, format, 502, 'upstream_error');
    fake.script({ kind: 'status', status: 503 });
    const err = await sdkError(gw.url, secret, format);
    expectSdkError(err, format, 502);
    expect(fake.requests.map((r) => r.status)).toEqual([500, 503]);
    expect(await gw.available(accountId)).toBe(before);
    const r = await writtenReceipt(gw, secret, raw.headers.get('x-request-id')!);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 502, error_code: 'upstream_error', billing: 'voided', cost: '0.000000' });
    expect(Number((r.body as { hold: string }).hold)).toBeGreaterThan(0); // a hold was placed, then voided
  });

  it("429 with the upstream's retry-after when the only channel is rate limited, and nothing charged", async () => {
    const { accountId, secret } = await funded();
    const before = await gw.available(accountId);
    fake.script({ kind: 'status', status: 429, headers: { 'retry-after': '7' } }, { kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    const raw = await rawCall(gw.url, format, { secret });
    expectGatewayError(raw, format, 429, 'rate_limited');
    expect(raw.headers.get('retry-after')).toBe('7');
    expectSdkError(await sdkError(gw.url, secret, format), format, 429);
    expect(await gw.available(accountId)).toBe(before);
    expect((await writtenReceipt(gw, secret, raw.headers.get('x-request-id')!)).body).toMatchObject({ billing: 'voided', cost: '0.000000' });
  });

  it('a failed request gives a free request back', async () => {
    const accountId = await gw.account(0n, 1);
    const { secret } = await gw.key(accountId);
    fake.script({ kind: 'status', status: 500 });
    expectSdkError(await sdkError(gw.url, secret, format), format, 502);
    expect(await sdkCall(gw.url, secret, format)).toMatch(/^Hello from fake-/); // the free request was still there
    expectSdkError(await sdkError(gw.url, secret, format), format, 402); // and now it is used
  });

  it('504 when the upstream hangs past UPSTREAM_TIMEOUT_MS, and nothing charged', async () => {
    const { accountId, secret } = await funded(tight);
    const before = await tight.available(accountId);
    fake.script({ kind: 'hang' }, { kind: 'hang' });
    const started = Date.now();
    const raw = await rawCall(tight.url, format, { secret });
    expect(Date.now() - started).toBeLessThan(5_000);
    expectGatewayError(raw, format, 504, 'upstream_timeout');
    expectSdkError(await sdkError(tight.url, secret, format), format, 504);
    expect(fake.requests).toHaveLength(2);
    expect(await tight.available(accountId)).toBe(before);
    const r = await writtenReceipt(tight, secret, raw.headers.get('x-request-id')!);
    expect(r.body).toMatchObject({ status: 504, error_code: 'upstream_timeout', billing: 'voided', cost: '0.000000' });
  });

  it("an upstream 4xx is passed through in the provider's own shape, and nothing charged", async () => {
    const { accountId, secret } = await funded();
    const before = await gw.available(accountId);
    const body = {
      openai: { error: { message: 'upstream says no', type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
      anthropic: { type: 'error', error: { type: 'invalid_request_error', message: 'upstream says no' } },
      gemini: { error: { code: 400, message: 'upstream says no', status: 'INVALID_ARGUMENT' } },
    }[format];
    fake.script({ kind: 'status', status: 400, body, headers: { 'x-upstream-thing': '1' } }, { kind: 'status', status: 400, body });
    const raw = await rawCall(gw.url, format, { secret });
    expect(raw.status).toBe(400);
    expect(raw.body).toEqual(body);
    expect(raw.headers.get('x-request-id')).toBeTruthy();
    const err = await sdkError(gw.url, secret, format);
    expectSdkError(err, format, 400);
    if (format === 'openai') expect(sdkErrorBody(err)).toEqual(body.error);
    if (format === 'anthropic') expect(sdkErrorBody(err)).toEqual(body);
    if (format === 'gemini') expect((err as Error).message).toContain('upstream says no');
    const r = await writtenReceipt(gw, secret, raw.headers.get('x-request-id')!);
    expect(r.body).toMatchObject({ status: 400, error_code: 'upstream_refused', billing: 'voided', cost: '0.000000' });
    await writtenReceipt(gw, secret, sdkRequestId(err) ?? raw.headers.get('x-request-id')!);
    expect(await gw.available(accountId)).toBe(before);
  });
});

describe('translated requests (OpenAI chat to another provider)', () => {
  it("an upstream 4xx comes back in OpenAI's shape, an upstream 500 as 502, nothing charged", async () => {
    const { accountId, secret } = await funded();
    const before = await gw.available(accountId);
    fake.script({ kind: 'status', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'upstream says no' } } });
    const refused = await sdkError(gw.url, secret, 'openai', { model: 'claude-haiku-4-5' });
    expectSdkError(refused, 'openai', 400);
    expect(sdkErrorBody(refused)).toMatchObject({ message: expect.stringContaining('upstream says no') });
    fake.script({ kind: 'status', status: 500 });
    expectGatewayError(await rawCall(gw.url, 'openai', { secret, model: 'gemini-2.0-flash' }), 'openai', 502, 'upstream_error');
    expect(await gw.available(accountId)).toBe(before);
  });

  it('an upstream answer that is not JSON is an upstream failure (502), nothing charged', async () => {
    const { accountId, secret } = await funded();
    const before = await gw.available(accountId);
    for (const model of ['claude-haiku-4-5', 'gemini-2.0-flash']) {
      fake.script({ kind: 'status', status: 200, body: '<html>gateway timeout</html>' });
      expectGatewayError(await rawCall(gw.url, 'openai', { secret, model }), 'openai', 502, 'upstream_error');
    }
    expect(await gw.available(accountId)).toBe(before);
  });
});

describe('receipts', () => {
  it('are there as soon as the answer is (request-log.repository.ts promises it)', async () => {
    const { secret } = await funded();
    const oa = openaiClient(gw.url, secret);
    const { response } = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const ok = await receipt(gw, secret, response.headers.get('x-request-id')!);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ billing: 'settled' });
    fake.script({ kind: 'status', status: 400 });
    const refused = await rawCall(gw.url, 'openai', { secret });
    expect(refused.status).toBe(400);
    const r = await receipt(gw, secret, refused.headers.get('x-request-id')!);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ billing: 'voided' });
  });

  it("are the requesting account's only: another account's key gets 404", async () => {
    const mine = await funded();
    const theirs = await funded();
    const oa = openaiClient(gw.url, mine.secret);
    const { response } = await oa.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const id = response.headers.get('x-request-id')!;
    const own = await writtenReceipt(gw, mine.secret, id);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id, object: 'generation', billing: 'settled', model: 'gpt-4o-mini' });

    const other = await receipt(gw, theirs.secret, id);
    expectGatewayError(other, 'openai', 404, 'not_found');
    expect(other.text).not.toContain(mine.accountId);
    const viaSdk = await openaiClient(gw.url, theirs.secret).get(`/generations/${id}`).catch((e: unknown) => e);
    expect(viaSdk).toBeInstanceOf(OpenAI.NotFoundError);
    expectGatewayError(await receipt(gw, mine.secret, 'not-a-request-id'), 'openai', 404, 'not_found');
    const noKey = await fetch(`${gw.url}/v1/generations/${id}`);
    expect(noKey.status).toBe(401);
  });

  it('the x-request-id of a failed request is on the SDK error too', async () => {
    const { secret } = await funded();
    fake.script({ kind: 'status', status: 500 });
    const err = await sdkError(gw.url, secret, 'anthropic');
    const id = sdkRequestId(err);
    expect(id).toBeTruthy();
    expect((await writtenReceipt(gw, secret, id!)).body).toMatchObject({ billing: 'voided' });
  });
});
