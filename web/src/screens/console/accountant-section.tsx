/**
 * Accountant: the trial balance and an account's balance, now or as of the end of a date (UTC),
 * the refund requests waiting for a decision, and a reconciliation of Stripe and the chains with
 * the ledger over a window (it waits for every source, so its button says so while it runs).
 */
import { useState } from 'preact/hooks';
import { request } from '../../api/client';
import { formatCredits } from '../../api/money';
import type { AccountBalance, Reconciliation, TrialBalance } from '../../api/staff-types';
import { ErrorMessage } from '../../components/error-message';
import { plural } from '../../plural';
import { RefundDecisions } from './refund-decisions';
import { asOfQuery, useAction, when } from './use-action';
import { TableRegion } from '../../components/table-region';

export function AccountantSection() {
  return (
    <section aria-labelledby="accountant-title">
      <h2 id="accountant-title">Accountant</h2>
      <TrialBalanceCard />
      <AccountBalanceCard />
      <RefundDecisions />
      <ReconcileCard />
    </section>
  );
}

function TrialBalanceCard() {
  const [asOf, setAsOf] = useState('');
  const tb = useAction<TrialBalance>();
  const submit = (e: Event) => {
    e.preventDefault();
    void tb.run(() => request<TrialBalance>(`/staff/ledger/trial-balance${asOfQuery(asOf)}`));
  };
  const t = tb.result;
  return (
    <form class="card" onSubmit={submit}>
      <h3 style={{ marginTop: 0 }}>Trial balance</h3>
      <div class="row">
        <div class="grow">
          <label for="tb-as-of">As of the end of (UTC; empty for now)</label>
          <input id="tb-as-of" type="date" value={asOf} onInput={(e) => setAsOf(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={tb.busy} aria-busy={tb.busy}>
          {tb.busy ? 'Adding up…' : 'Show trial balance'}
        </button>
      </div>
      <ErrorMessage error={tb.error} />
      {t && (
        <TableRegion label="Trial balance">
          <table class="trial-balance" data-as-of={t.asOf ?? 'now'}>
            <caption>Trial balance as of {t.asOf ? when(t.asOf) : 'now'}</caption>
            <thead>
              <tr>
                <th scope="col">Ledger account</th>
                <th scope="col" class="num">Balance (credits)</th>
              </tr>
            </thead>
            <tbody>
              {t.lines.length === 0 && (
                <tr>
                  <td colSpan={2}>No entries by then.</td>
                </tr>
              )}
              {t.lines.map((l) => (
                <tr key={l.ledgerAccount}>
                  <th scope="row">{l.ledgerAccount}</th>
                  <td class="num">{l.balance}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Total</th>
                <td class="num">
                  {t.total} {t.balanced ? '(balanced)' : '(does not balance)'}
                </td>
              </tr>
            </tfoot>
          </table>
        </TableRegion>
      )}
    </form>
  );
}

function AccountBalanceCard() {
  const [accountId, setAccountId] = useState('');
  const [asOf, setAsOf] = useState('');
  const balance = useAction<AccountBalance>();
  const submit = (e: Event) => {
    e.preventDefault();
    void balance.run(() => request<AccountBalance>(`/staff/accounts/${encodeURIComponent(accountId.trim())}/balance${asOfQuery(asOf)}`));
  };
  const b = balance.result;
  return (
    <form class="card" onSubmit={submit}>
      <h3 style={{ marginTop: 0 }}>An account's balance</h3>
      <div class="row">
        <div class="grow">
          <label for="balance-account">Account id</label>
          <input id="balance-account" required value={accountId} onInput={(e) => setAccountId(e.currentTarget.value)} />
        </div>
        <div class="grow">
          <label for="balance-as-of">As of the end of (UTC; empty for now)</label>
          <input id="balance-as-of" type="date" value={asOf} onInput={(e) => setAsOf(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={balance.busy} aria-busy={balance.busy}>
          {balance.busy ? 'Looking…' : 'Show balance'}
        </button>
      </div>
      <ErrorMessage error={balance.error} />
      {b && (
        <dl class="figures" style={{ marginTop: '1rem' }} data-balance-of={b.accountId}>
          {(['available', 'held', 'frozen', 'receivable', 'total'] as const).map((f) => (
            <div key={f}>
              <dt>{f === 'receivable' ? 'owed' : f}</dt>
              <dd>{formatCredits(b[f])}</dd>
            </div>
          ))}
        </dl>
      )}
    </form>
  );
}

function ReconcileCard() {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const rec = useAction<Reconciliation>();
  const submit = (e: Event) => {
    e.preventDefault();
    void rec.run(() => request<Reconciliation>('/staff/payments/reconcile', { method: 'POST', body: to ? { from, to } : { from } }));
  };
  const r = rec.result;
  return (
    <form class="card" onSubmit={submit}>
      <h3 style={{ marginTop: 0 }}>Reconcile payments</h3>
      <p class="sub">Compares Stripe and the chains with the ledger; at most 92 days (longer windows: `tollgate payments reconcile`).</p>
      <div class="row">
        <div class="grow">
          <label for="reconcile-from">From (ISO date-time, or a date: its end, UTC)</label>
          <input id="reconcile-from" required value={from} onInput={(e) => setFrom(e.currentTarget.value)} placeholder="2026-03-01T00:00:00Z" />
        </div>
        <div class="grow">
          <label for="reconcile-to">To, excluded (empty for now)</label>
          <input id="reconcile-to" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </div>
        <button type="submit" disabled={rec.busy} aria-busy={rec.busy}>
          {rec.busy ? 'Reconciling… (reading every source)' : 'Reconcile'}
        </button>
      </div>
      <ErrorMessage error={rec.error} />
      {r && (
        <div data-reconciled={r.matches ? 'matches' : 'differs'}>
          <p role="status">
            {when(r.from)} to {when(r.to)}: {r.matches ? 'everything matches.' : `${plural(r.differences.length, 'difference', 'differences')} or a source that could not be read.`}
          </p>
          <ul>
            {r.sources.map((s) => (
              <li key={s.source}>
                {s.source}: {s.compared} compared, {s.differences} different{s.error ? `; could not be read: ${s.error}` : ''}
              </li>
            ))}
            {r.differences.map((d) => (
              <li key={`${d.source}-${d.reference}-${d.kind}`}>
                {d.source} {d.kind} {d.reference}: {d.detail}
              </li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}
