/**
 * Holds nobody settles (the API process died mid-request) are expired so their credit returns.
 * A BullMQ job scheduler runs a sweep every few seconds on one worker at a time; the sweep
 * takes the overdue holds from the open-holds read model (projections/open-holds, read through
 * OpenHoldsRepository) and sends each an ExpireHold command, which the ledger re-checks: still
 * open and due.
 *
 * Nothing happens per request: the hold's own event (HoldPlaced carries expiresAt) is all the
 * sweep needs, so there is no window in which a hold exists and its expiry does not.
 *
 * The read model is made by the read-model runner after the migrations, possibly in another
 * process or later than this one starts (a scheduler left in Redis by the last run fires at
 * once). So this process takes no sweep job until the table exists: it checks every second,
 * says once if it is still missing after a while, and says again when it appears. A sweep that
 * still finds it missing (dropped by hand) says so once and finds nothing to do.
 *
 * The scheduler lives in Redis, and a Redis that restarts empty (no persistence, a failover)
 * loses it: hold expiry stopped for good until a worker restarted. So each worker looks for it
 * every sweep interval and re-creates it when missing (one Redis read; the upsert is
 * idempotent across workers). Chosen over a timer outside Redis because BullMQ already gives
 * one-sweep-at-a-time across workers; while Redis is away sweeps pause, and the holds (in
 * Postgres, with their expiresAt) are swept late once it is back, none lost.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { Queue, Worker } from 'bullmq';
import { CommandBus } from '@nestjs/cqrs';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { QUEUES, closeWithin, makeQueue, makeWorker } from '../../platform/queue/queues';
import { ExecuteAccountCommand } from '../application/execute-account.command';
import { OPEN_HOLDS_TABLE, OpenHoldsRepository } from '../application/open-holds.repository';
import { LedgerError } from '../domain/errors';

const SCHEDULER_ID = 'hold-expiry-sweep';
// Past its expiresAt by this much before it is swept, so the decider (which checks expiresAt
// against its own clock) agrees it is due.
const GRACE_MS = 1_000;
const BATCH = 500;
const PARALLEL = 32;
const READY_POLL_MS = 1_000;
// A normal first start creates the read model within a second or so: only a longer wait is news.
const SAY_MISSING_AFTER_MS = 10_000;
const CLOSE_WAIT_MS = 2_000;

export interface SweepResult {
  expired: number;
  alreadyResolved: number;
  /** Listed as overdue, but extended by its running request since (the read model lags a little). */
  extended: number;
}

@Injectable()
export class HoldExpirySweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('HoldExpiry');
  private queue: Queue | null = null;
  private worker: Worker | null = null;
  private stopped = false;
  private waitTimer: NodeJS.Timeout | null = null;
  private schedulerTimer: NodeJS.Timeout | null = null;
  /** Whether the last look found the read model missing and said so (to say it once). */
  private saidMissing = false;
  private saidRedisDown = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly openHolds: OpenHoldsRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly commands: CommandBus,
  ) {}

  /** Every few seconds, and at most the hold lifetime, so short lifetimes (tests) stay short. */
  get everyMs(): number {
    return Math.min(5_000, this.config.HOLD_TTL_SECONDS * 1000);
  }

  async onApplicationBootstrap(): Promise<void> {
    const { REDIS_URL, REDIS_KEY_PREFIX } = this.config;
    this.queue = makeQueue(QUEUES.holdExpiry, REDIS_URL, REDIS_KEY_PREFIX);
    this.queue.on('error', (err) => this.sayRedisError('queue', err));
    // Idempotent: every worker process upserts the same scheduler; BullMQ runs one job per tick.
    await this.schedule().catch((err: Error) => this.log.error(`could not schedule the hold expiry sweep: ${err.message}`));
    this.watchScheduler();
    // Not awaited: the process starts (and its read models get made) while this waits.
    this.startWhenReady(Date.now());
  }

  private schedule(): Promise<unknown> {
    return this.queue!.upsertJobScheduler(
      SCHEDULER_ID,
      { every: this.everyMs },
      { name: 'sweep', data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  }

  /**
   * Every sweep interval: is the scheduler still in Redis? If not (Redis came back empty), it
   * is made again. One look at a time: while Redis is away the look waits for it (BullMQ's
   * connections queue their commands), and is answered as soon as it returns.
   */
  private watchScheduler(): void {
    let looking = false;
    this.schedulerTimer = setInterval(() => {
      if (looking || this.stopped || !this.queue) return;
      looking = true;
      this.queue
        .getJobScheduler(SCHEDULER_ID)
        .then(async (found) => {
          if (found || this.stopped) return;
          await this.schedule();
          this.log.warn('the hold expiry sweep was missing from Redis (it came back empty?); scheduled it again');
        })
        .catch((err: Error) => this.log.warn(`could not check the hold expiry schedule: ${err.message}`))
        .finally(() => (looking = false));
    }, this.everyMs);
    this.schedulerTimer.unref();
  }

  /** Starts taking sweep jobs once the open-holds read model exists. */
  private startWhenReady(since: number): void {
    if (this.stopped) return;
    void this.openHolds.exists().then((exists) => {
      if (this.stopped) return;
      if (exists) return this.startWorker();
      if (!this.saidMissing && Date.now() - since >= SAY_MISSING_AFTER_MS) this.sayMissing();
      this.waitTimer = setTimeout(() => this.startWhenReady(since), READY_POLL_MS);
      this.waitTimer.unref();
    });
  }

  private startWorker(): void {
    this.sayFound();
    const { REDIS_URL, REDIS_KEY_PREFIX } = this.config;
    this.worker = makeWorker(QUEUES.holdExpiry, REDIS_URL, REDIS_KEY_PREFIX, async () => void (await this.sweep()), 1);
    this.worker.on('error', (err) => this.sayRedisError('worker', err));
    this.worker.on('completed', () => this.sayRedisBack());
  }

  /**
   * BullMQ reports every failed reconnect (several a second while Redis is down): said once per
   * outage, and once more when a sweep runs again.
   */
  private sayRedisError(what: 'queue' | 'worker', err: Error): void {
    if (this.saidRedisDown) return;
    this.saidRedisDown = true;
    this.log.warn(`hold expiry ${what}: ${err.message}; overdue holds are swept once Redis answers again`);
  }

  private sayRedisBack(): void {
    if (!this.saidRedisDown) return;
    this.saidRedisDown = false;
    this.log.log('hold expiry sweeps run again');
  }

  private sayFound(): void {
    if (this.saidMissing) this.log.log(`the ${OPEN_HOLDS_TABLE} read model exists now; overdue holds are swept again`);
    this.saidMissing = false;
  }

  private sayMissing(): void {
    this.saidMissing = true;
    this.log.warn(
      `hold expiry waits: the ${OPEN_HOLDS_TABLE} read model does not exist yet; run the migrations ` +
        '(`tollgate db migrate`, or MIGRATE_ON_START=true) and the worker\'s read models; overdue holds are swept once it exists',
    );
  }

  /** Expires every open hold that is overdue; a hold resolved meanwhile is skipped. */
  async sweep(): Promise<SweepResult> {
    const result: SweepResult = { expired: 0, alreadyResolved: 0, extended: 0 };
    for (;;) {
      const due = new Date(this.clock.now().getTime() - GRACE_MS);
      const rows = await this.openHolds.overdue(due, BATCH);
      if (rows === null) {
        if (!this.saidMissing) this.sayMissing();
        return result;
      }
      this.sayFound();
      for (let i = 0; i < rows.length; i += PARALLEL) {
        const outcomes = await Promise.all(rows.slice(i, i + PARALLEL).map((r) => this.expire(r.accountId, r.holdId)));
        for (const o of outcomes) result[o]++;
      }
      // The read model lags the log a little: a hold resolved but still listed is counted, not retried.
      if (rows.length < BATCH || result.expired === 0) break;
    }
    if (result.expired) this.log.log(`expired ${result.expired} overdue hold(s); their credit is available again`);
    return result;
  }

  private async expire(accountId: string, holdId: string): Promise<keyof SweepResult> {
    try {
      await this.commands.execute(new ExecuteAccountCommand(accountId, { type: 'ExpireHold', data: { holdId } }, { actor: 'hold-expiry' }));
      return 'expired';
    } catch (err) {
      if (err instanceof LedgerError && (err.code === 'hold_not_open' || err.code === 'account_not_found')) return 'alreadyResolved';
      if (err instanceof LedgerError && err.code === 'hold_not_expired') return 'extended';
      throw err; // the store is down (or clocks disagree): the next sweep tries again
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.waitTimer) clearTimeout(this.waitTimer);
    if (this.schedulerTimer) clearInterval(this.schedulerTimer);
    // Bounded: a sweep under way finishes if Redis answers; a Redis that is down does not hold the process.
    await Promise.all([this.worker && closeWithin(this.worker, CLOSE_WAIT_MS), this.queue && closeWithin(this.queue, CLOSE_WAIT_MS)]);
  }
}
