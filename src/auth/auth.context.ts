import { ContextModules } from '../shared/context-modules';

export const AUTH_CONTEXT: ContextModules = {
  name: 'auth',
  api: async () => (await import('./auth.module')).AuthModule,
  worker: async () => (await import('./auth-worker.module')).AuthWorkerModule,
};
