/**
 * The enabled channels of this instance, in memory, keys decrypted: routing reads them on
 * every request without a query. Kept fresh by a Redis pub/sub notice on `<prefix>channels`
 * (sent by the CLI and the seeder on every change), and, as a fallback for a lost notice or a
 * Redis outage, by a reload every 30 seconds. A failed reload keeps the last good list.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type Redis from 'ioredis';
import { REDIS_FACTORY, RedisFactory } from '../../platform/redis/redis.module';
import { Channel } from './channel';
import { channelsTopic } from './channel-change-notifier';
import { ChannelRepository } from './channel.repository';

export const CHANNEL_RELOAD_INTERVAL_MS = 30_000;
const SUBSCRIBE_WAIT_MS = 2_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

@Injectable()
export class ChannelDirectory implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('ChannelDirectory');
  private channels: readonly Channel[] = [];
  private byId = new Map<string, Channel>();
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  private subscriber: Redis | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reported = new Set<string>(); // unreadable channels already logged, to say it once
  private summary = '';
  private started = false;

  constructor(
    private readonly repository: ChannelRepository,
    @Inject(REDIS_FACTORY) private readonly redis: RedisFactory,
  ) {}

  /** Enabled channels with a readable key, highest priority first. The same array until a reload. */
  list(): readonly Channel[] {
    return this.channels;
  }

  get(id: string): Channel | undefined {
    return this.byId.get(id);
  }

  // After every onModuleInit, so the seeder (API) has written the env channels by now.
  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // Subscribed before the first load, so no change falls between the two. Redis gets a
    // moment, not a veto: start-up does not wait on it, and a late subscription reloads.
    const subscribed = this.listen();
    const inTime = await Promise.race([subscribed, delay(SUBSCRIBE_WAIT_MS).then(() => 'late' as const)]);
    if (inTime === 'late') {
      void subscribed.then(async (ok) => {
        if (ok) await this.reloadQuietly('subscribed late');
      });
    }
    await this.reloadQuietly('start'); // not fatal: with the database down the API still starts
    this.timer = setInterval(() => void this.reloadQuietly('periodic'), CHANNEL_RELOAD_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }

  /**
   * Loads the list again. Calls during a load share one follow-up load, so a burst of notices
   * costs two queries, and the last of them sees every change announced before it.
   */
  reload(): Promise<void> {
    if (!this.inFlight) {
      this.inFlight = this.load().finally(() => {
        this.inFlight = null;
      });
      return this.inFlight;
    }
    this.queued ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.reload();
      });
    return this.queued;
  }

  /**
   * Before a request is refused for want of a channel: the list as the database has it now
   * (a channel added elsewhere whose notice was lost must not wait for the periodic reload).
   * Callers during a load share its one follow-up (reload()), so a flood of such requests
   * keeps at most one query running; a failed load keeps the list.
   */
  refresh(): Promise<void> {
    return this.reloadQuietly('a request found no channel');
  }

  /** Resolves true once subscribed, false when Redis refused. */
  private listen(): Promise<boolean> {
    const topic = channelsTopic(this.redis.prefix);
    const sub = this.redis.create('channels-subscriber');
    this.subscriber = sub;
    sub.on('message', (channel: string) => {
      if (channel === topic) void this.reloadQuietly('notified');
    });
    // After a reconnect notices may have been missed; ioredis subscribes again by itself.
    let connectedBefore = false;
    sub.on('ready', () => {
      if (connectedBefore) void this.reloadQuietly('redis reconnected');
      connectedBefore = true;
    });
    return sub.subscribe(topic).then(
      () => true,
      (err: Error) => {
        this.log.warn(`cannot subscribe to channel changes (${err.message}); reloading every ${CHANNEL_RELOAD_INTERVAL_MS / 1000} s only`);
        return false;
      },
    );
  }

  private async reloadQuietly(why: string): Promise<void> {
    try {
      await this.reload();
    } catch (err) {
      this.log.warn(`channel reload (${why}) failed, keeping the ${this.channels.length} channels loaded before: ${(err as Error).message}`);
    }
  }

  private async load(): Promise<void> {
    const { channels, unreadable } = await this.repository.loadForRouting();
    for (const u of unreadable) {
      if (this.reported.has(u.id)) continue;
      this.reported.add(u.id);
      this.log.error(`channel ${u.name} (${u.id}) is left out of routing: its key does not decrypt (${u.reason}); was ENCRYPTION_KEY changed?`);
    }
    this.reported = new Set([...this.reported].filter((id) => unreadable.some((u) => u.id === id)));
    this.channels = Object.freeze(channels);
    this.byId = new Map(channels.map((c) => [c.id, c]));
    const summary = channels.map((c) => `${c.name}(${c.provider},p${c.priority},w${c.weight})`).join(' ');
    if (summary !== this.summary) {
      this.summary = summary;
      this.log.log(`${channels.length} channel(s) enabled: ${summary || 'none'}`);
    }
  }
}
