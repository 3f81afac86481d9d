/**
 * Authentication across API instances, on the real Postgres and Redis: each instance is an
 * ApiKeyAuthenticator with its own subscriber connection. A key changed anywhere must be
 * rejected (or seen changed) on the very next call on every instance that had it cached.
 */
import { randomBytes } from 'node:crypto';
import { generateSecret } from '../../../src/keys/domain/api-key-secret';
import { ApiKeyAuthenticator, KeyAuthError } from '../../../src/keys/application/api-key-authenticator';
import { KeysHarness, eventually, keysHarness, killConnection } from './keys-harness';

const actor = 'test';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KeyAuthError) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('ApiKeyAuthenticator (two instances, real Postgres and Redis)', () => {
  let h: KeysHarness;
  let account: string;
  let a: ApiKeyAuthenticator;
  let b: ApiKeyAuthenticator;

  beforeAll(async () => {
    h = await keysHarness();
    account = await h.openAccount();
    a = h.instance('a');
    b = h.instance('b');
    expect(await a.waitUntilListening()).toBe(true);
    expect(await b.waitUntilListening()).toBe(true);
  });
  afterAll(() => h?.close());

  /** Creates a key and has both instances cache it (the second call is served from the cache). */
  async function cachedOnBoth() {
    const issued = await h.keys.create({ accountId: account, project: 'web', name: 'ci', actor });
    for (const inst of [a, b]) {
      await inst.authenticate(issued.secret);
      await inst.authenticate(issued.secret);
    }
    // Proof that the next answers would come from memory: the row no longer says "active" for
    // this hash, yet both still accept until told.
    await h.db.pool.query("UPDATE api_keys SET hash = repeat('0', 64) WHERE key_id = $1", [issued.key.keyId]);
    expect(await codeOf(a.authenticate(issued.secret))).toBe('accepted');
    expect(await codeOf(b.authenticate(issued.secret))).toBe('accepted');
    await h.db.pool.query('UPDATE api_keys SET hash = $2 WHERE key_id = $1', [issued.key.keyId, issued.key.hash]);
    return issued;
  }

  it('a created key authenticates at once, as its account, project and limits', async () => {
    const { key, secret } = await h.keys.create({ accountId: account, project: 'web', name: 'ci', actor });
    await h.keys.changeLimits({ keyId: key.keyId, limits: { models: ['gpt-4o'], spendCapMicros: 5_000_000n, rpm: 60, tpm: 1000 }, actor });
    expect(await a.authenticate(secret)).toEqual({
      keyId: key.keyId,
      accountId: account,
      project: 'web',
      name: 'ci',
      models: ['gpt-4o'],
      spendCapMicros: 5_000_000n,
      expiresAt: null,
      rpm: 60,
      tpm: 1000,
    });
  });

  it('a wrong or malformed key is invalid_api_key, and is never cached', async () => {
    const before = a.cachedKeys;
    expect(await codeOf(a.authenticate(generateSecret(randomBytes)))).toBe('invalid_api_key');
    for (const bad of ['', 'Bearer x', 'sk-123', `${generateSecret(randomBytes)}x`]) expect(await codeOf(a.authenticate(bad))).toBe('invalid_api_key');
    expect(a.cachedKeys).toBe(before);
  });

  it('revoke: both instances, each with the key cached, reject it on their very next call', async () => {
    const { key, secret } = await cachedOnBoth();
    const r = await h.keys.revoke({ keyId: key.keyId, reason: 'leaked', actor });
    expect(r.broadcast).toEqual({ listeners: 2, acknowledged: 2 });
    expect(await codeOf(a.authenticate(secret))).toBe('key_revoked');
    expect(await codeOf(b.authenticate(secret))).toBe('key_revoked');
  });

  it('regenerate: the old secret is rejected and the new one accepted, on both instances', async () => {
    const { key, secret } = await cachedOnBoth();
    const r = await h.keys.regenerate({ keyId: key.keyId, actor });
    for (const inst of [a, b]) {
      expect(await codeOf(inst.authenticate(secret))).toBe('invalid_api_key');
      expect((await inst.authenticate(r.secret)).keyId).toBe(key.keyId);
    }
  });

  it('a limits change is seen on the next call on both instances', async () => {
    const { key, secret } = await cachedOnBoth();
    await h.keys.changeLimits({ keyId: key.keyId, limits: { models: ['claude-sonnet-4'], rpm: 5 }, actor });
    for (const inst of [a, b]) expect(await inst.authenticate(secret)).toMatchObject({ models: ['claude-sonnet-4'], rpm: 5 });
  });

  it('expiry is checked against the clock at every call, cached or not, with no broadcast', async () => {
    const { key, secret } = await h.keys.create({ accountId: account, actor });
    const at = new Date(h.clock.now().getTime() + 60_000);
    await h.keys.changeLimits({ keyId: key.keyId, limits: { expiresAt: at.toISOString() }, actor });
    expect((await a.authenticate(secret)).expiresAt).toEqual(at);
    h.clock.advance(59_999);
    expect(await codeOf(a.authenticate(secret))).toBe('accepted');
    h.clock.advance(1);
    expect(await codeOf(a.authenticate(secret))).toBe('key_expired');
    expect(await codeOf(b.authenticate(secret))).toBe('key_expired');
    await h.keys.changeLimits({ keyId: key.keyId, limits: { expiresAt: null }, actor });
    expect(await codeOf(a.authenticate(secret))).toBe('accepted');
  });

  it('after its subscriber reconnects, an instance forgets its cache (it may have missed messages)', async () => {
    const { key, secret } = await cachedOnBoth();
    await killConnection(h.redis, `tollgate-keys-subscriber-${h.prefix}a`);
    await eventually(() => !a.isListening);
    // A revocation whose message A cannot have heard: the row changes, nobody is told.
    await h.db.pool.query("UPDATE api_keys SET status = 'revoked' WHERE key_id = $1", [key.keyId]);
    expect(await a.waitUntilListening()).toBe(true);
    expect(await codeOf(a.authenticate(secret))).toBe('key_revoked');
  });

  it('an instance without a confirmed subscription serves nothing from memory: every call reads Postgres', async () => {
    const deaf = h.instance(undefined, { redisUrl: 'redis://127.0.0.1:1' });
    const { key, secret } = await h.keys.create({ accountId: account, actor });
    expect(await codeOf(deaf.authenticate(secret))).toBe('accepted');
    expect(await codeOf(deaf.authenticate(secret))).toBe('accepted');
    expect(deaf.isListening).toBe(false);
    expect(deaf.cachedKeys).toBe(0);
    // A change it cannot hear of is still seen at once.
    await h.db.pool.query("UPDATE api_keys SET status = 'revoked' WHERE key_id = $1", [key.keyId]);
    expect(await codeOf(deaf.authenticate(secret))).toBe('key_revoked');
    await deaf.stop();
  });

  it('the cache is bounded: the least recently used key goes first', async () => {
    const small = h.instance('small', { maxEntries: 3 });
    expect(await small.waitUntilListening()).toBe(true);
    const k = [];
    for (let i = 0; i < 4; i++) k.push(await h.keys.create({ accountId: account, name: `k${i}`, actor }));
    for (const i of [0, 1, 2, 0, 3]) await small.authenticate(k[i].secret); // k0 used again before k3 comes
    expect(small.cachedKeys).toBe(3);
    // What is still in memory answers without the row; what was evicted must read it.
    await h.db.pool.query('DELETE FROM api_keys WHERE key_id = ANY($1)', [k.map((x) => x.key.keyId)]);
    const answers = await Promise.all(k.map((x) => codeOf(small.authenticate(x.secret))));
    expect(answers).toEqual(['accepted', 'invalid_api_key', 'accepted', 'accepted']);
    await h.keys.reconcile();
  });

  it('a lookup that raced with a revocation is answered but not cached', async () => {
    const { key, secret } = await h.keys.create({ accountId: account, actor });
    const fresh = h.instance('fresh');
    expect(await fresh.waitUntilListening()).toBe(true);
    const pending = fresh.authenticate(secret); // reads the row (active) ...
    fresh.invalidate(key.keyId); // ... while a revocation arrives
    expect(await codeOf(pending)).toBe('accepted'); // it began before the revocation
    expect(fresh.cachedKeys).toBe(0);
    await h.keys.revoke({ keyId: key.keyId, actor });
    expect(await codeOf(fresh.authenticate(secret))).toBe('key_revoked');
  });
});
