/**
 * Compliance: open data-subject requests with their due dates (overdue ones flagged) and their
 * actions, incidents with the 72-hour clock (time left, or the warning) and their steps, and an
 * export of a person's data.
 */
import { useState } from 'preact/hooks';
import { request } from '../../api/client';
import type { ExportJob } from '../../api/staff-types';
import { ErrorMessage } from '../../components/error-message';
import { Incidents } from './incidents';
import { SubjectRequests } from './subject-requests';
import { useAction } from './use-action';

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
