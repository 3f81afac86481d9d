/**
 * The ledger's read models as the CLI and the worker use them. In production the worker keeps
 * them current; a CLI question (a balance, a trial balance) first applies whatever the log
 * has that they lack, so the answer is never stale, with or without a worker running.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { EVENT_STORE, EventStore } from '../../platform/event-store/event-store.port';
import { ProjectionRunner, RebuildProgress } from '../../../projections/runner';
import { allProjections } from '../../../projections';
import { HaltedReadModel } from '../../../projections/halted';
import { ACCOUNT_STREAM_PREFIX } from '../domain/events';

@Injectable()
export class ReadModels {
  readonly runner: ProjectionRunner;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const log = new Logger('ReadModels');
    this.runner = new ProjectionRunner(pool, store, allProjections(), {
      pollMs: config.PROJECTION_POLL_MS,
      onError: (name, err) => log.error(`read model ${name}: ${err.message}; retrying`),
      onHalt: (h) =>
        log.error(
          `read model ${h.name} HALTED at event ${h.eventId}: ${h.error}. It no longer follows the log (the others do); ` +
            'fix the cause, then run `tollgate ledger replay`',
        ),
    });
  }

  /**
   * Applies what the log has that the read models lack. A halted model fails it at once, naming
   * the model (ReadModelHaltedError), unless `allowHalted`: then the others are brought up to
   * date and the halted ones are returned (for `ledger verify`, which reports them).
   */
  async bringUpToDate(timeoutMs = 600_000, options: { allowHalted?: boolean } = {}): Promise<HaltedReadModel[]> {
    await this.runner.start();
    try {
      return await this.runner.caughtUp(timeoutMs, options);
    } finally {
      await this.runner.stop();
    }
  }

  halted(): Promise<HaltedReadModel[]> {
    return this.runner.halted();
  }

  rebuild(onProgress?: (p: RebuildProgress) => void): Promise<RebuildProgress> {
    return this.runner.rebuild(undefined, onProgress);
  }

  /** How many ledger events the log holds (for progress bars). */
  async ledgerEventCount(): Promise<number> {
    const { rows } = await this.pool.query<{ n: bigint }>(
      'SELECT coalesce(sum(version), 0)::bigint AS n FROM event_streams WHERE stream_id LIKE $1',
      [`${ACCOUNT_STREAM_PREFIX}%`],
    );
    return Number(rows[0].n);
  }
}
