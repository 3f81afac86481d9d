import { ContextModules } from '../../shared/context-modules';

/** OAuth / OIDC sign-in: API routes only (its state lives in a cookie and Redis, its people in the accounts context). */
export const OAUTH_CONTEXT: ContextModules = {
  name: 'oauth',
  api: async () => (await import('./oauth.module')).OAuthModule,
};
