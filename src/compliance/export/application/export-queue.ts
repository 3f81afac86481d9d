/**
 * The data-export queue, for the processes that ask for exports (the API; the worker, for the purge's schedule). Made
 * on first use, so a CLI that never queues one never connects to Redis. A job carries the
 * export id only, and is that id: queuing an export twice queues one job.
 */
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { JobData, QUEUES, closeWithin, makeQueue } from '../../../platform/queue/queues';
import { ExportError } from '../domain/export.errors';

/** Build attempts per export (a killed worker's stalled job counts as one too). */
export const EXPORT_ATTEMPTS = 3;
/** How long queuing waits for Redis before the request is answered 503. */
const ADD_WAIT_MS = 5_000;

export type JobState = 'missing' | 'failed' | 'other';
const PURGE_SCHEDULER = 'data-export-purge-schedule';

@Injectable()
export class ExportQueue implements OnModuleDestroy {
  private queue: Queue<JobData['data-export']> | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** The periodic purge, as a job scheduler on this queue (made again when Redis lost it). */
  async schedulePurge(everyMs: number): Promise<void> {
    await this.q().upsertJobScheduler(PURGE_SCHEDULER, { every: everyMs }, { name: 'purge', data: {}, opts: { removeOnComplete: true, removeOnFail: 100, attempts: 1 } });
  }

  async hasPurgeSchedule(): Promise<boolean> {
    return (await this.q().getJobScheduler(PURGE_SCHEDULER)) != null;
  }

  async add(exportId: string): Promise<void> {
    const adding = this.q().add(
      'build',
      { exportId },
      { jobId: exportId, attempts: EXPORT_ATTEMPTS, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: true, removeOnFail: 1000 },
    );
    await withinOr(adding, ADD_WAIT_MS, () => new ExportError('export_unavailable', 'the export could not be queued (the job queue cannot be reached); try again shortly', { retryAfterSeconds: 5 }));
  }

  /** Whether the export's job is still in Redis, and whether BullMQ gave up on it. */
  async stateOf(exportId: string): Promise<JobState> {
    const job = await this.q().getJob(exportId);
    if (!job) return 'missing';
    return (await job.getState()) === 'failed' ? 'failed' : 'other';
  }

  onModuleDestroy(): void {
    // Nothing to flush (adds are awaited by their requests): the process's shutdown does not
    // wait for the close (with Redis away, BullMQ's commands would wait for Redis).
    if (this.queue) void closeWithin(this.queue, 200);
  }

  private q(): Queue<JobData['data-export']> {
    if (!this.queue) {
      this.queue = makeQueue(QUEUES.dataExport, this.config.REDIS_URL, this.config.REDIS_KEY_PREFIX);
      // BullMQ reports a Redis outage here; the caller's bounded wait says it to the person.
      this.queue.on('error', () => undefined);
    }
    return this.queue;
  }
}

async function withinOr<T>(p: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
