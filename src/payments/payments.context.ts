import { ContextModules } from '../shared/context-modules';

/**
 * Payments (issue 20): redemption codes, Stripe, USDC/USDT on chain, refunds and disputes,
 * receipts, low-balance alerts. The money itself is the ledger's: this context turns outside
 * payments into ledger commands, once each.
 */
export const PAYMENTS_CONTEXT: ContextModules = {
  name: 'payments',
  api: async () => (await import('./payments.module')).PaymentsModule,
  worker: async () => (await import('./payments-worker.module')).PaymentsWorkerModule,
  cli: async () => (await import('./payments-cli.module')).PaymentsCliModule,
};
