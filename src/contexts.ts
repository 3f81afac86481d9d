/**
 * Every context, once. Each entry point (app.module.ts, worker.module.ts, cli.module.ts)
 * composes what these export for it (shared/context-modules.ts), so a new context is a folder
 * with a `<context>.context.ts` and one line here. The order is the order of `tollgate --help`.
 */
import { ContextModules, NestModule } from './shared/context-modules';
import { ACCOUNTS_CONTEXT } from './accounts/accounts.context';
import { AUTH_CONTEXT } from './auth/auth.context';
import { MAGIC_LINK_CONTEXT } from './auth/magic-link/magic-link.context';
import { LEDGER_CONTEXT } from './ledger/ledger.context';
import { KEYS_CONTEXT } from './keys/keys.context';
import { PROJECTS_CONTEXT } from './projects/projects.context';
import { PROXY_CONTEXT } from './proxy/proxy.context';
import { PROJECTIONS_CONTEXT } from '../projections/projections.context';
import { STAFF_CONTEXT } from './staff/staff.context';
import { AUDIT_CONTEXT } from './audit/audit.context';
import { OAUTH_CONTEXT } from './auth/oauth/oauth.context';
import { PASSKEYS_CONTEXT } from './auth/passkeys/passkeys.context';
import { MAIL_CONTEXT } from './mail/mail.context';
import { USAGE_API_CONTEXT } from './usage-api/usage-api.context';
import { PAYMENTS_CONTEXT } from './payments/payments.context';
import { COMPLIANCE_CONTEXT } from './compliance/compliance.context';
import { ASSISTANT_CONTEXT } from './assistant/assistant.context';

export const CONTEXTS: readonly ContextModules[] = [
  ACCOUNTS_CONTEXT,
  AUTH_CONTEXT,
  MAGIC_LINK_CONTEXT,
  OAUTH_CONTEXT,
  PASSKEYS_CONTEXT,
  LEDGER_CONTEXT,
  KEYS_CONTEXT,
  PROJECTS_CONTEXT,
  PROXY_CONTEXT,
  PROJECTIONS_CONTEXT,
  STAFF_CONTEXT,
  AUDIT_CONTEXT,
  MAIL_CONTEXT,
  USAGE_API_CONTEXT,
  PAYMENTS_CONTEXT,
  COMPLIANCE_CONTEXT,
  ASSISTANT_CONTEXT,
];

export type EntryPoint = 'api' | 'worker' | 'cli';

/** The modules every context plugs into one entry point, loaded (only those), in CONTEXTS order. */
export function contextModules(entry: EntryPoint, contexts: readonly ContextModules[] = CONTEXTS): Promise<NestModule[]> {
  return Promise.all(contexts.flatMap((c) => c[entry] ?? []).map((load) => load()));
}
