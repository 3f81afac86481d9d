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
      await Promise.all([...made].map(closeBounded));
    },
  };
}

/**
 * The commands connection serves requests: rate limits and spending caps. While Redis is away,
 * waiting for it cannot help a request (its client would rather retry elsewhere, or later), so
 * commands fail at once instead of queueing (ioredis queued them, retried 20 times, and a
 * request hung ~10 s before a 500), and a command Redis does not answer fails after
 * REDIS_COMMAND_TIMEOUT_MS. The callers answer 503 with retry-after (proxy/limits); one that
 * finds the connection still being made (the first requests of a process) waits for it as long.
 */
export function requestPathOptions(config: Pick<AppConfig, 'REDIS_COMMAND_TIMEOUT_MS'>): RedisOptions {
  return { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS };
}

const QUIT_WAIT_MS = 1_000;

/**
 * QUIT lets Redis finish what was sent; but a connection that is down would queue the QUIT
 * until Redis returns (a SIGTERM during an outage never exited), so such a connection is just
 * dropped, and a QUIT not answered within QUIT_WAIT_MS gives way to a drop.
 */
async function closeBounded(c: Redis): Promise<void> {
  if (c.status !== 'ready') return c.disconnect();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, QUIT_WAIT_MS);
  });
  await Promise.race([c.quit().catch(() => undefined), late]).finally(() => clearTimeout(timer));
  if ((c.status as string) !== 'end') c.disconnect();
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
      inject: [REDIS_FACTORY, APP_CONFIG],
      // Auto-pipelining: commands issued in the same tick (rate limits of many concurrent
      // requests) go out in one write. Socket writes were a fifth of the proxy's CPU time.
      useFactory: (factory: RedisFactory, config: AppConfig) => factory.create('commands', { enableAutoPipelining: true, ...requestPathOptions(config) }),
    },
    RedisCloser,
  ],
  exports: [REDIS, REDIS_FACTORY],
})
export class RedisModule {}
