import { ContextModules } from '../shared/context-modules';

/** The staff audit trail: `tollgate audit`. Its API side is StaffAudit, imported by the contexts whose staff act. */
export const AUDIT_CONTEXT: ContextModules = {
  name: 'audit',
  cli: async () => (await import('./cli/audit-cli.module')).AuditCliModule,
};
