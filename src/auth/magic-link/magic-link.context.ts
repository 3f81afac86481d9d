import { ContextModules } from '../../shared/context-modules';

/** Signing in by mail: sign-in links, and email + password (AUTH_PASSWORDS) built on them. */
export const MAGIC_LINK_CONTEXT: ContextModules = {
  name: 'magic-link',
  api: async () => (await import('./sign-in-by-mail.module')).SignInByMailModule,
  worker: async () => (await import('./magic-link-worker.module')).MagicLinkWorkerModule,
};
