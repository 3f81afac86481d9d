/**
 * Requests and tokens per minute, per key and per account, counted in Redis so every instance
 * counts together. Fixed one-minute windows (keys carry the minute number and expire with it).
 * Tokens are counted at admission as the request's worst case (input estimate + maximum
 * output), as the providers themselves count max_tokens toward their limits.
 *
 * Two ways to count, by the size of the limit:
 * - small limits (under EXACT_BELOW per minute, e.g. a key allowed 60 requests) are exact: one
 *   script call per request checks every counter and, only if all have room, takes from all;
 * - large ones (the account defaults, thousands per minute) are counted here and added to Redis
 *   every FLUSH_MS in one pipeline, whose answers bring back what every instance has used. They
 *   can overshoot by what all instances admit within one flush interval (a fraction of a
 *   percent of such a limit), and cost no Redis round trip per request: that round trip was a
 *   tenth of the proxy's CPU time.
 * A refused request uses up nothing. A request admitted on a tokens figure that its hold then
 * tightens (the exact tokenizer's bound, metering/precise-bound.ts) gives the difference back
 * (giveBack), so the tokens counters hold the bound the request was actually admitted on.
 */
import './lua-commands';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';
import { REDIS, REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';
import { CLOCK, Clock } from '../../platform/clock';
import { onLimitsStore, whenConnected } from './limits-store';
import { afterQueuedIo } from '../../platform/after-queued-io';

export interface Limit {
  /** What the counter is for, reported when it refuses: e.g. "key requests per minute". */
  label: string;
  id: string;
  /** What it counts: a refusal on tokens may be retried with a tighter bound on them. */
  unit: 'requests' | 'tokens';
  limit: number;
  cost: number;
}

/** The tokens counters an admission took from, for giveBack. */
export interface Taken {
  tokenKeys: string[];
  exact: boolean;
}

export type Admission =
  | { ok: true; taken: Taken }
  | { ok: false; label: string; unit: Limit['unit']; limit: number; retryAfterSeconds: number };

const NOTHING_TAKEN: Taken = { tokenKeys: [], exact: false };

export const EXACT_BELOW = 1_000;
const FLUSH_MS = 20;
const FLUSH_RETRY_MS = 1_000;
const TTL_SECONDS = 70;

// KEYS: counters; ARGV: ttl, then per counter: limit, cost. Returns 0, or the 1-based index of
// the first counter without room.
const SCRIPT = `
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS do
  local limit = tonumber(ARGV[i * 2])
  local cost = tonumber(ARGV[i * 2 + 1])
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used + cost > limit then return i end
end
for i = 1, #KEYS do
  local cost = tonumber(ARGV[i * 2 + 1])
  if redis.call('INCRBY', KEYS[i], cost) == cost then redis.call('EXPIRE', KEYS[i], ttl) end
end
return 0
`;

// KEYS: counters; ARGV: the amount. Lowers each by it, never below zero, never making a counter
// (one gone with its minute, or with Redis's data, stays gone); DECRBY keeps the expiry.
const GIVE_BACK = `
local amount = tonumber(ARGV[1])
for i = 1, #KEYS do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  local back = math.min(used, amount)
  if back > 0 then redis.call('DECRBY', KEYS[i], back) end
end
return 0
`;

interface Counter {
  /** Everyone's use as of our last exchange with Redis (ours included). */
  known: number;
  /** Ours since then, not yet in Redis. */
  pending: number;
  /** When `known` was learnt (clock ms); 0: never. */
  syncedAt: number;
  /**
   * Admissions told to go ahead early (admit's `early`) whose verdict from Redis is still on its
   * way: counted in the forecast for the next, so a burst on old counts gets no more early words
   * than its own counts have room for (each early word is an upstream call that a refusal aborts).
   */
  ahead: number;
}

// An instance idle for a while knows an old total: it asks before admitting on it again.
const STALE_MS = 1_000;

@Injectable()
export class RateLimiter implements OnModuleDestroy {
  private readonly log = new Logger('RateLimiter');
  private readonly prefix: string;
  private readonly counters = new Map<string, Counter>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private saidFlushFailed = false;
  private stopped = false;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_FACTORY) factory: RedisFactory,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.prefix = `${factory.prefix}rl:`;
    this.redis.defineCommand('tollgateAdmit', { lua: SCRIPT });
    this.redis.defineCommand('tollgateGiveBack', { lua: GIVE_BACK });
  }

  /**
   * The verdict on `limits`, taking from them when it admits. Where this instance's counts are
   * older than STALE_MS, Redis's totals decide. When this instance's own counts would admit,
   * `early` (if given) is called first, so the caller can start work it can still undo (the
   * proxy asks its upstream), and Redis is asked once that work's I/O has gone out; else Redis
   * is asked at once. `early` is a forecast, never the verdict: the promise is.
   */
  async admit(limits: Limit[], early?: () => void): Promise<Admission> {
    const active = limits.filter((l) => l.cost > 0);
    if (active.length === 0) return { ok: true, taken: NOTHING_TAKEN };
    // Even a limit counted here (no round trip) is refused while Redis is away: what other
    // instances admit meanwhile is unknown, and the flush of ours could not happen.
    await whenConnected(this.redis);
    const nowMs = this.clock.now().getTime();
    const minute = Math.floor(nowMs / 60_000);
    const keys = active.map((l) => `${this.prefix}${l.id}:${minute}`);
    const tokenKeys = keys.filter((_, i) => active[i].unit === 'tokens');
    const refuse = (l: Limit): Admission => ({
      ok: false,
      label: l.label,
      unit: l.unit,
      limit: l.limit,
      retryAfterSeconds: Math.max(1, Math.ceil(((minute + 1) * 60_000 - nowMs) / 1000)),
    });

    if (active.some((l) => l.limit < EXACT_BELOW)) {
      const argv: (string | number)[] = [TTL_SECONDS];
      for (const l of active) argv.push(l.limit, l.cost);
      const refused = await onLimitsStore(() => this.redis.tollgateAdmit(keys.length, ...keys, ...argv));
      return refused === 0 ? { ok: true, taken: { tokenKeys, exact: true } } : refuse(active[refused - 1]);
    }

    const counters = keys.map((k) => this.counter(k));
    const over = (ahead: boolean) =>
      active.findIndex((l, i) => counters[i].known + counters[i].pending + (ahead ? counters[i].ahead : 0) + l.cost > l.limit);
    if (counters.some((c) => c.syncedAt < nowMs - STALE_MS)) {
      const ask = () => onLimitsStore(() => this.exchange(keys.map((k, i) => [k, counters[i]])));
      const goesEarly = early !== undefined && over(true) < 0;
      let asked: Promise<void>;
      if (goesEarly) {
        for (let i = 0; i < active.length; i++) counters[i].ahead += active[i].cost;
        early();
        // Asked once the caller's own I/O has gone out (its upstream request): building and
        // writing the pipeline took 0.2-0.4 ms, all of it added to the time to first byte of a
        // request whose counts had aged (every request, at one request a second or fewer).
        asked = afterQueuedIo().then(ask);
      } else {
        asked = ask();
      }
      try {
        await asked;
      } finally {
        if (goesEarly) for (let i = 0; i < active.length; i++) counters[i].ahead -= active[i].cost;
      }
    }
    const refused = over(false);
    if (refused >= 0) return refuse(active[refused]);
    for (let i = 0; i < active.length; i++) counters[i].pending += active[i].cost;
    this.flushSoon();
    return { ok: true, taken: { tokenKeys, exact: false } };
  }

  /**
   * Gives `tokens` back to every tokens counter an admission took from (never below zero). Never
   * throws: Redis failing here leaves the counters high, which refuses early but admits nothing
   * past a limit, so the request goes on.
   */
  async giveBack(taken: Taken, tokens: number): Promise<void> {
    if (tokens <= 0 || taken.tokenKeys.length === 0) return;
    if (!taken.exact) {
      for (const key of taken.tokenKeys) {
        const c = this.counters.get(key); // gone: its minute is over and flushed, nothing left to lower
        if (c) c.pending -= Math.max(0, Math.min(tokens, c.known + c.pending));
      }
      this.flushSoon();
      return;
    }
    try {
      await this.redis.tollgateGiveBack(taken.tokenKeys.length, ...taken.tokenKeys, tokens);
    } catch (err) {
      this.log.warn(`could not give tokens back to their rate-limit counters: ${(err as Error).message}`);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true; // the last flush below is tried once: a stopping process retries nothing
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await this.flushing;
    await this.flush();
  }

  private counter(key: string): Counter {
    let c = this.counters.get(key);
    if (!c) {
      c = { known: 0, pending: 0, syncedAt: 0, ahead: 0 };
      this.counters.set(key, c);
    }
    return c;
  }

  private flushSoon(delayMs = FLUSH_MS): void {
    if (this.flushTimer || this.stopped) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, delayMs);
    this.flushTimer.unref();
  }

  /** Adds what was counted here to Redis, learns everyone's totals, forgets past minutes. */
  private async flush(): Promise<void> {
    const currentMinute = `:${Math.floor(this.clock.now().getTime() / 60_000)}`;
    const sending: Array<[string, Counter]> = [];
    for (const [key, c] of this.counters) {
      if (c.pending !== 0) sending.push([key, c]); // below zero: tokens given back since
      else if (!key.endsWith(currentMinute)) this.counters.delete(key);
    }
    if (sending.length === 0) return;
    try {
      await this.exchange(sending);
      if (this.saidFlushFailed) this.log.log('rate-limit counts reach Redis again');
      this.saidFlushFailed = false;
    } catch (err) {
      // Kept as pending and sent with a later flush; meanwhile this instance still counts them.
      // Said once per outage, and tried every second rather than every FLUSH_MS.
      if (!this.saidFlushFailed) this.log.warn(`could not add rate-limit counts to Redis: ${(err as Error).message}`);
      this.saidFlushFailed = true;
      this.flushSoon(FLUSH_RETRY_MS);
    }
  }

  /** One pipeline: adds each counter's pending use (maybe none) and reads back everyone's total. */
  private async exchange(entries: Array<[string, Counter]>): Promise<void> {
    const sent = entries.map(([, c]) => c.pending);
    const pipeline = this.redis.pipeline();
    entries.forEach(([key], i) => pipeline.incrby(key, sent[i]).expire(key, TTL_SECONDS));
    const results = (await pipeline.exec()) ?? [];
    const at = this.clock.now().getTime();
    entries.forEach(([, c], i) => {
      const [err, total] = results[i * 2] ?? [new Error('no answer')];
      if (err) throw err;
      c.pending -= sent[i];
      c.known = Number(total); // everyone's, ours up to this exchange included
      c.syncedAt = at;
    });
  }
}
