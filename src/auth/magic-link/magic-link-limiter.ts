/**
 * Hourly limits on links sent by mail: per address (MAGIC_LINK_PER_ADDRESS_PER_HOUR) and per
 * client address (MAGIC_LINK_PER_CLIENT_PER_HOUR), counted in Redis so every instance counts
 * together. Fixed one-hour windows, one Lua call that takes from every counter only if all have
 * room (the rate limiter's way, proxy/limits/rate-limiter.ts, with hours instead of minutes):
 * a refused request uses up nothing. Counters are named by keyed hashes (the caller's), never
 * by an email or IP address. Redis down: refused (fail closed), since a mail flood is the harm.
 */
import { Inject, Injectable } from '@nestjs/common';
import Redis, { ClientContext, Result } from 'ioredis';
import { CLOCK, Clock } from '../../platform/clock';
import { REDIS, REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    /** magic-link-limiter.ts: numKeys, the keys, the ttl, then each key's limit; 0 or the index + 1 of the counter refused. */
    tollgateHourlyAdmit(numKeys: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
  }
}

export interface HourlyLimit {
  /** What is counted, e.g. `address:<hash>`; a keyed hash, never personal data. */
  id: string;
  limit: number;
}

export type HourlyAdmission = { ok: true } | { ok: false; id: string; retryAfterSeconds: number };

export class LimitsStoreDown extends Error {
  override readonly name = 'LimitsStoreDown';
}

const HOUR_MS = 3_600_000;
const TTL_SECONDS = 3_700;

// KEYS: counters; ARGV: ttl, then each counter's limit. Returns 0, or the 1-based index of the first counter without room.
const SCRIPT = `
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') + 1 > tonumber(ARGV[i + 1]) then return i end
end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ttl) end
end
return 0
`;

@Injectable()
export class MagicLinkLimiter {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_FACTORY) factory: RedisFactory,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.prefix = `${factory.prefix}ml:`;
    this.redis.defineCommand('tollgateHourlyAdmit', { lua: SCRIPT });
  }

  /** Takes one from each counter if every one has room; throws LimitsStoreDown when Redis cannot answer. */
  async admit(limits: readonly HourlyLimit[]): Promise<HourlyAdmission> {
    const nowMs = this.clock.now().getTime();
    const hour = Math.floor(nowMs / HOUR_MS);
    const keys = limits.map((l) => `${this.prefix}${l.id}:${hour}`);
    let refused: number;
    try {
      refused = await this.redis.tollgateHourlyAdmit(keys.length, ...keys, TTL_SECONDS, ...limits.map((l) => l.limit));
    } catch (err) {
      throw new LimitsStoreDown(`the rate-limit store did not answer: ${(err as Error).message}`);
    }
    if (refused === 0) return { ok: true };
    return { ok: false, id: limits[refused - 1].id, retryAfterSeconds: Math.max(1, Math.ceil(((hour + 1) * HOUR_MS - nowMs) / 1000)) };
  }
}
