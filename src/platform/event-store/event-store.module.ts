/**
 * Chooses the event store for the process: Postgres over the shared pool by default,
 * EventStoreDB / KurrentDB when EVENTSTORE_URL is set. Also provides the clock, so every
 * consumer of the log gets time from the same port.
 */
import { Global, Inject, Injectable, Module, BeforeApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, systemClock } from '../clock';
import { PG_POOL } from '../database/pg';
import { EVENT_STORE, EventStore } from './event-store.port';
import { PostgresEventStore } from './postgres/postgres-event-store';

// Type-only: checked at compile time, loaded at run time only when chosen (below).
type EsdbAdapterModule = typeof import('./esdb/esdb-event-store');

export function createEventStore(config: AppConfig, pool: Pool): EventStore {
  if (config.EVENTSTORE_URL) {
    // Loaded only when chosen: the gRPC client it pulls in costs every process, and every
    // `tollgate` run, a quarter of a second at start, for nothing when the log is in Postgres.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { EsdbEventStore } = require('./esdb/esdb-event-store') as EsdbAdapterModule;
    return new EsdbEventStore(config.EVENTSTORE_URL);
  }
  return new PostgresEventStore(pool, { pollMs: config.PROJECTION_POLL_MS });
}

// beforeApplicationShutdown: after the store's users have stopped (onModuleDestroy), before
// the pool it writes through ends (onApplicationShutdown).
@Injectable()
class EventStoreCloser implements BeforeApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

@Global()
@Module({
  providers: [
    { provide: EVENT_STORE, inject: [APP_CONFIG, PG_POOL], useFactory: createEventStore },
    { provide: CLOCK, useValue: systemClock },
    EventStoreCloser,
  ],
  exports: [EVENT_STORE, CLOCK],
})
export class EventStoreModule {}
