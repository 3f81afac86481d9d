/**
 * The breach-notice fan-out in the worker process: queue 'incident-notices', run every
 * INCIDENT_NOTICE_SWEEP_SECONDS (a scheduled job that comes back by itself when Redis restarts
 * empty) and at once when staff queue notices (NoticesQueue's wake-up). Each run sends every
 * notice due (NoticeSender); a run cut short (a stop, a kill) leaves claims that lapse and are
 * taken by the next run, in this process or another.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { QUEUES } from '../../../platform/queue/queues';
import { ScheduledJob } from '../../../platform/queue/scheduled-job';
import { NoticeSender } from '../application/notice-sender';

@Injectable()
export class IncidentNoticesJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('IncidentNotices');
  private stopping = false;
  private readonly job: ScheduledJob;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sender: NoticeSender,
  ) {
    this.job = new ScheduledJob({
      queue: QUEUES.incidentNotices,
      title: 'the sending of breach notices',
      everyMs: config.INCIDENT_NOTICE_SWEEP_SECONDS * 1000,
      // A run stops between batches once stopping: at most one batch (a few seconds) to finish.
      closeWaitMs: 10_000,
      run: async () => {
        const { sent, failed } = await this.sender.sendDue(() => this.stopping);
        if (sent || failed) this.log.log(`breach notices: ${sent} sent, ${failed} failed (failed ones are retried with backoff)`);
      },
    });
  }

  onApplicationBootstrap(): void {
    this.job.start(this.config);
  }

  onModuleDestroy(): Promise<void> {
    this.stopping = true;
    return this.job.stop();
  }
}
