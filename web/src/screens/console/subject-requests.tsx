/**
 * Compliance: data-subject requests. Open ones with their due dates (overdue ones flagged), each
 * with the actions the staff API offers: close with the outcome, decline, restrict processing of
 * the account, lift that restriction; and a form to record a request made by mail or phone. Each
 * action asks first (ConfirmAction); the list is read again after it.
 */
import { useState } from 'preact/hooks';
import { request } from '../../api/client';
import type { SubjectRequest, SubjectRequestList } from '../../api/staff-types';
import { useApi } from '../../api/use-api';
import { ErrorMessage } from '../../components/error-message';
import { plural } from '../../plural';
import { ConfirmAction, ReasonField } from './confirm-action';
import { day } from './use-action';
import { TableRegion } from '../../components/table-region';

const KINDS = ['access', 'export', 'correction', 'deletion', 'restriction'] as const;
const OUTCOMES = [
  { value: 'fulfilled', label: 'Fulfilled' },
  { value: 'partially_fulfilled', label: 'Partially fulfilled' },
  { value: 'no_data_held', label: 'No data held' },
  { value: 'restricted', label: 'Restricted (applies the restriction)' },
] as const;

export function SubjectRequests() {
  const list = useApi<SubjectRequestList>('/staff/requests?status=open&limit=100');
  const [notice, setNotice] = useState('');
  const l = list.data;
  const after = (what: string) => (r: SubjectRequest) => {
    setNotice(`The ${r.kind} request of ${r.userId} ${what}.`);
    list.reload();
  };
  return (
    <div class="card">
      <h3 style={{ marginTop: 0 }}>Data-subject requests</h3>
      <ErrorMessage error={list.error} />
      {list.loading && <p aria-busy="true">Loading requests…</p>}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {l && (
        <TableRegion label="Open data-subject requests">
          <table class="subject-requests">
            <caption>
              {l.open} open, {l.overdue} overdue
            </caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Person</th>
                <th scope="col">Opened</th>
                <th scope="col">Due</th>
                <th scope="col">Days left</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {l.data.length === 0 && (
                <tr>
                  <td colSpan={6}>No open request.</td>
                </tr>
              )}
              {l.data.map((r) => (
                <tr key={r.id} data-request-id={r.id} class={r.overdue ? 'overdue' : undefined}>
                  <td>
                    {r.kind}
                    {r.openedBySelf ? '' : ' (recorded by staff)'}
                    {r.restricted && <strong> · restricted</strong>}
                  </td>
                  <td>
                    <code>{r.userId}</code>
                  </td>
                  <td>{day(r.openedAt)}</td>
                  <td data-due>{day(r.dueAt)}</td>
                  <td data-days-left>{r.overdue ? <strong class="status-expired">{overdueText(r.daysLeft)}</strong> : r.daysLeft}</td>
                  <td class="actions">
                    <RequestActions r={r} after={after} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      <RecordRequest done={after('was recorded')} />
    </div>
  );
}

function RequestActions({ r, after }: { r: SubjectRequest; after: (what: string) => (r: SubjectRequest) => void }) {
  const [outcome, setOutcome] = useState<string>(r.kind === 'restriction' ? 'restricted' : 'fulfilled');
  const [note, setNote] = useState('');
  const post = (verb: string, body: unknown) => request<SubjectRequest>(`/staff/requests/${r.id}/${verb}`, { method: 'POST', body });
  const what = `the ${r.kind} request of ${r.userId}`;
  return (
    <div class="stack">
      <ConfirmAction label="Close" busyLabel="Closing…" target={what} question={`Close ${what} as answered?`} run={() => post('close', { outcome, note })} done={after('was closed')}>
        <label for={`outcome-${r.id}`}>Outcome</label>
        <select id={`outcome-${r.id}`} value={outcome} onChange={(e) => setOutcome(e.currentTarget.value)}>
          {OUTCOMES.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
        <label for={`note-${r.id}`}>What was done (kept in the audit trail)</label>
        <input id={`note-${r.id}`} value={note} onInput={(e) => setNote(e.currentTarget.value)} />
      </ConfirmAction>
      <ConfirmAction label="Decline" busyLabel="Declining…" danger target={what} question={`Decline ${what}? The person is told the reason.`} reason={{ id: `decline-${r.id}`, label: 'Reason for declining' }} run={(reason) => post('decline', { reason })} done={after('was declined')} />
      {r.restricted ? (
        <ConfirmAction label="Lift restriction" busyLabel="Lifting…" target={`of ${what}`} question="Lift the restriction? The proxy serves the account again." reason={{ id: `lift-${r.id}`, label: 'Reason for lifting' }} run={(reason) => post('lift', { reason })} done={after('no longer restricts the account')} />
      ) : (
        <ConfirmAction
          label="Restrict"
          busyLabel="Restricting…"
          danger
          target={`processing for ${what}`}
          question="Restrict processing? The proxy refuses the account's requests until lifted; the person can still sign in, read, export and erase."
          reason={{ id: `restrict-${r.id}`, label: 'Reason for restricting' }}
          run={(reason) => post('restrict', { reason })}
          done={after('restricts the account now')}
        />
      )}
    </div>
  );
}

function RecordRequest({ done }: { done: (r: SubjectRequest) => void }) {
  const [userId, setUserId] = useState('');
  const [kind, setKind] = useState<string>('access');
  const [details, setDetails] = useState('');
  const [reason, setReason] = useState('');
  return (
    <div class="record-request">
      <h4>Record a request made by mail, phone or in person</h4>
      <label for="dsr-user">Person (user id)</label>
      <input id="dsr-user" value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
      <label for="dsr-kind">Kind of request</label>
      <select id="dsr-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
        {KINDS.map((k) => (
          <option key={k} value={k}>
            {k}
          </option>
        ))}
      </select>
      <label for="dsr-details">What the person asks for (optional)</label>
      <input id="dsr-details" value={details} onInput={(e) => setDetails(e.currentTarget.value)} />
      <ReasonField id="dsr-reason" label="Reason for recording" value={reason} set={setReason} />
      <ConfirmAction
        label="Record request"
        busyLabel="Recording…"
        question={`Record a ${kind} request for ${userId.trim() || '(no user id)'}? It is due 30 days from now.`}
        run={() =>
          request<SubjectRequest>(`/staff/users/${encodeURIComponent(userId.trim() || '-')}/requests`, {
            method: 'POST',
            body: { kind, ...(details.trim() ? { details } : {}), ...(reason.trim() ? { reason } : {}) },
          })
        }
        done={(r) => {
          setDetails('');
          done(r);
        }}
      />
    </div>
  );
}

/** daysLeft is negative once overdue (whole days: 0 while less than a day late). */
function overdueText(daysLeft: number | null): string {
  const late = -(daysLeft ?? 0);
  return late > 0 ? `Overdue by ${plural(late, 'day', 'days')}` : 'Overdue';
}
