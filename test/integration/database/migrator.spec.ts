import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { loadMigrations, migrate } from '../../../src/platform/database/migrator';
import { ensureDatabase } from '../../../src/platform/database/pg';
import { TEST_PG_URL } from '../../support/test-env';

describe('migrations (real Postgres)', () => {
  const name = `tollgate_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = Object.assign(new URL(TEST_PG_URL), { pathname: `/${name}` }).toString();
  const pools: Pool[] = [];
  const pool = () => {
    const p = new Pool({ connectionString: url, max: 2 });
    // An idle client whose connection the server ends (the drop below) must not crash the worker.
    p.on('error', () => undefined);
    pools.push(p);
    return p;
  };

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    const admin = new Pool({ connectionString: TEST_PG_URL, max: 1 });
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  it('creates the database, and four processes migrating at once apply each migration exactly once', async () => {
    await Promise.all([ensureDatabase(url), ensureDatabase(url)]);
    const results = await Promise.all([pool(), pool(), pool(), pool()].map((p) => migrate(p)));
    const all = loadMigrations();
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 0, all.length]);
    const { rows } = await pool().query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(all.map((m) => m.version));
    expect((await migrate(pool())).applied).toEqual([]);
  });

  it('refuses to run when an applied migration was edited, and names it', async () => {
    const edited = loadMigrations().map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: 'x' } : m));
    await expect(migrate(pool(), edited)).rejects.toThrow(/migration 001_event_store was changed after it was applied/);
  });

  it('rolls back a failing migration whole and says which one failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-mig-'));
    writeFileSync(join(dir, '900_broken.sql'), 'CREATE TABLE half_done (id int); SELECT no_such_function();');
    const broken = [...loadMigrations(), ...loadMigrations(dir)];
    await expect(migrate(pool(), broken)).rejects.toThrow(/migration 900_broken failed/);
    const { rows } = await pool().query("SELECT to_regclass('half_done') AS t");
    expect(rows[0].t).toBeNull();
  });
});
