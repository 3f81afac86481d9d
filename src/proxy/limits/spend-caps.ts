/**
 * A key's spending cap (KeyLimitsChanged.spendCapMicros): what the key has spent, plus what
 * its requests in flight may still cost, must stay within the cap. Kept in Redis so every
 * instance counts together: a request reserves its worst case atomically with the check, and
 * gives back the difference when it settles. The counter starts from the key's settled costs
 * in the request log, so a Redis restart does not reset a cap.
 */
import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { REDIS, REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';

// KEYS[1]: counter. ARGV: cap, amount. Returns 1 if reserved, 0 if it would pass the cap, -1 if the counter is missing.
const RESERVE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if tonumber(cur) + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[2])
return 1
`;

@Injectable()
export class SpendCaps {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_FACTORY) factory: RedisFactory,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {
    this.prefix = `${factory.prefix}spend:`;
    this.redis.defineCommand('tollgateSpendReserve', { numberOfKeys: 1, lua: RESERVE });
  }

  /** Reserves `amount` µcr under the key's cap; false when that would pass it. */
  async reserve(keyId: string, cap: bigint, amount: bigint): Promise<boolean> {
    const key = this.prefix + keyId;
    for (let i = 0; i < 2; i++) {
      const r = (await (this.redis as any).tollgateSpendReserve(key, cap.toString(), amount.toString())) as number;
      if (r !== -1) return r === 1;
      const { rows } = await this.pool.query<{ spent: bigint }>(
        `SELECT coalesce(sum(cost_micros), 0)::bigint AS spent FROM request_log WHERE key_id = $1`,
        [keyId],
      );
      await this.redis.set(key, rows[0].spent.toString(), 'NX');
    }
    return false;
  }

  /** Gives back what a request reserved and did not spend. */
  async release(keyId: string, amount: bigint): Promise<void> {
    if (amount > 0n) await this.redis.decrby(this.prefix + keyId, amount.toString());
  }
}
