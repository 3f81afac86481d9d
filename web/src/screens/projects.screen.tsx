/** Projects: the account's live projects (each opens its keys) and a form to create one. */
import { useState } from 'preact/hooks';
import { newIdempotencyKey, request } from '../api/client';
import type { Project } from '../api/types';
import { usePages } from '../api/use-pages';
import { ErrorMessage } from '../components/error-message';
import { Link, navigate } from '../router';
import { TableRegion } from '../components/table-region';

export function ProjectsScreen() {
  const projects = usePages<Project>('/api/projects?limit=50');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // One key per intended project: a double submit or a retry after a lost answer makes one.
  const [idempotencyKey, setIdempotencyKey] = useState(newIdempotencyKey);

  const create = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const p = await request<Project>('/api/projects', { method: 'POST', body: { name }, idempotencyKey });
      setIdempotencyKey(newIdempotencyKey());
      setName('');
      navigate(`/projects/${p.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h1 tabIndex={-1}>Projects and keys</h1>
      <p class="sub">Keys belong to a project. Archiving a project revokes its keys.</p>
      <form class="card" onSubmit={(e) => void create(e)}>
        <div class="row">
          <div class="grow">
            <label for="project-name">New project</label>
            <input id="project-name" required maxLength={100} value={name} onInput={(e) => { setName(e.currentTarget.value); setIdempotencyKey(newIdempotencyKey()); }} />
          </div>
          <button type="submit" disabled={busy} aria-busy={busy}>
            {busy ? 'Creating…' : 'Create project'}
          </button>
        </div>
        <ErrorMessage error={error} />
      </form>
      <ErrorMessage error={projects.error} />
      <TableRegion label="Your projects">
        <table>
          <caption>Your projects</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {!projects.loading && projects.items.length === 0 && (
              <tr>
                <td colSpan={2}>No projects yet: create one to make its first key.</td>
              </tr>
            )}
            {projects.items.map((p) => (
              <tr key={p.id}>
                <th scope="row">
                  <Link href={`/projects/${p.id}`}>{p.name}</Link>
                </th>
                <td>{new Date(p.createdAt).toLocaleDateString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      {projects.hasMore && (
        <button type="button" class="secondary" onClick={projects.more} disabled={projects.loading}>
          Show more
        </button>
      )}
    </>
  );
}
