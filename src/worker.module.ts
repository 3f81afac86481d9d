import { DynamicModule, Module, Provider } from '@nestjs/common';
import { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './platform/database/database.module';
import { EventStoreModule } from './platform/event-store/event-store.module';
import { LedgerModule } from './ledger/ledger.module';
import { ProjectionWorker } from './ledger/application/projection-worker';
import { HoldExpirySweeper } from './ledger/jobs/hold-expiry.job';

/**
 * Everything the worker process runs, each as a provider that starts in onApplicationBootstrap
 * and stops in onModuleDestroy (before the event store and the pool close).
 * BullMQ workers and retention jobs join the projection runner here.
 */
export const WORKER_PROVIDERS: Provider[] = [ProjectionWorker, HoldExpirySweeper];

@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, providers: Provider[] = WORKER_PROVIDERS): DynamicModule {
    return {
      module: WorkerModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, EventStoreModule, LedgerModule],
      providers,
    };
  }
}
