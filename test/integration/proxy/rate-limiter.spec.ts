/** Rate limits counted in the real Redis, by two instances of the gateway at once. */
import type { Socket } from 'node:net';
import { RateLimiter, EXACT_BELOW, Limit } from '../../../src/proxy/limits/rate-limiter';
import { redisFactory } from '../../../src/platform/redis/redis.module';
import { Clock } from '../../../src/platform/clock';
import { TEST_REDIS_URL } from '../../support/test-env';
import { testRedisPrefix } from '../../support/gateway';

describe('RateLimiter (real Redis, two instances)', () => {
  const factories: ReturnType<typeof redisFactory>[] = [];
  const limiters: RateLimiter[] = [];
  let now = Date.UTC(2026, 10, 23, 12, 0, 10);
  const clock: Clock = { now: () => new Date(now) };

  function instances(prefix: string): [RateLimiter, RateLimiter] {
    const make = () => {
      const f = redisFactory(TEST_REDIS_URL, prefix);
      factories.push(f);
      const l = new RateLimiter(f.create('commands', { enableAutoPipelining: true }), f, clock);
      limiters.push(l);
      return l;
    };
    return [make(), make()];
  }
  afterAll(async () => {
    for (const l of limiters) await l.onModuleDestroy();
    await Promise.all(factories.map((f) => f.closeAll()));
  });

  const limit = (n: number, cost = 1): Limit[] => [{ label: 'requests per minute', id: 'a:acct:r', unit: 'requests', limit: n, cost }];
  const admitted = async (l: RateLimiter, n: number, lim: Limit[]) => {
    let ok = 0;
    for (let i = 0; i < n; i++) if ((await l.admit(lim)).ok) ok++;
    return ok;
  };

  it('small limits are exact across instances, and a refusal says when to retry', async () => {
    const [a, b] = instances(testRedisPrefix());
    const results = await Promise.all([admitted(a, 10, limit(7)), admitted(b, 10, limit(7))]);
    expect(results[0] + results[1]).toBe(7);
    const refused = await a.admit(limit(7));
    expect(refused).toEqual({ ok: false, label: 'requests per minute', unit: 'requests', limit: 7, retryAfterSeconds: 50 });
  });

  it('large limits are counted locally and shared through Redis within a flush', async () => {
    const big = EXACT_BELOW * 2;
    const [a, b] = instances(testRedisPrefix());
    expect(await admitted(a, 1_500, limit(big))).toBe(1_500);
    await new Promise((r) => setTimeout(r, 100)); // a flushes; b learns the total on its own first flush
    expect(await admitted(b, 1, limit(big))).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    // b now knows 1,501 are used: 499 more fit, across both.
    expect(await admitted(b, 600, limit(big))).toBe(499);
    await new Promise((r) => setTimeout(r, 100));
    // a has been idle: within a second it trusts what it knew (a bounded overshoot)...
    expect((await a.admit(limit(big))).ok).toBe(true);
    // ...after that it asks Redis before admitting again, and learns the limit is reached.
    now += 1_500;
    expect((await a.admit(limit(big))).ok).toBe(false);
  });

  it("an instance whose counts are old says early whether they admit, while Redis's totals decide", async () => {
    const big = EXACT_BELOW * 2;
    const [a, b] = instances(testRedisPrefix());
    let told = 0;
    const early = () => told++;
    expect((await a.admit(limit(big), early)).ok).toBe(true); // nothing known yet: asked, and its own counts (none) admit
    expect(told).toBe(1);
    expect((await a.admit(limit(big), early)).ok).toBe(true); // fresh counts: the verdict at once, no early word
    expect(told).toBe(1);
    await new Promise((r) => setTimeout(r, 100)); // a flushes its two
    expect(await admitted(b, big, limit(big))).toBe(big - 2); // another instance fills the minute
    await new Promise((r) => setTimeout(r, 100)); // b flushes
    now += 1_500;
    // a's old counts would admit: it says so early, and Redis's totals refuse.
    expect((await a.admit(limit(big), early)).ok).toBe(false);
    expect(told).toBe(2);
    now += 1_500;
    // Old counts that refuse already: no early word, and still Redis's verdict (a refusal).
    const huge = limit(big, big + 1);
    expect((await a.admit(huge, early)).ok).toBe(false);
    expect(told).toBe(2);
  });

  it("says early before it writes anything to Redis, and asks once what the caller queued on the go-ahead has gone out", async () => {
    // The proxy's caller sends its upstream request on the go-ahead, and undici writes it after a
    // setImmediate: the exchange with Redis must not be written (built, encoded, sent) before it.
    const f = redisFactory(TEST_REDIS_URL, testRedisPrefix());
    factories.push(f);
    const redis = f.create('commands', { enableAutoPipelining: true });
    const a = new RateLimiter(redis, f, clock);
    limiters.push(a);
    await redis.ping();
    const written = () => (redis as unknown as { stream: Socket }).stream.bytesWritten;
    const before = written();
    const seen: { early?: number; callersIo?: number } = {};
    const verdict = a.admit(limit(EXACT_BELOW * 2), () => {
      seen.early = written();
      setImmediate(() => (seen.callersIo = written()));
    });
    expect((await verdict).ok).toBe(true); // nothing known yet: Redis was asked all the same...
    expect(seen).toEqual({ early: before, callersIo: before }); // ...after the caller's I/O
    expect(written()).toBeGreaterThan(before);
  });

  it('a burst on old counts gets no more early words than those counts have room for', async () => {
    const big = EXACT_BELOW * 2;
    const [a, b] = instances(testRedisPrefix());
    expect((await a.admit(limit(big))).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 100)); // a flushes its one
    expect(await admitted(b, big - 11, limit(big))).toBe(big - 11); // 10 left in the minute
    await new Promise((r) => setTimeout(r, 100)); // b flushes
    now += 1_500;
    // a's old counts say 1 used: room for 25 of these, so 25 go early, not 100. Redis's totals
    // then admit the 10 that fit.
    let told = 0;
    const verdicts = await Promise.all(Array.from({ length: 100 }, () => a.admit(limit(big, 79), () => told++)));
    expect(told).toBe(25);
    expect(verdicts.filter((v) => v.ok)).toHaveLength(0); // 79 each: none fits in the 10 left
    now += 1_500;
    const small = await Promise.all(Array.from({ length: 30 }, () => a.admit(limit(big), () => told++)));
    expect(small.filter((v) => v.ok)).toHaveLength(10);
  });

  it('a new minute starts from zero', async () => {
    const [a] = instances(testRedisPrefix());
    expect(await admitted(a, 3, limit(2))).toBe(2);
    now += 60_000;
    expect(await admitted(a, 3, limit(2))).toBe(2);
  });

  describe('giving tokens back (a request admitted on a bound its hold then tightened)', () => {
    const tokens = (n: number, cost: number, id = 'a:acct:t'): Limit[] => [
      { label: 'requests per minute', id: 'a:acct:r', unit: 'requests', limit: 100_000, cost: 1 },
      { label: 'tokens per minute', id, unit: 'tokens', limit: n, cost },
    ];
    const taken = async (l: RateLimiter, lim: Limit[]) => {
      const a = await l.admit(lim);
      if (!a.ok) throw new Error(`refused: ${a.label}`);
      return a.taken;
    };

    it('exact limits: the tokens counters are lowered in Redis, for every instance, never below zero', async () => {
      const [a, b] = instances(testRedisPrefix());
      const small = tokens(900, 600);
      small[0].limit = 50; // every counter exact
      const t = await taken(a, small);
      expect((await b.admit(tokens(900, 400))).ok).toBe(false); // 600 + 400 > 900
      await a.giveBack(t, 450); // the request went on 150 tokens
      expect((await b.admit(tokens(900, 750))).ok).toBe(true); // 150 + 750 = 900: room, seen by the other instance
      expect((await b.admit(tokens(900, 1))).ok).toBe(false);
      await a.giveBack(t, 10_000); // more than the counter holds: down to zero, not below
      expect((await b.admit(tokens(900, 900))).ok).toBe(true);
      expect((await b.admit(tokens(900, 1))).ok).toBe(false);
    });

    it('large limits: given back locally, sent with the next flush, seen by every instance', async () => {
      const big = EXACT_BELOW * 10;
      const id = 'a:acct2:t';
      const [a, b] = instances(testRedisPrefix());
      const first = await taken(a, tokens(big, 8_000, id));
      await a.giveBack(first, 5_000); // 3,000 left
      const second = await taken(a, tokens(big, 7_000, id)); // 3,000 + 7,000 = 10,000: room only because of the give-back
      await new Promise((r) => setTimeout(r, 100)); // a flushes: 10,000 in Redis
      expect((await b.admit(tokens(big, 1, id))).ok).toBe(false);
      await a.giveBack(second, 4_000); // a negative count, sent with the next flush
      await new Promise((r) => setTimeout(r, 100));
      now += 1_500; // b's total is stale: it asks Redis (6,000) before admitting
      expect((await b.admit(tokens(big, 4_000, id))).ok).toBe(true);
      expect((await b.admit(tokens(big, 1, id))).ok).toBe(false);
    });

    it('a failed give-back (Redis gone) does not throw: the counters stay high, which admits nothing past a limit', async () => {
      const f = redisFactory(TEST_REDIS_URL, testRedisPrefix());
      factories.push(f);
      const redis = f.create('commands', { enableAutoPipelining: true });
      const l = new RateLimiter(redis, f, clock);
      const small = tokens(900, 600);
      small[0].limit = 50;
      const t = await taken(l, small);
      redis.disconnect();
      await expect(l.giveBack(t, 100)).resolves.toBeUndefined();
    });
  });
});
