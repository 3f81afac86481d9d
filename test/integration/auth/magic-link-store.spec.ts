/**
 * The two stores behind sign-in links, on the machine's real Postgres and Redis: the token
 * table (only hashes, one use, expiry) and the hourly limits.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Clock } from '../../../src/platform/clock';
import { SecretBox } from '../../../src/platform/crypto/secret-box';
import { redisFactory, requestPathOptions } from '../../../src/platform/redis/redis.module';
import { MagicLinkTokensRepository } from '../../../src/auth/magic-link/magic-link-tokens.repository';
import { LimitsStoreDown, MagicLinkLimiter } from '../../../src/auth/magic-link/magic-link-limiter';
import { FreshDb, freshDb } from '../../support/fresh-db';
import { TEST_REDIS_URL } from '../../support/test-env';
import { freePort } from '../../support/wait';
import { testRedisPrefix } from '../../support/gateway';

const HASH = 'a'.repeat(64);
const clockAt = (ms: number) => {
  let now = ms;
  const clock: Clock & { set(ms: number): void } = { now: () => new Date(now), set: (v) => (now = v) };
  return clock;
};

describe('MagicLinkTokensRepository (real Postgres)', () => {
  let db: FreshDb;
  let links: MagicLinkTokensRepository;
  const now = new Date('2026-03-01T10:00:00Z');

  beforeAll(async () => {
    db = await freshDb(12);
    links = new MagicLinkTokensRepository(db.pool, new SecretBox({ ENCRYPTION_KEY: undefined }));
  });
  afterAll(() => db?.drop());

  const issue = (email = 'ada@example.com') => links.issue({ purpose: 'sign_in', email, emailHash: HASH, now, ttlSeconds: 900 });

  it('keeps the SHA-256 of the token and a sealed address, never either in clear', async () => {
    const token = await issue('secret-person@example.com');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { rows } = await db.pool.query('SELECT * FROM magic_link_tokens');
    const dump = JSON.stringify(rows.map((r) => ({ ...r, token_hash: r.token_hash.toString('hex') })));
    expect(dump).not.toContain('secret-person');
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(Buffer.from(token, 'base64url').toString('hex'));
    expect(rows.some((r) => r.token_hash.equals(createHash('sha256').update(token).digest()))).toBe(true);
  });

  it('is used once: the address comes back to the first use only', async () => {
    const token = await issue();
    expect(await links.usable(token, now, ['sign_in'])).toBe(true);
    expect(await links.use(token, now, ['sign_in'])).toEqual({ purpose: 'sign_in', email: 'ada@example.com', emailHash: HASH, passwordHash: null });
    expect(await links.use(token, now, ['sign_in'])).toBeNull();
    expect(await links.usable(token, now, ['sign_in'])).toBe(false);
  });

  it('used by ten callers at once, exactly one gets it', async () => {
    const token = await issue();
    const results = await Promise.all(Array.from({ length: 10 }, () => links.use(token, now, ['sign_in'])));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });

  it('refuses an expired link, one of another purpose, and anything not shaped like a token', async () => {
    const token = await issue();
    const expiry = new Date(now.getTime() + 900_000);
    expect(await links.use(token, new Date(expiry.getTime() - 1), ['reset'])).toBeNull();
    expect(await links.use(token, expiry, ['sign_in'])).toBeNull();
    expect(await links.usable(token, expiry, ['sign_in'])).toBe(false);
    for (const bad of ['', 'x', `${token}A`, token.slice(0, 42) + '=', 'a'.repeat(100_000)]) {
      expect(await links.use(bad, now, ['sign_in'])).toBeNull();
    }
    expect(await links.use(randomBytes(32).toString('base64url'), now, ['sign_in'])).toBeNull(); // forged
  });

  it('a sealed address moved into another row does not open', async () => {
    const a = await issue('a@example.com');
    const b = await issue('b@example.com');
    const hashOf = (t: string) => createHash('sha256').update(t).digest();
    await db.pool.query('UPDATE magic_link_tokens SET email = (SELECT email FROM magic_link_tokens WHERE token_hash = $1) WHERE token_hash = $2', [hashOf(a), hashOf(b)]);
    await expect(links.use(b, now, ['sign_in'])).rejects.toMatchObject({ code: 'undecryptable_secret' });
  });

  it('purges expired links, used or not, and keeps live ones', async () => {
    await db.pool.query('DELETE FROM magic_link_tokens');
    const used = await issue();
    await links.use(used, now, ['sign_in']);
    await issue();
    const later = await links.issue({ purpose: 'sign_in', email: 'c@example.com', emailHash: HASH, now: new Date(now.getTime() + 600_000), ttlSeconds: 900 });
    expect(await links.purgeExpired(new Date(now.getTime() + 900_000))).toBe(2);
    expect(await links.usable(later, new Date(now.getTime() + 900_000), ['sign_in'])).toBe(true);
  });
});

describe('MagicLinkLimiter (real Redis)', () => {
  const factory = redisFactory(TEST_REDIS_URL, testRedisPrefix());
  const redis = factory.create('commands', requestPathOptions({ REDIS_COMMAND_TIMEOUT_MS: 1000 }));
  afterAll(() => factory.closeAll());
  const hour = (n: number) => Date.UTC(2026, 2, 1, 10) + n * 3_600_000;

  it('admits the limit per hour, refuses with the seconds to the next hour, and a refusal uses up nothing', async () => {
    const clock = clockAt(hour(0) + 15 * 60_000);
    const limiter = new MagicLinkLimiter(redis, factory, clock);
    const address = { id: `address:${randomBytes(8).toString('hex')}`, limit: 2 };
    const client = { id: `client:${randomBytes(8).toString('hex')}`, limit: 3 };
    expect(await limiter.admit([address, client])).toEqual({ ok: true });
    expect(await limiter.admit([address, client])).toEqual({ ok: true });
    expect(await limiter.admit([address, client])).toEqual({ ok: false, id: address.id, retryAfterSeconds: 45 * 60 });
    // The client's counter was not charged by the refusal: one more from it still fits.
    expect(await limiter.admit([{ id: `address:${randomBytes(8).toString('hex')}`, limit: 2 }, client])).toEqual({ ok: true });
    expect(await limiter.admit([{ id: `address:${randomBytes(8).toString('hex')}`, limit: 2 }, client])).toMatchObject({ ok: false, id: client.id });
    clock.set(hour(1));
    expect(await limiter.admit([address, client])).toEqual({ ok: true });
  });

  it('counts exactly under concurrency (and across instances sharing Redis)', async () => {
    const clock = clockAt(hour(0));
    const a = new MagicLinkLimiter(redis, factory, clock);
    const b = new MagicLinkLimiter(factory.create('other'), factory, clock);
    const limit = { id: `address:${randomBytes(8).toString('hex')}`, limit: 5 };
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).admit([limit])));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
  });

  it('keys its counters by the ids it is given and nothing else', async () => {
    const prefix = testRedisPrefix();
    const f = redisFactory(TEST_REDIS_URL, prefix);
    const limiter = new MagicLinkLimiter(f.create('commands'), f, clockAt(hour(0)));
    await limiter.admit([{ id: 'address:abc', limit: 5 }, { id: 'client:def', limit: 5 }]);
    const keys = (await redis.keys(`${prefix}*`)).sort();
    expect(keys).toEqual([`${prefix}ml:address:abc:${Math.floor(hour(0) / 3_600_000)}`, `${prefix}ml:client:def:${Math.floor(hour(0) / 3_600_000)}`]);
    expect(await redis.ttl(keys[0])).toBeGreaterThan(3_600);
    await f.closeAll();
  });

  it('throws LimitsStoreDown, quickly, when Redis is not there', async () => {
    const down = redisFactory(`redis://127.0.0.1:${await freePort()}`, testRedisPrefix());
    const limiter = new MagicLinkLimiter(down.create('commands', { ...requestPathOptions({ REDIS_COMMAND_TIMEOUT_MS: 500 }), retryStrategy: () => null }), down, clockAt(hour(0)));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await expect(limiter.admit([{ id: 'address:x', limit: 5 }])).rejects.toBeInstanceOf(LimitsStoreDown);
    expect(Date.now() - started).toBeLessThan(2_000);
    await down.closeAll();
  });
});
