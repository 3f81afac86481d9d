import { ContextModules } from '../shared/context-modules';

export const ACCOUNTS_CONTEXT: ContextModules = {
  name: 'accounts',
  api: async () => (await import('./accounts-api.module')).AccountsApiModule,
  cli: async () => (await import('./cli/accounts-cli.module')).AccountsCliModule,
};
