/**
 * The endpoints the gateway serves, each in its provider's own format, and what the gateway
 * needs from a request body: the model, whether it streams, and its output limit. That is all
 * it reads; the body itself is forwarded as it came. Each endpoint is declared, with how its
 * shape is read, in its format's file under formats/.
 */
import { ApiFormat, ProxyError } from './http/proxy-error';
import { ANTHROPIC_ENDPOINTS } from './formats/anthropic.format';
import { GEMINI_ENDPOINTS } from './formats/gemini.format';
import { OPENAI_ENDPOINTS } from './formats/openai.format';

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
  /** The request's stream flag, output limit and answers, checked (400 when a limit is no whole number >= 1). */
  readShape(body: Record<string, unknown>, model: string): RequestShape;
}

/** Every endpoint, each declared with its format (formats/*.format.ts). */
export const ENDPOINTS: Record<EndpointKind, Endpoint> = { ...OPENAI_ENDPOINTS, ...ANTHROPIC_ENDPOINTS, ...GEMINI_ENDPOINTS };

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
  return endpoint.readShape(body, model);
}
