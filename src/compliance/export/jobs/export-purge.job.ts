/**
 * Exports are deleted 24 hours after they are ready (the row stays, so a late download is told
 * 410 export_expired): a scheduled job every EXPORT_PURGE_EVERY_MS (10 minutes by default),
 * which also queues again an export whose job Redis lost, and fails one that cannot be built.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { QUEUES } from '../../../platform/queue/queues';
import { ScheduledJob } from '../../../platform/queue/scheduled-job';
import { ExportsService } from '../application/exports.service';

@Injectable()
export class ExportPurgeJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('DataExportPurge');
  private readonly job: ScheduledJob;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly exports: ExportsService,
  ) {
    this.job = new ScheduledJob({
      queue: QUEUES.dataExportPurge,
      title: 'the purge of expired data exports',
      everyMs: config.EXPORT_PURGE_EVERY_MS,
      run: async () => {
        const r = await this.exports.purge();
        if (r.expired) this.log.log(`deleted ${r.expired} expired export(s)`);
      },
    });
  }

  onApplicationBootstrap(): void {
    this.job.start(this.config);
  }

  onModuleDestroy(): Promise<void> {
    return this.job.stop();
  }
}
