/**
 * Forward-only SQL migrations from migrations/NNN_name.sql. Each file runs in its own
 * transaction; a session advisory lock makes two processes starting at once take turns, and
 * the second finds nothing left to do. An applied file whose text changed is an error: history
 * is fixed, a correction is a new file.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { repoRoot } from '../paths';

const LOCK_KEY = 7_300_001; // arbitrary, unique to the migrator

export interface Migration {
  version: number;
  name: string;
  file: string; // e.g. 001_event_store
  sql: string;
  checksum: string;
}

export function loadMigrations(dir = join(repoRoot(), 'migrations')): Migration[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const seen = new Set<number>();
  return files.map((file) => {
    const m = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!m) throw new Error(`migration file name must look like 001_name.sql: ${file}`);
    const version = Number(m[1]);
    if (seen.has(version)) throw new Error(`two migrations share number ${version}`);
    seen.add(version);
    const sql = readFileSync(join(dir, file), 'utf8');
    return { version, name: m[2], file: file.replace(/\.sql$/, ''), sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

export interface MigrateResult {
  applied: Migration[];
  alreadyApplied: number;
}

export async function migrate(pool: Pool, migrations = loadMigrations()): Promise<MigrateResult> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; checksum: string; name: string }>(
      'SELECT version, checksum, name FROM schema_migrations',
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    const applied: Migration[] = [];
    for (const m of migrations) {
      const prior = done.get(m.version);
      if (prior) {
        if (prior.checksum !== m.checksum) {
          throw new Error(`migration ${m.file} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          m.checksum,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.file} failed: ${(err as Error).message}`);
      }
      applied.push(m);
    }
    return { applied, alreadyApplied: done.size };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
