/**
 * Your data: a copy of it (POST /api/me/export, built in the background; its progress read from
 * GET /api/me/exports until it is ready, then the zip at its `download` path), and deleting the
 * account (DELETE /api/me), which needs a sign-in within the last 10 minutes: an older session
 * gets `reauthentication_required`, shown with the way out (sign out, sign in again, come back).
 */
import { useEffect, useState } from 'preact/hooks';
import type { DataExport } from '../api/billing-types';
import { ApiError, request, resetSession } from '../api/client';
import { useApi } from '../api/use-api';
import { ErrorMessage } from './error-message';

const BUILDING = new Set(['queued', 'building']);

export function MyData() {
  return (
    <>
      <ExportMyData />
      <DeleteAccount />
    </>
  );
}

function ExportMyData() {
  const exports = useApi<{ data: DataExport[] }>('/api/me/exports');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const latest = exports.data?.data[0];
  const building = latest !== undefined && BUILDING.has(latest.status);
  useEffect(() => {
    if (!building) return;
    const t = setTimeout(exports.reload, 1500);
    return () => clearTimeout(t);
  }, [exports.data]);

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      await request('/api/me/export', { method: 'POST' });
      exports.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="export-title">
      <h2 id="export-title">Export my data</h2>
      <p class="sub">A zip of everything we hold about you (JSON and CSV), kept for 24 hours.</p>
      <button type="button" disabled={busy || building} aria-busy={busy || building} onClick={() => void start()}>
        {busy ? 'Asking…' : building ? 'Exporting…' : 'Export my data'}
      </button>
      <ErrorMessage error={error ?? exports.error} />
      {latest && (
        <div class="card" data-export-id={latest.id} data-export-status={latest.status}>
          {building && (
            <>
              <label for="export-progress">Building your export: {latest.progress.percent}%</label>
              <progress id="export-progress" max={100} value={latest.progress.percent} />
            </>
          )}
          {latest.status === 'ready' && (
            <p>
              Your export of {new Date(latest.createdAt).toLocaleString()} is ready
              {latest.sizeBytes !== null && ` (${Math.max(1, Math.round(latest.sizeBytes / 1024))} KiB)`}:{' '}
              <a href={latest.download} download>
                Download the zip
              </a>
              {latest.expiresAt && <span class="sub"> (until {new Date(latest.expiresAt).toLocaleString()})</span>}
            </p>
          )}
          {latest.status === 'failed' && <p class="error">The export failed: {latest.error ?? 'no reason given'}. Try again.</p>}
          {latest.status === 'expired' && <p class="sub">Your last export has expired: make a new one.</p>}
        </div>
      )}
    </section>
  );
}

function DeleteAccount() {
  const [confirm, setConfirm] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const reauth = error instanceof ApiError && error.code === 'reauthentication_required';

  const erase = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await request('/api/me', { method: 'DELETE' });
      resetSession();
      location.assign('/');
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const signInAgain = async () => {
    try {
      await request('/auth/logout', { method: 'POST' });
    } finally {
      resetSession();
      location.assign('/');
    }
  };
  return (
    <section aria-labelledby="delete-title">
      <h2 id="delete-title">Delete my account</h2>
      <form class="card" onSubmit={(e) => void erase(e)}>
        <p>
          This revokes every key, ends every session and erases your personal data. Unused credit of a purchase still within its refund window is asked back for you;
          the rest is forfeited. <strong>It cannot be undone.</strong>
        </p>
        <label for="delete-confirm">Type DELETE to confirm</label>
        <input id="delete-confirm" autoComplete="off" value={confirm} onInput={(e) => setConfirm(e.currentTarget.value)} />
        <button type="submit" class="danger" disabled={busy || confirm.trim() !== 'DELETE'} aria-busy={busy}>
          {busy ? 'Deleting…' : 'Delete my account'}
        </button>
        {reauth ? (
          <div class="error" role="alert" data-reauth>
            <p>
              To delete your account you must have signed in within the last 10 minutes. Sign in again, then come back to Settings and delete it.
              <span class="error-code"> (reauthentication_required)</span>
            </p>
            <button type="button" onClick={() => void signInAgain()}>
              Sign out and sign in again
            </button>
          </div>
        ) : (
          <ErrorMessage error={error} />
        )}
      </form>
    </section>
  );
}
