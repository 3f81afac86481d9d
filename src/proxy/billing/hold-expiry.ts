/**
 * Holds nobody settles (the API process died mid-request) are expired so their credit returns.
 * A BullMQ job scheduler runs a sweep every few seconds on one worker at a time; the sweep
 * takes the overdue holds from the open-holds read model (projections/open-holds) and expires
 * each through the ledger, which re-checks that it is still open and due.
 *
 * Nothing happens per request: the hold's own event (HoldPlaced carries expiresAt) is all the
 * sweep needs, so there is no window in which a hold exists and its expiry does not.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { PG_POOL } from '../../platform/database/pg';
import { QUEUES, makeQueue, makeWorker } from '../../platform/queue/queues';
import { LedgerService } from '../../ledger/application/ledger.service';
import { LedgerError } from '../../ledger/domain/errors';

const SCHEDULER_ID = 'hold-expiry-sweep';
// Past its expiresAt by this much before it is swept, so the decider (which checks expiresAt
// against its own clock) agrees it is due.
const GRACE_MS = 1_000;
const BATCH = 500;
const PARALLEL = 32;

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

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly ledger: LedgerService,
  ) {}

  /** Every few seconds, and at most the hold lifetime, so short lifetimes (tests) stay short. */
  get everyMs(): number {
    return Math.min(5_000, this.config.HOLD_TTL_SECONDS * 1000);
  }

  async onApplicationBootstrap(): Promise<void> {
    const { REDIS_URL, REDIS_KEY_PREFIX } = this.config;
    this.queue = makeQueue(QUEUES.holdExpiry, REDIS_URL, REDIS_KEY_PREFIX);
    this.queue.on('error', (err) => this.log.warn(`hold expiry queue: ${err.message}`));
    this.worker = makeWorker(QUEUES.holdExpiry, REDIS_URL, REDIS_KEY_PREFIX, async () => void (await this.sweep()), 1);
    this.worker.on('error', (err) => this.log.warn(`hold expiry worker: ${err.message}`));
    // Idempotent: every worker process upserts the same scheduler; BullMQ runs one job per tick.
    await this.queue
      .upsertJobScheduler(SCHEDULER_ID, { every: this.everyMs }, { name: 'sweep', data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } })
      .catch((err: Error) => this.log.error(`could not schedule the hold expiry sweep: ${err.message}`));
  }

  /** Expires every open hold that is overdue; a hold resolved meanwhile is skipped. */
  async sweep(): Promise<SweepResult> {
    const result: SweepResult = { expired: 0, alreadyResolved: 0, extended: 0 };
    for (;;) {
      const due = new Date(this.clock.now().getTime() - GRACE_MS);
      const { rows } = await this.pool.query<{ hold_id: string; account_id: string }>(
        'SELECT hold_id, account_id FROM rm_open_holds.open_holds WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2',
        [due, BATCH],
      );
      for (let i = 0; i < rows.length; i += PARALLEL) {
        const outcomes = await Promise.all(rows.slice(i, i + PARALLEL).map((r) => this.expire(r.account_id, r.hold_id)));
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
      await this.ledger.execute(accountId, { type: 'ExpireHold', data: { holdId } }, { actor: 'hold-expiry' });
      return 'expired';
    } catch (err) {
      if (err instanceof LedgerError && (err.code === 'hold_not_open' || err.code === 'account_not_found')) return 'alreadyResolved';
      if (err instanceof LedgerError && err.code === 'hold_not_expired') return 'extended';
      throw err; // the store is down (or clocks disagree): the next sweep tries again
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
  }
}
