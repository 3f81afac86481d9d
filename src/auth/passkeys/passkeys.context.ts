import { ContextModules } from '../../shared/context-modules';

/** Passkeys plug into the API beside the auth context's own module (sessions, the guard), which they import. */
export const PASSKEYS_CONTEXT: ContextModules = {
  name: 'passkeys',
  api: async () => (await import('./passkeys.module')).PasskeysModule,
};
