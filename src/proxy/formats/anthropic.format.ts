/**
 * The Anthropic Messages format: messages and count_tokens. Its SDK sends the key as
 * `x-api-key`; the channel's base URL has no /v1.
 */
import type { Endpoint, EndpointKind } from '../endpoints';
import type { ProxyError, ProxyErrorCode } from '../http/proxy-error';
import type { TokenUsage } from '../pricing/cost';
import { count, obj, required, usable } from '../metering/usage';
import { formatSse } from '../streaming/sse';
import { Format, Json, forwarded, isJsonObject } from './format';
import { MeterReader, addText } from '../metering/meter-reader';
import { headerValue, limitOrNull } from './request-fields';

type AnthropicEndpointKind = Extract<EndpointKind, `anthropic.${string}`>;

export const ANTHROPIC_ENDPOINTS: Record<AnthropicEndpointKind, Endpoint> = {
  'anthropic.messages': {
    kind: 'anthropic.messages',
    format: 'anthropic',
    meter: 'anthropic',
    billed: true,
    upstreamPath: () => '/v1/messages',
    readShape: (body, model) => ({ model, stream: body.stream === true, maxOutputTokens: limitOrNull(body.max_tokens, 'max_tokens'), answers: 1 }),
  },
  'anthropic.count_tokens': {
    kind: 'anthropic.count_tokens',
    format: 'anthropic',
    meter: 'anthropic',
    billed: false,
    upstreamPath: () => '/v1/messages/count_tokens',
    readShape: (_body, model) => ({ model, stream: false, maxOutputTokens: 0, answers: 1 }),
  },
};

const ERROR_TYPE: Partial<Record<ProxyErrorCode, string>> = {
  invalid_api_key: 'authentication_error',
  key_revoked: 'authentication_error',
  key_expired: 'authentication_error',
  insufficient_credits: 'billing_error',
  spend_cap_reached: 'billing_error',
  model_not_allowed: 'permission_error',
  account_suspended: 'permission_error',
  account_restricted: 'permission_error',
  model_not_found: 'not_found_error',
  not_found: 'not_found_error',
  rate_limited: 'rate_limit_error',
  body_too_large: 'request_too_large',
  upstream_error: 'api_error',
  upstream_timeout: 'api_error',
  no_channel: 'overloaded_error',
  upstream_unavailable: 'overloaded_error',
  upstream_busy: 'overloaded_error',
  unavailable: 'overloaded_error',
  internal_error: 'api_error',
};

/**
 * A Message's `usage`, or the merge of message_start's and message_delta's (see StreamMeter),
 * as in the SDK's Usage / MessageDeltaUsage. input_tokens EXCLUDES cache reads and cache writes;
 * output_tokens includes thinking.
 */
export function usageFromAnthropic(usage: unknown): TokenUsage | null {
  return usable(() => {
    const u = obj(usage);
    return {
      inputTokens: required(u.input_tokens),
      cachedTokens: count(u.cache_read_input_tokens),
      cacheWriteTokens: count(u.cache_creation_input_tokens),
      outputTokens: required(u.output_tokens),
    };
  });
}

const FORWARDED = ['anthropic-version', 'anthropic-beta'] as const;

/** Sent when the client sent none: the API requires one. */
const DEFAULT_VERSION = '2023-06-01';

const errorBody = (err: ProxyError) => ({ type: 'error', error: { type: ERROR_TYPE[err.code] ?? 'invalid_request_error', message: err.message } });

export const ANTHROPIC_FORMAT: Format = {
  name: 'anthropic',
  errorBody,
  // `event: error` with the error body, as the Messages API streams its own.
  streamError: (err) => formatSse({ event: 'error', data: JSON.stringify(errorBody(err)) }),
  keyFromHeaders: (headers) => headerValue(headers['x-api-key']),
  upstreamHeaders(apiKey, client) {
    const h = forwarded(FORWARDED, client);
    h['x-api-key'] = apiKey;
    h['anthropic-version'] ??= DEFAULT_VERSION;
    return h;
  },
  usageOfAnswer: (json) => (isJsonObject(json) && json.usage ? usageFromAnthropic(json.usage) : null),
};

/**
 * Messages streams: message_start has the input side; message_delta (once, at the end) has
 * output_tokens, cumulative, and may repeat the input side.
 */
export const ANTHROPIC_METER: MeterReader = {
  // message_start's message.usage and message_delta's usage.
  usageMayChange: /"usage"\s*:\s*\{|\\u/,
  event(s, msg) {
    switch (msg.type) {
      case 'message_start': {
        const usage = isJsonObject(msg.message) ? msg.message.usage : undefined;
        if (isJsonObject(usage)) {
          s.start = usage;
          s.partial = usageFromAnthropic(usage);
        }
        return;
      }
      case 'content_block_start': {
        const block = msg.content_block;
        if (isJsonObject(block)) {
          addText(s, block.text);
          addText(s, block.name); // tool_use
        }
        return;
      }
      case 'content_block_delta': {
        const d = msg.delta;
        if (isJsonObject(d)) {
          addText(s, d.text); // text_delta
          addText(s, d.partial_json); // input_json_delta
          addText(s, d.thinking); // thinking_delta
        }
        return;
      }
      case 'message_delta': {
        if (!isJsonObject(msg.usage)) return;
        // output_tokens here is cumulative; input fields, when present and not null, restate the start's.
        const merged: Json = { ...(s.start ?? {}) };
        for (const [k, v] of Object.entries(msg.usage)) if (v !== null && v !== undefined) merged[k] = v;
        s.final = usageFromAnthropic(merged);
        return;
      }
    }
  },
  answer(s, msg) {
    for (const block of Array.isArray(msg.content) ? msg.content : []) {
      if (!isJsonObject(block)) continue;
      addText(s, block.text);
      addText(s, block.thinking);
      addText(s, block.name); // tool_use
      if (block.input !== undefined) addText(s, JSON.stringify(block.input));
    }
  },
};
