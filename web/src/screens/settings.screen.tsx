/**
 * Settings: where you are signed in (GET /api/sessions; DELETE /api/sessions/{id} signs one
 * out), your passkeys (GET /api/passkeys, add through /auth/passkeys/register/*, DELETE to
 * remove), management keys (components/management-keys.tsx), and your data: export it or
 * delete the account (components/my-data.tsx).
 */
import { useState } from 'preact/hooks';
import type { Passkey, Session } from '../api/billing-types';
import { ApiError, request } from '../api/client';
import { useApi } from '../api/use-api';
import { ErrorMessage } from '../components/error-message';
import { ManagementKeys } from '../components/management-keys';
import { MyData } from '../components/my-data';

export function SettingsScreen() {
  return (
    <>
      <h1 tabIndex={-1}>Settings</h1>
      <Sessions />
      <Passkeys />
      <ManagementKeys />
      <MyData />
    </>
  );
}

const METHODS: Record<string, string> = { magic_link: 'email link', passkey: 'passkey', password: 'password' };

function Sessions() {
  const sessions = useApi<{ data: Session[] }>('/api/sessions');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const end = async (id: string) => {
    setBusy(id);
    setError(null);
    try {
      await request(`/api/sessions/${id}`, { method: 'DELETE' });
      sessions.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  return (
    <section aria-labelledby="sessions-title">
      <h2 id="sessions-title">Where you are signed in</h2>
      <ErrorMessage error={error ?? sessions.error} />
      <ul class="items" data-ready={sessions.data ? 'sessions' : undefined}>
        {sessions.data?.data.map((s) => (
          <li key={s.id} data-session-id={s.id}>
            <div>
              <strong>{s.device}</strong>
              {s.current && <span class="badge"> (this browser)</span>}
              <div class="sub">
                Signed in by {METHODS[s.method] ?? s.method} on {new Date(s.createdAt).toLocaleString()}; last seen {new Date(s.lastSeenAt).toLocaleString()}
              </div>
            </div>
            {!s.current && (
              <button type="button" class="danger" disabled={busy === s.id} aria-busy={busy === s.id} aria-label={`Sign out ${s.device}, signed in ${new Date(s.createdAt).toLocaleString()}`} onClick={() => void end(s.id)}>
                {busy === s.id ? 'Signing out…' : 'Sign out'}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Passkeys() {
  const passkeys = useApi<{ data: Passkey[] }>('/api/passkeys');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const supported = typeof (globalThis as { PublicKeyCredential?: { parseCreationOptionsFromJSON?: unknown } }).PublicKeyCredential?.parseCreationOptionsFromJSON === 'function';

  const add = async (e: Event) => {
    e.preventDefault();
    setBusy('add');
    setError(null);
    try {
      const options = await request<PublicKeyCredentialCreationOptionsJSON>('/auth/passkeys/register/options', { method: 'POST' });
      let credential: Credential | null;
      try {
        credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
      } catch (err) {
        if (err instanceof DOMException && (err.name === 'NotAllowedError' || err.name === 'InvalidStateError')) {
          throw new ApiError('passkey_cancelled', err.name === 'InvalidStateError' ? 'this authenticator already holds one of your passkeys' : 'no passkey was made (the request was cancelled or timed out)', 0);
        }
        throw err;
      }
      if (!(credential instanceof PublicKeyCredential)) throw new ApiError('passkey_cancelled', 'no passkey was made', 0);
      const response: unknown = credential.toJSON();
      await request('/auth/passkeys/register/verify', { method: 'POST', body: { response, name: name.trim() } });
      setName('');
      passkeys.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const remove = async (id: string) => {
    setBusy(id);
    setError(null);
    try {
      await request(`/api/passkeys/${encodeURIComponent(id)}`, { method: 'DELETE' });
      passkeys.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  return (
    <section aria-labelledby="passkeys-title">
      <h2 id="passkeys-title">Passkeys</h2>
      <ErrorMessage error={passkeys.error} />
      <ul class="items">
        {passkeys.data?.data.length === 0 && <li>No passkeys yet.</li>}
        {passkeys.data?.data.map((p) => (
          <li key={p.id} data-passkey-id={p.id}>
            <div>
              <strong>{p.name ?? '(unnamed)'}</strong>
              <div class="sub">
                Added {new Date(p.createdAt).toLocaleDateString()}; {p.lastUsedAt ? `last used ${new Date(p.lastUsedAt).toLocaleString()}` : 'never used'}
              </div>
            </div>
            <button type="button" class="danger" disabled={busy === p.id} aria-busy={busy === p.id} aria-label={`Remove passkey ${p.name ?? ''}`.trim()} onClick={() => void remove(p.id)}>
              {busy === p.id ? 'Removing…' : 'Remove'}
            </button>
          </li>
        ))}
      </ul>
      {supported ? (
        <form class="card" onSubmit={(e) => void add(e)}>
          <div class="row">
            <div class="grow">
              <label for="passkey-name">Name of the new passkey</label>
              <input id="passkey-name" required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. Work laptop" />
            </div>
            <button type="submit" disabled={busy === 'add'} aria-busy={busy === 'add'}>
              {busy === 'add' ? 'Adding…' : 'Add a passkey'}
            </button>
          </div>
        </form>
      ) : (
        <p class="sub">This browser cannot make passkeys.</p>
      )}
      <ErrorMessage error={error} />
    </section>
  );
}
