/**
 * Unknown keys are remembered for a short while, so presenting one again and again costs no
 * Postgres query; and a key created after its secret was presented as unknown works at once,
 * on every instance (creation is broadcast like a revocation). Queries are counted as the
 * connections the real pg Pool hands out to the repository: one per lookup.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { createPool } from '../../../src/platform/database/pg';
import { generateSecret } from '../../../src/keys/domain/api-key-secret';
import { ApiKeysRepository } from '../../../src/keys/application/api-keys.repository';
import { ApiKeyAuthenticator, KeyAuthError } from '../../../src/keys/application/api-key-authenticator';
import { KeysHarness, keysHarness } from './keys-harness';

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

/** Reads the same bytes every time it is made from one seed: a secret known before it is issued. */
const replay = (seed: Buffer) => {
  let at = 0;
  return (n: number) => {
    const out = seed.subarray(at, at + n);
    at += n;
    if (out.length < n) throw new Error('seed exhausted');
    return Buffer.from(out);
  };
};

describe('ApiKeyAuthenticator: unknown keys (real Postgres and Redis)', () => {
  let h: KeysHarness;
  let account: string;
  let pool: Pool;
  let lookups = 0;
  let counted: ApiKeysRepository;

  beforeAll(async () => {
    h = await keysHarness();
    account = await h.openAccount();
    pool = createPool(h.db.url, 2, 'tollgate-test-counted');
    pool.on('acquire', () => lookups++);
    counted = new ApiKeysRepository(pool);
  });
  afterAll(async () => {
    await pool?.end();
    await h?.close();
  });

  async function listening(a: ApiKeyAuthenticator) {
    expect(await a.waitUntilListening()).toBe(true);
    return a;
  }

  it('the same unknown key presented 200 times costs one query, until its entry expires', async () => {
    const a = await listening(h.instance('flood', { repo: counted }));
    const bad = generateSecret(randomBytes);
    lookups = 0;
    for (let i = 0; i < 200; i++) expect(await codeOf(a.authenticate(bad))).toBe('invalid_api_key');
    expect(lookups).toBe(1);
    // Known keys still work, and are looked up once as before.
    const { secret } = await h.keys.create({ accountId: account, actor });
    lookups = 0;
    for (let i = 0; i < 5; i++) expect(await codeOf(a.authenticate(secret))).toBe('accepted');
    expect(lookups).toBe(1);
    // Past its lifetime the unknown key is looked up again (once).
    h.clock.advance(61_000);
    lookups = 0;
    for (let i = 0; i < 10; i++) expect(await codeOf(a.authenticate(bad))).toBe('invalid_api_key');
    expect(lookups).toBe(1);
  });

  it('is bounded: the oldest unknown key is forgotten first', async () => {
    const a = await listening(h.instance('bounded', { repo: counted, maxUnknown: 2 }));
    const [k1, k2, k3] = [0, 1, 2].map(() => generateSecret(randomBytes));
    for (const k of [k1, k2, k3]) await codeOf(a.authenticate(k));
    lookups = 0;
    await codeOf(a.authenticate(k3));
    await codeOf(a.authenticate(k2));
    expect(lookups).toBe(0);
    await codeOf(a.authenticate(k1));
    expect(lookups).toBe(1);
  });

  it('a key created after its secret was refused as unknown works at once, on every instance', async () => {
    const a = await listening(h.instance('a', { repo: counted }));
    const b = await listening(h.instance('b', { repo: counted }));
    const seed = randomBytes(4096);
    const secret = generateSecret(replay(seed));
    for (const inst of [a, b]) {
      expect(await codeOf(inst.authenticate(secret))).toBe('invalid_api_key');
      lookups = 0;
      expect(await codeOf(inst.authenticate(secret))).toBe('invalid_api_key');
      expect(lookups).toBe(0); // remembered as unknown
    }
    // Created by another process (its own KeysService and Redis connections), with that secret.
    const issued = await h.service(undefined, undefined, replay(seed)).create({ accountId: account, actor });
    expect(issued.secret).toBe(secret);
    expect(await codeOf(a.authenticate(secret))).toBe('accepted');
    expect(await codeOf(b.authenticate(secret))).toBe('accepted');
  });

  it('a regenerated key works at once under its new secret, even if that secret was refused before', async () => {
    const a = await listening(h.instance('regen', { repo: counted }));
    const { key } = await h.keys.create({ accountId: account, actor });
    const seed = randomBytes(4096);
    const next = generateSecret(replay(seed));
    expect(await codeOf(a.authenticate(next))).toBe('invalid_api_key');
    const r = await h.service(undefined, undefined, replay(seed)).regenerate({ keyId: key.keyId, actor });
    expect(r.secret).toBe(next);
    expect(await codeOf(a.authenticate(next))).toBe('accepted');
  });
});
