import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { createPool } from '../../src/platform/database/pg';
import { migrate } from '../../src/platform/database/migrator';
import { TEST_PG_URL } from './test-env';

export interface FreshDb {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A new, migrated database of its own, so tests that read the whole log see only their own events. */
export async function freshDb(poolSize = 10): Promise<FreshDb> {
  const name = `tollgate_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Pool({ connectionString: TEST_PG_URL, max: 1 });
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), poolSize, 'tollgate-test');
  await migrate(pool);
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const a = new Pool({ connectionString: TEST_PG_URL, max: 1 });
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
      await a.end();
    },
  };
}
