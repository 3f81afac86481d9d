/**
 * Why an OAuth / OpenID Connect sign-in did not happen; statuses in the API's error filter
 * (DOMAIN_ERROR_STATUS): provider_not_found 404, invalid_state 400, oauth_failed 400. A
 * provider (or Redis) out of reach is the API's own 503 `unavailable` (ApiError), retried on the
 * next request.
 */
import { DomainError } from '../../shared/domain-error';

export type OAuthErrorCode =
  /** No provider of that name is configured. */
  | 'provider_not_found'
  /** The callback's state is missing, forged, expired, for another provider, or used already. */
  | 'invalid_state'
  /** The provider refused the code (replayed, expired, not this browser's) or its answer did not validate. */
  | 'oauth_failed';

export class OAuthError extends DomainError<OAuthErrorCode> {
  override readonly name = 'OAuthError';
}
