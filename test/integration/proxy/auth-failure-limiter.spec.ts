/** Failed authentications per address, counted in the real Redis by two instances at once. */
import { AuthFailureLimiter } from '../../../src/proxy/limits/auth-failure-limiter';
import { redisFactory } from '../../../src/platform/redis/redis.module';
import { Clock } from '../../../src/platform/clock';
import { TEST_REDIS_URL } from '../../support/test-env';
import { testRedisPrefix } from '../../support/gateway';

describe('AuthFailureLimiter (real Redis, two instances)', () => {
  const factories: ReturnType<typeof redisFactory>[] = [];
  let now = Date.UTC(2026, 10, 23, 12, 0, 15);
  const clock: Clock = { now: () => new Date(now) };

  function instances(limit: number, prefix = testRedisPrefix()): [AuthFailureLimiter, AuthFailureLimiter] {
    const make = () => {
      const f = redisFactory(TEST_REDIS_URL, prefix);
      factories.push(f);
      return new AuthFailureLimiter(f.create('commands'), f, clock, { AUTH_FAILURES_PER_MINUTE: limit });
    };
    return [make(), make()];
  }
  afterAll(() => Promise.all(factories.map((f) => f.closeAll())));

  it('an address is refused once it has failed `limit` times on any instances, until the minute ends', async () => {
    const [a, b] = instances(5);
    const ip = '203.0.113.7';
    for (let i = 0; i < 3; i++) expect(await a.failed(ip)).toBeNull();
    expect(await b.failed(ip)).toBeNull();
    expect(a.refusal(ip)).toBeNull();
    expect(await a.failed(ip)).toBeNull(); // the fifth: answered as a failure still
    expect(a.refusal(ip)).toBe(45); // seconds to the end of the minute
    // b never saw the fifth: its next failure learns everyone's count, and it refuses from then on.
    expect(b.refusal(ip)).toBeNull();
    expect(await b.failed(ip)).toBe(45);
    expect(b.refusal(ip)).toBe(45);
    // Another address is not affected.
    expect(a.refusal('203.0.113.8')).toBeNull();
    expect(await a.failed('2001:db8::1')).toBeNull();
    // The next minute starts afresh.
    now += 60_000;
    expect(a.refusal(ip)).toBeNull();
    expect(await a.failed(ip)).toBeNull();
  });

  it('Redis is given a hash of the address, never the address', async () => {
    const prefix = testRedisPrefix();
    const [a] = instances(5, prefix);
    await a.failed('192.0.2.44');
    const f = redisFactory(TEST_REDIS_URL, prefix);
    factories.push(f);
    const keys = await f.create('test').keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix}authfail:[A-Za-z0-9_-]{22}:\\d+$`));
    expect(keys[0]).not.toContain('192.0.2.44');
  });

  it('0 turns the limit off', async () => {
    const [a] = instances(0);
    for (let i = 0; i < 50; i++) expect(await a.failed('198.51.100.1')).toBeNull();
    expect(a.refusal('198.51.100.1')).toBeNull();
  });
});
