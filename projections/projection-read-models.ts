/**
 * The read models behind the ledger's ReadModels port: one ProjectionRunner over every
 * projection (index.ts), following the event store from each model's checkpoint.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../src/platform/database/pg';
import { APP_CONFIG, AppConfig } from '../src/config/config';
import { EVENT_STORE, EventStore } from '../src/platform/event-store/event-store.port';
import { HaltedReadModel, ReadModels, RebuildProgress } from '../src/ledger/application/read-models';
import { ACCOUNT_STREAM_PREFIX } from '../src/ledger/domain/events';
import { ProjectionRunner } from './runner';
import { allProjections } from './index';

@Injectable()
export class ProjectionReadModels extends ReadModels {
  readonly runner: ProjectionRunner;

  constructor(
    @Inject(PG_POOL) pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super();
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

  async bringUpToDate(timeoutMs = 600_000, options: { allowHalted?: boolean } = {}): Promise<HaltedReadModel[]> {
    // In an API that runs the workers (API_RUNS_WORKERS) the projection worker already follows
    // the log with this runner: waiting is enough, and a stop here would stop the worker too.
    if (this.runner.following) return this.runner.caughtUp(timeoutMs, options);
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

  ledgerEventCount(): Promise<number> {
    return this.store.countEvents(ACCOUNT_STREAM_PREFIX);
  }
}
