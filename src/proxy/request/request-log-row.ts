/**
 * A request's log row (its receipt), built once as the request ends from what happened to it:
 * the request itself, its price, its charge (request-charge.ts) and its outcome. Metadata only.
 */
import { ModelPrice, ratesFor } from '../pricing/model-price';
import { PriceTableVersion } from '../pricing/price-table-version';
import { TokenUsage } from '../pricing/cost';
import { unitPrices } from '../pricing/price-quotes';
import { RequestLogRow } from '../usage/request-log.repository';
import { ProxyRequest } from './proxy-request';
import { RequestCharge } from './request-charge';

/** How a request ended, as its row records it. */
export interface RequestOutcome {
  /** The status the client got (the upstream's, 499 when the client went away, or ours). */
  status: number;
  errorCode: string | null;
  /** The channel of the last try, and how many tries there were. */
  channelId: string | null;
  attempts: number;
  /** The tokens charged for an answer that was delivered (metered or estimated); null when none was. */
  usage: TokenUsage | null;
  estimated: boolean;
  ttfbMs: number | null;
  latencyMs: number;
}

/** An outcome without an answer: refused, failed, or broken off before any content. */
export function noAnswer(status: number, errorCode: string, channelId: string | null, attempts: number, ttfbMs: number | null, latencyMs: number): RequestOutcome {
  return { status, errorCode, channelId, attempts, usage: null, estimated: false, ttfbMs, latencyMs };
}

/**
 * `charge` and `table` are null for a request refused at admission (nothing was reserved). A
 * request with a reservation shows its price version and the rates it was charged at: a long
 * prompt may have moved the whole request to the model's long-context rates.
 */
export function requestLogRow(
  req: ProxyRequest,
  model: string,
  stream: boolean,
  price: ModelPrice | null,
  charge: RequestCharge | null,
  table: PriceTableVersion | null,
  o: RequestOutcome,
): RequestLogRow {
  const reservation = charge?.reservation ?? null;
  const usage = o.usage;
  return {
    requestId: req.requestId,
    accountId: req.principal.accountId,
    keyId: req.principal.keyId,
    startedAt: req.startedAtDate,
    endpoint: req.endpoint.kind,
    model,
    provider: price?.provider ?? null,
    channelId: o.channelId,
    stream,
    status: o.status,
    errorCode: o.errorCode,
    inputTokens: usage?.inputTokens ?? 0,
    cachedTokens: usage?.cachedTokens ?? 0,
    cacheWriteTokens: usage?.cacheWriteTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    estimated: o.estimated,
    freeRequest: reservation?.kind === 'free',
    heldMicros: reservation?.kind === 'hold' ? reservation.amount : 0n,
    costMicros: charge?.costMicros ?? 0n,
    billing: charge?.billing ?? 'none',
    priceVersion: reservation && table ? table.version : null,
    unitPrices:
      reservation && table && price
        ? unitPrices(usage ? ratesFor(price, usage.inputTokens + usage.cachedTokens + usage.cacheWriteTokens) : price, table.marginBps)
        : null,
    latencyMs: o.latencyMs,
    ttfbMs: o.ttfbMs,
    attempts: o.attempts,
  };
}
