/**
 * Data exports in the worker: the BullMQ worker of the `data-export` queue, for two kinds of job.
 * - `build`: one export (job id = export id). A build that throws is retried with backoff,
 *   EXPORT_ATTEMPTS times in all; after the last the export is failed (the person may ask
 *   again). A worker killed mid-build loses its job lock after EXPORT_JOB_LOCK_MS, and BullMQ
 *   hands the stalled job to another worker, whose attempt claims the export anew
 *   (exports.service.ts: one finished zip).
 * - `purge`, from a job scheduler every EXPORT_PURGE_EVERY_MS: exports past their 24 hours are
 *   deleted (ExportsService.purge). The scheduler is made again when Redis comes back empty
 *   (checked every period), as ScheduledJob does; it shares this worker rather than adding a
 *   queue and a worker of its own (each BullMQ worker adds to the time a stopping process
 *   spends closing its connections).
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Job, Worker } from 'bullmq';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { JobData, QUEUES, bullConnection, bullPrefix, bullmq, closeWithin } from '../../../platform/queue/queues';
import { EXPORT_ATTEMPTS, ExportQueue } from '../application/export-queue';
import { ExportsService } from '../application/exports.service';

/** Exports built at once per worker process: each holds one database connection for its snapshot. */
const CONCURRENCY = 2;
// A build under way gets 2 s to stop, and with Redis away 0.1 s; idle, the close is not waited
// for (there is nothing to finish). A build cut short is taken over once its lock lapses.
const CLOSE_WAIT_MS = 2_000;
const REDIS_DOWN_CLOSE_WAIT_MS = 100;

@Injectable()
export class ExportBuildWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('DataExport');
  private worker: Worker<JobData['data-export']> | null = null;
  private watch: NodeJS.Timeout | null = null;
  private saidDown = false;
  private running = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly exports: ExportsService,
    private readonly queue: ExportQueue,
  ) {}

  onApplicationBootstrap(): void {
    const { Worker } = bullmq();
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
      if (job?.name === 'build' && job.data.exportId && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        void this.exports.giveUp(job.data.exportId, `the build failed ${job.attemptsMade} times: ${err.message}`).catch(() => undefined);
      }
    });
    const every = this.config.EXPORT_PURGE_EVERY_MS;
    // Not awaited: a Redis that is down at start would hold the start; the watch schedules it later.
    void this.queue.schedulePurge(every).catch((err: Error) => this.log.warn(`could not schedule the purge of expired exports: ${err.message}`));
    let looking = false;
    this.watch = setInterval(() => {
      if (looking) return;
      looking = true;
      this.queue
        .hasPurgeSchedule()
        .then(async (found) => {
          if (found) return;
          await this.queue.schedulePurge(every);
          this.log.warn('the purge of expired exports was missing from Redis (it came back empty?); scheduled it again');
        })
        .catch(() => undefined) // Redis away: said once by the worker's error above
        .finally(() => (looking = false));
    }, Math.min(every, 60_000));
    this.watch.unref();
  }

  private async run(job: Job<JobData['data-export']>): Promise<void> {
    if (job.name === 'purge') {
      const r = await this.exports.purge();
      if (r.expired) this.log.log(`deleted ${r.expired} expired export(s)`);
      return;
    }
    const exportId = job.data.exportId;
    if (!exportId) return;
    this.running++;
    try {
      await this.exports.build(exportId);
    } catch (err) {
      this.log.error(`export ${exportId}, attempt ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}, failed: ${(err as Error).message}`);
      throw err;
    } finally {
      this.running--;
    }
  }

  async onModuleDestroy(): Promise<void> {
    if (this.watch) clearInterval(this.watch);
    if (!this.worker) return;
    const closing = closeWithin(this.worker, this.saidDown ? REDIS_DOWN_CLOSE_WAIT_MS : CLOSE_WAIT_MS);
    if (this.running > 0) await closing;
  }
}
