/**
 * The retention pass on a schedule (USAGE_RETENTION_EVERY_MS, hourly by default): a BullMQ job
 * scheduler with a fixed id, so every worker shares one schedule, made again when Redis comes
 * back empty (ScheduledJob). A worker that starts after the last pass is overdue (workers were
 * down) runs it at once, without waiting for the first tick.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { QUEUES } from '../../platform/queue/queues';
import { ScheduledJob } from '../../platform/queue/scheduled-job';
import { UsageRetentionService } from './usage-retention.service';

@Injectable()
export class UsageRetentionJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('UsageRetention');
  private readonly job: ScheduledJob;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly retention: UsageRetentionService,
  ) {
    this.job = new ScheduledJob({
      queue: QUEUES.usageRetention,
      title: 'the usage retention pass',
      everyMs: config.USAGE_RETENTION_EVERY_MS,
      run: async () => {
        await this.retention.run();
      },
    });
  }

  onApplicationBootstrap(): void {
    this.job.start(this.config);
    // Not awaited: Postgres down at start must not hold the worker's start; the schedule runs it later.
    void this.runIfOverdue().catch((err: Error) => this.log.error(`the overdue retention pass failed: ${err.message}`));
  }

  private async runIfOverdue(): Promise<void> {
    const status = await this.retention.status();
    if (!status.overdue) return;
    this.log.log(`the retention pass is overdue (last run ${status.lastRunAt ?? 'never'}): running it now`);
    await this.retention.run();
  }

  /** A catch-up pass under way is not waited for (stopping has a bound); its next run finishes the work. */
  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }
}
