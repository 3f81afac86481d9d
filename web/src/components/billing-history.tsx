/**
 * The billing screen's lists: transactions (GET /api/transactions: money in and out outside
 * requests) and refund requests (GET /api/billing/refund-requests), with the form that asks for
 * a refund of a purchase's unspent part (GET /api/billing/purchases, POST /api/billing/refund-requests).
 */
import { useEffect, useState } from 'preact/hooks';
import type { Purchase, RefundRequest, Transaction } from '../api/billing-types';
import { newIdempotencyKey, request } from '../api/client';
import { formatCredits } from '../api/money';
import { useApi } from '../api/use-api';
import { usePages } from '../api/use-pages';
import { ErrorMessage } from './error-message';
import { TableRegion } from './table-region';

const KINDS: Record<Transaction['kind'], string> = {
  purchase: 'Card purchase',
  crypto_payment: 'Crypto payment',
  grant: 'Grant',
  refund: 'Refund',
  adjustment: 'Adjustment',
  receivable: 'Amount owed',
  receivable_repaid: 'Owed amount repaid',
};

export function BillingHistory({ generation, onRequested }: { generation: number; onRequested: () => void }) {
  const transactions = usePages<Transaction>('/api/transactions?limit=20');
  const refunds = usePages<RefundRequest>('/api/billing/refund-requests?limit=20');
  useEffect(() => {
    if (generation === 0) return;
    transactions.reload();
    refunds.reload();
  }, [generation]);
  return (
    <>
      <h2>Transactions</h2>
      <ErrorMessage error={transactions.error} />
      <TableRegion label="Transactions">
        <table class="transactions">
          <caption>Purchases, grants, refunds and adjustments, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col" class="num">Amount</th>
            </tr>
          </thead>
          <tbody>
            {!transactions.loading && transactions.items.length === 0 && (
              <tr>
                <td colSpan={3}>No transactions yet.</td>
              </tr>
            )}
            {transactions.items.map((t) => (
              <tr key={t.id}>
                <td>{new Date(t.occurredAt).toLocaleString()}</td>
                <th scope="row">
                  {KINDS[t.kind] ?? t.kind}
                  {t.reason && <span class="sub"> · {t.reason}</span>}
                </th>
                <td class="num">{formatCredits(t.amount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      {transactions.hasMore && (
        <button type="button" class="secondary" onClick={transactions.more} disabled={transactions.loading}>
          Show more transactions
        </button>
      )}
      <h2>Refunds</h2>
      <RefundForm generation={generation} onRequested={() => { refunds.reload(); onRequested(); }} />
      <ErrorMessage error={refunds.error} />
      <TableRegion label="Refund requests">
        <table class="refunds">
          <caption>Your refund requests</caption>
          <thead>
            <tr>
              <th scope="col">Requested</th>
              <th scope="col">Purchase</th>
              <th scope="col" class="num">Amount</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {!refunds.loading && refunds.items.length === 0 && (
              <tr>
                <td colSpan={4}>No refund requests.</td>
              </tr>
            )}
            {refunds.items.map((r) => (
              <tr key={r.id}>
                <td>{new Date(r.requestedAt).toLocaleString()}</td>
                <th scope="row">
                  {r.method === 'card' ? 'Card' : 'Crypto'} of {new Date(r.purchasedAt).toLocaleDateString()}
                </th>
                <td class="num">{formatCredits(r.amount)}</td>
                <td>
                  {r.status}
                  {(r.decisionReason ?? r.failure) && <span class="sub"> · {r.decisionReason ?? r.failure}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      {refunds.hasMore && (
        <button type="button" class="secondary" onClick={refunds.more} disabled={refunds.loading}>
          Show more refund requests
        </button>
      )}
    </>
  );
}

function RefundForm({ generation, onRequested }: { generation: number; onRequested: () => void }) {
  const purchases = useApi<{ data: Purchase[] }>('/api/billing/purchases');
  useEffect(() => {
    if (generation > 0) purchases.reload();
  }, [generation]);
  const [purchaseId, setPurchaseId] = useState('');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState('');
  const [idempotencyKey, setIdempotencyKey] = useState(newIdempotencyKey);
  const list = purchases.data?.data ?? [];
  const chosen = purchaseId || list[0]?.id || '';
  const edit = (set: (v: string) => void) => (e: { currentTarget: { value: string } }) => {
    set(e.currentTarget.value);
    setIdempotencyKey(newIdempotencyKey());
  };
  const ask = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone('');
    try {
      const body: Record<string, string> = { purchaseId: chosen, reason };
      if (amount.trim()) body.amount = amount.trim();
      const r = await request<RefundRequest>('/api/billing/refund-requests', { method: 'POST', body, idempotencyKey });
      setIdempotencyKey(newIdempotencyKey());
      setAmount('');
      setReason('');
      setDone(`Refund of ${formatCredits(r.amount)} requested: the credit is set aside until it is decided.`);
      onRequested();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (purchases.error) return <ErrorMessage error={purchases.error} />;
  if (!purchases.data) return <p aria-busy="true">Loading your purchases…</p>;
  if (list.length === 0) return <p class="sub">No purchase can be refunded: the unspent part of a purchase may be refunded within 30 days of it.</p>;
  return (
    <form class="card" onSubmit={(e) => void ask(e)} aria-labelledby="refund-title">
      <h3 id="refund-title">Ask for a refund</h3>
      <label for="refund-purchase">Purchase</label>
      <select id="refund-purchase" value={chosen} onChange={edit(setPurchaseId)}>
        {list.map((p) => (
          <option key={p.id} value={p.id}>
            {p.method === 'card' ? 'Card' : 'Crypto'} {formatCredits(p.amount)} of {new Date(p.purchasedAt).toLocaleDateString()}: {formatCredits(p.unspent)} unspent, refundable until {new Date(p.refundableUntil).toLocaleDateString()}
          </option>
        ))}
      </select>
      <label for="refund-amount">Amount (credits; empty for all that is unspent)</label>
      <input id="refund-amount" inputMode="decimal" autoComplete="off" value={amount} onInput={edit(setAmount)} />
      <label for="refund-reason">Reason</label>
      <input id="refund-reason" required maxLength={500} value={reason} onInput={edit(setReason)} />
      <button type="submit" disabled={busy} aria-busy={busy}>
        {busy ? 'Requesting…' : 'Request refund'}
      </button>
      <p role="status" class="sub">
        {done}
      </p>
      <ErrorMessage error={error} />
    </form>
  );
}
