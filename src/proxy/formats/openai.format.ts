/**
 * The OpenAI API format (and every OpenAI-compatible provider's): chat completions, legacy
 * completions, embeddings and responses. Its SDK sends the key as `Authorization: Bearer`; the
 * channel's base URL includes /v1.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Endpoint, EndpointKind, RequestShape } from '../endpoints';
import type { ProxyError, ProxyErrorCode } from '../http/proxy-error';
import type { TokenUsage } from '../pricing/cost';
import { count, obj, required, usable } from '../metering/usage';
import { formatSse } from '../streaming/sse';
import { Format, Json, forwarded, isJsonObject, listOf } from './format';
import { MeterReader, MeterState, addText } from '../metering/meter-reader';
import { larger, limitOrNull } from './request-fields';

type OpenAIEndpointKind = Extract<EndpointKind, `openai.${string}`>;

export const OPENAI_ENDPOINTS: Record<OpenAIEndpointKind, Endpoint> = {
  'openai.chat': {
    kind: 'openai.chat',
    format: 'openai',
    meter: 'openai-chat',
    billed: true,
    upstreamPath: () => '/chat/completions',
    readShape(body, model): RequestShape {
      // Both are accepted upstream (some OpenAI-compatible servers read only max_tokens): the larger one bounds the answer.
      const a = limitOrNull(body.max_completion_tokens, 'max_completion_tokens');
      const b = limitOrNull(body.max_tokens, 'max_tokens');
      return { model, stream: body.stream === true, maxOutputTokens: larger(a, b), answers: limitOrNull(body.n, 'n') ?? 1 };
    },
  },
  'openai.completions': {
    kind: 'openai.completions',
    format: 'openai',
    meter: 'openai-completions',
    billed: true,
    upstreamPath: () => '/completions',
    readShape(body, model): RequestShape {
      // The legacy completions API defaults max_tokens to 16; each prompt of a list gets best_of (≥ n) completions, all billed.
      const perPrompt = Math.max(limitOrNull(body.n, 'n') ?? 1, limitOrNull(body.best_of, 'best_of') ?? 1);
      return { model, stream: body.stream === true, maxOutputTokens: limitOrNull(body.max_tokens, 'max_tokens') ?? 16, answers: perPrompt * promptCount(body.prompt) };
    },
  },
  'openai.embeddings': {
    kind: 'openai.embeddings',
    format: 'openai',
    meter: 'openai-embeddings',
    billed: true,
    upstreamPath: () => '/embeddings',
    readShape: (_body, model) => ({ model, stream: false, maxOutputTokens: 0, answers: 1 }),
  },
  'openai.responses': {
    kind: 'openai.responses',
    format: 'openai',
    meter: 'openai-responses',
    billed: true,
    upstreamPath: () => '/responses',
    readShape: (body, model) => ({ model, stream: body.stream === true, maxOutputTokens: limitOrNull(body.max_output_tokens, 'max_output_tokens'), answers: 1 }),
  },
};

/** Legacy completions take one prompt (a string or a token array) or a list of them. */
function promptCount(prompt: unknown): number {
  if (!Array.isArray(prompt) || prompt.length === 0 || typeof prompt[0] === 'number') return 1;
  return prompt.length;
}

const ERROR_TYPE: Partial<Record<ProxyErrorCode, string>> = {
  invalid_api_key: 'authentication_error',
  key_revoked: 'authentication_error',
  key_expired: 'authentication_error',
  insufficient_credits: 'insufficient_quota',
  spend_cap_reached: 'insufficient_quota',
  model_not_allowed: 'permission_error',
  account_suspended: 'permission_error',
  account_restricted: 'permission_error',
  model_not_found: 'not_found_error',
  not_found: 'not_found_error',
  rate_limited: 'rate_limit_error',
  upstream_error: 'api_error',
  upstream_timeout: 'api_error',
  no_channel: 'api_error',
  upstream_unavailable: 'api_error',
  upstream_busy: 'api_error',
  unavailable: 'api_error',
  internal_error: 'api_error',
};

const BEARER = /^bearer\s+/i;

/**
 * Usage of chat and completions (`prompt_tokens`…), Responses (`input_tokens`…) and embeddings
 * (`prompt_tokens` only), as in the SDK's CompletionUsage / ResponseUsage /
 * CreateEmbeddingResponse.Usage. prompt_tokens / input_tokens INCLUDE the cached tokens (and the
 * tokens written to the cache, where reported); completion_tokens / output_tokens include
 * reasoning. xAI (same format) reports reasoning tokens beside completion_tokens, not inside
 * them (its total_tokens = prompt + completion + reasoning), so output is the larger of
 * completion_tokens and total_tokens − prompt_tokens, which is right for both.
 */
export function usageFromOpenAI(usage: unknown): TokenUsage | null {
  return usable(() => {
    const u = obj(usage);
    if ('input_tokens' in u || 'output_tokens' in u) {
      const details = obj(u.input_tokens_details);
      const prompt = required(u.input_tokens);
      const output = required(u.output_tokens);
      count(u.total_tokens); // not billed from, but a total that is no count says the rest cannot be trusted either
      const cached = Math.min(count(details.cached_tokens), prompt);
      const written = Math.min(count(details.cache_write_tokens), prompt - cached);
      return { inputTokens: prompt - cached - written, cachedTokens: cached, cacheWriteTokens: written, outputTokens: output };
    }
    const details = obj(u.prompt_tokens_details);
    const prompt = required(u.prompt_tokens);
    const cached = Math.min(count(details.cached_tokens), prompt);
    const written = Math.min(count(details.cache_write_tokens), prompt - cached);
    const completion = count(u.completion_tokens); // absent for embeddings
    const beyondPrompt = count(u.total_tokens) - prompt;
    return {
      inputTokens: prompt - cached - written,
      cachedTokens: cached,
      cacheWriteTokens: written,
      outputTokens: Math.max(completion, beyondPrompt),
    };
  });
}

const FORWARDED = ['openai-beta'] as const;

const errorBody = (err: ProxyError) => ({
  error: { message: err.message, type: ERROR_TYPE[err.code] ?? 'invalid_request_error', param: err.extra.param ?? null, code: err.code },
});

export const OPENAI_FORMAT: Format = {
  name: 'openai',
  errorBody,
  // Chat and completions: a `data: {"error": {...}}` event (the SDK throws an APIError).
  // Responses: `event: error` with `{"type": "error", "code", "message", "param"}`.
  streamError: (err, kind) =>
    kind === 'openai.responses'
      ? formatSse({ event: 'error', data: JSON.stringify({ type: 'error', code: err.code, message: err.message, param: null }) })
      : formatSse({ data: JSON.stringify(errorBody(err)) }),
  keyFromHeaders(headers: IncomingHttpHeaders): string | null {
    const auth = headers.authorization;
    return typeof auth === 'string' && BEARER.test(auth) ? auth.replace(BEARER, '').trim() : null;
  },
  upstreamHeaders(apiKey, client) {
    const h = forwarded(FORWARDED, client);
    h.authorization = `Bearer ${apiKey}`;
    return h;
  },
  usageOfAnswer: (json) => (isJsonObject(json) && json.usage ? usageFromOpenAI(json.usage) : null),
};

/** The text of a chat message or of a stream's delta: they have the same fields. */
function messageText(s: MeterState, m: Json): void {
  addText(s, m.content);
  addText(s, m.reasoning_content); // xAI and other OpenAI-compatible reasoning models
  addText(s, m.refusal);
  for (const tc of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
    if (isJsonObject(tc) && isJsonObject(tc.function)) {
      addText(s, tc.function.name);
      addText(s, tc.function.arguments);
    }
  }
  if (isJsonObject(m.function_call)) {
    addText(s, m.function_call.name);
    addText(s, m.function_call.arguments);
  }
}

/**
 * Chat and legacy completions streams: a final chunk with `usage` (stream_options.include_usage),
 * after the chunk with finish_reason, usually with `choices: []`.
 */
export const OPENAI_CHAT_METER: MeterReader = {
  usageMayChange: /"usage"\s*:\s*\{|"finish_reason"\s*:\s*"|\\u/,
  event(s, msg) {
    const choices = Array.isArray(msg.choices) ? msg.choices : [];
    for (const c of choices) {
      if (!isJsonObject(c)) continue;
      addText(s, c.text); // completions
      if (isJsonObject(c.delta)) messageText(s, c.delta);
      if (typeof c.finish_reason === 'string') s.finished = true;
    }
    if (isJsonObject(msg.usage)) {
      const usage = usageFromOpenAI(msg.usage);
      // The dedicated usage chunk has no choices; a provider that repeats usage on every chunk is final at the end.
      if (s.finished || choices.length === 0) s.final = usage;
      else s.partial = usage;
    }
  },
  answer(s, msg) {
    for (const c of Array.isArray(msg.choices) ? msg.choices : []) {
      if (!isJsonObject(c)) continue;
      addText(s, c.text); // completions
      if (isJsonObject(c.message)) messageText(s, c.message);
    }
  },
};

/** Responses streams: `response.completed` (or `.incomplete` / `.failed`) carries response.usage. */
export const OPENAI_RESPONSES_METER: MeterReader = {
  usageMayChange: /"usage"\s*:\s*\{|\\u/,
  event(s, msg) {
    const type = typeof msg.type === 'string' ? msg.type : '';
    // Text, refusal, reasoning, tool arguments and code deltas; audio deltas are base64, not text.
    if (type.endsWith('.delta')) {
      if (!type.includes('audio')) addText(s, msg.delta);
      return;
    }
    if (type === 'response.output_item.added' && isJsonObject(msg.item)) {
      addText(s, msg.item.name); // a function call's name
      return;
    }
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      const usage = isJsonObject(msg.response) ? msg.response.usage : undefined;
      if (isJsonObject(usage)) s.final = usageFromOpenAI(usage);
    }
  },
  answer(s, msg) {
    for (const item of Array.isArray(msg.output) ? msg.output : []) {
      if (!isJsonObject(item)) continue;
      addText(s, item.name); // function and custom tool calls
      addText(s, item.arguments);
      addText(s, item.input);
      addText(s, item.code); // code interpreter
      for (const part of [...listOf(item.content), ...listOf(item.summary)]) {
        if (!isJsonObject(part)) continue;
        addText(s, part.text); // output_text, reasoning summary_text
        addText(s, part.refusal);
      }
    }
  },
};
