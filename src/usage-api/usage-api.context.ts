import { ContextModules } from '../shared/context-modules';

/** The account API's balance, transactions, usage and request-log reads: API only. */
export const USAGE_API_CONTEXT: ContextModules = {
  name: 'usage-api',
  api: async () => (await import('./usage-api.module')).UsageApiModule,
};
