/**
 * The endpoints the gateway serves, each in its provider's own format, and what the gateway
 * needs from a request body: the model, whether it streams, and its output limit. That is all
 * it reads; the body itself is forwarded as it came.
 */
import { ApiFormat, ProxyError } from './http/proxy-error';

export type EndpointKind =
  | 'openai.chat'
  | 'openai.completions'
  | 'openai.embeddings'
  | 'openai.responses'
  | 'anthropic.messages'
  | 'anthropic.count_tokens'
  | 'gemini.generate'
  | 'gemini.stream';

/** How usage is read from this endpoint's answers (see metering/). */
export type MeterKind = 'openai-chat' | 'openai-completions' | 'openai-responses' | 'openai-embeddings' | 'anthropic' | 'gemini';

export interface Endpoint {
  kind: EndpointKind;
  format: ApiFormat;
  meter: MeterKind;
  /** False for endpoints the providers do not charge for (token counting). */
  billed: boolean;
  /** The path after the channel's base URL (OpenAI's base includes /v1; the others' do not). */
  upstreamPath(model: string, query: string): string;
}

export const ENDPOINTS: Record<EndpointKind, Endpoint> = {
  'openai.chat': { kind: 'openai.chat', format: 'openai', meter: 'openai-chat', billed: true, upstreamPath: () => '/chat/completions' },
  'openai.completions': {
    kind: 'openai.completions',
    format: 'openai',
    meter: 'openai-completions',
    billed: true,
    upstreamPath: () => '/completions',
  },
  'openai.embeddings': {
    kind: 'openai.embeddings',
    format: 'openai',
    meter: 'openai-embeddings',
    billed: true,
    upstreamPath: () => '/embeddings',
  },
  'openai.responses': { kind: 'openai.responses', format: 'openai', meter: 'openai-responses', billed: true, upstreamPath: () => '/responses' },
  'anthropic.messages': { kind: 'anthropic.messages', format: 'anthropic', meter: 'anthropic', billed: true, upstreamPath: () => '/v1/messages' },
  'anthropic.count_tokens': {
    kind: 'anthropic.count_tokens',
    format: 'anthropic',
    meter: 'anthropic',
    billed: false,
    upstreamPath: () => '/v1/messages/count_tokens',
  },
  'gemini.generate': {
    kind: 'gemini.generate',
    format: 'gemini',
    meter: 'gemini',
    billed: true,
    upstreamPath: (model, query) => `/v1beta/models/${encodeURIComponent(model)}:generateContent${query}`,
  },
  'gemini.stream': {
    kind: 'gemini.stream',
    format: 'gemini',
    meter: 'gemini',
    billed: true,
    upstreamPath: (model, query) => `/v1beta/models/${encodeURIComponent(model)}:streamGenerateContent${query}`,
  },
};

export interface RequestShape {
  model: string;
  stream: boolean;
  /** The request's own output limit, when it sets one. */
  maxOutputTokens: number | null;
}

/** Reads the three things the gateway needs; anything else in the body is the provider's business. */
export function shapeOf(endpoint: Endpoint, body: Record<string, unknown>, pathModel: string | null): RequestShape {
  const model = pathModel ?? body.model;
  if (typeof model !== 'string' || model === '') {
    throw new ProxyError('invalid_request', 'the request names no model', { param: 'model' });
  }
  switch (endpoint.kind) {
    case 'openai.chat':
      return { model, stream: body.stream === true, maxOutputTokens: intOrNull(body.max_completion_tokens ?? body.max_tokens, 'max_tokens') };
    case 'openai.completions':
      // The legacy completions API defaults max_tokens to 16.
      return { model, stream: body.stream === true, maxOutputTokens: intOrNull(body.max_tokens, 'max_tokens') ?? 16 };
    case 'openai.embeddings':
      return { model, stream: false, maxOutputTokens: 0 };
    case 'openai.responses':
      return { model, stream: body.stream === true, maxOutputTokens: intOrNull(body.max_output_tokens, 'max_output_tokens') };
    case 'anthropic.messages':
      return { model, stream: body.stream === true, maxOutputTokens: intOrNull(body.max_tokens, 'max_tokens') };
    case 'anthropic.count_tokens':
      return { model, stream: false, maxOutputTokens: 0 };
    case 'gemini.generate':
    case 'gemini.stream': {
      const gen = body.generationConfig as Record<string, unknown> | undefined;
      return { model, stream: endpoint.kind === 'gemini.stream', maxOutputTokens: intOrNull(gen?.maxOutputTokens, 'generationConfig.maxOutputTokens') };
    }
  }
}

function intOrNull(v: unknown, param: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ProxyError('invalid_request', `${param} must be a whole number >= 0`, { param });
  }
  return v;
}
