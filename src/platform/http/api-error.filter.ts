/**
 * The account API's one error mapper (DESIGN.md: one mapper per surface). Every error a route
 * under /api, /auth or /staff throws becomes `{ "error": { "code", "message" } }` with a stable
 * code: ApiErrors by their own status, other contexts' DomainErrors by the table below (a code
 * missing from it is a fault: 500, logged), Nest's HttpExceptions (unknown route, body too
 * large) by their status, Postgres out of reach 503 with retry-after, anything else 500
 * `internal` with a generic message (the error is logged, never sent).
 *
 * Registered globally (create-api-app.ts); paths outside the account API keep Nest's default
 * answer (the proxy answers its own errors in each provider's shape before Nest sees them).
 */
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../shared/domain-error';
import { isPgUnavailable } from '../database/pg-unavailable';
import { API_ERROR_STATUS, ApiError } from './api-error';

/** Other contexts' codes as the account API answers them. Add a context's codes when its routes can throw them. */
export const DOMAIN_ERROR_STATUS: Readonly<Record<string, number>> = {
  // people (accounts)
  user_not_found: 404,
  email_taken: 409,
  passkey_not_found: 404,
  duplicate_passkey: 409,
  too_many_passkeys: 409,
  passkey_counter: 400,
  passkey_challenge: 400,
  passkey_invalid: 400,
  passkey_unknown: 400,
  role_not_held: 409,
  person_erased: 410,
  // erasure (compliance/erasure)
  reauthentication_required: 401,
  erasure_in_progress: 409,
  // sign-in with a provider (auth/oauth)
  provider_not_found: 404,
  invalid_state: 400,
  oauth_failed: 400,
  // keys
  key_not_found: 404,
  key_exists: 409,
  key_revoked: 409,
  // projects, management keys, Idempotency-Key
  project_not_found: 404,
  project_name_taken: 409,
  project_archived: 409,
  management_key_not_found: 404,
  idempotency_mismatch: 422,
  idempotency_in_progress: 409,
  invalid_idempotency_key: 400,
  // ledger
  account_not_found: 404,
  insufficient_credits: 402,
  amount_out_of_range: 400,
  invalid_amount: 400,
  account_suspended: 403,
  account_restricted: 403,
  restriction_not_active: 409,
  refund_exceeds_unspent: 409,
  freeze_not_open: 409,
  dispute_not_open: 409,
  // redemption codes (payments/codes)
  code_invalid: 400,
  code_expired: 400,
  batch_already_redeemed: 409,
  batch_not_found: 404,
  // refund requests (payments/refunds)
  refund_request_not_found: 404,
  purchase_not_found: 404,
  refund_request_open: 409,
  refund_window_passed: 409,
  nothing_to_refund: 409,
  refund_request_closed: 409,
  refund_request_decided: 409,
  refund_tx_hash: 400,
  refund_provider_unavailable: 503,
  stripe_not_configured: 503,
  // USDC/USDT on chain (payments/crypto)
  chain_not_offered: 400,
  token_not_offered: 400,
  intents_exhausted: 503,
  intent_not_found: 404,
  deposit_not_found: 404,
  deposit_not_final: 409,
  deposit_already_credited: 409,
  deposit_rejected: 409,
  log_index_required: 400,
  claim_signature_invalid: 403,
  chain_unavailable: 503,
  // card payments (payments/stripe)
  stripe_unavailable: 503,
  // data-subject requests (compliance/requests)
  subject_request_not_found: 404,
  subject_request_closed: 409,
  subject_request_busy: 409,
  invalid_outcome: 400,
  // sign-in links (auth/magic-link)
  invalid_token: 400,
  // breach incidents (compliance/incidents)
  incident_not_found: 404,
  incident_already_confirmed: 409,
  incident_not_confirmed: 409,
  incident_closed: 409,
  nobody_selected: 409,
  selection_empty: 409,
  unknown_people: 400,
  notices_pending: 409,
  incident_busy: 409,
  invalid_incident: 400,
  // data exports (compliance/export)
  export_not_found: 404,
  export_in_progress: 409,
  export_expired: 410,
  export_failed: 409,
  export_unavailable: 503,
  // shared
  invalid_command: 400,
  idempotency_conflict: 409,
  version_conflict: 409,
};

const API_PREFIXES = ['/api/', '/auth/', '/staff/'];
const API_EXACT = new Set(['/api', '/auth', '/staff']);

export const isAccountApiPath = (url: string): boolean => {
  const path = url.split('?', 1)[0];
  return API_EXACT.has(path) || API_PREFIXES.some((p) => path.startsWith(p));
};

/** Fastify's messages for an unparsable or empty JSON body (FST_ERR_CTP_INVALID_JSON_BODY, _EMPTY_JSON_BODY). */
const FASTIFY_JSON_REFUSAL = /is not valid JSON|cannot be empty when content-type/;

const HTTP_CODE: Record<number, string> = {
  400: 'validation_failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

export interface ApiErrorAnswer {
  status: number;
  code: string;
  message: string;
  retryAfterSeconds?: number;
}

/** What the account API answers for an error; pure, so the table is tested alone. */
export function apiErrorAnswer(err: unknown): ApiErrorAnswer {
  if (err instanceof ApiError) {
    return { status: err.status, code: err.code, message: err.message, retryAfterSeconds: err.details.retryAfterSeconds };
  }
  if (err instanceof DomainError) {
    const code: string = (err as DomainError<string>).code;
    const status = DOMAIN_ERROR_STATUS[code];
    if (status !== undefined) return { status, code, message: err.message };
    return { status: 500, code: 'internal', message: 'something went wrong on our side; it has been logged' };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    if (status >= 500) return { status, code: 'internal', message: 'something went wrong on our side; it has been logged' };
    // Nest turns Fastify's refusals of a body into HttpExceptions with Fastify's message.
    if (status === 400 && FASTIFY_JSON_REFUSAL.test(err.message)) return { status, code: 'invalid_json', message: bodyMessage('invalid_json') };
    if (status === 413 || status === 415) return { status, code: HTTP_CODE[status], message: bodyMessage(HTTP_CODE[status]) };
    return { status, code: HTTP_CODE[status] ?? 'invalid_request', message: httpMessage(err, status) };
  }
  const fastify = err as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  if (fastify && typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    // Fastify's refusals of a body (unparsable JSON, too large, unknown content type).
    const status = fastify.statusCode;
    const code = fastify.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fastify.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError ? 'invalid_json' : HTTP_CODE[status] ?? 'invalid_request';
    return { status, code, message: bodyMessage(code) };
  }
  if (isPgUnavailable(err)) {
    return { status: API_ERROR_STATUS.unavailable, code: 'unavailable', message: 'the database cannot be reached; try again shortly', retryAfterSeconds: 5 };
  }
  return { status: 500, code: 'internal', message: 'something went wrong on our side; it has been logged' };
}

function httpMessage(err: HttpException, status: number): string {
  if (status === 404) return 'no such route';
  const response = err.getResponse();
  const m = typeof response === 'object' && response && 'message' in response ? (response).message : err.message;
  return typeof m === 'string' ? m : err.message;
}

function bodyMessage(code: string): string {
  switch (code) {
    case 'invalid_json':
      return 'the body is not valid JSON';
    case 'payload_too_large':
      return 'the body is too large';
    case 'unsupported_media_type':
      return 'send the body as application/json';
    default:
      return 'the request could not be read';
  }
}

@Catch()
export class ApiErrorFilter extends BaseExceptionFilter implements ExceptionFilter {
  private readonly log = new Logger('AccountApi');

  override catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    if (!request?.raw?.url || !isAccountApiPath(request.raw.url)) {
      super.catch(err, host);
      return;
    }
    const answer = apiErrorAnswer(err);
    if (answer.status >= 500 && answer.code === 'internal') {
      // The route and the error, never a body: a body may hold content or secrets.
      const e = err instanceof Error ? err : new Error(String(err));
      this.log.error(`${request.method} ${request.routeOptions?.url ?? '?'} failed: ${e.name}: ${e.message}`, e.stack);
    }
    if (reply.sent) return;
    void reply
      .code(answer.status)
      .headers({
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        ...(answer.retryAfterSeconds !== undefined ? { 'retry-after': String(answer.retryAfterSeconds) } : {}),
      })
      .send(JSON.stringify({ error: { code: answer.code, message: answer.message } }));
  }
}
