/**
 * The three API formats, looked up by name. A switch rather than a table built at load time:
 * http/proxy-error.ts reaches the formats through here while the format files import its
 * ProxyError, and a switch reads the format objects only when called, never half-loaded.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ApiFormat } from '../http/proxy-error';
import type { Provider } from '../pricing/model-price';
import { assertNever } from '../../shared/assert-never';
import { ANTHROPIC_FORMAT } from './anthropic.format';
import type { Format } from './format';
import { GEMINI_FORMAT, keyFromQuery } from './gemini.format';
import { OPENAI_FORMAT } from './openai.format';

export type { Format } from './format';

export function formatOf(name: ApiFormat): Format {
  switch (name) {
    case 'openai':
      return OPENAI_FORMAT;
    case 'anthropic':
      return ANTHROPIC_FORMAT;
    case 'gemini':
      return GEMINI_FORMAT;
    default:
      return assertNever(name);
  }
}

/** The API format a provider speaks: every provider not named here is OpenAI-compatible. */
export const formatOfProvider = (p: Provider): ApiFormat => (p === 'anthropic' ? 'anthropic' : p === 'gemini' ? 'gemini' : 'openai');

/**
 * The key the client presented. Every route takes each format's header, in this order:
 * `Authorization: Bearer`, `x-api-key`, `x-goog-api-key`. `?key=` counts only where `query` is
 * given (Gemini routes).
 */
export function clientKeyOf(headers: IncomingHttpHeaders, query?: Record<string, unknown>): string | null {
  return OPENAI_FORMAT.keyFromHeaders(headers) ?? ANTHROPIC_FORMAT.keyFromHeaders(headers) ?? GEMINI_FORMAT.keyFromHeaders(headers) ?? (query ? keyFromQuery(query) : null);
}
