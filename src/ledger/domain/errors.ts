/**
 * Ledger errors carry a stable code (see shared/domain-error.ts): the proxy's mapper
 * (proxy/http/domain-error-map.ts) turns the ones a request can meet into its answers, and the
 * CLI's (cli/cli-errors.ts) prints `message (code)`.
 */
import { DomainError } from '../../shared/domain-error';

export type LedgerErrorCode =
  | 'account_not_found'
  | 'insufficient_credits'
  | 'no_free_requests'
  | 'hold_not_open'
  | 'hold_not_expired'
  | 'late_settle_window_passed'
  | 'settle_exceeds_hold'
  | 'invalid_amount'
  | 'amount_out_of_range'
  | 'invalid_command'
  | 'idempotency_conflict'
  | 'version_conflict'
  | 'account_suspended'
  | 'refund_exceeds_unspent'
  | 'freeze_not_open'
  | 'dispute_not_open'
  | 'account_restricted'
  | 'restriction_not_active';

export class LedgerError extends DomainError<LedgerErrorCode, Record<string, unknown>> {
  override readonly name = 'LedgerError';
}
