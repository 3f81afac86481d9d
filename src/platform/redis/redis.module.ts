/**
 * The process's Redis connections: one for commands (rate limits, counters), and a factory for
 * subscriber connections (a connection in subscribe mode can do nothing else). BullMQ makes
 * its own connections from the same URL (see platform/queue).
 *
 * KEY_PREFIX namespaces every key and channel, so tests (and several deployments sharing one
 * Redis) never see each other's data. Nothing stored here is request or response content.
 */
import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../../config/config';

export const REDIS = Symbol('REDIS');
export const REDIS_FACTORY = Symbol('REDIS_FACTORY');

export interface RedisFactory {
  /** Prefix for every key and pub/sub channel of this deployment. */
  readonly prefix: string;
  /** A new connection (for a subscriber, or a BullMQ queue); closed with the process. */
  create(purpose: string, options?: RedisOptions): Redis;
}

export function redisFactory(url: string, prefix: string): RedisFactory & { closeAll(): Promise<void> } {
  const made = new Set<Redis>();
  return {
    prefix,
    create(purpose, options = {}) {
      // disconnectTimeout: ioredis waits this long (2 s by default, on a timer that keeps the
      // process alive) for a closed socket to say so, and a socket that never connected never
      // does: a CLI command or test would linger 2 s after giving up on an unreachable Redis.
      const client = new Redis(url, { connectionName: `tollgate-${purpose}`, lazyConnect: false, disconnectTimeout: 200, ...options });
      client.on('error', () => undefined); // ioredis reconnects; callers see failed commands, not a crash
      made.add(client);
      client.once('end', () => made.delete(client));
      return client;
    },
    async closeAll() {
      await Promise.all([...made].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(REDIS_FACTORY) private readonly factory: ReturnType<typeof redisFactory>) {}

  async onApplicationShutdown(): Promise<void> {
    await this.factory.closeAll();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS_FACTORY,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => redisFactory(config.REDIS_URL, config.REDIS_KEY_PREFIX),
    },
    {
      provide: REDIS,
      inject: [REDIS_FACTORY],
      // Auto-pipelining: commands issued in the same tick (rate limits of many concurrent
      // requests) go out in one write. Socket writes were a fifth of the proxy's CPU time.
      useFactory: (factory: RedisFactory) => factory.create('commands', { enableAutoPipelining: true }),
    },
    RedisCloser,
  ],
  exports: [REDIS, REDIS_FACTORY],
})
export class RedisModule {}
