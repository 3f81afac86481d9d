/**
 * The challenges of passkey ceremonies, in Redis so any instance can finish a ceremony another
 * began. Each is good for one ceremony, for CHALLENGE_TTL_SECONDS, and is taken with GETDEL so
 * two requests racing with one response cannot both use it.
 *
 * A registration challenge is bound to the signed-in user (the user id is in its key), so a
 * response obtained in one person's session cannot be completed in another's. A sign-in has
 * no user yet: its challenge is bound to a ceremony id that the browser holds in an httpOnly
 * cookie. Keys hold SHA-256 digests (of the challenge, of the ceremony id), never the value a
 * client presents, so a copy of Redis cannot complete a ceremony.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { ApiError } from '../../platform/http/api-error';
import { REDIS, REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';

export const CHALLENGE_TTL_SECONDS = 300;

const digest = (value: string) => createHash('sha256').update(value).digest('base64url');

@Injectable()
export class PasskeyChallenges {
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_FACTORY) factory: RedisFactory,
  ) {
    this.prefix = `${factory.prefix}passkey:`;
  }

  /** Where a registration challenge of this user lives (tests expire it early through this). */
  registrationKey(userId: string, challenge: string): string {
    return `${this.prefix}reg:${userId}:${digest(challenge)}`;
  }

  loginKey(ceremonyId: string): string {
    return `${this.prefix}login:${digest(ceremonyId)}`;
  }

  async issueRegistration(userId: string, challenge: string): Promise<void> {
    await this.command(() => this.redis.set(this.registrationKey(userId, challenge), '1', 'EX', CHALLENGE_TTL_SECONDS));
  }

  /** True once: when this user was issued this challenge and it is still live. */
  async takeRegistration(userId: string, challenge: string): Promise<boolean> {
    return (await this.command(() => this.redis.getdel(this.registrationKey(userId, challenge)))) !== null;
  }

  /** Stores the challenge of a sign-in; returns the ceremony id for the browser's cookie. */
  async issueLogin(challenge: string): Promise<string> {
    const ceremonyId = randomBytes(32).toString('base64url');
    await this.command(() => this.redis.set(this.loginKey(ceremonyId), challenge, 'EX', CHALLENGE_TTL_SECONDS));
    return ceremonyId;
  }

  /** The challenge of that ceremony, once; null when there is none (used, expired, made up). */
  async takeLogin(ceremonyId: string): Promise<string | null> {
    return this.command(() => this.redis.getdel(this.loginKey(ceremonyId)));
  }

  private async command<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch {
      // Without the challenge store no ceremony can start or finish: 503, and the client retries.
      throw new ApiError('unavailable', 'passkeys are unavailable for a moment; try again shortly', { retryAfterSeconds: 5 });
    }
  }
}
