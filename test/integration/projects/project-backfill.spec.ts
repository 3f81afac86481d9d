/**
 * The one-time start step: keys made before projects existed (a project name only) get the
 * account's project of that name (found or created, case aside) by a KeyMovedToProject event on
 * their own stream. Idempotent, safe with two instances starting at once, and `ledger replay`'s
 * rebuild of api_keys (and of projects) gives the same rows afterwards.
 */
import { randomUUID } from 'node:crypto';
import { apiKeyStream } from '../../../src/keys/domain/api-key.events';
import { projectStream } from '../../../src/projects/domain/project.events';
import { ProjectsHarness, projectsHarness } from './projects-harness';

const actor = 'test';

describe('ProjectBackfill (real Postgres, two instances)', () => {
  let h: ProjectsHarness;
  let a: string;
  let b: string;
  const legacy: Record<string, { keyId: string; account: string; project: string }> = {};
  const rows = async (table: string, order: string) => (await h.k.db.pool.query(`SELECT * FROM ${table} ORDER BY ${order}`)).rows;

  beforeAll(async () => {
    h = await projectsHarness();
    a = await h.k.openAccount();
    b = await h.k.openAccount();
    // Made as before projects existed: a name, no project id.
    for (const [label, account, project] of [
      ['a-web', a, 'web'],
      ['a-Web', a, 'Web'],
      ['a-api', a, 'api'],
      ['a-default', a, 'default'],
      ['b-web', b, 'web'],
      ['b-revoked', b, 'old'],
    ] as const) {
      const { key } = await h.k.keys.create({ accountId: account, project, actor });
      legacy[label] = { keyId: key.keyId, account, project };
    }
    await h.k.keys.revoke({ keyId: legacy['b-revoked'].keyId, actor });
  });
  afterAll(() => h?.close());

  it('keys start without a project id', async () => {
    const { rows: r } = await h.k.db.pool.query('SELECT count(*)::int AS n FROM api_keys WHERE project_id IS NULL');
    expect(r[0].n).toBe(6);
  });

  it('two instances running it at once: every key gets one project of its name, by one event each', async () => {
    const [first, second] = await Promise.all([h.backfill.run(), h.another().backfill.run()]);
    expect(first.keysMoved + second.keysMoved).toBe(6);
    expect(first.projectsCreated + second.projectsCreated).toBe(5); // a: web (Web too), api, default; b: web, old
    expect(first.skipped + second.skipped).toBe(0);
    const projectOf = async (label: string) => (await h.k.repo.findById(legacy[label].keyId))!.projectId;
    expect(await projectOf('a-web')).toBe(await projectOf('a-Web'));
    expect(await projectOf('a-web')).not.toBe(await projectOf('b-web'));
    for (const [label, k] of Object.entries(legacy)) {
      const projectId = await projectOf(label);
      expect(projectId).not.toBeNull();
      const project = await h.projects.get(k.account, projectId!);
      expect(project.name.toLowerCase()).toBe(k.project.toLowerCase());
      const types = (await h.k.store.readStream(apiKeyStream(k.keyId))).map((e) => e.type);
      expect(types.filter((t) => t === 'KeyMovedToProject')).toHaveLength(1);
      expect((await h.k.store.readStream(projectStream(projectId!))).map((e) => e.type)).toEqual(['ProjectCreated']);
    }
    // The revoked key moved, and stayed revoked.
    expect(await h.k.repo.findById(legacy['b-revoked'].keyId)).toMatchObject({ status: 'revoked' });
    // 'web' or 'Web', whichever key came first (same instant, ordered by id).
    expect((await h.projects.list(a, { limit: 50, after: null, archived: false })).map((p) => p.name.toLowerCase()).sort()).toEqual(['api', 'default', 'web']);
  });

  it('running it again changes nothing', async () => {
    const before = await rows('api_keys', 'key_id');
    const eventsBefore = (await h.k.db.pool.query('SELECT count(*)::int AS n FROM events')).rows[0].n as number;
    expect(await h.backfill.run()).toEqual({ keysMoved: 0, projectsCreated: 0, skipped: 0, keysRevoked: 0 });
    expect(await rows('api_keys', 'key_id')).toEqual(before);
    expect((await h.k.db.pool.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(eventsBefore);
  });

  it('a key made afterwards without a project (an old CLI, a test) is picked up by the next start', async () => {
    const { key } = await h.k.keys.create({ accountId: a, project: 'WEB', actor });
    expect((await h.backfill.run()).keysMoved).toBe(1);
    expect((await h.k.repo.findById(key.keyId))!.projectId).toBe((await h.k.repo.findById(legacy['a-web'].keyId))!.projectId);
  });

  it('a key whose account id is not a uuid is left alone, and said so, without stopping the others', async () => {
    const odd = `acc-${randomUUID().slice(0, 8)}`;
    const { LedgerService } = await import('../../../src/ledger/application/ledger.service');
    await new LedgerService(h.k.store, h.k.clock).execute(odd, { type: 'OpenAccount', data: { accountId: odd } });
    const { key: oddKey } = await h.k.keys.create({ accountId: odd, project: 'x', actor });
    const { key: fine } = await h.k.keys.create({ accountId: b, project: 'new one', actor });
    const r = await h.backfill.run();
    expect(r).toMatchObject({ keysMoved: 1, projectsCreated: 1, skipped: 1 });
    expect((await h.k.repo.findById(oddKey.keyId))!.projectId).toBeNull();
    expect((await h.k.repo.findById(fine.keyId))!.projectId).not.toBeNull();
  });

  it('ledger replay rebuilds api_keys and projects to the same rows, and repairs a damaged project id or name', async () => {
    const keysBefore = await rows('api_keys', 'key_id');
    const projectsBefore = await rows('projects', 'project_id');
    expect(await h.k.keys.rebuildReadModel()).toMatchObject({ rewritten: 0, removed: 0 });
    expect(await h.projects.rebuildReadModel()).toMatchObject({ repaired: 0 });
    expect(await rows('api_keys', 'key_id')).toEqual(keysBefore);
    expect(await rows('projects', 'project_id')).toEqual(projectsBefore);

    await h.k.db.pool.query('UPDATE api_keys SET project_id = NULL WHERE key_id = $1', [legacy['a-api'].keyId]);
    await h.k.db.pool.query(`UPDATE projects SET name = 'tampered' WHERE account_id = $1 AND name = 'default'`, [a]);
    expect((await h.k.keys.rebuildReadModel()).rewritten).toBe(1);
    expect((await h.projects.rebuildReadModel()).repaired).toBe(1);
    expect(await rows('api_keys', 'key_id')).toEqual(keysBefore);
    expect(await rows('projects', 'project_id')).toEqual(projectsBefore);
  });
});
