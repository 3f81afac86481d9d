/**
 * Builds data exports: the BullMQ worker of the `data-export` queue. A job is one export (job
 * id = export id). A build that throws is retried with backoff, EXPORT_ATTEMPTS times in all;
 * after the last the export is failed (the person may ask again). A worker killed mid-build
 * loses its job lock after EXPORT_JOB_LOCK_MS, and BullMQ hands the stalled job to another
 * worker, whose attempt claims the export anew (exports.service.ts: one finished zip).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Job, Worker } from 'bullmq';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { JobData, QUEUES, bullConnection, bullPrefix, closeWithin } from '../../../platform/queue/queues';
import { EXPORT_ATTEMPTS } from '../application/export-queue';
import { ExportsService } from '../application/exports.service';

/** Exports built at once per worker process: each holds one database connection for its snapshot. */
const CONCURRENCY = 2;
const CLOSE_WAIT_MS = 2_000;

@Injectable()
export class ExportBuildWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('DataExport');
  private worker: Worker<JobData['data-export']> | null = null;
  private saidDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly exports: ExportsService,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = new Worker<JobData['data-export']>(QUEUES.dataExport, (job) => this.run(job), {
      connection: bullConnection(this.config.REDIS_URL),
      prefix: bullPrefix(this.config.REDIS_KEY_PREFIX),
      concurrency: CONCURRENCY,
      lockDuration: this.config.EXPORT_JOB_LOCK_MS,
      stalledInterval: this.config.EXPORT_JOB_LOCK_MS,
      // A stalled job (its worker died) is retried this many times before BullMQ fails it.
      maxStalledCount: EXPORT_ATTEMPTS,
    });
    this.worker.on('error', (err) => {
      if (this.saidDown) return;
      this.saidDown = true;
      this.log.warn(`the data-export worker: ${err.message}; it goes on once Redis answers`);
    });
    this.worker.on('completed', () => (this.saidDown = false));
    this.worker.on('failed', (job, err) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        void this.exports.giveUp(job.data.exportId, `the build failed ${job.attemptsMade} times: ${err.message}`).catch(() => undefined);
      }
    });
  }

  private async run(job: Job<JobData['data-export']>): Promise<void> {
    try {
      await this.exports.build(job.data.exportId);
    } catch (err) {
      this.log.error(`export ${job.data.exportId}, attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}, failed: ${(err as Error).message}`);
      throw err;
    }
  }

  async onModuleDestroy(): Promise<void> {
    if (this.worker) await closeWithin(this.worker, CLOSE_WAIT_MS);
  }
}
