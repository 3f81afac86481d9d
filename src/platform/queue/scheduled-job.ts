/**
 * A periodic job that survives Redis: a BullMQ job scheduler (one run at a time across every
 * worker process), re-created by each worker when Redis comes back empty and has lost it
 * (checked every period), with a Redis outage said once and its end said once. A run that
 * throws is logged by name and tried again at the next tick, never retried in a tight loop.
 *
 * The hold sweep (ledger/jobs/hold-expiry.job.ts) predates this and also waits for its read
 * model to exist; jobs without such a wait use this.
 */
import { Logger } from '@nestjs/common';
import type { Queue, Worker } from 'bullmq';
import { AppConfig } from '../../config/config';
import { QueueName, closeWithin, makeQueue, makeWorker } from './queues';

const CLOSE_WAIT_MS = 2_000;
const REDIS_DOWN_CLOSE_WAIT_MS = 100;
// Idle (no run under way), stopping only waits this long for BullMQ to close before dropping its
// connections: with Redis gone, close() would wait for it, and Nest stops modules one after
// another within one shutdown bound.
const IDLE_CLOSE_WAIT_MS = 500;

export interface ScheduledJobSpec {
  queue: QueueName;
  /** What the logs call it: "the session purge". */
  title: string;
  everyMs: number;
  run(): Promise<void>;
  /**
   * How long stopping waits for a run under way (default 2 s; idle, it closes within 0.5 s). Not 0:
   * a worker disconnected under a running job leaves BullMQ 5 retrying to finish that job on
   * the closed connection in a tight loop, and the process never exits.
   */
  closeWaitMs?: number;
}

/**
 * The jobs started with one config object (one app: an API, a worker, or an app in a test). Nest
 * stops modules one after another; when the first of these jobs is stopped, all of them start
 * closing side by side, so stopping N idle jobs costs one close wait, not N (with Redis gone,
 * nine jobs at 0.5 s each were past the worker's 4 s shutdown bound).
 */
const started = new WeakMap<object, Set<ScheduledJob>>();

export class ScheduledJob {
  private readonly log: Logger;
  private closing: Promise<void> | null = null;
  /** The config this job was started with (its group's key in `started`). */
  private config: object | null = null;
  private queue: Queue | null = null;
  private worker: Worker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private saidRedisDown = false;
  private running = false;

  constructor(private readonly spec: ScheduledJobSpec) {
    this.log = new Logger(spec.queue);
  }

  start(config: Pick<AppConfig, 'REDIS_URL' | 'REDIS_KEY_PREFIX'>): void {
    const { REDIS_URL, REDIS_KEY_PREFIX } = config;
    const group = started.get(config) ?? new Set<ScheduledJob>();
    started.set(config, group.add(this));
    this.config = config;
    this.queue = makeQueue(this.spec.queue, REDIS_URL, REDIS_KEY_PREFIX);
    this.queue.on('error', (err) => this.sayRedisError(err));
    // Not awaited: a Redis that is down at start would hold the process's start until it
    // answers (BullMQ's commands wait for it); the watch below schedules it again if this fails.
    void this.schedule().catch((err: Error) => this.log.error(`could not schedule ${this.spec.title}: ${err.message}`));
    this.worker = makeWorker(
      this.spec.queue,
      REDIS_URL,
      REDIS_KEY_PREFIX,
      async () => {
        this.running = true;
        try {
          await this.spec.run();
        } catch (err) {
          this.log.error(`${this.spec.title} failed: ${(err as Error).message}; it runs again in ${Math.round(this.spec.everyMs / 1000)} s`);
          throw err;
        } finally {
          this.running = false;
        }
      },
      1,
    );
    this.worker.on('error', (err) => this.sayRedisError(err));
    this.worker.on('completed', () => this.sayRedisBack());
    this.watch();
  }

  private schedule(): Promise<unknown> {
    return this.queue!.upsertJobScheduler(
      `${this.spec.queue}-schedule`,
      { every: this.spec.everyMs },
      // attempts 1: a failed run waits for the next tick instead of being retried at once.
      { name: 'run', data: {}, opts: { removeOnComplete: true, removeOnFail: 100, attempts: 1 } },
    );
  }

  /** Every period: is the scheduler still in Redis? Made again when not (Redis came back empty). */
  private watch(): void {
    let looking = false;
    this.timer = setInterval(() => {
      if (looking || this.stopped || !this.queue) return;
      looking = true;
      this.queue
        .getJobScheduler(`${this.spec.queue}-schedule`)
        .then(async (found) => {
          if (found || this.stopped) return;
          await this.schedule();
          this.log.warn(`${this.spec.title} was missing from Redis (it came back empty?); scheduled it again`);
        })
        .catch((err: Error) => this.log.warn(`could not check the schedule of ${this.spec.title}: ${err.message}`))
        .finally(() => (looking = false));
    }, Math.min(this.spec.everyMs, 60_000));
    this.timer.unref();
  }

  private sayRedisError(err: Error): void {
    if (this.saidRedisDown) return;
    this.saidRedisDown = true;
    this.log.warn(`${this.spec.title}: ${err.message}; it runs again once Redis answers`);
  }

  private sayRedisBack(): void {
    if (!this.saidRedisDown) return;
    this.saidRedisDown = false;
    this.log.log(`${this.spec.title} runs again`);
  }

  /** Stops this job, and starts closing every other job of its app beside it (see `started`). */
  stop(): Promise<void> {
    const group = this.config ? started.get(this.config) : undefined;
    if (this.config && group) {
      started.delete(this.config);
      for (const job of group) if (job !== this) void job.close().catch(() => undefined);
    }
    return this.close();
  }

  private close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // A run under way gets its close wait (dropping the connections under a running job leaves
    // BullMQ 5 retrying to finish it on a closed connection, forever); an idle job closes at once.
    // With Redis away there is nothing to flush: waiting would only spend the shutdown bound.
    const wait = Math.min(this.running ? (this.spec.closeWaitMs ?? CLOSE_WAIT_MS) : IDLE_CLOSE_WAIT_MS, this.saidRedisDown ? REDIS_DOWN_CLOSE_WAIT_MS : Infinity);
    await Promise.all([this.worker && closeWithin(this.worker, wait), this.queue && closeWithin(this.queue, wait)]);
  }
}
