/**
 * The Lua commands the limits define on their Redis connection (defineCommand), declared on
 * ioredis' command interface so they are called typed rather than through `any`.
 */
import type { ClientContext, Result } from 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    /** rate-limiter.ts: numKeys, then the keys, then per key its limit and cost; 0 or the index + 1 of the limit refused. */
    tollgateAdmit(numKeys: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
    /** rate-limiter.ts: numKeys, then the keys, then the amount each is lowered by (not below zero). */
    tollgateGiveBack(numKeys: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
    /** spend-caps.ts: 1 reserved, 0 past the cap, -1 the counter is missing. */
    tollgateSpendReserve(key: string, cap: string, amount: string): Result<number, Context>;
    /** spend-caps.ts: gives back `amount` once per token. */
    tollgateSpendRelease(key: string, tokenKey: string, amount: string, tokenTtlSeconds: number): Result<number, Context>;
  }
}
