/**
 * A key's spending cap (KeyLimitsChanged.spendCapMicros): what the key has spent, plus what
 * its requests in flight may still cost, must stay within the cap. Kept in Redis so every
 * instance counts together: a request reserves its worst case atomically with the check, and
 * gives back the difference when it settles. The counter starts from the key's settled costs
 * in the request log, so a Redis restart does not reset a cap.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { REDIS, REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';
import { onLimitsStore, whenConnected } from './limits-store';

// KEYS[1]: counter. ARGV: cap, amount. Returns 1 if reserved, 0 if it would pass the cap, -1 if the counter is missing.
const RESERVE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if tonumber(cur) + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[2])
return 1
`;

// KEYS[1]: counter. ARGV: amount. Gives back only to a counter that exists: one lost with an
// empty Redis is rebuilt from the request log, and a negative one would let the key overspend.
const RELEASE = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECRBY', KEYS[1], ARGV[1]) end
return 1
`;

@Injectable()
export class SpendCaps {
  private readonly log = new Logger('SpendCaps');
  private readonly prefix: string;
  /** Give-backs Redis could not take (it was away), per counter: sent when it is back. */
  private readonly owed = new Map<string, bigint>();

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_FACTORY) factory: RedisFactory,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {
    this.prefix = `${factory.prefix}spend:`;
    this.redis.defineCommand('tollgateSpendReserve', { numberOfKeys: 1, lua: RESERVE });
    this.redis.defineCommand('tollgateSpendRelease', { numberOfKeys: 1, lua: RELEASE });
    this.redis.on('ready', () => void this.payOwed());
  }

  /** Reserves `amount` µcr under the key's cap; false when that would pass it. */
  /** Reserves `amount` µcr under the key's cap; false when that would pass it. Redis away: a 503 (limits-store). */
  async reserve(keyId: string, cap: bigint, amount: bigint): Promise<boolean> {
    const key = this.prefix + keyId;
    await whenConnected(this.redis);
    for (let i = 0; i < 2; i++) {
      const r = (await onLimitsStore(() => (this.redis as any).tollgateSpendReserve(key, cap.toString(), amount.toString()))) as number;
      if (r !== -1) return r === 1;
      const { rows } = await this.pool.query<{ spent: bigint }>(
        `SELECT coalesce(sum(cost_micros), 0)::bigint AS spent FROM request_log WHERE key_id = $1`,
        [keyId],
      );
      await onLimitsStore(() => this.redis.set(key, rows[0].spent.toString(), 'NX'));
    }
    return false;
  }

  /**
   * Gives back what a request reserved and did not spend. An answer that ends while Redis is
   * away still ends well: the give-back is kept here and sent when Redis is ready again (else
   * the key's cap would stay lowered by it until the counter expires or Redis restarts).
   */
  async release(keyId: string, amount: bigint): Promise<void> {
    if (amount <= 0n) return;
    const key = this.prefix + keyId;
    try {
      await (this.redis as any).tollgateSpendRelease(key, amount.toString());
    } catch (err) {
      this.owed.set(key, (this.owed.get(key) ?? 0n) + amount);
      if (this.owed.size === 1) this.log.warn(`spending-cap give-backs wait for Redis: ${(err as Error).message}`);
    }
  }

  /** Sends the give-backs kept while Redis was away; one that fails again stays owed. */
  private async payOwed(): Promise<void> {
    for (const [key, amount] of [...this.owed]) {
      this.owed.delete(key);
      try {
        await (this.redis as any).tollgateSpendRelease(key, amount.toString());
      } catch {
        this.owed.set(key, (this.owed.get(key) ?? 0n) + amount);
        return;
      }
    }
  }
}
