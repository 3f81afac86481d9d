/**
 * Pricing errors carry a stable code (see shared/domain-error.ts), mapped to an answer by each
 * surface's one mapper (proxy/http/domain-error-map.ts, cli/cli-errors.ts).
 */
import { DomainError } from '../../shared/domain-error';

export type PricingErrorCode =
  | 'invalid_price_table' // a table that fails validation (bad rate, unknown provider, duplicate model)
  | 'invalid_margin' // a margin that is not a percentage with at most 2 decimals
  | 'no_price_table' // no table was in force at the instant asked for
  | 'price_table_conflict' // other writers kept publishing first; try again
  | 'invalid_usage'; // a token count that is not a whole number ≥ 0

export class PricingError extends DomainError<PricingErrorCode> {
  override readonly name = 'PricingError';
}
