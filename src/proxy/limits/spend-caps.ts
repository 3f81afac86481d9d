/**
 * A key's spending cap (KeyLimitsChanged.spendCapMicros): what the key has spent, plus what
 * its requests in flight may still cost, must stay within the cap. Kept in Redis so every
 * instance counts together: a request reserves its worst case atomically with the check, and
 * gives back the difference when it settles. A missing counter starts from what the key spent
 * by the per-key spend read model (built from the ledger's events, so it outlives the request
 * log's retention): a Redis restart does not reset a cap.
 */
import './lua-commands';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { REDIS, REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';
import { onLimitsStore, whenConnected } from './limits-store';
import { KeySpendRepository } from './key-spend.repository';

// KEYS[1]: counter. ARGV: cap, amount. Returns 1 if reserved, 0 if it would pass the cap, -1 if the counter is missing.
const RESERVE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if tonumber(cur) + tonumber(ARGV[2]) > tonumber(ARGV[1]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[2])
return 1
`;

const OWED_RETRY_MS = 1_000;

// KEYS[1]: counter, KEYS[2]: this give-back's token. ARGV: amount, token ttl. Gives back once
// per token: a give-back that timed out may still have reached Redis (a stalled server runs it
// when it wakes), so its retry must not give back twice. And only to a counter that exists:
// one lost with an empty Redis is rebuilt from the key's spend, and a negative one would let
// the key overspend.
const RELEASE = `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECRBY', KEYS[1], ARGV[1]) end
return 1
`;
const TOKEN_TTL_SECONDS = 600;

interface GiveBack {
  key: string;
  amount: bigint;
  token: string;
}

@Injectable()
export class SpendCaps {
  private readonly log = new Logger('SpendCaps');
  private readonly prefix: string;
  /** Give-backs Redis did not take (it was away, or did not answer): sent again when it is back. */
  private owed: GiveBack[] = [];
  private retry: NodeJS.Timeout | null = null;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_FACTORY) factory: RedisFactory,
    private readonly spent: KeySpendRepository,
  ) {
    this.prefix = `${factory.prefix}spend:`;
    this.redis.defineCommand('tollgateSpendReserve', { numberOfKeys: 1, lua: RESERVE });
    this.redis.defineCommand('tollgateSpendRelease', { numberOfKeys: 2, lua: RELEASE });
    this.redis.on('ready', () => void this.payOwed());
  }

  /** Reserves `amount` µcr under the key's cap; false when that would pass it. Redis away: a 503 (limits-store). */
  async reserve(keyId: string, cap: bigint, amount: bigint): Promise<boolean> {
    const key = this.prefix + keyId;
    await whenConnected(this.redis);
    for (let i = 0; i < 2; i++) {
      const r = await onLimitsStore(() => this.redis.tollgateSpendReserve(key, cap.toString(), amount.toString()));
      if (r !== -1) return r === 1;
      const spent = await this.spent.totalSpent(keyId);
      await onLimitsStore(() => this.redis.set(key, spent.toString(), 'NX'));
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
    const giveBack = { key: this.prefix + keyId, amount, token: randomUUID() };
    try {
      await this.send(giveBack);
    } catch (err) {
      if (this.owed.length === 0) this.log.warn(`spending-cap give-backs wait for Redis: ${(err as Error).message}`);
      this.owe(giveBack);
    }
  }

  private send(g: GiveBack): Promise<unknown> {
    return this.redis.tollgateSpendRelease(g.key, `${g.key}:giveback:${g.token}`, g.amount.toString(), TOKEN_TTL_SECONDS);
  }

  private owe(g: GiveBack): void {
    this.owed.push(g);
    // A Redis that stalled (no disconnect, so no 'ready' to come) is tried again on a timer.
    if (!this.retry) {
      this.retry = setTimeout(() => {
        this.retry = null;
        void this.payOwed();
      }, OWED_RETRY_MS);
      this.retry.unref();
    }
  }

  /** Sends the give-backs kept while Redis was away; the first that fails again stays owed, with those after it. */
  private async payOwed(): Promise<void> {
    const pending = this.owed;
    this.owed = [];
    for (let i = 0; i < pending.length; i++) {
      try {
        await this.send(pending[i]);
      } catch {
        for (const g of pending.slice(i)) this.owe(g);
        return;
      }
    }
  }
}
