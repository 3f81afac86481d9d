/**
 * OpenTelemetry behind the Tracing port (tracing.ts), loaded only when OTEL_EXPORTER_OTLP_ENDPOINT
 * is set: @opentelemetry/sdk-node 0.223 (the last line for Node 20) exporting OTLP over HTTP as
 * JSON to <endpoint>/v1/traces, in batches. Everything is configured here from AppConfig: no
 * auto-instrumentation (it would trace every pg and Redis call, with their statements), no
 * propagator, no resource detectors, no metrics or logs exporters (metrics are Prometheus').
 */
import { ROOT_CONTEXT, context, trace, Span, SpanKind, SpanStatusCode, Tracer } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { AlwaysOnSampler, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AppConfig } from '../../config/config';
import { AttributeValue, TraceSpan, Tracing } from './tracing';

class OtelSpan implements TraceSpan {
  private ended = false;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
  ) {}

  child(name: string): TraceSpan {
    return new OtelSpan(this.tracer, this.tracer.startSpan(name, { kind: SpanKind.INTERNAL }, trace.setSpan(ROOT_CONTEXT, this.span)));
  }

  set(key: string, value: AttributeValue): void {
    this.span.setAttribute(key, value);
  }

  fail(code: string): void {
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: code });
    this.span.setAttribute('tollgate.error_code', code);
  }

  /** Once: a path that may end it twice (the upstream span) need not keep count. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end();
  }
}

export function startOtelTracing(config: Pick<AppConfig, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>): Tracing {
  const exporter = new OTLPTraceExporter({ url: `${config.OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces` });
  const sdk = new NodeSDK({
    serviceName: config.OTEL_SERVICE_NAME,
    autoDetectResources: false,
    instrumentations: [],
    textMapPropagator: null,
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 })],
    // Empty, not absent: absent, the SDK would set up OTLP metric and log exporters from OTEL_* env.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const tracer = trace.getTracer('tollgate');
  return {
    root: (name) => new OtelSpan(tracer, tracer.startSpan(name, { kind: SpanKind.SERVER, root: true })),
    async shutdown() {
      await sdk.shutdown().catch(() => undefined);
      // The SDK registered itself globally; a later start in this process (tests) registers anew.
      trace.disable();
      context.disable();
    },
  };
}
