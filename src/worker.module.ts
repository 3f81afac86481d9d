import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './platform/database/database.module';
import { EventStoreModule } from './platform/event-store/event-store.module';
import { contextModules } from './contexts';
import { MetricsModule } from './platform/metrics/metrics.module';
import { MetricsListener } from './platform/metrics/metrics-listener';
import { OperatorGaugesModule } from './operator-gauges.module';

/**
 * The worker process (src/worker.ts): every context's `worker` module. Each job is a provider
 * that starts in onApplicationBootstrap and stops in onModuleDestroy (before the event store
 * and the pool close).
 */
@Module({})
export class WorkerModule {
  static async forRoot(config: AppConfig): Promise<DynamicModule> {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        EventStoreModule,
        MetricsModule.forProcess('worker'),
        OperatorGaugesModule,
        ...(await contextModules('worker')),
      ],
      providers: [MetricsListener],
    };
  }
}
