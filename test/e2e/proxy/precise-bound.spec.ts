/**
 * A cheap worst case first (issue 23): the hold is sized from the body's bytes, and only when the
 * account cannot afford that does a model whose exact tokenizer ships get a tighter bound counted
 * with it. An account that can afford the precise bound but not the byte bound is served (an
 * OpenAI o200k model); the same account asking another provider's model with the same prompt is
 * refused 402, since a count in another tokenizer bounds nothing there.
 *
 * Tokens per minute are counted on the same bound the request is admitted on: a byte bound past
 * the limit is asked again with the precise bound (where one ships), and a hold tightened to the
 * precise bound gives the difference back to the tokens counters.
 *
 * The real app, the fake upstream, the official OpenAI and Anthropic SDKs, the real Redis.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { inputTokenBound } from '../../../src/proxy/metering/input-bound';
import { preciseInputBound } from '../../../src/proxy/metering/precise-bound';
import { worstCaseCost } from '../../../src/proxy/pricing/cost';
import { PriceBook } from '../../../src/proxy/pricing/price-book.service';
import { EndpointKind } from '../../../src/proxy/endpoints';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import Redis from 'ioredis';
import { TEST_REDIS_URL } from '../../support/test-env';
import { waitFor } from '../../support/wait';

let fake: FakeUpstream;
let gw: Gateway;
let redis: Redis;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ openai: fake, anthropic: fake });
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await gw?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

// Sparse in tokens, dense in bytes: ~60 KB, about 10,000 tokens.
const PROMPT = 'hello '.repeat(10_000);
const MAX_TOKENS = 16;

/** Both worst cases of a body at the gateway's current prices (margin 0 in tests). */
function worstCases(kind: EndpointKind, model: string, body: Record<string, unknown>) {
  const price = gw.app.get(PriceBook).at(new Date()).get(model)!;
  const raw = Buffer.byteLength(JSON.stringify(body));
  const cheap = worstCaseCost(price, inputTokenBound(kind, body, raw, price), MAX_TOKENS, 0);
  const tight = preciseInputBound(kind, body, raw, price, price.model, gw.config.HOLD_TOKENIZER_MAX_BYTES);
  return { cheap, precise: tight === null ? null : worstCaseCost(price, tight, MAX_TOKENS, 0), preciseTokens: tight, cheapTokens: inputTokenBound(kind, body, raw, price) };
}

/** A rate-limit counter's use in Redis (this minute and the last: a request may straddle them). */
async function counted(id: string): Promise<number> {
  const minute = Math.floor(Date.now() / 60_000);
  const values = await redis.mget(`${gw.config.REDIS_KEY_PREFIX}rl:${id}:${minute}`, `${gw.config.REDIS_KEY_PREFIX}rl:${id}:${minute - 1}`);
  return values.reduce((sum, v) => sum + Number(v ?? 0), 0);
}

async function openHolds(accountId: string): Promise<bigint> {
  return (await gw.app.get(LedgerService).load(accountId)).state.held;
}

describe('the precise bound, only when the byte bound is unaffordable', () => {
  it('OpenAI (o200k, shipped): an account that affords the precise bound but not the byte bound is served, held at the precise bound', async () => {
    const body = { model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, messages: [{ role: 'user' as const, content: PROMPT }] };
    const { cheap, precise } = worstCases('openai.chat', 'gpt-4o-mini', body);
    expect(precise).not.toBeNull();
    expect(precise! * 3n).toBeLessThan(cheap); // the test means something only with a wide gap
    const funds = (cheap + precise!) / 2n;
    const accountId = await gw.account(funds);
    const { secret } = await gw.key(accountId);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });

    const answer = await openai.chat.completions.create(body);
    expect(answer.choices[0].message.content).toMatch(/\w/);
    expect(fake.requests).toHaveLength(1);
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, billing: 'settled' });
    expect(BigInt(row.held_micros)).toBe(precise);
    expect(BigInt(row.cost_micros)).toBeLessThanOrEqual(precise!);
    expect(await gw.available(accountId)).toBe(funds - BigInt(row.cost_micros));
    expect(await openHolds(accountId)).toBe(0n);
  });

  it('OpenAI, streamed: the same, and an account short even of the precise bound is refused 402 with nothing sent', async () => {
    const body = { model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, stream: true as const, messages: [{ role: 'user' as const, content: PROMPT }] };
    const { precise } = worstCases('openai.chat', 'gpt-4o-mini', { ...body, stream_options: { include_usage: true } });
    const poor = await gw.account(precise! / 2n);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: (await gw.key(poor)).secret, maxRetries: 0 });
    await expect(openai.chat.completions.create(body)).rejects.toMatchObject({ status: 402, code: 'insufficient_credits' });
    expect(fake.requests).toHaveLength(0);
    expect(await gw.available(poor)).toBe(precise! / 2n);

    const enough = await gw.account(precise! + 1_000n);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: (await gw.key(enough)).secret, maxRetries: 0 });
    let text = '';
    for await (const chunk of await client.chat.completions.create(body)) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toMatch(/\w/);
    const [row] = await gw.requests(enough, 1);
    expect(row).toMatchObject({ status: 200, billing: 'settled' });
  });

  it('Anthropic (no exact tokenizer shipped): the same prompt, with funds its o200k count would cover, is refused 402; nothing held, nothing sent', async () => {
    const model = 'claude-haiku-4-5';
    const body = { model, max_tokens: MAX_TOKENS, messages: [{ role: 'user' as const, content: PROMPT }] };
    const { cheap, precise } = worstCases('anthropic.messages', model, body);
    expect(precise).toBeNull();
    // What an o200k count (what the OpenAI case was admitted on) would ask of this model.
    const price = gw.app.get(PriceBook).at(new Date()).get(model)!;
    const o200k = preciseInputBound('anthropic.messages', body, Buffer.byteLength(JSON.stringify(body)), { ...price, provider: 'openai' }, 'gpt-4o', gw.config.HOLD_TOKENIZER_MAX_BYTES)!;
    const countBased = worstCaseCost(price, o200k, MAX_TOKENS, 0);
    expect(countBased * 3n).toBeLessThan(cheap);
    const funds = (cheap + countBased) / 2n;
    const accountId = await gw.account(funds);
    const { secret } = await gw.key(accountId);
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 });
    await expect(anthropic.messages.create(body)).rejects.toMatchObject({ status: 402 });
    expect(fake.requests).toHaveLength(0);
    expect(await gw.available(accountId)).toBe(funds);
    expect(await openHolds(accountId)).toBe(0n);
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 402, error_code: 'insufficient_credits' });
  });

  it("a key whose spending cap affords the precise bound but not the byte bound: served (the cap, like the balance, is asked again)", async () => {
    const body = { model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, messages: [{ role: 'user' as const, content: PROMPT }] };
    const { cheap, precise } = worstCases('openai.chat', 'gpt-4o-mini', body);
    const accountId = await gw.account(cheap * 10n);
    const { secret } = await gw.key(accountId, { spendCapMicros: (cheap + precise!) / 2n });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    await openai.chat.completions.create(body);
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, billing: 'settled' });
    expect(BigInt(row.held_micros)).toBe(precise);
  });

  it('an account that affords the byte bound never runs the tokenizer: the hold is the byte bound', async () => {
    const body = { model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, messages: [{ role: 'user' as const, content: PROMPT }] };
    const { cheap } = worstCases('openai.chat', 'gpt-4o-mini', body);
    const accountId = await gw.account(cheap * 2n);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: (await gw.key(accountId)).secret, maxRetries: 0 });
    await openai.chat.completions.create(body);
    const [row] = await gw.requests(accountId, 1);
    expect(BigInt(row.held_micros)).toBe(cheap);
  });
});

describe('tokens per minute, on the bound the request is admitted on', () => {
  const body = { model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, messages: [{ role: 'user' as const, content: PROMPT }] };
  const bounds = () => {
    const w = worstCases('openai.chat', 'gpt-4o-mini', body);
    expect(w.preciseTokens! * 1.3).toBeLessThan(w.cheapTokens); // a wide gap, or the test means nothing
    return { cheap: w.cheapTokens + MAX_TOKENS, precise: w.preciseTokens! + MAX_TOKENS, cheapMicros: w.cheap, preciseMicros: w.precise! };
  };

  it.each([
    ['exact (a small limit: one Redis script per request)', { rpm: 60 }],
    ['counted locally (large limits, flushed to Redis)', {}],
  ])('a key whose TPM the byte bound passes but the precise bound fits is served; its counters hold the precise figure: %s', async (_mode, extra) => {
    const { cheap, precise } = bounds();
    const accountId = await gw.account(100_000_000n);
    const { keyId, secret } = await gw.key(accountId, { tpm: Math.floor((cheap + precise) / 2), ...extra });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const answer = await openai.chat.completions.create(body);
    expect(answer.choices[0].message.content).toMatch(/\w/);
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, billing: 'settled' });
    await waitFor(async () => (await counted(`k:${keyId}:t`)) === precise, 2_000, 'the key tokens counter at the precise bound');
    expect(await counted(`a:${accountId}:t`)).toBe(precise);
    expect(await counted(`k:${keyId}:t`)).toBe(precise);
  });

  it('a TPM the precise bound passes too is refused 429, nothing sent and nothing counted', async () => {
    const { precise } = bounds();
    const accountId = await gw.account(100_000_000n);
    const { keyId, secret } = await gw.key(accountId, { tpm: precise - 1, rpm: 60 });
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    await expect(openai.chat.completions.create(body)).rejects.toMatchObject({ status: 429 });
    expect(fake.requests).toHaveLength(0);
    expect(await counted(`k:${keyId}:t`)).toBe(0);
    expect(await counted(`k:${keyId}:r`)).toBe(0); // a refusal takes nothing, the request counter included
  });

  it("another provider's model (no exact tokenizer shipped) gets no second bound: a TPM the byte bound passes refuses it", async () => {
    const model = 'claude-haiku-4-5';
    const anthropicBody = { model, max_tokens: MAX_TOKENS, messages: [{ role: 'user' as const, content: PROMPT }] };
    const w = worstCases('anthropic.messages', model, anthropicBody);
    const accountId = await gw.account(100_000_000n);
    const { secret } = await gw.key(accountId, { tpm: Math.floor((w.cheapTokens + MAX_TOKENS) * 0.7), rpm: 60 });
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 });
    await expect(anthropic.messages.create(anthropicBody)).rejects.toMatchObject({ status: 429 });
    expect(fake.requests).toHaveLength(0);
  });

  it.each([
    ['exact', { rpm: 60 }],
    ['counted locally', {}],
  ])('a hold tightened to the precise bound (the account affords only that) gives the difference back to the tokens counters: %s', async (_mode, extra) => {
    const { cheap, precise, cheapMicros, preciseMicros } = bounds();
    const accountId = await gw.account((cheapMicros + preciseMicros) / 2n);
    const { keyId, secret } = await gw.key(accountId, { tpm: cheap * 4, ...extra }); // the byte bound fits: admitted on it first
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    await openai.chat.completions.create(body);
    const [row] = await gw.requests(accountId, 1);
    expect(row).toMatchObject({ status: 200, billing: 'settled' });
    expect(BigInt(row.held_micros)).toBe(preciseMicros);
    await waitFor(async () => (await counted(`k:${keyId}:t`)) === precise, 2_000, 'the key tokens counter at the precise bound');
    expect(await counted(`a:${accountId}:t`)).toBe(precise);
  });
});
