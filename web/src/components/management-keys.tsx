/**
 * Management keys (GET|POST|DELETE /api/management-keys): keys for scripts that manage API keys
 * and read usage but never call a model. The secret is shown once, as for API keys.
 */
import { useState } from 'preact/hooks';
import type { ManagementKey } from '../api/billing-types';
import { newIdempotencyKey, request } from '../api/client';
import { usePages } from '../api/use-pages';
import { ErrorMessage } from './error-message';
import { SecretOnce } from './secret-once';

export function ManagementKeys() {
  const keys = usePages<ManagementKey>('/api/management-keys?limit=50');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [idempotencyKey, setIdempotencyKey] = useState(newIdempotencyKey);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy('create');
    setError(null);
    try {
      const k = await request<ManagementKey>('/api/management-keys', { method: 'POST', body: name.trim() ? { name: name.trim() } : {}, idempotencyKey });
      setIdempotencyKey(newIdempotencyKey());
      setName('');
      if (k.secret) setSecret(k.secret);
      keys.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const revoke = async (id: string) => {
    setBusy(id);
    setError(null);
    try {
      await request(`/api/management-keys/${id}`, { method: 'DELETE' });
      keys.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  return (
    <section aria-labelledby="mgmt-title">
      <h2 id="mgmt-title">Management keys</h2>
      <p class="sub">For scripts: they manage API keys and read usage, but never call a model.</p>
      {secret && <SecretOnce secret={secret} title="Your new management key" onClose={() => setSecret(null)} />}
      <form class="card" onSubmit={(e) => void create(e)}>
        <div class="row">
          <div class="grow">
            <label for="mgmt-name">Name of the new management key</label>
            <input id="mgmt-name" maxLength={200} value={name} onInput={(e) => { setName(e.currentTarget.value); setIdempotencyKey(newIdempotencyKey()); }} />
          </div>
          <button type="submit" disabled={busy === 'create'} aria-busy={busy === 'create'}>
            {busy === 'create' ? 'Creating…' : 'Create management key'}
          </button>
        </div>
      </form>
      <ErrorMessage error={error ?? keys.error} />
      <ul class="items">
        {!keys.loading && keys.items.length === 0 && <li>No management keys.</li>}
        {keys.items.map((k) => (
          <li key={k.id} data-management-key-id={k.id}>
            <div>
              <strong>{k.name || '(unnamed)'}</strong> <code>{k.key}</code>
              <div class="sub">
                {k.status === 'revoked' ? <span class="status-revoked">revoked</span> : 'active'}; created {new Date(k.createdAt).toLocaleDateString()}; {k.lastUsedAt ? `last used ${new Date(k.lastUsedAt).toLocaleString()}` : 'never used'}
              </div>
            </div>
            {k.status === 'active' && (
              <button type="button" class="danger" disabled={busy === k.id} aria-busy={busy === k.id} aria-label={`Revoke management key ${k.name || k.key}`} onClick={() => void revoke(k.id)}>
                {busy === k.id ? 'Revoking…' : 'Revoke'}
              </button>
            )}
          </li>
        ))}
      </ul>
      {keys.hasMore && (
        <button type="button" class="secondary" onClick={keys.more} disabled={keys.loading}>
          Show more
        </button>
      )}
    </section>
  );
}
