/**
 * What `tollgate payments reconcile` reports: one line per thing that differs between the
 * outside record (Stripe's API, the chain) and the ledger. Each source's reconciler returns these.
 */
export interface Difference {
  /** Where the outside record is: 'stripe' or the chain's name. */
  source: 'stripe' | 'ethereum' | 'base';
  /** What differs, stably named: missing_in_ledger, missing_outside, amount_differs, not_on_chain, … */
  kind: string;
  /** The outside id: a payment intent, a refund, `chain-<id>-<tx>-<log>`. */
  reference: string;
  /** One line for a person. */
  detail: string;
  /** Amounts as decimal credit strings, where they apply. */
  outside?: string;
  ledger?: string;
}

/** A source's reconciler: every record of [from, to) against the ledger. */
export interface Reconciler {
  readonly source: Difference['source'] | 'chains';
  /** How many records it compared, and what differs. */
  reconcile(from: Date, to: Date, onProgress?: (done: number, total: number | null) => void): Promise<{ compared: number; differences: Difference[] }>;
}
