/**
 * Real parts for the projects tests: the keys harness (fresh database, Postgres event store,
 * Redis under its own prefix) plus ProjectsService and the start step over it. `another()`
 * builds another process's services on a pool and event store of their own (two API instances
 * starting at once).
 */
import { Pool } from 'pg';
import { createPool } from '../../../src/platform/database/pg';
import { PostgresEventStore } from '../../../src/platform/event-store/postgres/postgres-event-store';
import { ApiKeysRepository } from '../../../src/keys/application/api-keys.repository';
import { KeysService } from '../../../src/keys/application/keys.service';
import { ProjectBackfill } from '../../../src/projects/application/project-backfill';
import { ProjectsRepository } from '../../../src/projects/application/projects.repository';
import { ProjectsService } from '../../../src/projects/application/projects.service';
import { KeysHarness, keysHarness } from '../keys/keys-harness';

export interface ProjectsInstance {
  pool: Pool;
  projects: ProjectsService;
  backfill: ProjectBackfill;
}

export interface ProjectsHarness extends ProjectsInstance {
  k: KeysHarness;
  another(): ProjectsInstance;
  close(): Promise<void>;
}

export async function projectsHarness(): Promise<ProjectsHarness> {
  const k = await keysHarness();
  const extra: Array<{ pool: Pool; store: PostgresEventStore }> = [];
  const build = (pool: Pool, store: PostgresEventStore, keys: KeysService): ProjectsInstance => {
    const keyRows = new ApiKeysRepository(pool);
    const projects = new ProjectsService(store, pool, new ProjectsRepository(pool), keys, keyRows, k.clock, k.names);
    return { pool, projects, backfill: new ProjectBackfill(pool, projects, keys, keyRows) };
  };
  return {
    ...build(k.db.pool, k.store, k.keys),
    k,
    another() {
      const pool = createPool(k.db.url, 5, 'tollgate-test-2');
      const store = new PostgresEventStore(pool, { pollMs: 20 });
      extra.push({ pool, store });
      return build(pool, store, k.service());
    },
    async close() {
      for (const e of extra) {
        await e.store.close();
        await e.pool.end();
      }
      await k.close();
    },
  };
}
