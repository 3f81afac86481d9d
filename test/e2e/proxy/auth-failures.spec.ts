/**
 * Failed authentications are limited per client address: past AUTH_FAILURES_PER_MINUTE an
 * address gets 429 in its API's own shape, with retry-after, before any key it sends is
 * looked up; another address, with a good key, is served. The two addresses are two loopback
 * addresses (127.0.0.1 and 127.0.0.2), so the gateway sees two real peers.
 */
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Agent, fetch as undiciFetch } from 'undici';
import { randomBytes } from 'node:crypto';
import { generateSecret } from '../../../src/keys/domain/api-key-secret';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

const LIMIT = 5;

describe('failed authentications per address (booted gateway, official SDKs)', () => {
  let upstream: FakeUpstream;
  let gw: Gateway;
  const other = new Agent({ localAddress: '127.0.0.2' });
  const fromOther = ((url: string, init: any) => undiciFetch(url, { ...init, dispatcher: other })) as unknown as typeof fetch;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    gw = await startGateway({ openai: upstream, anthropic: upstream, env: { AUTH_FAILURES_PER_MINUTE: String(LIMIT) } });
  });
  afterAll(async () => {
    await other.close();
    await gw?.close();
    await upstream?.close();
  });

  const chat = (client: OpenAI) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  const statusOf = (p: Promise<unknown>) =>
    p.then(
      () => 200,
      (err) => (err instanceof OpenAI.APIError || err instanceof Anthropic.APIError ? err : Promise.reject(err as Error)),
    );

  it('bad keys from one address: 401 up to the limit, then 429 with retry-after; a good key elsewhere still works', async () => {
    const accountId = await gw.account(10_000_000n);
    const { secret } = await gw.key(accountId);
    const attacker = (apiKey: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0, fetch: fromOther });

    for (let i = 0; i < LIMIT; i++) {
      const err = await statusOf(chat(attacker(generateSecret(randomBytes))));
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    }
    const limited = await statusOf(chat(attacker(generateSecret(randomBytes))));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    const e = limited as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.code).toBe('rate_limited');
    expect(e.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limited' });
    const retryAfter = Number(e.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Refused before the lookup: even the good key, from that address, waits.
    expect(await statusOf(chat(attacker(secret)))).toBeInstanceOf(OpenAI.RateLimitError);
    // The Anthropic surface answers in its own shape.
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: generateSecret(randomBytes), maxRetries: 0, fetch: fromOther });
    const aErr = await statusOf(anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
    expect(aErr).toBeInstanceOf(Anthropic.RateLimitError);
    expect((aErr as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });

    // 127.0.0.1 is another client: its good key is served.
    const good = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    const answer = await chat(good);
    expect(answer.choices[0].message.content).toContain('Hello from fake-openai');
    // And nothing the limited address sent was charged or logged as a request.
    const rows = await gw.requests(accountId, 1);
    expect(rows).toHaveLength(1);
  });
});
