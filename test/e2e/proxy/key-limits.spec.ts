/** A key's spending cap and token rate limit, enforced across requests. */
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { PriceBook } from '../../../src/proxy/pricing/price-book.service';
import { worstCaseCost } from '../../../src/proxy/pricing/cost';
import { inputTokenBound } from '../../../src/proxy/metering/input-bound';
import { preciseInputBound } from '../../../src/proxy/metering/precise-bound';
import { ModelPrice } from '../../../src/proxy/pricing/model-price';
import Redis from 'ioredis';
import { ReadModels } from '../../../src/ledger/application/read-models';
import { TEST_REDIS_URL } from '../../support/test-env';

/**
 * The input bound the smallest hold the gateway would place is sized from: for gpt-4o-mini (its
 * exact tokenizer ships) the precise bound, used once the byte bound does not fit under the cap
 * (metering/precise-bound.ts).
 */
function heldBound(body: object, price: ModelPrice): number {
  const raw = Buffer.byteLength(JSON.stringify(body));
  return preciseInputBound('openai.chat', body, raw, price, price.model, Number.MAX_SAFE_INTEGER) ?? inputTokenBound('openai.chat', body, raw, price);
}

describe('key limits', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake });
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('a spending cap admits a request only while its worst case fits under the cap', async () => {
    const body = { model: 'gpt-4o-mini', max_tokens: 500, messages: [{ role: 'user' as const, content: 'cap me at some point' }] };
    const table = gw.app.get(PriceBook).at(new Date());
    const price = table.get('gpt-4o-mini')!;
    const worst = worstCaseCost(price, heldBound(body, price), 500, table.marginBps);
    const each = gw.price('gpt-4o-mini', { inputTokens: 5, outputTokens: 6, cachedTokens: 0, cacheWriteTokens: 0 });
    const accountId = await gw.account(10_000_000n);
    // Room for the worst case of one request after two have been spent: the third fits, the fourth does not.
    const { secret } = await gw.key(accountId, { spendCapMicros: worst + 2n * each });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    for (let i = 0; i < 3; i++) {
      await client.chat.completions.create(body);
      // A request's reservation lasts until it settles, just after its answer: wait for that, or
      // the next request would (rightly) find the previous worst case still counted.
      await gw.requests(accountId, i + 1);
    }
    const err = await client.chat.completions.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('spend_cap_reached');
    const rows = await gw.requests(accountId, 4);
    expect(rows.filter((r) => r.billing === 'settled').map((r) => BigInt(r.cost_micros))).toEqual([each, each, each]);
    expect(fake.requests).toHaveLength(3);
  });

  it('a spending cap holds after Redis lost its counter and the request log was purged: the counter comes back from the per-key spend', async () => {
    const body = { model: 'gpt-4o-mini', max_tokens: 500, messages: [{ role: 'user' as const, content: 'cap me across a Redis restart' }] };
    const table = gw.app.get(PriceBook).at(new Date());
    const price = table.get('gpt-4o-mini')!;
    const worst = worstCaseCost(price, heldBound(body, price), 500, table.marginBps);
    const each = gw.price('gpt-4o-mini', { inputTokens: 5, outputTokens: 6, cachedTokens: 0, cacheWriteTokens: 0 });
    const accountId = await gw.account(10_000_000n);
    const { keyId, secret } = await gw.key(accountId, { spendCapMicros: worst + 2n * each });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const upstreamBefore = fake.requests.length;
    for (let i = 0; i < 3; i++) {
      await client.chat.completions.create(body);
      await gw.requests(accountId, i + 1);
    }
    // The worker's read models have followed the log; then Redis loses the key's counter (a
    // restart without persistence) and retention purges the key's request log rows.
    await gw.app.get(ReadModels).bringUpToDate();
    const redis = new Redis(TEST_REDIS_URL);
    try {
      expect(await redis.del(`${gw.config.REDIS_KEY_PREFIX}spend:${keyId}`)).toBe(1);
    } finally {
      await redis.quit();
    }
    await gw.db.pool.query('DELETE FROM request_log WHERE account_id = $1', [accountId]);
    const err = await client.chat.completions.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('spend_cap_reached');
    expect(fake.requests.length - upstreamBefore).toBe(3);
  });

  it('tokens per minute count the worst case at admission', async () => {
    const accountId = await gw.account(10_000_000n);
    const { secret } = await gw.key(accountId, { tpm: 1_000 });
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 400, messages: [{ role: 'user', content: 'small one' }] });
    const { error, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', max_tokens: 900, messages: [{ role: 'user', content: 'too big now' }] })
      .withResponse()
      .then(() => ({ error: null, response: null }))
      .catch((e: InstanceType<typeof OpenAI.APIError>) => ({ error: e, response: e.headers }));
    expect(error?.status).toBe(429);
    expect(error?.message).toMatch(/tokens per minute for this key/);
    expect(Number(response?.get('retry-after'))).toBeGreaterThan(0);
  });
});
