/**
 * The proxy's metrics (platform/metrics): requests by endpoint, model and status; latency and
 * time to first byte; upstream failures and circuit state by channel. Metadata only, and every
 * label from a bounded set: a model outside the price table is counted as `other`, so a client
 * sending a thousand made-up model names adds one label value, not a thousand.
 *
 * The hot path pays a few Map lookups and prom-client's own inc/observe: each label combination's
 * children are made once, the first time it is seen, then reused.
 */
import { Injectable } from '@nestjs/common';
import { Counter, Histogram, MetricsRegistry } from '../platform/metrics/metrics-registry';
import { ChannelDirectory } from './channels/channel-directory';
import { ChannelRouter } from './channels/channel-router';
import { CircuitState } from './channels/circuit-breaker';

/** What a request's end says, read from its log row (request-log-row.ts). */
export interface RequestEnd {
  endpoint: string;
  model: string;
  /** True when the model is in the price table (its row has a provider): only those are labels. */
  priced: boolean;
  status: number;
  latencyMs: number;
  ttfbMs: number | null;
}

export type UpstreamFailureKind = 'rate_limited' | 'http_error' | 'timeout' | 'unreachable' | 'busy';

/** The model label for a request whose model is not in the price table (or not known yet). */
export const OTHER_MODEL = 'other';

interface Children {
  requests: Map<number, Counter.Internal>;
  latency: Histogram.Internal<'endpoint' | 'model'>;
  ttfb: Histogram.Internal<'endpoint' | 'model'>;
}

const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open'];

@Injectable()
export class ProxyMetrics {
  private readonly requests: Counter<'endpoint' | 'model' | 'status'>;
  private readonly latency: Histogram<'endpoint' | 'model'>;
  private readonly ttfb: Histogram<'endpoint' | 'model'>;
  private readonly upstreamFailures: Counter<'channel' | 'kind'>;
  private readonly children = new Map<string, Map<string, Children>>();

  constructor(metrics: MetricsRegistry, channels: ChannelDirectory, router: ChannelRouter) {
    this.requests = metrics.counter('tollgate_proxy_requests_total', 'Proxied requests by endpoint, model (price-table models; the rest "other") and HTTP status', ['endpoint', 'model', 'status']);
    this.latency = metrics.histogram('tollgate_proxy_request_duration_seconds', 'Proxied requests: time from arrival to the end of the answer', ['endpoint', 'model']);
    this.ttfb = metrics.histogram('tollgate_proxy_time_to_first_byte_seconds', "Proxied requests: time from arrival to the answer's first byte to the client", ['endpoint', 'model']);
    this.upstreamFailures = metrics.counter('tollgate_upstream_failures_total', 'Failed upstream attempts by channel and kind (rate_limited, http_error, timeout, unreachable)', ['channel', 'kind']);
    // Per instance: each instance keeps its own circuits (circuit-breaker.ts). 1 for the state it is in.
    metrics.gauge('tollgate_upstream_circuit_state', "Each channel's circuit on this instance: 1 for its current state (closed, open, half-open)", ['channel', 'state'], (set) => {
      for (const c of channels.list()) {
        const now = router.circuitState(c.id);
        for (const state of CIRCUIT_STATES) set({ channel: c.id, state }, state === now ? 1 : 0);
      }
    });
  }

  ended(e: RequestEnd): void {
    const c = this.childrenOf(e.endpoint, e.priced ? e.model : OTHER_MODEL);
    let counter = c.requests.get(e.status);
    if (!counter) {
      counter = this.requests.labels(e.endpoint, e.priced ? e.model : OTHER_MODEL, String(e.status));
      c.requests.set(e.status, counter);
    }
    counter.inc();
    c.latency.observe(e.latencyMs / 1000);
    if (e.ttfbMs !== null) c.ttfb.observe(e.ttfbMs / 1000);
  }

  upstreamFailed(channelId: string, kind: UpstreamFailureKind): void {
    this.upstreamFailures.inc({ channel: channelId, kind });
  }

  private childrenOf(endpoint: string, model: string): Children {
    let byModel = this.children.get(endpoint);
    if (!byModel) {
      byModel = new Map();
      this.children.set(endpoint, byModel);
    }
    let c = byModel.get(model);
    if (!c) {
      c = { requests: new Map(), latency: this.latency.labels(endpoint, model), ttfb: this.ttfb.labels(endpoint, model) };
      byModel.set(model, c);
    }
    return c;
  }
}
