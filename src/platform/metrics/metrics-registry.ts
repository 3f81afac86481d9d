/**
 * The process's Prometheus registry (prom-client), one per application instance: contexts make
 * their counters, histograms and gauges through it and never see the registry itself, and two
 * apps in one process (the tests) never share one.
 *
 * Rules every metric follows (checked by test/e2e/ops): label values come from bounded sets the
 * code or the operator defines (endpoint kinds, price-table models, channel ids, queue names,
 * outcomes, statuses) and never from a request, an account, a key or a person; no request or
 * response content, ever.
 *
 * Gauges of shared state (holds open, read-model lag, queue depth, overdue requests) are read at
 * scrape time by a collector. A collector that fails or is slow leaves its gauge empty for that
 * scrape (and counts the failure, visible from the next scrape: the counter is read before the
 * collectors finish): one slow store never fails the whole scrape.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type { Counter, Gauge, Histogram };

/** A collector gets this long per scrape before its gauge is left empty. */
const COLLECT_TIMEOUT_MS = 2_000;

/** Seconds, from a millisecond up to the upstream timeout's order: request latency and time to first byte. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class MetricsRegistry {
  readonly registry = new Registry();
  private readonly collectFailures: Counter<'collector'>;

  constructor(processName: string) {
    this.registry.setDefaultLabels({ process: processName });
    // Node's own figures (event loop lag, heap, GC, CPU), prefixed like ours.
    collectDefaultMetrics({ register: this.registry, prefix: 'tollgate_' });
    this.collectFailures = this.counter('tollgate_metrics_collect_failures_total', 'Scrape-time collectors that failed or timed out, by collector', ['collector']);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Idempotent by name: a module instantiated twice gets the same metric back. */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return (this.registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets: number[] = LATENCY_BUCKETS): Histogram<L> {
    return (
      (this.registry.getSingleMetric(name) as Histogram<L> | undefined) ??
      new Histogram<L>({ name, help, labelNames, buckets, registers: [this.registry] })
    );
  }

  /**
   * A gauge; with `collect`, filled at every scrape (reset first, so a label that vanished, like
   * a channel removed, does not linger). A failed or slow collect leaves it empty this scrape.
   */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = [], collect?: (set: (labels: Partial<Record<L, string>>, value: number) => void) => Promise<void> | void): Gauge<L> {
    const existing = this.registry.getSingleMetric(name) as Gauge<L> | undefined;
    if (existing) return existing;
    const failures = this.collectFailures;
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect(this: Gauge<L>) {
        if (!collect) return;
        const values: Array<[Partial<Record<L, string>>, number]> = [];
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), COLLECT_TIMEOUT_MS);
        });
        this.reset();
        try {
          await Promise.race([Promise.resolve(collect((labels, value) => values.push([labels, value]))), late]);
        } catch {
          failures.inc({ collector: name });
          return;
        } finally {
          clearTimeout(timer);
        }
        for (const [labels, value] of values) this.set(labels as never, value);
      },
    });
  }

  /** The exposition text of every metric. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}
