/** Provides TRACING: NO_TRACING, or OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set (loaded only then). */
import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { NO_TRACING, TRACING, Tracing } from './tracing';

@Injectable()
class TracingCloser implements OnApplicationShutdown {
  constructor(@Inject(TRACING) private readonly tracing: Tracing) {}

  async onApplicationShutdown(): Promise<void> {
    await this.tracing.shutdown();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: TRACING,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig): Promise<Tracing> =>
        config.OTEL_EXPORTER_OTLP_ENDPOINT ? (await import('./otel-tracing')).startOtelTracing(config) : NO_TRACING,
    },
    TracingCloser,
  ],
  exports: [TRACING],
})
export class TracingModule {}
