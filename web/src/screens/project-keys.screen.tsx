/**
 * One project's API keys: create one (its secret shown once, with a copy button), see each
 * key's status, limits and last use, change its limits, regenerate its secret, revoke it.
 */
import { useState } from 'preact/hooks';
import { newIdempotencyKey, request } from '../api/client';
import { formatCredits } from '../api/money';
import type { ApiKey, IssuedKey, Page, Project } from '../api/types';
import { useApi } from '../api/use-api';
import { usePages } from '../api/use-pages';
import { ErrorMessage } from '../components/error-message';
import { KeyLimitsFields, LimitsBody, bodyOf } from '../components/key-limits-form';
import { SecretOnce } from '../components/secret-once';
import { Link } from '../router';
import type { ScreenProps } from '../screens';

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');

function limitsText(k: ApiKey): string {
  const l = k.limits;
  const parts = [
    l.spendCap !== null && `cap ${formatCredits(l.spendCap)}`,
    l.rpm !== null && `${l.rpm} req/min`,
    l.tpm !== null && `${l.tpm} tokens/min`,
    l.models !== null && `models: ${l.models.join(', ')}`,
    l.expiresAt !== null && `expires ${new Date(l.expiresAt).toLocaleDateString()}`,
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : 'none';
}

export function ProjectKeysScreen({ params }: ScreenProps) {
  const projectId = params.id;
  // The API has no GET /api/projects/{id}: the project is found in the list.
  const projects = useApi<Page<Project>>('/api/projects?limit=200');
  const project = projects.data?.data.find((p) => p.id === projectId);
  const keys = usePages<ApiKey>(`/api/projects/${encodeURIComponent(projectId)}/keys?limit=50`);
  const [secret, setSecret] = useState<{ title: string; value: string } | null>(null);

  return (
    <>
      <p class="sub">
        <Link href="/projects">Projects</Link> /
      </p>
      <h1 tabIndex={-1}>{project ? project.name : projects.loading ? 'Project' : 'Project not found'}</h1>
      <ErrorMessage error={projects.error} />
      {secret && <SecretOnce title={secret.title} secret={secret.value} onClose={() => setSecret(null)} />}
      {project && (
        <CreateKey
          projectId={projectId}
          onCreated={(k) => {
            if (k.secret) setSecret({ title: `Your new key ${k.name ? `“${k.name}”` : k.key}`, value: k.secret });
            keys.reload();
          }}
        />
      )}
      <ErrorMessage error={keys.error} />
      <h2>Keys</h2>
      {!keys.loading && keys.items.length === 0 && !keys.error && <p>No keys in this project yet.</p>}
      <ul class="keys" style={{ listStyle: 'none', padding: 0 }}>
        {keys.items.map((k) => (
          <KeyItem
            key={k.id}
            apiKey={k}
            onChanged={keys.reload}
            onSecret={(value) => setSecret({ title: `The new secret of ${k.name ? `“${k.name}”` : k.key}`, value })}
          />
        ))}
      </ul>
      {keys.hasMore && (
        <button type="button" class="secondary" onClick={keys.more} disabled={keys.loading}>
          Show more keys
        </button>
      )}
    </>
  );
}

function CreateKey({ projectId, onCreated }: { projectId: string; onCreated: (k: IssuedKey) => void }) {
  const [name, setName] = useState('');
  const [limits, setLimits] = useState<LimitsBody>(() => bodyOf({ models: '', spendCap: '', expiresAt: '', rpm: '', tpm: '' }));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [idempotencyKey, setIdempotencyKey] = useState(newIdempotencyKey);
  const [formId, setFormId] = useState(0);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // Limits left empty are simply not sent (a new key has none).
      const body = Object.fromEntries(Object.entries({ name, ...limits }).filter(([, v]) => v !== null && v !== ''));
      const k = await request<IssuedKey>(`/api/projects/${encodeURIComponent(projectId)}/keys`, { method: 'POST', body, idempotencyKey });
      setIdempotencyKey(newIdempotencyKey());
      setName('');
      setFormId((n) => n + 1);
      onCreated(k);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card" onSubmit={(e) => void create(e)} onInput={() => setIdempotencyKey(newIdempotencyKey())}>
      <h2 style={{ marginTop: 0 }}>New key</h2>
      <label for="key-name">Name</label>
      <input id="key-name" maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. production" />
      <KeyLimitsFields key={formId} idPrefix="new-key" onChange={setLimits} />
      <button type="submit" disabled={busy} aria-busy={busy}>
        {busy ? 'Creating…' : 'Create key'}
      </button>
      <ErrorMessage error={error} />
    </form>
  );
}

function KeyItem({ apiKey: k, onChanged, onSecret }: { apiKey: ApiKey; onChanged: () => void; onSecret: (secret: string) => void }) {
  const [editing, setEditing] = useState(false);
  const [limits, setLimits] = useState<LimitsBody | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const label = k.name || k.key;

  const act = async (what: string, work: () => Promise<void>) => {
    setBusy(what);
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const revoke = () =>
    confirm(`Revoke ${label}? Requests with it are refused at once, on every instance. This cannot be undone.`) &&
    act('revoke', async () => {
      await request(`/api/keys/${encodeURIComponent(k.id)}/revoke`, { method: 'POST' });
      onChanged();
    });
  const regenerate = () =>
    confirm(`Regenerate ${label}? Its current secret stops working at once.`) &&
    act('regenerate', async () => {
      const issued = await request<IssuedKey>(`/api/keys/${encodeURIComponent(k.id)}/regenerate`, { method: 'POST' });
      if (issued.secret) onSecret(issued.secret);
      onChanged();
    });
  const save = (e: Event) => {
    e.preventDefault();
    void act('save', async () => {
      if (limits) await request(`/api/keys/${encodeURIComponent(k.id)}`, { method: 'PATCH', body: limits });
      setEditing(false);
      onChanged();
    });
  };

  return (
    <li class="card" data-key-id={k.id}>
      <h3 style={{ margin: 0 }}>
        {k.name || 'Unnamed key'} <code>{k.key}</code>
      </h3>
      <p class="sub">
        <span class={`status-${k.status}`} data-status={k.status}>
          {k.status}
        </span>
        {' · '}created {when(k.createdAt)} · last used <span data-last-used>{when(k.lastUsedAt)}</span>
        {k.revokedAt && ` · revoked ${when(k.revokedAt)}`}
      </p>
      <p class="sub">Limits: {limitsText(k)}</p>
      {k.status !== 'revoked' && (
        <div class="row">
          <button type="button" class="secondary" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            Limits…
          </button>
          <button type="button" class="secondary" onClick={() => void regenerate()} disabled={busy !== null} aria-busy={busy === 'regenerate'}>
            Regenerate
          </button>
          <button type="button" class="danger" onClick={() => void revoke()} disabled={busy !== null} aria-busy={busy === 'revoke'}>
            Revoke
          </button>
        </div>
      )}
      {editing && (
        <form onSubmit={save}>
          <KeyLimitsFields idPrefix={`key-${k.id}`} initial={k.limits} onChange={setLimits} />
          <button type="submit" disabled={busy !== null} aria-busy={busy === 'save'}>
            Save limits
          </button>
        </form>
      )}
      <ErrorMessage error={error} />
    </li>
  );
}
