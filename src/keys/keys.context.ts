import { ContextModules } from '../shared/context-modules';

export const KEYS_CONTEXT: ContextModules = {
  name: 'keys',
  api: async () => (await import('./keys-api.module')).KeysApiModule,
  cli: async () => (await import('./cli/keys-cli.module')).KeysCliModule,
};
