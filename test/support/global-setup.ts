import { Pool } from 'pg';
import { buildCli } from './cli-runner';
import { TEST_PG_URL } from './test-env';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Fails the whole run at once, with the fix, when Postgres is not there; drops leftover test databases. */
export default async function globalSetup(): Promise<void> {
  const pool = new Pool({ connectionString: TEST_PG_URL, max: 1, connectionTimeoutMillis: 5000 });
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    throw new Error(
      `Postgres is not reachable at ${TEST_PG_URL} (${(err as Error).message}). ` +
        `Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
    );
  }
  try {
    const { rows } = await pool.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'tollgate_t_%'",
    );
    // Names carry the creating process's pid: drop only those whose process is gone, so two
    // test runs on one machine (a developer's and CI's) never drop each other's databases.
    // Some names put a word before the pid (`tollgate_t_cli_<pid>`, `tollgate_t_worker_<pid>_…`).
    for (const r of rows) {
      const pid = Number(/^tollgate_t_(?:[a-z]+_)?(\d+)(?:_|$)/.exec(r.datname)?.[1]);
      if (pid && isAlive(pid)) continue;
      await pool.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`).catch(() => undefined);
    }
  } finally {
    await pool.end();
  }
  // The end-to-end specs run the built CLI and API (dist/) as child processes; build it here,
  // once, before any test file starts, never beside one that is loading it.
  await buildCli();
  // Jest may hide a skipped file's console output; say it here too, where it always shows.
  if (!process.env.TEST_EVENTSTORE_URL && !process.env.EVENTSTORE_URL) {
    process.stdout.write(
      '\nSKIPPED: the EventStoreDB contract suite (no server: TEST_EVENTSTORE_URL is not set). ' +
        'Run it with `docker compose up -d eventstoredb` and TEST_EVENTSTORE_URL=esdb://127.0.0.1:2113?tls=false\n',
    );
  }
}
