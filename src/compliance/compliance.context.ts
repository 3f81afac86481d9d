import { ContextModules } from '../shared/context-modules';

/**
 * Compliance (issue 21): the promises of the privacy notes as tested behaviour. Usage retention
 * that really forgets (retention/), data export (export/), erasure by crypto-shredding
 * (erasure/), data-subject requests (requests/) and breach notification (incidents/). Each part
 * is a folder with its own modules, composed by the three modules below.
 */
export const COMPLIANCE_CONTEXT: ContextModules = {
  name: 'compliance',
  api: async () => (await import('./compliance-api.module')).ComplianceApiModule,
  worker: async () => (await import('./compliance-worker.module')).ComplianceWorkerModule,
  cli: async () => (await import('./compliance-cli.module')).ComplianceCliModule,
};
