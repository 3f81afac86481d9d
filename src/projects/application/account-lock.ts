/**
 * A Postgres advisory lock per account around the writes that a project's name must be unique
 * for (create, rename): the uniqueness spans streams, so it is checked and written under this
 * lock (names are stored sealed since migration 027, so no index can compare them). Waiters poll with
 * pg_try_advisory_lock and hold no pooled connection while they wait: a crowd of waiters can
 * never take every connection from the holder that needs one to append.
 */
import { Pool } from 'pg';
import { ProjectError } from '../domain/project.errors';

export const PROJECT_LOCK_NAMESPACE = 7_300_010; // advisory locks: one per account, for project names
const WAIT_MS = 10_000;

/** `namespace`: another lock per account, for writes that need not wait for project names (e.g. the assistant's key). */
export async function withAccountLock<T>(pool: Pool, accountId: string, fn: () => Promise<T>, namespace = PROJECT_LOCK_NAMESPACE): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [namespace, accountId]);
      if (rows[0].ok) {
        try {
          return await fn();
        } finally {
          // A lock we cannot release dies with its connection, which is then not reused.
          await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [namespace, accountId]).catch(() => (broken = true));
        }
      }
    } finally {
      client.release(broken);
    }
    if (Date.now() > deadline) throw new ProjectError('version_conflict', `the projects of account ${accountId} stayed busy; try again`);
    await new Promise((r) => setTimeout(r, Math.min(5 + attempt * 5, 50) + Math.random() * 10));
  }
}
