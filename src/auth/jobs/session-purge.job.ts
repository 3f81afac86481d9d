/**
 * Expired sessions are deleted (the product keeps sessions 7 days): a scheduled job every 15
 * minutes, so "at least hourly" holds even when a run is missed; a worker that was down runs it
 * within 15 minutes of coming back. An expired session is refused at once anyway (its expiry is
 * checked on every request); this is about not keeping the row.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { QUEUES } from '../../platform/queue/queues';
import { ScheduledJob } from '../../platform/queue/scheduled-job';
import { SessionsService } from '../sessions/sessions.service';

export const SESSION_PURGE_EVERY_MS = 15 * 60_000;

@Injectable()
export class SessionPurgeJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('SessionPurge');
  private readonly job = new ScheduledJob({
    queue: QUEUES.sessionPurge,
    title: 'the purge of expired sessions',
    everyMs: SESSION_PURGE_EVERY_MS,
    // The default close wait: a run stopped at 0 ms left BullMQ 5 retrying to finish its job on a
    // closed connection in a tight loop, and the process never exited (seen with the chain scan).
    run: async () => {
      const purged = await this.sessions.purgeExpired();
      if (purged) this.log.log(`deleted ${purged} expired session(s)`);
    },
  });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: SessionsService,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start(this.config);
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }
}
