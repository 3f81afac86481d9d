/**
 * Errors of the API keys context, with stable codes. KeyError is what managing keys can fail
 * with (CLI, staff API); KeyAuthError is what authenticating a presented key can fail with,
 * which the proxy maps to 401 in each API format's own error shape.
 */
import { DomainError } from '../../shared/domain-error';

export type KeyErrorCode =
  | 'account_not_found'
  | 'key_not_found'
  | 'key_exists'
  | 'key_revoked'
  | 'invalid_command'
  | 'idempotency_conflict'
  | 'version_conflict'
  | 'broadcast_failed';

export class KeyError extends DomainError<KeyErrorCode> {
  override readonly name = 'KeyError';
}

export type KeyAuthErrorCode = 'invalid_api_key' | 'key_revoked' | 'key_expired';

export class KeyAuthError extends DomainError<KeyAuthErrorCode> {
  override readonly name = 'KeyAuthError';
}
