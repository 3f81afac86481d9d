/**
 * Tells every running API instance that the channels table changed, over Redis pub/sub on
 * `<prefix>channels`. The message carries no data (instances reload from Postgres), so it can
 * never leak a key. A lost message costs at most the directory's fallback reload interval.
 */
import { Inject, Injectable } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';

const PUBLISH_TIMEOUT_MS = 2_000;

export function channelsTopic(prefix: string): string {
  return `${prefix}channels`;
}

@Injectable()
export class ChannelChangeNotifier {
  private readonly topic: string;
  private connection: Redis | undefined;

  constructor(@Inject(REDIS_FACTORY) private readonly redis: RedisFactory) {
    this.topic = channelsTopic(redis.prefix);
  }

  /**
   * True when Redis took the message. False (never a throw) when Redis is unreachable: the
   * change is already committed, and instances will find it on their next periodic reload.
   *
   * A connection of its own without an offline queue: on the shared one, a publish queued
   * while Redis is down would hold up every later command, and the CLI's exit, for ~10 s.
   */
  async publish(): Promise<boolean> {
    const conn = (this.connection ??= this.redis.create('channels-notifier', { lazyConnect: true, enableOfflineQueue: false }));
    try {
      if (conn.status !== 'ready') {
        const ready = new Promise<void>((resolve) => conn.once('ready', () => resolve()));
        if (conn.status === 'wait') conn.connect().catch(() => undefined); // errors: see the timeout
        await within(ready, PUBLISH_TIMEOUT_MS);
      }
      await within(conn.publish(this.topic, 'changed'), PUBLISH_TIMEOUT_MS);
      return true;
    } catch {
      // Start afresh next time rather than keep a connection retrying in the background.
      conn.disconnect();
      this.connection = undefined;
      return false;
    }
  }
}

async function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
