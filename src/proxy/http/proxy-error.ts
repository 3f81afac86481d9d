/**
 * Every way the gateway itself refuses or fails a request, with a stable code, and how each
 * API format spells it: a client sees the error shape and status its own SDK expects.
 */
export type ApiFormat = 'openai' | 'anthropic' | 'gemini';

export type ProxyErrorCode =
  | 'invalid_api_key'
  | 'key_revoked'
  | 'key_expired'
  | 'insufficient_credits'
  | 'spend_cap_reached'
  | 'model_not_found'
  | 'model_not_allowed'
  | 'rate_limited'
  | 'invalid_json'
  | 'invalid_request'
  | 'unsupported_parameter'
  | 'body_too_large'
  | 'no_channel'
  | 'upstream_unavailable'
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
  rate_limited: 429,
  invalid_json: 400,
  invalid_request: 400,
  unsupported_parameter: 400,
  body_too_large: 413,
  no_channel: 503,
  upstream_unavailable: 503,
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

const OPENAI_TYPE: Partial<Record<ProxyErrorCode, string>> = {
  invalid_api_key: 'authentication_error',
  key_revoked: 'authentication_error',
  key_expired: 'authentication_error',
  insufficient_credits: 'insufficient_quota',
  spend_cap_reached: 'insufficient_quota',
  model_not_allowed: 'permission_error',
  model_not_found: 'not_found_error',
  not_found: 'not_found_error',
  rate_limited: 'rate_limit_error',
  upstream_error: 'api_error',
  upstream_timeout: 'api_error',
  no_channel: 'api_error',
  upstream_unavailable: 'api_error',
  unavailable: 'api_error',
  internal_error: 'api_error',
};

const ANTHROPIC_TYPE: Partial<Record<ProxyErrorCode, string>> = {
  invalid_api_key: 'authentication_error',
  key_revoked: 'authentication_error',
  key_expired: 'authentication_error',
  insufficient_credits: 'billing_error',
  spend_cap_reached: 'billing_error',
  model_not_allowed: 'permission_error',
  model_not_found: 'not_found_error',
  not_found: 'not_found_error',
  rate_limited: 'rate_limit_error',
  body_too_large: 'request_too_large',
  upstream_error: 'api_error',
  upstream_timeout: 'api_error',
  no_channel: 'overloaded_error',
  upstream_unavailable: 'overloaded_error',
  unavailable: 'overloaded_error',
  internal_error: 'api_error',
};

const GEMINI_STATUS: Record<number, string> = {
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

/** The error body in the given format. */
export function errorBody(format: ApiFormat, err: ProxyError): unknown {
  switch (format) {
    case 'openai':
      return {
        error: { message: err.message, type: OPENAI_TYPE[err.code] ?? 'invalid_request_error', param: err.extra.param ?? null, code: err.code },
      };
    case 'anthropic':
      return { type: 'error', error: { type: ANTHROPIC_TYPE[err.code] ?? 'invalid_request_error', message: err.message } };
    case 'gemini':
      return { error: { code: err.status, message: err.message, status: GEMINI_STATUS[err.status] ?? 'UNKNOWN' } };
  }
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
