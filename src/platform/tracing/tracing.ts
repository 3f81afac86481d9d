/**
 * Traces of proxied requests (issue 22): the tiny port the proxy uses. Off (OTEL_EXPORTER_OTLP_ENDPOINT
 * unset), every call returns the one shared NO_SPAN: no OpenTelemetry code is loaded, nothing is
 * allocated. On, otel-tracing.ts (loaded only then) makes real spans and exports them.
 *
 * Parents are passed explicitly (a span makes its children), not found through async context:
 * the four spans of a request are made in three files that all hold the request, and nothing
 * outside the proxy is traced.
 *
 * Attributes carry metadata only: endpoint kind, a price-table model (else "other"), status,
 * channel id, error codes. Never content, never an account, key or person.
 */
export type AttributeValue = string | number | boolean;

export interface TraceSpan {
  /** A span within this one, started now. */
  child(name: string): TraceSpan;
  set(key: string, value: AttributeValue): void;
  /** Marks the span failed with a stable error code (never a message: it may quote content). */
  fail(code: string): void;
  end(): void;
}

export interface Tracing {
  /** A new trace's root span, started now. */
  root(name: string): TraceSpan;
  /** Exports what is pending and stops (the process is stopping). */
  shutdown(): Promise<void>;
}

export const NO_SPAN: TraceSpan = Object.freeze({
  child: () => NO_SPAN,
  set: () => undefined,
  fail: () => undefined,
  end: () => undefined,
});

export const NO_TRACING: Tracing = Object.freeze({
  root: () => NO_SPAN,
  shutdown: () => Promise.resolve(),
});

export const TRACING = Symbol('TRACING');

/**
 * Runs `work` in a child span of `parent`; a throw marks the span failed with the error's code (a stable code, never its message).
 * Tracing off, `work`'s own promise is returned as it is: no wrapping promise and no extra
 * microtask turns (the proxy runs three of these per request).
 */
export function inSpan<T>(parent: TraceSpan, name: string, work: () => Promise<T>): Promise<T> {
  if (parent === NO_SPAN) return work();
  return inChildSpan(parent, name, work);
}

async function inChildSpan<T>(parent: TraceSpan, name: string, work: () => Promise<T>): Promise<T> {
  const span = parent.child(name);
  try {
    return await work();
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    span.fail(typeof code === 'string' ? code : 'error');
    throw err;
  } finally {
    span.end();
  }
}
