/**
 * The metrics registry for one process (metrics-registry.ts), global so every context can make
 * its metrics. The API serves them at GET /metrics (metrics.controller.ts, in AppModule); the
 * worker at METRICS_PORT (metrics-listener.ts, in WorkerModule).
 */
import { DynamicModule, Global, Module } from '@nestjs/common';
import { MetricsRegistry } from './metrics-registry';

@Global()
@Module({})
export class MetricsModule {
  static forProcess(processName: 'api' | 'worker'): DynamicModule {
    return {
      module: MetricsModule,
      providers: [{ provide: MetricsRegistry, useFactory: () => new MetricsRegistry(processName) }],
      exports: [MetricsRegistry],
    };
  }
}
