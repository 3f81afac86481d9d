import { ContextModules } from '../src/shared/context-modules';

/** The ledger's read models: the CLI answers from them, the worker keeps them following the log. */
export const PROJECTIONS_CONTEXT: ContextModules = {
  name: 'projections',
  api: async () => (await import('./projections.module')).ProjectionsModule,
  worker: async () => (await import('./projections.module')).ProjectionsWorkerModule,
  cli: async () => (await import('./projections.module')).ProjectionsModule,
};
