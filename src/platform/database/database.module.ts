/**
 * The process's one pg Pool. Connections open lazily, on the first query, so a process that
 * never touches the database (`tollgate --help`) never connects.
 *
 * Shutdown order: consumers stop in onModuleDestroy, the event store closes in
 * beforeApplicationShutdown, and the pool ends last, in onApplicationShutdown, so nothing
 * still writing finds the pool gone.
 */
import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { PG_POOL, createPool } from './pg';

export { PG_POOL };

@Injectable()
class PoolCloser implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => createPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE, 'tollgate', config.DATABASE_CONNECT_TIMEOUT_MS),
    },
    PoolCloser,
  ],
  exports: [PG_POOL],
})
export class DatabaseModule {}
