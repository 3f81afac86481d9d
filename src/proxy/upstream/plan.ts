/**
 * How a request reaches its provider: which channels may serve it, the upstream path and body,
 * and how the answer comes back. Same format as the client's: the body goes as it came and
 * the answer comes back unchanged. An OpenAI chat request for an Anthropic or Gemini model:
 * translated both ways (see translate/README.md for what translates and what is refused).
 */
import { ENDPOINTS, Endpoint, RequestShape } from '../endpoints';
import { formatOf, formatOfProvider } from '../formats';
import { ApiFormat, ProxyError, quoted } from '../http/proxy-error';
import { ModelPrice, Provider } from '../pricing/model-price';
import { TokenUsage } from '../pricing/cost';
import { MeterFormat } from '../metering/stream-meter';
import { SseEvent } from '../streaming/sse';
import { TranslationError } from '../translate/translation-error';
import { proxyErrorFor } from '../http/domain-error-map';
import { CompletionContext, OpenAIChatCompletion, OpenAIErrorBody, StreamContext, parseBody } from '../translate/openai-wire';
import { isJsonObject } from '../formats/format';
import type { OpenaiChunkStream } from '../translate/openai-chunk-stream';
import {
  AnthropicMessage,
  AnthropicToOpenaiStream,
  TranslatedRequest,
  anthropicErrorToOpenai,
  anthropicMessageToOpenaiChat,
  openaiChatToAnthropic,
} from '../translate/openai-to-anthropic';
import { GeminiToOpenaiStream, geminiErrorToOpenai, geminiResponseToOpenaiChat, openaiChatToGemini } from '../translate/openai-to-gemini';

export interface Plan {
  providers: Provider[];
  path(model: string, query: string): string;
  body: Buffer | string;
  meterFormat: MeterFormat;
  /** Set when the client's events are not the upstream's bytes (translated, or our usage chunk removed). */
  mapEvent?: (ev: SseEvent) => SseEvent[];
  endEvents?: () => SseEvent[];
  /** A complete JSON answer: what the client gets, and the usage it reports. */
  finishJson(buf: Buffer): { body: Buffer | string; usage: TokenUsage | null };
  /** For translated requests: the upstream's error answer in the client's format. */
  translateError?: (status: number, buf: Buffer) => string;
}

export function planFor(endpoint: Endpoint, price: ModelPrice, body: Record<string, unknown>, shape: RequestShape, raw: Buffer, requestId: string, now: Date): Plan {
  const target = formatOfProvider(price.provider);
  if (target === endpoint.format) return passThrough(endpoint, price, body, shape, raw);
  if (endpoint.kind === 'openai.chat' && target !== 'openai') {
    try {
      return translated(TRANSLATIONS[target], price, body, shape, requestId, now);
    } catch (err) {
      if (err instanceof TranslationError) throw proxyErrorFor(err);
      throw err;
    }
  }
  throw new ProxyError(
    'model_not_found',
    `the model ${quoted(shape.model)} is a ${target} model; call it through the ${target} API or OpenAI's /v1/chat/completions`,
    { param: 'model' },
  );
}

function passThrough(endpoint: Endpoint, price: ModelPrice, body: Record<string, unknown>, shape: RequestShape, raw: Buffer): Plan {
  const providers: Provider[] = endpoint.format === 'openai' ? [price.provider, 'openai-compatible'] : [price.provider];
  let upstreamBody: Buffer | string = raw;
  let mapEvent: Plan['mapEvent'];
  // OpenAI streams carry usage only when asked (stream_options.include_usage). Billing needs the
  // provider's own figures, so the gateway asks, and removes that extra chunk if the client did not.
  if (shape.stream && (endpoint.kind === 'openai.chat' || endpoint.kind === 'openai.completions')) {
    const opts = (body.stream_options ?? {}) as Record<string, unknown>;
    if (opts.include_usage !== true) {
      upstreamBody =
        (!Object.hasOwn(body, 'stream_options') && withLeadingKey(raw, ASK_FOR_USAGE)) ||
        JSON.stringify({ ...body, stream_options: { ...opts, include_usage: true } });
      mapEvent = withoutUsage;
    }
  }
  const meterFormat = meterOf(endpoint);
  return {
    providers,
    path: (model, query) => endpoint.upstreamPath(model, query),
    body: upstreamBody,
    meterFormat,
    mapEvent,
    endEvents: mapEvent ? () => [] : undefined,
    finishJson: (buf) => ({ body: buf, usage: endpoint.billed ? usageOfJson(endpoint.format, buf) : null }),
  };
}

const ASK_FOR_USAGE = Buffer.from('"stream_options":{"include_usage":true},');

const isJsonSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/**
 * The raw bytes of a JSON object with `member` (`"key":value,`) put first: the client's bytes
 * around it untouched, instead of parsing and serialising the whole body again (a cost that
 * grows with the prompt). Null when the bytes are not a non-empty object (`{` first, something
 * but `}` after it), for the caller to serialise instead. The caller makes sure the key is not
 * in the object already (the body check refuses duplicate keys, so the parsed body says).
 */
export function withLeadingKey(raw: Buffer, member: Buffer): Buffer | null {
  let open = 0;
  while (open < raw.length && isJsonSpace(raw[open])) open++;
  if (raw[open] !== 0x7b /* { */) return null;
  let next = open + 1;
  while (next < raw.length && isJsonSpace(raw[next])) next++;
  if (next >= raw.length || raw[next] === 0x7d /* } */) return null;
  return Buffer.concat([raw.subarray(0, open + 1), member, raw.subarray(open + 1)]);
}

/** What an OpenAI chat request needs to be served by another provider, and its answer read back. */
interface Translation {
  /** The provider, whose API format has the same name. */
  provider: 'anthropic' | 'gemini';
  request(body: Record<string, unknown>, opts: { defaultMaxTokens: number }): TranslatedRequest;
  stream: new (ctx: StreamContext) => OpenaiChunkStream;
  path(model: string, stream: boolean): string;
  meterFormat: MeterFormat;
  /** The upstream's JSON answer (an object: upstreamJson checked) as a chat completion. */
  answer(json: object, ctx: CompletionContext): OpenAIChatCompletion;
  /** The upstream's error answer (bytes, JSON or not) as an OpenAI error body. */
  errorToOpenai(status: number, body: Buffer): OpenAIErrorBody;
}

const TRANSLATIONS: Record<'anthropic' | 'gemini', Translation> = {
  anthropic: {
    provider: 'anthropic',
    request: openaiChatToAnthropic,
    stream: AnthropicToOpenaiStream,
    path: (model) => ENDPOINTS['anthropic.messages'].upstreamPath(model, ''),
    meterFormat: 'anthropic',
    // The provider's declared answer type: its converter reads each field as possibly absent.
    answer: (json, ctx) => anthropicMessageToOpenaiChat(json as AnthropicMessage, ctx),
    errorToOpenai: anthropicErrorToOpenai,
  },
  gemini: {
    provider: 'gemini',
    request: openaiChatToGemini,
    stream: GeminiToOpenaiStream,
    path: (model, stream) => (stream ? ENDPOINTS['gemini.stream'].upstreamPath(model, '?alt=sse') : ENDPOINTS['gemini.generate'].upstreamPath(model, '')),
    meterFormat: 'gemini',
    answer: (json, ctx) => geminiResponseToOpenaiChat(json, ctx),
    errorToOpenai: geminiErrorToOpenai,
  },
};

function translated(tr: Translation, price: ModelPrice, body: Record<string, unknown>, shape: RequestShape, requestId: string, now: Date): Plan {
  const t = tr.request(body, { defaultMaxTokens: price.maxOutputTokens });
  const ctx = { id: `chatcmpl-${requestId}`, created: Math.floor(now.getTime() / 1000), model: shape.model };
  const stream = t.stream ? new tr.stream({ ...ctx, includeUsage: t.includeUsage }) : null;
  return {
    providers: [tr.provider],
    path: (model) => tr.path(model, t.stream),
    body: JSON.stringify(t.body),
    meterFormat: tr.meterFormat,
    mapEvent: stream ? (ev) => stream.push(ev) : undefined,
    endEvents: stream ? () => stream.end() : undefined,
    finishJson: (buf) => {
      const json = upstreamJson(buf);
      return { body: JSON.stringify(tr.answer(json, ctx)), usage: formatOf(tr.provider).usageOfAnswer(json) };
    },
    translateError: (status, buf) => JSON.stringify(tr.errorToOpenai(status, buf)),
  };
}

function meterOf(endpoint: Endpoint): MeterFormat {
  switch (endpoint.meter) {
    case 'openai-embeddings':
      return 'openai-chat'; // never streams; the JSON path reads its usage
    default:
      return endpoint.meter;
  }
}

/** The provider's usage in a JSON answer (for Gemini's JSON-array stream, the last element's). */
function usageOfJson(format: ApiFormat, buf: Buffer): TokenUsage | null {
  return formatOf(format).usageOfAnswer(parseBody(buf));
}

// With include_usage, OpenAI writes `"usage":null` into every chunk before the last. In valid
// JSON a `"` right after `,` or `{` is structural, so these match a key, never text inside a
// string (whose quotes are escaped). Spaces are allowed for compatible providers that add them.
const USAGE_NULL_AFTER = /,\s*"usage"\s*:\s*null(?=\s*[,}])/;
const USAGE_NULL_BEFORE = /(?<=\{\s*)"usage"\s*:\s*null\s*,/;

/**
 * The client did not ask for usage, the gateway did: each chunk goes as the client would have
 * had it. `"usage":null` is cut from the text (no parse: this runs on every chunk), and the
 * final usage-only chunk (`choices: []`), the only one parsed, is withheld.
 */
export function withoutUsage(ev: SseEvent): SseEvent[] {
  const data = ev.data;
  if (data.indexOf('"usage"') < 0) return [ev];
  const cut = data.replace(USAGE_NULL_AFTER, '').replace(USAGE_NULL_BEFORE, '');
  if (cut !== data) return [{ ...ev, data: cut }];
  return isUsageOnlyChunk(ev) ? [] : [ev];
}

function isUsageOnlyChunk(ev: SseEvent): boolean {
  if (ev.data.indexOf('"choices"') < 0) return false;
  try {
    const chunk: unknown = JSON.parse(ev.data);
    return isJsonObject(chunk) && Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage != null;
  } catch {
    return false;
  }
}

/**
 * An upstream answer that must be a JSON object to be translated; when it is not, a 502 that
 * quotes none of it.
 */
function upstreamJson(buf: Buffer): object {
  const json = parseBody(buf);
  if (!isJsonObject(json)) throw new ProxyError('upstream_error', 'the upstream provider sent an answer that is not JSON');
  return json;
}
