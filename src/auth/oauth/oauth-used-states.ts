/**
 * A state is good for one callback. The cookie alone cannot say it was used (a copy of the
 * cookie and the callback URL could be sent again), so the first callback claims the state's
 * hash in Redis until the state would have expired anyway. Redis unreachable: the sign-in is
 * refused (503), not waved through.
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { REDIS, REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';
import { ApiError } from '../../platform/http/api-error';

@Injectable()
export class UsedOAuthStates {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_FACTORY) factory: RedisFactory,
  ) {
    this.prefix = `${factory.prefix}oauth-state:`;
  }

  /** True for the first claim of `state`; false when it was claimed before. */
  async claim(state: string, expiresAt: number, now: number): Promise<boolean> {
    const key = this.prefix + createHash('sha256').update(state).digest('base64url');
    const ttlSeconds = Math.max(1, Math.ceil((expiresAt - now) / 1000));
    try {
      return (await this.redis.set(key, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
    } catch (err) {
      throw new ApiError('unavailable', `sign-in is unavailable for a moment (the state store did not answer: ${(err as Error).message}); try again`, {
        retryAfterSeconds: 5,
      });
    }
  }
}
