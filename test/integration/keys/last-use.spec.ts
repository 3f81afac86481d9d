/**
 * api_keys.last_used_at, from the authentication path: written on a key's first use, then at
 * most once a minute per key (per instance, and across instances by the SQL's own guard), never
 * awaited by the request and never failing it, even with the database gone.
 */
import { Pool } from 'pg';
import { ApiKeysRepository } from '../../../src/keys/application/api-keys.repository';
import { ApiKeyAuthenticator } from '../../../src/keys/application/api-key-authenticator';
import { LastUseRecorder } from '../../../src/keys/application/last-use-recorder';
import { redisFactory } from '../../../src/platform/redis/redis.module';
import { TEST_REDIS_URL } from '../../support/test-env';
import { eventually, KeysHarness, keysHarness } from './keys-harness';

describe('last use of a key (real Postgres)', () => {
  let h: KeysHarness;
  let account: string;
  const authenticators: ApiKeyAuthenticator[] = [];
  const lastUsed = async (keyId: string) => (await h.repo.findById(keyId))!.lastUsedAt;
  const writes: string[] = [];
  const counting = (repo: ApiKeysRepository) => ({
    touch: (keyId: string, at: Date) => {
      writes.push(keyId);
      return repo.touch(keyId, at);
    },
  });
  const instance = (repo = h.repo) => {
    const a = new ApiKeyAuthenticator(repo, redisFactory(TEST_REDIS_URL, h.prefix), h.clock, { uses: new LastUseRecorder(counting(repo), h.clock) });
    authenticators.push(a);
    return a;
  };

  beforeAll(async () => {
    h = await keysHarness();
    account = await h.openAccount();
  });
  afterAll(async () => {
    await Promise.all(authenticators.map((a) => a.stop()));
    await h?.close();
  });

  it('first use writes it; uses within the minute do not; the next minute does', async () => {
    const { key, secret } = await h.keys.create({ accountId: account, actor: 'test' });
    expect(key.lastUsedAt).toBeNull();
    const auth = instance();
    await auth.authenticate(secret);
    await eventually(async () => (await lastUsed(key.keyId)) !== null);
    const first = await lastUsed(key.keyId);
    expect(first!.getTime()).toBe(h.clock.now().getTime());
    for (let i = 0; i < 20; i++) await auth.authenticate(secret);
    h.clock.advance(30_000);
    await auth.authenticate(secret);
    expect(writes.filter((k) => k === key.keyId)).toHaveLength(1);
    h.clock.advance(31_000);
    await auth.authenticate(secret);
    await eventually(async () => (await lastUsed(key.keyId))!.getTime() === h.clock.now().getTime());
    expect(writes.filter((k) => k === key.keyId)).toHaveLength(2);
  });

  it('another instance within the same minute sends its write, and the row does not move', async () => {
    const { key, secret } = await h.keys.create({ accountId: account, actor: 'test' });
    await instance().authenticate(secret);
    await eventually(async () => (await lastUsed(key.keyId)) !== null);
    const at = await lastUsed(key.keyId);
    h.clock.advance(10_000);
    await instance().authenticate(secret);
    await eventually(() => writes.filter((k) => k === key.keyId).length === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(await lastUsed(key.keyId)).toEqual(at);
  });

  it('a database that refuses the write never fails the request', async () => {
    const { key, secret } = await h.keys.create({ accountId: account, actor: 'test' });
    // A repository whose reads work (the key is found) but whose pool for writes is closed.
    const dead = new Pool({ connectionString: h.db.url, max: 1 });
    await dead.end();
    const repo = new ApiKeysRepository(h.db.pool);
    repo.touch = (keyId, at) => new ApiKeysRepository(dead).touch(keyId, at);
    const principal = await instance(repo).authenticate(secret);
    expect(principal.keyId).toBe(key.keyId);
    await new Promise((r) => setTimeout(r, 50));
    expect(await lastUsed(key.keyId)).toBeNull();
  });
});
