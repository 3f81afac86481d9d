/** The receipt of one request, as GET /v1/generations/<id> shows it. Money as exact decimal strings of credits. */
import { formatCredits } from '../../shared/money';
import { RequestLogRow } from './request-log.repository';

export function receiptOf(r: RequestLogRow) {
  return {
    id: r.requestId,
    object: 'generation',
    created_at: r.startedAt.toISOString(),
    endpoint: r.endpoint,
    model: r.model,
    provider: r.provider,
    channel_id: r.channelId,
    stream: r.stream,
    status: r.status,
    error_code: r.errorCode,
    usage: {
      input_tokens: r.inputTokens,
      cached_tokens: r.cachedTokens,
      cache_write_tokens: r.cacheWriteTokens,
      output_tokens: r.outputTokens,
    },
    estimated: r.estimated,
    free_request: r.freeRequest,
    price_version: r.priceVersion,
    unit_prices: r.unitPrices,
    hold: formatCredits(r.heldMicros),
    cost: formatCredits(r.costMicros),
    billing: r.billing,
    latency_ms: r.latencyMs,
    time_to_first_byte_ms: r.ttfbMs,
    attempts: r.attempts,
  };
}
