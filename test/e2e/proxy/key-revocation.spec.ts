/**
 * Key changes reach every running instance at once (issue 3, "API keys"): two gateways of one
 * deployment (same database, same Redis prefix) have the same key cached; after a revoke,
 * regenerate, expiry or allowlist change, the very next request on EACH instance sees it, in
 * that API format's own error, as each official SDK reports it. Nothing refused goes upstream.
 */
import { ApiKeyAuthenticator } from '../../../src/keys/application/api-key-authenticator';
import { KeysService } from '../../../src/keys/application/keys.service';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { FreshDb, freshDb } from '../../support/fresh-db';
import { Gateway, startGateway, testRedisPrefix } from '../../support/gateway';
import {
  FORMATS,
  Format,
  anthropicClient,
  expectGatewayError,
  expectSdkError,
  openaiClient,
  rawCall,
  sdkCall,
  sdkError,
  sdkErrorBody,
} from '../../support/proxy-formats';

let fake: FakeUpstream;
let db: FreshDb;
let gws: Gateway[] = [];
let accountId: string;

beforeAll(async () => {
  fake = await startFakeUpstream();
  db = await freshDb(4);
  const redisPrefix = testRedisPrefix();
  for (let i = 0; i < 2; i++) gws.push(await startGateway({ openai: fake, anthropic: fake, gemini: fake, db, redisPrefix }));
  // Only a confirmed subscription lets an instance cache keys: wait for it, so the keys below
  // really are served from both caches, which is what the broadcast must defeat.
  for (const gw of gws) expect(await auth(gw).waitUntilListening()).toBe(true);
  accountId = await gws[0].account(1_000_000_000n);
});

afterAll(async () => {
  for (const gw of gws) await gw.close();
  gws = [];
  await db?.drop();
  await fake?.close();
});

const auth = (gw: Gateway) => gw.app.get(ApiKeyAuthenticator);
const keys = (gw: Gateway) => gw.app.get(KeysService);

/** One successful request in `format` on this instance; returns the reply text. */
const call = (gw: Gateway, secret: string, format: Format, model?: string) => sdkCall(gw.url, secret, format, { model });

/** The same call, expected to fail before anything went upstream: the error the SDK threw. */
async function refused(gw: Gateway, secret: string, format: Format, model?: string): Promise<unknown> {
  const before = fake.requests.length;
  const err = await sdkError(gw.url, secret, format, { model });
  expect(fake.requests.length).toBe(before);
  return err;
}

/** A key used once on each instance, so both have it cached. */
async function cachedOnBoth(format: Format, limits?: Parameters<Gateway['key']>[1]): Promise<{ keyId: string; secret: string }> {
  const issued = await gws[0].key(accountId, limits);
  for (const gw of gws) {
    const before = auth(gw).cachedKeys;
    expect(await call(gw, issued.secret, format)).toMatch(/^Hello from fake-/);
    expect(auth(gw).cachedKeys).toBe(before + 1);
  }
  return issued;
}

/** A 401 as each SDK reports it; OpenAI's body also carries the gateway's code. */
function expectUnauthenticated(err: unknown, format: Format, code: string): void {
  expectSdkError(err, format, 401);
  if (format === 'openai') expect(sdkErrorBody(err)).toMatchObject({ type: 'authentication_error', code });
  if (format === 'anthropic') expect(sdkErrorBody(err)).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
}

describe('two instances, one key', () => {
  it('a revoked key is refused on its very next request on both instances, in every format', async () => {
    const formats = FORMATS;
    const issued = new Map<Format, { keyId: string; secret: string }>();
    for (const f of formats) issued.set(f, await cachedOnBoth(f));

    for (const f of formats) {
      const change = await keys(gws[0]).revoke({ keyId: issued.get(f)!.keyId, actor: 'test' });
      expect(change.changed).toBe(true);
      // Both instances heard it and dropped the key before revoke() returned.
      expect(change.broadcast).toEqual({ listeners: 2, acknowledged: 2 });
    }
    for (const f of formats) {
      for (const gw of [gws[1], gws[0]]) expectUnauthenticated(await refused(gw, issued.get(f)!.secret, f), f, 'key_revoked');
    }
  });

  it('says so in each format on the wire: status, shape, and the code', async () => {
    const { keyId, secret } = await cachedOnBoth('openai');
    await keys(gws[1]).revoke({ keyId, actor: 'test' });
    for (const gw of gws) {
      for (const format of FORMATS) {
        const a = await rawCall(gw.url, format, { secret });
        expectGatewayError(a, format, 401, 'key_revoked');
        expect(a.text).toMatch(/revoked/);
      }
    }
  });

  it('regenerating rejects the old secret on both instances at once and accepts the new one', async () => {
    const { keyId, secret: old } = await cachedOnBoth('openai');
    const regenerated = await keys(gws[1]).regenerate({ keyId, actor: 'test' });
    expect(regenerated.broadcast).toEqual({ listeners: 2, acknowledged: 2 });
    expect(regenerated.secret).not.toBe(old);
    expect(regenerated.key.keyId).toBe(keyId);
    for (const gw of gws) expectUnauthenticated(await refused(gw, old, 'openai'), 'openai', 'invalid_api_key');
    for (const gw of gws) expect(await call(gw, regenerated.secret, 'anthropic')).toMatch(/^Hello from fake-anthropic/);
    for (const gw of gws) expectUnauthenticated(await refused(gw, old, 'gemini'), 'gemini', 'invalid_api_key');
  });

  it('an expiry set in the past by a limits change: 401 key_expired on both', async () => {
    const { keyId, secret } = await cachedOnBoth('openai');
    await keys(gws[0]).changeLimits({ keyId, limits: { expiresAt: new Date(Date.now() - 60_000).toISOString() }, actor: 'test' });
    for (const gw of gws.slice().reverse()) expectUnauthenticated(await refused(gw, secret, 'openai'), 'openai', 'key_expired');
    for (const gw of gws) expectUnauthenticated(await refused(gw, secret, 'anthropic'), 'anthropic', 'key_expired');
  });

  it('a key that reaches its expiry while cached is refused with no broadcast at all', async () => {
    const { keyId, secret } = await cachedOnBoth('anthropic', { expiresAt: new Date(Date.now() + 1_500).toISOString() });
    expect((await keys(gws[0]).get(keyId))?.expiresAt).toBeInstanceOf(Date);
    await new Promise((r) => setTimeout(r, 1_600));
    for (const gw of gws) expectUnauthenticated(await refused(gw, secret, 'openai'), 'openai', 'key_expired');
  });

  it('a model allowlist set while cached: 403 model_not_allowed on both, and /v1/models lists only what is allowed', async () => {
    const { keyId, secret } = await cachedOnBoth('openai');
    const everything = (await openaiClient(gws[0].url, secret).models.list()).data.map((m) => m.id);
    expect(everything).toEqual(expect.arrayContaining(['gpt-4o', 'gpt-4o-mini', 'claude-haiku-4-5', 'gemini-2.0-flash']));

    const change = await keys(gws[0]).changeLimits({ keyId, limits: { models: ['gpt-4o-mini', 'claude-haiku-4-5'] }, actor: 'test' });
    expect(change.broadcast).toEqual({ listeners: 2, acknowledged: 2 });
    for (const gw of gws) {
      const o = await refused(gw, secret, 'openai', 'gpt-4o');
      expectSdkError(o, 'openai', 403);
      expect(sdkErrorBody(o)).toMatchObject({ type: 'permission_error', code: 'model_not_allowed', param: 'model' });
      const a = await refused(gw, secret, 'anthropic', 'claude-opus-4-5');
      expectSdkError(a, 'anthropic', 403);
      expect(sdkErrorBody(a)).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
      expectSdkError(await refused(gw, secret, 'gemini'), 'gemini', 403);

      expect(await call(gw, secret, 'openai', 'gpt-4o-mini')).toMatch(/^Hello from fake-openai/);
      expect(await call(gw, secret, 'anthropic', 'claude-haiku-4-5')).toMatch(/^Hello from fake-anthropic/);

      expect((await openaiClient(gw.url, secret).models.list()).data.map((m) => m.id)).toEqual(['claude-haiku-4-5', 'gpt-4o-mini']);
      expect((await anthropicClient(gw.url, secret).models.list()).data.map((m) => m.id)).toEqual(['claude-haiku-4-5']);
      const gl = await fetch(`${gw.url}/v1beta/models`, { headers: { 'x-goog-api-key': secret } });
      expect(gl.status).toBe(200);
      expect(await gl.json()).toEqual({ models: [] });
    }
  });
});
