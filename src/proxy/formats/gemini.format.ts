/**
 * The Gemini API format: generateContent and streamGenerateContent, the model named in the
 * path (`/v1beta/models/{model}:{method}`). Its SDK sends the key as `x-goog-api-key`; the REST
 * API also documents `?key=`, which the gateway accepts on Gemini routes only (a key in a URL
 * ends up in access logs). The channel's base URL has no /v1beta.
 */
import type { Endpoint, EndpointKind, RequestShape } from '../endpoints';
import { ProxyError } from '../http/proxy-error';
import type { TokenUsage } from '../pricing/cost';
import { count, obj, required, usable } from '../metering/usage';
import { formatSse } from '../streaming/sse';
import { Format, Json, forwarded, isJsonObject } from './format';
import { MeterReader, MeterState, addText } from '../metering/meter-reader';
import { asRecord, headerValue, larger, limitOrNull } from './request-fields';

type GeminiEndpointKind = Extract<EndpointKind, `gemini.${string}`>;

function readShape(body: Record<string, unknown>, model: string, stream: boolean): RequestShape {
  // The REST API takes camelCase and snake_case alike.
  const camel = asRecord(body.generationConfig);
  const snake = asRecord(body.generation_config);
  const a = limitOrNull(camel?.maxOutputTokens, 'generationConfig.maxOutputTokens');
  const b = limitOrNull(snake?.max_output_tokens, 'generation_config.max_output_tokens');
  const answers = larger(limitOrNull(camel?.candidateCount, 'generationConfig.candidateCount'), limitOrNull(snake?.candidate_count, 'generation_config.candidate_count')) ?? 1;
  return { model, stream, maxOutputTokens: larger(a, b), answers };
}

export const GEMINI_ENDPOINTS: Record<GeminiEndpointKind, Endpoint> = {
  'gemini.generate': {
    kind: 'gemini.generate',
    format: 'gemini',
    meter: 'gemini',
    billed: true,
    upstreamPath: (model, query) => `/v1beta/models/${encodeURIComponent(model)}:generateContent${query}`,
    readShape: (body, model) => readShape(body, model, false),
  },
  'gemini.stream': {
    kind: 'gemini.stream',
    format: 'gemini',
    meter: 'gemini',
    billed: true,
    upstreamPath: (model, query) => `/v1beta/models/${encodeURIComponent(model)}:streamGenerateContent${query}`,
    readShape: (body, model) => readShape(body, model, true),
  },
};

/** `gemini-2.5-flash:generateContent` → its endpoint and model; anything else is not a Gemini method we serve. */
export function geminiEndpointOf(modelAction: string): { endpoint: Endpoint; model: string } {
  const at = modelAction.lastIndexOf(':');
  const model = at > 0 ? modelAction.slice(0, at) : '';
  const action = at > 0 ? modelAction.slice(at + 1) : '';
  if (!model || (action !== 'generateContent' && action !== 'streamGenerateContent')) {
    throw new ProxyError('not_found', `no such method: ${modelAction.slice(0, 100)} (served: :generateContent, :streamGenerateContent)`);
  }
  return { endpoint: action === 'generateContent' ? GEMINI_ENDPOINTS['gemini.generate'] : GEMINI_ENDPOINTS['gemini.stream'], model };
}

/** Only the query parameters that shape the upstream's answer go on; our own `key` never does. */
export function forwardedQuery(q: Record<string, string> | undefined): string {
  const alt = q?.alt;
  return typeof alt === 'string' && /^(sse|json)$/.test(alt) ? `?alt=${alt}` : '';
}

/** The client's key given as `?key=`. */
export function keyFromQuery(query: Record<string, unknown> | undefined): string | null {
  const q = query?.key;
  return typeof q === 'string' && q ? q : null;
}

/** Google's canonical status names, by HTTP status. */
const STATUS_NAME: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  402: 'FAILED_PRECONDITION',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  405: 'UNIMPLEMENTED',
  408: 'DEADLINE_EXCEEDED',
  413: 'INVALID_ARGUMENT',
  414: 'INVALID_ARGUMENT',
  431: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * A GenerateContentResponse's `usageMetadata` (@google/genai GenerateContentResponseUsageMetadata).
 * promptTokenCount INCLUDES cachedContentTokenCount; thoughtsTokenCount is separate from
 * candidatesTokenCount and billed as output; toolUsePromptTokenCount (results of Google's own
 * tools fed back to the model) is separate from the prompt and billed as input. Gemini omits
 * zero counts.
 */
export function usageFromGemini(usageMetadata: unknown): TokenUsage | null {
  return usable(() => {
    const u = obj(usageMetadata);
    const prompt = required(u.promptTokenCount);
    const cached = Math.min(count(u.cachedContentTokenCount), prompt);
    count(u.totalTokenCount); // not billed from, but a total that is no count says the rest cannot be trusted either
    return {
      inputTokens: prompt - cached + count(u.toolUsePromptTokenCount),
      cachedTokens: cached,
      cacheWriteTokens: 0,
      outputTokens: count(u.candidatesTokenCount) + count(u.thoughtsTokenCount),
    };
  });
}

const errorBody = (err: ProxyError) => ({ error: { code: err.status, message: err.message, status: STATUS_NAME[err.status] ?? 'UNKNOWN' } });

export const GEMINI_FORMAT: Format = {
  name: 'gemini',
  errorBody,
  // A `data:` event holding the error JSON.
  streamError: (err) => formatSse({ data: JSON.stringify(errorBody(err)) }),
  keyFromHeaders: (headers) => headerValue(headers['x-goog-api-key']),
  upstreamHeaders(apiKey, client) {
    const h = forwarded([], client);
    h['x-goog-api-key'] = apiKey;
    return h;
  },
  // For the JSON-array stream (streamGenerateContent without alt=sse), the last element's.
  usageOfAnswer(json) {
    const last: unknown = Array.isArray(json) ? json[json.length - 1] : json;
    return isJsonObject(last) && last.usageMetadata ? usageFromGemini(last.usageMetadata) : null;
  },
};

/**
 * Every chunk may carry usageMetadata; the one with or after finishReason is final. A whole
 * answer (or each element of the JSON-array stream) reads the same way.
 */
function meterChunk(s: MeterState, msg: Json): void {
  const candidates = Array.isArray(msg.candidates) ? msg.candidates : [];
  for (const c of candidates) {
    if (!isJsonObject(c)) continue;
    const parts = isJsonObject(c.content) && Array.isArray(c.content.parts) ? c.content.parts : [];
    for (const p of parts) {
      if (!isJsonObject(p)) continue;
      addText(s, p.text); // thought summaries are text parts too, and billed as output
      if (isJsonObject(p.functionCall)) {
        addText(s, p.functionCall.name);
        if (p.functionCall.args !== undefined) addText(s, JSON.stringify(p.functionCall.args));
      }
      if (isJsonObject(p.executableCode)) addText(s, p.executableCode.code);
    }
    if (typeof c.finishReason === 'string' && c.finishReason !== 'FINISH_REASON_UNSPECIFIED') s.finished = true;
  }
  if (isJsonObject(msg.usageMetadata)) {
    const usage = usageFromGemini(msg.usageMetadata);
    if (s.finished) s.final = usage;
    else s.partial = usage;
  }
}

export const GEMINI_METER: MeterReader = { usageMayChange: /"usageMetadata"\s*:\s*\{|"finishReason"\s*:\s*"|\\u/, event: meterChunk, answer: meterChunk };
