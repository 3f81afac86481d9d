/**
 * For tests of what happens while a ledger append waits: hold account streams' rows locked from
 * another Postgres connection (the row an append to a stream locks first, see
 * src/platform/event-store/postgres/append-locked.ts), and see appends waiting on it.
 */
import { Pool } from 'pg';
import { waitFor } from './wait';

export interface StreamLock {
  /** Ends the locking transaction (rolled back: it wrote nothing); appends waiting on it go on. */
  release(): Promise<void>;
}

/** Locks the `account-<id>` rows of event_streams until release(); each must exist (an opened account). */
export async function lockAccountStreams(pool: Pool, accountIds: string[]): Promise<StreamLock> {
  const c = await pool.connect();
  await c.query('BEGIN');
  const streams = accountIds.map((a) => `account-${a}`);
  const { rowCount } = await c.query('SELECT 1 FROM event_streams WHERE stream_id = ANY($1::text[]) FOR UPDATE', [streams]);
  if (rowCount !== streams.length) {
    await c.query('ROLLBACK');
    c.release();
    throw new Error(`lockAccountStreams: ${rowCount} of ${streams.length} stream rows found`);
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        await c.query('ROLLBACK');
        c.release();
      } catch (err) {
        c.release(err as Error); // the server went away meanwhile (an outage test): the lock went with it
      }
    },
  };
}

/** Sessions of this database (other than the asker's) waiting for a lock right now. */
export async function lockWaiters(pool: Pool): Promise<number> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
  );
  return rows[0].n as number;
}

/** Until at least `count` sessions wait for a lock (the appends the test holds back). */
export function untilAppendsWait(pool: Pool, count: number, timeoutMs = 10_000): Promise<void> {
  return waitFor(async () => (await lockWaiters(pool)) >= count, timeoutMs, `${count} append(s) waiting on the stream lock`);
}
