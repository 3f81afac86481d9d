/**
 * Expired sign-in links are deleted (used or not): their rows hold a sealed address, kept no
 * longer than needed. Every 15 minutes, like the session purge; an expired link is refused at
 * once anyway (its expiry is checked on use), this is about not keeping the row.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { QUEUES } from '../../platform/queue/queues';
import { ScheduledJob } from '../../platform/queue/scheduled-job';
import { MagicLinkTokensRepository } from './magic-link-tokens.repository';

export const MAGIC_LINK_PURGE_EVERY_MS = 15 * 60_000;

@Injectable()
export class MagicLinkPurgeJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('MagicLinkPurge');
  private readonly job = new ScheduledJob({
    queue: QUEUES.magicLinkPurge,
    title: 'the purge of expired sign-in links',
    everyMs: MAGIC_LINK_PURGE_EVERY_MS,
    // The default close wait: a run stopped at 0 ms left BullMQ 5 retrying to finish its job on a
    // closed connection in a tight loop, and the process never exited (seen with the chain scan).
    run: async () => {
      const purged = await this.links.purgeExpired(this.clock.now());
      if (purged) this.log.log(`deleted ${purged} expired sign-in link(s)`);
    },
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly links: MagicLinkTokensRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start(this.config);
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }
}
