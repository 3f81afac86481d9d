import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './platform/database/database.module';
import { EventStoreModule } from './platform/event-store/event-store.module';
import { RedisModule } from './platform/redis/redis.module';
import { HealthController } from './health.controller';
import { ReadinessController } from './readiness.controller';
import { MetricsModule } from './platform/metrics/metrics.module';
import { MetricsController } from './platform/metrics/metrics.controller';
import { OperatorGaugesModule } from './operator-gauges.module';
import { TracingModule } from './platform/tracing/tracing.module';
import { contextModules } from './contexts';
import { DrainBeforeClose } from './drain-before-close.hook';

/**
 * The HTTP API process (src/main.ts): every context's `api` module, and with API_RUNS_WORKERS
 * their `worker` modules too (one process for small deployments and the tests). Its own
 * onModuleDestroy, the first of the close, lets the requests under way finish
 * (drain-before-close.hook.ts).
 */
@Module({})
export class AppModule {
  static async forRoot(config: AppConfig): Promise<DynamicModule> {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        EventStoreModule,
        RedisModule,
        MetricsModule.forProcess('api'),
        OperatorGaugesModule,
        TracingModule,
        ...(await contextModules('api')),
        ...(config.API_RUNS_WORKERS ? await contextModules('worker') : []),
      ],
      controllers: [HealthController, ReadinessController, MetricsController],
      providers: [DrainBeforeClose],
    };
  }
}
