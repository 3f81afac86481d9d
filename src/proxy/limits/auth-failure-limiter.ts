/**
 * Failed authentications per client address per minute (AUTH_FAILURES_PER_MINUTE), counted in
 * Redis so every instance counts together. Past the limit the address is answered 429 before
 * its key is even looked up: guessing keys, or a flood of random ones, costs the gateway no
 * Postgres query and the guesser a minute per few dozen tries.
 *
 * Nothing is asked of Redis on the way in: an address is known here only once it has failed
 * here this minute, and each failure's INCR brings back everyone's count. So a client that
 * authenticates costs nothing, and an address blocked by other instances is blocked here
 * from its first failure here on. Fixed one-minute windows, as the rate limiter's.
 * The address is Fastify's request.ip, or the front door's same reading of it (proxy headers
 * count only from trusted proxies: platform/http/client-address.ts). An IP
 * address is personal data: Redis gets a hash of it, not the address in clear, for 70 s (only
 * a pseudonym: the IPv4 space is small enough to search), and this process keeps addresses
 * in memory for the current minute only.
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { REDIS, REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';
import { CLOCK, Clock } from '../../platform/clock';

const TTL_SECONDS = 70;
// A failure's answer waits this long at most for Redis; then the local count stands alone.
const REDIS_WAIT_MS = 1_000;
const MAX_ADDRESSES = 100_000;

@Injectable()
export class AuthFailureLimiter {
  private readonly log = new Logger('AuthFailureLimiter');
  private readonly prefix: string;
  private readonly limit: number;
  private minute = -1;
  /** Failures of each address this minute, everyone's as of our last INCR (ours included). */
  private failures = new Map<string, number>();
  private saidRedisDown = false;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_FACTORY) factory: RedisFactory,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'AUTH_FAILURES_PER_MINUTE'>,
  ) {
    this.prefix = `${factory.prefix}authfail:`;
    this.limit = config.AUTH_FAILURES_PER_MINUTE;
  }

  /** Seconds until the address may try again, or null when it may try now. No I/O. */
  refusal(address: string): number | null {
    if (this.limit === 0) return null;
    const now = this.clock.now().getTime();
    this.roll(now);
    const n = this.failures.get(address);
    return n !== undefined && n >= this.limit ? retryAfter(now) : null;
  }

  /** Counts one failure; returns seconds to wait when the address is now past its limit, else null. */
  async failed(address: string): Promise<number | null> {
    if (this.limit === 0) return null;
    const now = this.clock.now().getTime();
    this.roll(now);
    const local = (this.failures.get(address) ?? 0) + 1;
    this.remember(address, local);
    const key = `${this.prefix}${createHash('sha256').update(this.prefix).update(address).digest('base64url').slice(0, 22)}:${this.minute}`;
    try {
      const results = await within(this.redis.multi().incr(key).expire(key, TTL_SECONDS).exec(), REDIS_WAIT_MS);
      const [err, total] = results?.[0] ?? [new Error('no answer')];
      if (err) throw err;
      if (this.minute === Math.floor(now / 60_000)) this.remember(address, Math.max(Number(total), this.failures.get(address) ?? 0));
      this.saidRedisDown = false;
    } catch (err) {
      if (!this.saidRedisDown) this.log.warn(`failed authentications are counted on this instance only: ${(err as Error).message}`);
      this.saidRedisDown = true;
    }
    return (this.failures.get(address) ?? 0) > this.limit ? retryAfter(now) : null;
  }

  private roll(now: number): void {
    const minute = Math.floor(now / 60_000);
    if (minute === this.minute) return;
    this.minute = minute;
    this.failures = new Map();
  }

  private remember(address: string, n: number): void {
    this.failures.delete(address); // re-inserted last: the map's order is least recently failed first
    this.failures.set(address, n);
    if (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value as string);
  }
}

const retryAfter = (now: number) => Math.max(1, Math.ceil(((Math.floor(now / 60_000) + 1) * 60_000 - now) / 1000));

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
