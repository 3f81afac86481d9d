/** Pricing errors carry a stable code, mapped to HTTP status and CLI text by the shared filters. */
export type PricingErrorCode =
  | 'invalid_price_table' // a table that fails validation (bad rate, unknown provider, duplicate model)
  | 'invalid_margin' // a margin that is not a percentage with at most 2 decimals
  | 'no_price_table' // no table was in force at the instant asked for
  | 'price_table_conflict' // other writers kept publishing first; try again
  | 'invalid_usage'; // a token count that is not a whole number ≥ 0

export class PricingError extends Error {
  constructor(
    readonly code: PricingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PricingError';
  }
}
