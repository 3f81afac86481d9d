import { ContextModules } from '../shared/context-modules';

/** The dashboard assistant's API: API only (it keeps no state, so no worker or CLI part). */
export const ASSISTANT_CONTEXT: ContextModules = {
  name: 'assistant',
  api: async () => (await import('./assistant-api.module')).AssistantApiModule,
};
