import { ContextModules } from '../shared/context-modules';

/** Staff roles and the /staff API; `tollgate staff`. */
export const STAFF_CONTEXT: ContextModules = {
  name: 'staff',
  api: async () => (await import('./staff-api.module')).StaffApiModule,
  cli: async () => (await import('./cli/staff-cli.module')).StaffCliModule,
};
