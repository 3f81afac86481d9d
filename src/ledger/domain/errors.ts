/** Ledger errors carry a stable code; one HTTP filter and the CLI map codes to status and text. */
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
  | 'version_conflict';

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'LedgerError';
  }
}
