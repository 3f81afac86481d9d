/**
 * An error inside a stream whose 200 has already gone out, written as each provider writes its
 * own mid-stream errors, so the client's official SDK raises it instead of ending quietly:
 * - OpenAI chat and completions: a `data: {"error": {...}}` event (the SDK throws an APIError);
 * - OpenAI responses: `event: error` with `{"type": "error", "code", "message", "param"}`;
 * - Anthropic: `event: error` with `{"type": "error", "error": {"type", "message"}}`;
 * - Gemini: a `data:` event holding the error JSON, `{"error": {"code", "message", "status"}}`.
 */
import { EndpointKind } from '../endpoints';
import { ProxyError, errorBody } from '../http/proxy-error';
import { formatSse } from './sse';

export function streamErrorEvent(kind: EndpointKind, err: ProxyError): string {
  switch (kind) {
    case 'anthropic.messages':
    case 'anthropic.count_tokens':
      return formatSse({ event: 'error', data: JSON.stringify(errorBody('anthropic', err)) });
    case 'gemini.generate':
    case 'gemini.stream':
      return formatSse({ data: JSON.stringify(errorBody('gemini', err)) });
    case 'openai.responses':
      return formatSse({ event: 'error', data: JSON.stringify({ type: 'error', code: err.code, message: err.message, param: null }) });
    case 'openai.chat':
    case 'openai.completions':
    case 'openai.embeddings':
      return formatSse({ data: JSON.stringify(errorBody('openai', err)) });
  }
}
