/**
 * Compliance: breach incidents, newest first, each open one with its 72-hour clock (deadline,
 * time left, the warning under 24 hours) and notice counts, and the steps the staff API offers:
 * confirm (starts the clock), select the people affected, notify them (each person once, sent
 * by the worker), close; and a form to declare a new one with the facts GDPR Art. 33(3) asks.
 * Each step asks first (ConfirmAction) and reads the incident again after it.
 */
import { useState } from 'preact/hooks';
import { request } from '../../api/client';
import type { IncidentRow, IncidentStatus } from '../../api/staff-types';
import { useApi } from '../../api/use-api';
import { ErrorMessage } from '../../components/error-message';
import { plural } from '../../plural';
import { ConfirmAction } from './confirm-action';
import { when } from './use-action';

const DATA_CATEGORIES = ['email', 'display_name', 'ip_address', 'wallet_address', 'usage_metadata', 'payment_records', 'api_key_metadata'] as const;

export function Incidents() {
  const list = useApi<{ data: IncidentRow[] }>('/staff/incidents?limit=20');
  const [notice, setNotice] = useState('');
  return (
    <div class="card">
      <h3 style={{ marginTop: 0 }}>Incidents</h3>
      <ErrorMessage error={list.error} />
      {list.loading && <p aria-busy="true">Loading incidents…</p>}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {list.data && list.data.data.length === 0 && <p>No incident.</p>}
      <ul style={{ listStyle: 'none', padding: 0 }}>
        {list.data?.data.map((i) => (
          <li key={i.id} data-incident-id={i.id} style={{ borderTop: '1px solid var(--line)', padding: '0.5rem 0' }}>
            <strong>{i.title}</strong> · <span data-status>{i.status}</span> · opened {when(i.openedAt)}
            {i.status !== 'closed' && (
              <IncidentSteps
                row={i}
                said={(text) => {
                  setNotice(text);
                  list.reload();
                }}
              />
            )}
          </li>
        ))}
      </ul>
      <DeclareIncident
        done={(title) => {
          setNotice(`Incident "${title}" declared; confirm it to start the 72-hour clock.`);
          list.reload();
        }}
      />
    </div>
  );
}

function IncidentSteps({ row, said }: { row: IncidentRow; said: (text: string) => void }) {
  const s = useApi<IncidentStatus>(`/staff/incidents/${row.id}`);
  const [by, setBy] = useState<'everyone' | 'users' | 'data_category'>('users');
  const [userIds, setUserIds] = useState('');
  const [category, setCategory] = useState<string>('email');
  if (s.error) return <ErrorMessage error={s.error} />;
  if (!s.data) return <p aria-busy="true">Reading the clock…</p>;
  const c = s.data.clock;
  const n = s.data.notices;
  const confirmed = s.data.incident.status !== 'open';
  const post = <T,>(verb: string, body: unknown) => request<T>(`/staff/incidents/${row.id}/${verb}`, { method: 'POST', body });
  const step = (text: string) => () => {
    s.reload();
    said(text);
  };
  const selection = by === 'users' ? { by, userIds: userIds.split(/[\s,]+/).filter(Boolean) } : by === 'data_category' ? { by, category } : { by };
  const title = `incident "${row.title}"`;
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
      <div class="stack" data-incident-steps>
        {!confirmed && (
          <ConfirmAction
            label="Confirm breach"
            busyLabel="Confirming…"
            danger
            target={`of ${title}`}
            question="Confirm the breach? The 72-hour clock to notify the supervisory authority starts now."
            reason={{ id: `confirm-${row.id}`, label: 'Reason for confirming' }}
            run={(reason) => post('confirm', { reason })}
            done={step(`The breach of ${title} is confirmed: the 72-hour clock runs.`)}
          />
        )}
        <ConfirmAction<{ added: number }>
          label="Select people"
          busyLabel="Selecting…"
          target={`affected by ${title}`}
          question="Add these people to those affected (each person once)?"
          reason={{ id: `select-${row.id}`, label: 'Reason for selecting' }}
          run={(reason) => post('select', { ...selection, reason })}
          done={(r) => step(`${plural(r.added, 'person', 'people')} added to ${title}.`)()}
        >
          <label for={`by-${row.id}`}>Who is affected</label>
          <select id={`by-${row.id}`} value={by} onChange={(e) => setBy(e.currentTarget.value as typeof by)}>
            <option value="users">These user ids</option>
            <option value="data_category">Everyone with data of a category</option>
            <option value="everyone">Everyone</option>
          </select>
          {by === 'users' && (
            <>
              <label for={`ids-${row.id}`}>User ids (separated by spaces or commas)</label>
              <input id={`ids-${row.id}`} value={userIds} onInput={(e) => setUserIds(e.currentTarget.value)} />
            </>
          )}
          {by === 'data_category' && (
            <>
              <label for={`category-${row.id}`}>Data category</label>
              <select id={`category-${row.id}`} value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
                {DATA_CATEGORIES.map((d) => (
                  <option key={d} value={d}>
                    {d}
                  </option>
                ))}
              </select>
            </>
          )}
        </ConfirmAction>
        <ConfirmAction<{ queued: number }>
          label="Notify people"
          busyLabel="Notifying…"
          target={`affected by ${title}`}
          question={`Send the notice to everyone selected and not yet notified (${plural(n.selected - n.queued, 'person', 'people')})? Each person gets it once.`}
          reason={{ id: `notify-${row.id}`, label: 'Reason for notifying' }}
          run={(reason) => post('notify', { reason })}
          done={(r) => step(`${plural(r.queued, 'notice', 'notices')} queued for ${title}; the worker sends them.`)()}
        />
        <ConfirmAction
          label="Close incident"
          busyLabel="Closing…"
          target={`"${row.title}"`}
          question="Close the incident? The reason is its closing summary."
          reason={{ id: `close-${row.id}`, label: 'Closing summary' }}
          run={(reason) => post('close', { reason })}
          done={step(`${title[0].toUpperCase()}${title.slice(1)} is closed.`)}
        />
      </div>
    </div>
  );
}

function DeclareIncident({ done }: { done: (title: string) => void }) {
  const [f, setF] = useState({ title: '', nature: '', people: 'account holders', approxPeople: '', approxRecords: '', consequences: '', measures: '', contact: '', reason: '' });
  const [categories, setCategories] = useState<string[]>([]);
  const field = (name: keyof typeof f, label: string) => (
    <>
      <label for={`incident-${name}`}>{label}</label>
      <input id={`incident-${name}`} value={f[name]} onInput={(e) => setF({ ...f, [name]: e.currentTarget.value })} />
    </>
  );
  // Counts are sent as typed: the API says what a whole number is (a blank is its "is required").
  const count = (v: string) => (/^\d+$/.test(v.trim()) ? Number(v.trim()) : v.trim() === '' ? undefined : v);
  return (
    <div class="declare-incident">
      <h4>Declare an incident</h4>
      {field('title', 'Title (one line)')}
      {field('nature', 'What happened')}
      <fieldset>
        <legend>Data concerned</legend>
        {DATA_CATEGORIES.map((d) => (
          <label key={d} class="check">
            <input type="checkbox" checked={categories.includes(d)} onChange={(e) => setCategories(e.currentTarget.checked ? [...categories, d] : categories.filter((x) => x !== d))} />
            {d}
          </label>
        ))}
      </fieldset>
      {field('people', 'People concerned (categories, comma-separated)')}
      {field('approxPeople', 'About how many people')}
      {field('approxRecords', 'About how many records')}
      {field('consequences', 'Likely consequences')}
      {field('measures', 'Measures taken or proposed')}
      {field('contact', 'Contact point')}
      {field('reason', 'Reason for declaring (kept in the audit trail)')}
      <ConfirmAction
        label="Declare incident"
        busyLabel="Declaring…"
        question={`Declare the incident "${f.title.trim() || '(no title)'}"? It is recorded now; the 72-hour clock starts when you confirm it.`}
        run={() =>
          request<{ id: string }>('/staff/incidents', {
            method: 'POST',
            body: {
              title: f.title,
              nature: f.nature,
              dataCategories: categories,
              peopleCategories: f.people
                .split(',')
                .map((p) => p.trim())
                .filter(Boolean),
              approxPeople: count(f.approxPeople),
              approxRecords: count(f.approxRecords),
              consequences: f.consequences,
              measures: f.measures,
              contact: f.contact,
              ...(f.reason.trim() ? { reason: f.reason } : {}),
            },
          })
        }
        done={() => {
          done(f.title.trim());
          setF({ ...f, title: '', nature: '', reason: '' });
        }}
      />
    </div>
  );
}
