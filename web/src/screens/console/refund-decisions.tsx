/**
 * Refund requests waiting for a decision (GET /staff/refund-requests?status=requested): approve
 * (a crypto one with the hash of the transaction that sent the funds back) or decline, each with
 * the reason the audit trail keeps. The answer's status is shown (a card refund completes
 * through Stripe at once).
 */
import { useState } from 'preact/hooks';
import { request } from '../../api/client';
import { formatCredits } from '../../api/money';
import type { StaffRefundRequest } from '../../api/staff-types';
import { usePages } from '../../api/use-pages';
import { ErrorMessage } from '../../components/error-message';
import { useAction, when } from './use-action';

export function RefundDecisions() {
  const list = usePages<StaffRefundRequest>('/staff/refund-requests?status=requested&limit=50');
  const [decided, setDecided] = useState<StaffRefundRequest[]>([]);
  return (
    <div class="card">
      <h3 style={{ marginTop: 0 }}>Refund requests to decide</h3>
      <ErrorMessage error={list.error} />
      {decided.map((r) => (
        <p key={r.id} class="notice" role="status">
          Refund of {formatCredits(r.amount)} ({r.purchaseId}): {r.status}
          {r.failure ? ` (${r.failure})` : ''}
        </p>
      ))}
      {list.loading && <p aria-busy="true">Loading refund requests…</p>}
      {!list.loading && list.items.length === 0 && !list.error && <p>No refund request is waiting.</p>}
      <ul style={{ listStyle: 'none', padding: 0 }}>
        {list.items.map((r) => (
          <Decision
            key={r.id}
            refund={r}
            onDecided={(d) => {
              setDecided((old) => [d, ...old]);
              list.reload();
            }}
          />
        ))}
      </ul>
      {list.hasMore && (
        <button type="button" class="secondary" onClick={list.more} disabled={list.loading}>
          Show more refund requests
        </button>
      )}
    </div>
  );
}

function Decision({ refund: r, onDecided }: { refund: StaffRefundRequest; onDecided: (r: StaffRefundRequest) => void }) {
  const [reason, setReason] = useState('');
  const [txHash, setTxHash] = useState('');
  const [doing, setDoing] = useState<'approve' | 'decline' | null>(null);
  const act = useAction<void>();
  const decide = (verb: 'approve' | 'decline') => {
    setDoing(verb);
    // An empty hash is left out, so the API answers what is missing (refund_tx_hash), not its format.
    const body = verb === 'approve' && txHash.trim() ? { reason, txHash: txHash.trim() } : { reason };
    void act.run(async () => onDecided(await request<StaffRefundRequest>(`/staff/refund-requests/${r.id}/${verb}`, { method: 'POST', body })));
  };
  const id = `refund-${r.id}`;
  return (
    <li data-refund-id={r.id} style={{ borderTop: '1px solid var(--line)', padding: '0.75rem 0' }}>
      <p style={{ margin: 0 }}>
        <strong>{formatCredits(r.amount)}</strong> by {r.method} · purchase <code>{r.purchaseId}</code> · asked {when(r.requestedAt)}
      </p>
      <p class="sub">Their reason: {r.reason ?? '(erased)'} · account {r.accountId}</p>
      <label for={`${id}-reason`}>Reason for the decision on {formatCredits(r.amount)}</label>
      <input id={`${id}-reason`} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      {r.method === 'crypto' && (
        <>
          <label for={`${id}-tx`}>Hash of the transaction that sent it back</label>
          <input id={`${id}-tx`} value={txHash} onInput={(e) => setTxHash(e.currentTarget.value)} placeholder="0x…" />
        </>
      )}
      <div class="row">
        <button type="button" disabled={act.busy} aria-busy={act.busy && doing === 'approve'} onClick={() => decide('approve')}>
          {act.busy && doing === 'approve' ? 'Approving…' : 'Approve'}
        </button>
        <button type="button" class="danger" disabled={act.busy} aria-busy={act.busy && doing === 'decline'} onClick={() => decide('decline')}>
          {act.busy && doing === 'decline' ? 'Declining…' : 'Decline'}
        </button>
      </div>
      <ErrorMessage error={act.error} />
    </li>
  );
}
