/**
 * The staff console: one section per role the signed-in person holds (admin holds them all):
 * support (find a person, their keys and requests), accountant (trial balance, balances as of a
 * date, refund requests, reconcile) and compliance (data-subject requests with due dates,
 * incidents with the 72-hour clock, exports). Everything goes through the staff API, which checks
 * the role again on every request; a person with no role sees the API's own refusal.
 */
import type { Me } from '../api/types';
import { useApi } from '../api/use-api';
import { ErrorMessage } from '../components/error-message';
import { AccountantSection } from './console/accountant-section';
import { ComplianceSection } from './console/compliance-section';
import { SupportSection } from './console/support-section';

export function ConsoleScreen() {
  const me = useApi<Me>('/api/me');
  const roles = me.data?.roles ?? [];
  const has = (role: string) => roles.includes('admin') || roles.includes(role);
  const none = me.data !== undefined && !['support', 'accountant', 'compliance'].some(has);
  // No role: ask the API anyway (a staff list every console role but compliance may read), so
  // the page shows the API's 403 message rather than a guess of ours.
  const refusal = useApi<unknown>(none ? '/staff/refund-requests?limit=1' : null);
  return (
    <div class="console">
      <h1 tabIndex={-1}>Staff console</h1>
      <ErrorMessage error={me.error} />
      {me.loading && <p aria-busy="true">Loading…</p>}
      {none && (refusal.loading ? <p aria-busy="true">Checking your roles…</p> : <ErrorMessage error={refusal.error ?? 'you hold no staff role'} />)}
      {me.data && !none && <p class="sub">Your roles: {roles.join(', ')}. Every read and change here is recorded in the staff audit trail.</p>}
      {has('support') && <SupportSection />}
      {has('accountant') && <AccountantSection />}
      {has('compliance') && <ComplianceSection />}
    </div>
  );
}
