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
  /**
   * How many answers the output limit applies to, each billed: OpenAI's `n` (and legacy
   * completions' `best_of` and list of prompts), Gemini's `candidateCount`. 1 otherwise.
   */
  answers: number;
}

/** Reads the three things the gateway needs; anything else in the body is the provider's business. */
export function shapeOf(endpoint: Endpoint, body: Record<string, unknown>, pathModel: string | null): RequestShape {
  const model = pathModel ?? body.model;
  if (typeof model !== 'string' || model === '') {
    throw new ProxyError('invalid_request', 'the request names no model', { param: 'model' });
  }
  switch (endpoint.kind) {
    case 'openai.chat': {
      // Both are accepted upstream (some OpenAI-compatible servers read only max_tokens): the larger one bounds the answer.
      const a = limitOrNull(body.max_completion_tokens, 'max_completion_tokens');
      const b = limitOrNull(body.max_tokens, 'max_tokens');
      return { model, stream: body.stream === true, maxOutputTokens: larger(a, b), answers: limitOrNull(body.n, 'n') ?? 1 };
    }
    case 'openai.completions': {
      // The legacy completions API defaults max_tokens to 16; each prompt of a list gets best_of (≥ n) completions, all billed.
      const perPrompt = Math.max(limitOrNull(body.n, 'n') ?? 1, limitOrNull(body.best_of, 'best_of') ?? 1);
      return { model, stream: body.stream === true, maxOutputTokens: limitOrNull(body.max_tokens, 'max_tokens') ?? 16, answers: perPrompt * promptCount(body.prompt) };
    }
    case 'openai.embeddings':
      return { model, stream: false, maxOutputTokens: 0, answers: 1 };
    case 'openai.responses':
      return { model, stream: body.stream === true, maxOutputTokens: limitOrNull(body.max_output_tokens, 'max_output_tokens'), answers: 1 };
    case 'anthropic.messages':
      return { model, stream: body.stream === true, maxOutputTokens: limitOrNull(body.max_tokens, 'max_tokens'), answers: 1 };
    case 'anthropic.count_tokens':
      return { model, stream: false, maxOutputTokens: 0, answers: 1 };
    case 'gemini.generate':
    case 'gemini.stream': {
      // The REST API takes camelCase and snake_case alike.
      const camel = asRecord(body.generationConfig);
      const snake = asRecord(body.generation_config);
      const a = limitOrNull(camel?.maxOutputTokens, 'generationConfig.maxOutputTokens');
      const b = limitOrNull(snake?.max_output_tokens, 'generation_config.max_output_tokens');
      const answers = larger(limitOrNull(camel?.candidateCount, 'generationConfig.candidateCount'), limitOrNull(snake?.candidate_count, 'generation_config.candidate_count')) ?? 1;
      return { model, stream: endpoint.kind === 'gemini.stream', maxOutputTokens: larger(a, b), answers };
    }
  }
}

const larger = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

/** Legacy completions take one prompt (a string or a token array) or a list of them. */
function promptCount(prompt: unknown): number {
  if (!Array.isArray(prompt) || prompt.length === 0 || typeof prompt[0] === 'number') return 1;
  return prompt.length;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * A request's output limit, when it sets one: a whole number ≥ 1. Zero is refused, not read as
 * "no output": providers treat it as unset or answer anyway, and a hold that reserved nothing
 * for the answer would let it be charged at a hold sized for the input alone.
 */
function limitOrNull(v: unknown, param: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new ProxyError('invalid_request', `${param} must be a whole number >= 1`, { param });
  }
  return v;
}
