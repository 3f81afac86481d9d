/**
 * Compliance: open data-subject requests with their due dates (overdue ones flagged), incidents
 * with the 72-hour clock (time left, or the warning), and an export of a person's data.
 */
import { useState } from 'preact/hooks';
import { request } from '../../api/client';
import type { ExportJob, IncidentRow, IncidentStatus, SubjectRequestList } from '../../api/staff-types';
import { useApi } from '../../api/use-api';
import { ErrorMessage } from '../../components/error-message';
import { day, useAction, when } from './use-action';

export function ComplianceSection() {
  return (
    <section aria-labelledby="compliance-title">
      <h2 id="compliance-title">Compliance</h2>
      <SubjectRequests />
      <Incidents />
      <ExportCard />
    </section>
  );
}

function SubjectRequests() {
  const list = useApi<SubjectRequestList>('/staff/requests?status=open&limit=100');
  const l = list.data;
  return (
    <div class="card">
      <h3 style={{ marginTop: 0 }}>Data-subject requests</h3>
      <ErrorMessage error={list.error} />
      {list.loading && <p aria-busy="true">Loading requests…</p>}
      {l && (
        <div class="table-wrap">
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
              </tr>
            </thead>
            <tbody>
              {l.data.length === 0 && (
                <tr>
                  <td colSpan={5}>No open request.</td>
                </tr>
              )}
              {l.data.map((r) => (
                <tr key={r.id} data-request-id={r.id} class={r.overdue ? 'overdue' : undefined}>
                  <td>
                    {r.kind}
                    {r.openedBySelf ? '' : ' (recorded by staff)'}
                  </td>
                  <td>
                    <code>{r.userId}</code>
                  </td>
                  <td>{day(r.openedAt)}</td>
                  <td data-due>{day(r.dueAt)}</td>
                  <td>{r.overdue ? <strong class="status-expired">{overdueText(r.daysLeft)}</strong> : r.daysLeft}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** daysLeft is negative once overdue (whole days: 0 while less than a day late). */
function overdueText(daysLeft: number | null): string {
  const late = -(daysLeft ?? 0);
  return late > 0 ? `Overdue by ${late} day${late === 1 ? '' : 's'}` : 'Overdue';
}

function Incidents() {
  const list = useApi<{ data: IncidentRow[] }>('/staff/incidents?limit=20');
  return (
    <div class="card">
      <h3 style={{ marginTop: 0 }}>Incidents</h3>
      <ErrorMessage error={list.error} />
      {list.loading && <p aria-busy="true">Loading incidents…</p>}
      {list.data && list.data.data.length === 0 && <p>No incident.</p>}
      <ul style={{ listStyle: 'none', padding: 0 }}>
        {list.data?.data.map((i) => (
          <li key={i.id} data-incident-id={i.id} style={{ borderTop: '1px solid var(--line)', padding: '0.5rem 0' }}>
            <strong>{i.title}</strong> · {i.status} · opened {when(i.openedAt)}
            {i.status !== 'closed' && <Clock id={i.id} />}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Clock({ id }: { id: string }) {
  const s = useApi<IncidentStatus>(`/staff/incidents/${id}`);
  if (s.error) return <ErrorMessage error={s.error} />;
  if (!s.data) return <p aria-busy="true">Reading the clock…</p>;
  const c = s.data.clock;
  const n = s.data.notices;
  return (
    <div data-clock>
      <p style={{ margin: '0.25rem 0' }}>
        {c.deadline ? `72-hour clock: deadline ${when(c.deadline)}, ${c.timeLeft}${c.msLeft !== null && c.msLeft >= 0 ? ' left' : ''}` : '72-hour clock: not started'}
      </p>
      <p class="sub">
        Notices: {n.selected} selected, {n.sent} sent, {n.pending} pending, {n.failed} failed
      </p>
      {c.warning && (
        <p class="error" data-warning>
          {c.warning}
        </p>
      )}
    </div>
  );
}

function ExportCard() {
  const [userId, setUserId] = useState('');
  const [reason, setReason] = useState('');
  const job = useAction<ExportJob>();
  const submit = (e: Event) => {
    e.preventDefault();
    void job.run(() => request<ExportJob>(`/staff/users/${encodeURIComponent(userId.trim())}/export`, { method: 'POST', body: { reason } }));
  };
  const x = job.result;
  return (
    <form class="card" onSubmit={submit}>
      <h3 style={{ marginTop: 0 }}>Export a person's data</h3>
      <label for="export-user">User id</label>
      <input id="export-user" required value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
      <label for="export-reason">Reason (kept in the audit trail)</label>
      <input id="export-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      <button type="submit" disabled={job.busy} aria-busy={job.busy}>
        {job.busy ? 'Queuing…' : 'Export'}
      </button>
      <ErrorMessage error={job.error} />
      {x && (
        <p class="notice" role="status" data-export={x.status}>
          Export {x.status} ({x.progress.percent}%). The worker builds it; <a href={x.download}>download it</a> once ready (the link answers its progress until then).
        </p>
      )}
    </form>
  );
}
