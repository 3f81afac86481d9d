/**
 * The account API's own refusals (issue 19): who you are, what you may do, what you sent.
 * Every route under /api, /auth and /staff answers `{ "error": { "code", "message" } }` through
 * the one ApiErrorFilter (api-error.filter.ts), which also maps other contexts' DomainErrors.
 */
import { DomainError } from '../../shared/domain-error';

export const API_ERROR_STATUS = {
  unauthenticated: 401,
  forbidden: 403,
  csrf: 403,
  not_found: 404,
  validation_failed: 400,
  invalid_json: 400,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  mail_not_configured: 503,
  assistant_not_configured: 503,
  unavailable: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;

export interface ApiErrorDetails {
  /** For rate_limited and unavailable: sent as the retry-after header. */
  retryAfterSeconds?: number;
  /** For validation_failed: the field or parameter at fault. */
  param?: string;
}

export class ApiError extends DomainError<ApiErrorCode, ApiErrorDetails> {
  override readonly name = 'ApiError';

  get status(): number {
    return API_ERROR_STATUS[this.code];
  }
}

export const unauthenticated = (message = 'sign in, or send a management key (Authorization: Bearer tg-mgmt-…)') =>
  new ApiError('unauthenticated', message);
export const forbidden = (message = 'you may not do this') => new ApiError('forbidden', message);
export const notFound = (what = 'the resource') => new ApiError('not_found', `${what} does not exist`);
