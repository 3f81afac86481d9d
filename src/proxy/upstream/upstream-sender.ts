/**
 * Sends a request over the channels that serve its model, through the router's fallback loop
 * (src/proxy/channels/channel-router.ts: priority, weight, circuit breakers, every switch
 * logged). A try fails over to the next channel only before the first byte: a 429, a 5xx, a
 * refused key of ours (401/403), a connect error, or a timeout waiting for the headers or for
 * the first byte of a 2xx answer (an upstream that sends its headers and then nothing). Any
 * other answer, 4xx included, is the provider's to give the client.
 */
import { Injectable } from '@nestjs/common';
import { IncomingHttpHeaders } from 'node:http';
import { Channel } from '../channels/channel';
import { ChannelRouter } from '../channels/channel-router';
import { ProxyError, quoted } from '../http/proxy-error';
import { formatOf, formatOfProvider } from '../formats';
import { Plan } from './plan';
import { CallSignal, UpstreamClient, UpstreamFailure, UpstreamResponse } from './upstream-client';
import { ProxyMetrics } from '../proxy-metrics';

export interface Sent {
  channel: Channel;
  upstream: UpstreamResponse;
  attempts: number;
}

/** What send() tried, kept up to date as it goes: a receipt names them even when every try failed. */
export interface Tried {
  /** The channel of the last try (the one whose failure, or answer, the client got). */
  channelId: string | null;
  attempts: number;
}

export const nothingTried = (): Tried => ({ channelId: null, attempts: 0 });

const RETRYABLE = (status: number) => status === 429 || status >= 500 || status === 401 || status === 403;

@Injectable()
export class UpstreamSender {
  constructor(
    private readonly router: ChannelRouter,
    private readonly upstream: UpstreamClient,
    private readonly metrics: ProxyMetrics,
  ) {}

  /**
   * Checked before anything is reserved: throws 503 `no_channel` when no channel serves the
   * model (after reloading the channels, so one added elsewhere counts at once), 503 `upstream_unavailable` (with retry-after) while every one of them is failing,
   * 503 `upstream_busy` (with retry-after) while every one it could try has its limit of requests in flight.
   * Takes no circuit's probe: that happens in send(), where the request really goes out.
   */
  async ensureRoutable(plan: Plan, model: string): Promise<void> {
    const { configured, waitMs } = await this.router.availabilityFresh(model, plan.providers);
    if (!configured) throw noChannel(model);
    if (waitMs > 0) throw everyChannelFailing(waitMs);
    if (!this.router.candidates(model, plan.providers).some((c) => this.upstream.hasRoom(c))) throw channelsBusy();
  }

  /** The first answer that is not a retryable failure; else the last failure as a ProxyError. */
  async send(
    requestId: string,
    plan: Plan,
    model: string,
    query: string,
    clientHeaders: IncomingHttpHeaders,
    signal: CallSignal,
    tried: Tried = nothingTried(),
  ): Promise<Sent> {
    const routed = await this.router.route<UpstreamResponse | ProxyError>(model, plan.providers, async (channel) => {
      if (signal.aborted) throw new UpstreamFailure('aborted', 'the client went away');
      tried.channelId = channel.id;
      tried.attempts++;
      try {
        const upstream = await this.upstream.send({
          channel,
          path: plan.path(model, query),
          headers: formatOf(formatOfProvider(channel.provider)).upstreamHeaders(channel.apiKey, clientHeaders),
          body: plan.body,
          signal,
        });
        if (upstream.status < 300) await this.upstream.firstByte(upstream);
        if (!RETRYABLE(upstream.status)) return { ok: true, value: upstream };
        const retryAfter = Number(header(upstream.headers, 'retry-after')) || 1;
        await upstream.body.dump().catch(() => undefined);
        this.metrics.upstreamFailed(channel.id, upstream.status === 429 ? 'rate_limited' : 'http_error');
        const failure =
          upstream.status === 429
            ? new ProxyError('rate_limited', 'the upstream provider is rate limiting; try again later', { retryAfterSeconds: retryAfter })
            : new ProxyError('upstream_error', `the upstream provider failed (HTTP ${upstream.status})`);
        return { ok: false, reason: `HTTP ${upstream.status}`, value: failure };
      } catch (err) {
        if (err instanceof UpstreamFailure && err.kind === 'aborted') throw err;
        if (err instanceof UpstreamFailure && err.kind === 'busy') {
          // Nothing went out: the channel is full, not failing (its circuit is not told).
          this.metrics.upstreamFailed(channel.id, 'busy');
          return { ok: false, busy: true, reason: err.message, value: channelsBusy() };
        }
        const timedOut = err instanceof UpstreamFailure && err.kind === 'timeout';
        this.metrics.upstreamFailed(channel.id, timedOut ? 'timeout' : 'unreachable');
        const failure =
          err instanceof UpstreamFailure && err.kind === 'timeout'
            ? new ProxyError('upstream_timeout', 'the upstream provider did not answer in time')
            : new ProxyError('upstream_error', 'the upstream provider could not be reached');
        return { ok: false, reason: (err as Error).message, value: failure };
      }
    }, undefined, requestId);
    if (routed.ok && routed.channel && routed.value && !(routed.value instanceof ProxyError)) {
      return { channel: routed.channel, upstream: routed.value, attempts: routed.failures.length + 1 };
    }
    if (!routed.channel) {
      // Every circuit opened (or its probe was taken) between the check and the send.
      const { configured, waitMs } = this.router.availability(model, plan.providers);
      throw configured ? everyChannelFailing(waitMs) : noChannel(model);
    }
    throw routed.value instanceof ProxyError ? routed.value : new ProxyError('upstream_error', 'the upstream provider failed');
  }
}

function noChannel(model: string): ProxyError {
  return new ProxyError('no_channel', `no upstream is configured for the model ${quoted(model)}`);
}

/** Every channel that could take the request has its limit in flight: come back in a second, as one ends. */
function channelsBusy(): ProxyError {
  return new ProxyError('upstream_busy', 'every channel for this model is at its limit of concurrent requests; try again shortly', {
    retryAfterSeconds: 1,
  });
}

function everyChannelFailing(waitMs: number): ProxyError {
  return new ProxyError('upstream_unavailable', 'every channel for this model is failing; try again shortly', {
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
  });
}

export function header(h: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}
