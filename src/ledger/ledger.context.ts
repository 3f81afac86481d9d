import { ContextModules } from '../shared/context-modules';

export const LEDGER_CONTEXT: ContextModules = {
  name: 'ledger',
  api: async () => (await import('./ledger.module')).LedgerModule,
  worker: async () => (await import('./jobs/ledger-jobs.module')).LedgerJobsModule,
  cli: async () => (await import('./cli/ledger-cli.module')).LedgerCliModule,
};
