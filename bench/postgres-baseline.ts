/**
 * What this machine's Postgres does on its own, measured in the same run as a benchmark so that
 * its figures can be read as ratios: the machines are shared, and a slow hour moves a benchmark's
 * absolute figures while leaving its ratio to the baseline where it was. Every figure here is
 * the cheapest form of the same kind of work: a one-row insert committed on its own (an append
 * is that, plus its bookkeeping), and a bulk COPY (a replay is reading and writing rows in bulk).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createPool, ensureDatabase } from '../src/platform/database/pg';
import { migrate } from '../src/platform/database/migrator';

/** Drops and re-creates `url`'s database, migrated, so every run starts alike. */
export async function freshDatabase(url: string, poolSize: number, applicationName = 'tollgate-bench'): Promise<Pool> {
  const name = new URL(url).pathname.slice(1);
  const admin = new Pool({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString(), max: 1 });
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await ensureDatabase(url);
  const pool = createPool(url, poolSize, applicationName);
  await migrate(pool);
  return pool;
}

/** A table outside the schema the migrations own, for the baseline's rows (an id, like an event). */
export async function baselineTable(pool: Pool): Promise<string> {
  await pool.query('CREATE TABLE IF NOT EXISTS bench_baseline_rows (id uuid PRIMARY KEY, n bigint NOT NULL)');
  return 'bench_baseline_rows';
}

/** One row inserted and committed on its own (autocommit: one round trip, one WAL flush). */
export async function insertOneRow(pool: Pool, n: number): Promise<void> {
  await pool.query('INSERT INTO bench_baseline_rows (id, n) VALUES ($1, $2)', [randomUUID(), n]);
}

/**
 * One-row insert-and-commit throughput: `concurrency` callers, each inserting one row per
 * transaction, for `seconds`. The commits of concurrent callers share WAL flushes, as the
 * batches of an event store do.
 */
export async function insertCommitRate(pool: Pool, concurrency: number, seconds: number): Promise<number> {
  await baselineTable(pool);
  const deadline = performance.now() + seconds * 1000;
  let rows = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await insertOneRow(pool, rows);
        rows++;
      }
    }),
  );
  return rows / ((performance.now() - t0) / 1000);
}

/**
 * Bulk COPY into a table shaped like the event log's rows (a uuid, a text key, a jsonb payload,
 * a bytea), in one transaction: rows per second, from the first byte sent to the commit.
 */
export async function copyRate(pool: Pool, rows: number): Promise<number> {
  await pool.query(`DROP TABLE IF EXISTS bench_baseline_copy;
    CREATE TABLE bench_baseline_copy (id uuid NOT NULL, stream_id text NOT NULL, n bigint NOT NULL, data jsonb NOT NULL, hash bytea NOT NULL)`);
  const client = await pool.connect();
  try {
    const hash = '\\\\x' + 'ab'.repeat(32);
    const data = '{"holdId": "00000000-0000-4000-8000-000000000000", "amount": "2000", "expiresAt": "2026-12-01T00:00:00.000Z"}';
    const t0 = performance.now();
    await client.query('BEGIN');
    const lines = (function* () {
      const stream = randomUUID();
      for (let i = 0; i < rows; i += 1000) {
        let chunk = '';
        for (let j = i; j < Math.min(rows, i + 1000); j++) chunk += `${randomUUID()}\taccount-${stream}\t${j}\t${data}\t${hash}\n`;
        yield chunk;
      }
    })();
    await pipeline(Readable.from(lines), client.query(copyFrom('COPY bench_baseline_copy (id, stream_id, n, data, hash) FROM STDIN')));
    await client.query('COMMIT');
    const rate = rows / ((performance.now() - t0) / 1000);
    return rate;
  } finally {
    client.release();
    await pool.query('DROP TABLE IF EXISTS bench_baseline_copy');
  }
}

export const percentile = (xs: number[], p: number): number => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

export const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;
