/** Support: find a person by email address (GET /staff/users?email=), then their keys and latest requests. */
import { useState } from 'preact/hooks';
import { request } from '../../api/client';
import { formatCredits } from '../../api/money';
import type { Receipt, StaffKeys, StaffUser } from '../../api/staff-types';
import type { Page } from '../../api/types';
import { useApi } from '../../api/use-api';
import { ErrorMessage } from '../../components/error-message';
import { useAction, when } from './use-action';
import { TableRegion } from '../../components/table-region';

export function SupportSection() {
  const [email, setEmail] = useState('');
  const find = useAction<StaffUser[]>();
  const submit = (e: Event) => {
    e.preventDefault();
    void find.run(async () => (await request<{ data: StaffUser[] }>(`/staff/users?email=${encodeURIComponent(email)}`)).data);
  };
  const person = find.result?.[0];
  return (
    <section aria-labelledby="support-title">
      <h2 id="support-title">Support</h2>
      <form class="card" onSubmit={submit}>
        <div class="row">
          <div class="grow">
            <label for="support-email">Find a person by email address</label>
            <input id="support-email" type="email" required maxLength={254} value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          </div>
          <button type="submit" disabled={find.busy} aria-busy={find.busy}>
            {find.busy ? 'Finding…' : 'Find'}
          </button>
        </div>
        <ErrorMessage error={find.error} />
        {find.result && !person && <p role="status">Nobody has this address.</p>}
      </form>
      {person && <Person key={person.id} person={person} />}
    </section>
  );
}

function Person({ person }: { person: StaffUser }) {
  const keys = useApi<StaffKeys>(`/staff/users/${person.id}/keys`);
  const requests = useApi<Page<Receipt>>(`/staff/users/${person.id}/requests?limit=20`);
  const name = person.email ?? person.displayName ?? person.id;
  return (
    <div class="card" data-person={person.id}>
      <h3 style={{ marginTop: 0 }}>{name}</h3>
      <p class="sub">
        User {person.id} · account {person.accountId} · since {when(person.createdAt)} · roles: {person.roles.length ? person.roles.join(', ') : 'none'}
      </p>
      <ErrorMessage error={keys.error} />
      {keys.loading && <p aria-busy="true">Loading keys…</p>}
      {keys.data && (
        <TableRegion label={`Keys of ${name}`}>
          <table class="staff-keys">
            <caption>Keys of {name}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Status</th>
                <th scope="col">Last used</th>
              </tr>
            </thead>
            <tbody>
              {keys.data.data.length === 0 && (
                <tr>
                  <td colSpan={4}>No keys.</td>
                </tr>
              )}
              {keys.data.data.map((k) => (
                <tr key={k.id}>
                  <td>{k.name || '—'}</td>
                  <td>
                    <code>{k.key}</code>
                  </td>
                  <td class={`status-${k.status}`}>{k.status}</td>
                  <td>{k.lastUsedAt ? when(k.lastUsedAt) : 'never'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      <ErrorMessage error={requests.error} />
      {requests.loading && <p aria-busy="true">Loading requests…</p>}
      {requests.data && (
        <TableRegion label={`Latest requests of ${name}`}>
          <table class="staff-requests">
            <caption>Latest requests of {name}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">Tokens in / out</th>
                <th scope="col" class="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {requests.data.data.length === 0 && (
                <tr>
                  <td colSpan={5}>No requests in the last 90 days.</td>
                </tr>
              )}
              {requests.data.data.map((r) => (
                <tr key={r.id}>
                  <td>{when(r.created_at)}</td>
                  <td>{r.model}</td>
                  <td>
                    {r.status}
                    {r.error_code ? ` ${r.error_code}` : ''}
                  </td>
                  <td class="num">
                    {r.usage.input_tokens} / {r.usage.output_tokens}
                  </td>
                  <td class="num">
                    {r.free_request ? 'free' : formatCredits(r.cost)}
                    {r.estimated ? ' (estimated)' : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </div>
  );
}
