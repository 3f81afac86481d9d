/**
 * Why an OAuth / OpenID Connect sign-in did not happen. The HTTP statuses are in the API's one
 * error filter: provider_not_found 404, invalid_state 400, oauth_failed 400, unavailable 503.
 */
import { DomainError } from '../../shared/domain-error';

export type OAuthErrorCode =
  /** No provider of that name is configured. */
  | 'provider_not_found'
  /** The callback's state is missing, forged, expired, for another provider, or used already. */
  | 'invalid_state'
  /** The provider refused the code (replayed, expired, not this browser's) or its answer did not validate. */
  | 'oauth_failed'
  /** The provider (or the store that keeps states single-use) could not be reached; retried on the next request. */
  | 'unavailable';

export class OAuthError extends DomainError<OAuthErrorCode> {
  override readonly name = 'OAuthError';
}
