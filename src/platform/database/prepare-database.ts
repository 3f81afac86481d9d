import { ensureDatabase, createPool } from './pg';
import { migrate, MigrateResult } from './migrator';

/**
 * Creates the database if missing and applies pending migrations, on a short-lived pool of
 * its own so the process's main pool never sees a half-migrated schema. Every entry point
 * and `tollgate db migrate` go through here.
 */
export async function prepareDatabase(url: string): Promise<MigrateResult> {
  await ensureDatabase(url);
  const pool = createPool(url, 1, 'tollgate-migrate');
  try {
    return await migrate(pool);
  } finally {
    await pool.end();
  }
}
