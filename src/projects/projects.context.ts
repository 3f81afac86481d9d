import { ContextModules } from '../shared/context-modules';

export const PROJECTS_CONTEXT: ContextModules = {
  name: 'projects',
  api: async () => (await import('./projects-api.module')).ProjectsApiModule,
};
