/**
 * Every way the gateway itself refuses or fails a request, with a stable code, and how each
 * API format spells it (formats/*.format.ts): a client sees the error shape and status its own
 * SDK expects.
 */
import { formatOf } from '../formats';

export type ApiFormat = 'openai' | 'anthropic' | 'gemini';

export type ProxyErrorCode =
  | 'invalid_api_key'
  | 'key_revoked'
  | 'key_expired'
  | 'insufficient_credits'
  | 'spend_cap_reached'
  | 'model_not_found'
  | 'model_not_allowed'
  | 'account_suspended'
  | 'account_restricted'
  | 'rate_limited'
  | 'invalid_json'
  | 'invalid_request'
  | 'unsupported_parameter'
  | 'body_too_large'
  | 'no_channel'
  | 'upstream_unavailable'
  | 'upstream_busy'
  | 'unavailable'
  | 'upstream_error'
  | 'upstream_timeout'
  | 'not_found'
  | 'method_not_allowed'
  | 'request_timeout'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'internal_error';

const STATUS: Record<ProxyErrorCode, number> = {
  invalid_api_key: 401,
  key_revoked: 401,
  key_expired: 401,
  insufficient_credits: 402,
  spend_cap_reached: 402,
  model_not_found: 404,
  model_not_allowed: 403,
  account_suspended: 403,
  account_restricted: 403,
  rate_limited: 429,
  invalid_json: 400,
  invalid_request: 400,
  unsupported_parameter: 400,
  body_too_large: 413,
  no_channel: 503,
  upstream_unavailable: 503,
  upstream_busy: 503,
  unavailable: 503,
  upstream_error: 502,
  upstream_timeout: 504,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  uri_too_long: 414,
  headers_too_large: 431,
  internal_error: 500,
};

export class ProxyError extends Error {
  readonly status: number;

  constructor(
    readonly code: ProxyErrorCode,
    message: string,
    readonly extra: { param?: string | null; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'ProxyError';
    this.status = STATUS[code];
  }
}

/**
 * The format a path is answered in when no route says so (unknown paths, socket-level errors):
 * Anthropic's under /v1/messages, Gemini's under /v1beta, OpenAI's elsewhere under /v1; null
 * outside the proxy's paths.
 */
export function formatOfPath(url: string): ApiFormat | null {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (path === '/v1beta' || path.startsWith('/v1beta/')) return 'gemini';
  if (path === '/v1/messages' || path.startsWith('/v1/messages/')) return 'anthropic';
  if (path === '/v1' || path.startsWith('/v1/')) return 'openai';
  return null;
}

/**
 * Client-chosen text (a model name, a path) as error messages quote it: at most 200 characters,
 * so a megabyte of it is not sent back whole.
 */
export function quoted(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** The error body in the given format (each format's table is in formats/). */
export function errorBody(format: ApiFormat, err: ProxyError): unknown {
  return formatOf(format).errorBody(err);
}

/** Seconds a client is asked to wait when a store the gateway needs cannot be reached. */
export const STORE_RETRY_AFTER_SECONDS = 2;

/**
 * Postgres unreachable (an outage, not a refusal of what was sent): 503 `unavailable` with
 * retry-after, in the caller's own format, rather than a 500 that says the request was at fault.
 */
export function databaseUnavailable(): ProxyError {
  return new ProxyError('unavailable', 'the gateway cannot reach its database; try again shortly', {
    retryAfterSeconds: STORE_RETRY_AFTER_SECONDS,
  });
}
