import { ContextModules } from '../shared/context-modules';

/** Payments (issue 20): redemption codes for now (POST /api/billing/redeem, `tollgate codes`). */
export const PAYMENTS_CONTEXT: ContextModules = {
  name: 'payments',
  api: async () => (await import('./codes/codes.module')).CodesModule,
  cli: async () => (await import('./codes/cli/codes-cli.module')).CodesCliModule,
};
