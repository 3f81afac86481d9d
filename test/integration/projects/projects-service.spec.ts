/**
 * ProjectsService on the real Postgres event store: the stream and its row, names unique per
 * account among live projects (under concurrency too), another account's project answered as
 * none, and archiving revoking the project's keys so they are refused on their next request.
 */
import { randomUUID } from 'node:crypto';
import { DomainError } from '../../../src/shared/domain-error';
import { KeyAuthError } from '../../../src/keys/domain/key.errors';
import { projectStream } from '../../../src/projects/domain/project.events';
import { ProjectsHarness, projectsHarness } from './projects-harness';

const actor = 'test';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
  throw new Error('expected a DomainError');
}

describe('ProjectsService (real Postgres)', () => {
  let h: ProjectsHarness;
  let account: string;
  let other: string;

  beforeAll(async () => {
    h = await projectsHarness();
    account = await h.k.openAccount();
    other = await h.k.openAccount();
  });
  afterAll(() => h?.close());

  it('create: ProjectCreated on project-<id> and the row at once; rename and archive append and move the row forward', async () => {
    const p = await h.projects.create({ accountId: account, name: ' Web ', actor });
    expect(p).toMatchObject({ accountId: account, name: 'Web', archivedAt: null, version: 1n });
    const renamed = await h.projects.rename({ accountId: account, projectId: p.projectId, name: 'Website', actor });
    expect(renamed).toMatchObject({ name: 'Website', version: 2n });
    const { project } = await h.projects.archive({ accountId: account, projectId: p.projectId, actor });
    expect(project.archivedAt).toBeInstanceOf(Date);
    expect((await h.k.store.readStream(projectStream(p.projectId))).map((e) => e.type)).toEqual(['ProjectCreated', 'ProjectRenamed', 'ProjectArchived']);
    // Archiving again appends nothing; an archived project cannot be renamed.
    await h.projects.archive({ accountId: account, projectId: p.projectId, actor });
    expect(await h.k.store.streamVersion(projectStream(p.projectId))).toBe(3n);
    expect(await codeOf(h.projects.rename({ accountId: account, projectId: p.projectId, name: 'x', actor }))).toBe('project_archived');
  });

  it('a name is taken among live projects whatever its case; an archived one frees it; other accounts are apart', async () => {
    const a = await h.projects.create({ accountId: account, name: 'Mobile', actor });
    expect(await codeOf(h.projects.create({ accountId: account, name: 'mobile', actor }))).toBe('project_name_taken');
    const b = await h.projects.create({ accountId: account, name: 'Mobile 2', actor });
    expect(await codeOf(h.projects.rename({ accountId: account, projectId: b.projectId, name: 'MOBILE', actor }))).toBe('project_name_taken');
    expect((await h.projects.create({ accountId: other, name: 'Mobile', actor })).accountId).toBe(other);
    await h.projects.archive({ accountId: account, projectId: a.projectId, actor });
    expect((await h.projects.create({ accountId: account, name: 'mobile', actor })).name).toBe('mobile');
  });

  it("another account's project, an unknown id and a malformed id are all project_not_found (no existence oracle)", async () => {
    const mine = await h.projects.create({ accountId: account, name: 'Secret', actor });
    for (const id of [mine.projectId, randomUUID(), 'not-a-uuid', "'; DROP TABLE projects; --"]) {
      expect(await codeOf(h.projects.get(other, id))).toBe('project_not_found');
      expect(await codeOf(h.projects.rename({ accountId: other, projectId: id, name: 'mine now', actor }))).toBe('project_not_found');
      expect(await codeOf(h.projects.archive({ accountId: other, projectId: id, actor }))).toBe('project_not_found');
    }
    expect((await h.projects.get(account, mine.projectId)).archivedAt).toBeNull();
  });

  it('refuses huge, empty and control-character names, and a non-uuid account, before writing', async () => {
    for (const name of ['', '  ', 'x'.repeat(101), 'a\nb']) expect(await codeOf(h.projects.create({ accountId: account, name, actor }))).toBe('invalid_command');
    expect(await codeOf(h.projects.create({ accountId: 'acc-1', name: 'x', actor }))).toBe('invalid_command');
  });

  it('20 concurrent creates of one name (more than the pool has connections) make exactly one project, without a deadlock', async () => {
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => h.projects.create({ accountId: account, name: 'Race', actor })));
    const made = results.filter((r) => r.status === 'fulfilled');
    expect(made).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as DomainError).code).toBe('project_name_taken');
    const { rows } = await h.k.db.pool.query(`SELECT count(*)::int AS n FROM projects WHERE account_id = $1 AND lower(name) = 'race'`, [account]);
    expect(rows[0].n).toBe(1);
    // findOrCreate from many callers at once: one project, found by all.
    const found = await Promise.all(Array.from({ length: 12 }, () => h.projects.findOrCreate({ accountId: account, name: 'Shared', actor })));
    expect(new Set(found.map((f) => f.project.projectId)).size).toBe(1);
    expect(found.filter((f) => f.created)).toHaveLength(1);
  });

  it('archiving revokes every key of the project: each is refused on its very next request', async () => {
    const p = await h.projects.create({ accountId: account, name: 'Doomed', actor });
    const kept = await h.projects.create({ accountId: account, name: 'Kept', actor });
    const keys = await Promise.all([1, 2, 3].map(() => h.k.keys.create({ accountId: account, project: p.name, projectId: p.projectId, actor })));
    const survivor = await h.k.keys.create({ accountId: account, project: kept.name, projectId: kept.projectId, actor });
    const auth = h.k.instance('archive');
    expect(await auth.waitUntilListening()).toBe(true);
    for (const k of keys) await auth.authenticate(k.secret); // cached on this instance
    const { revokedKeys } = await h.projects.archive({ accountId: account, projectId: p.projectId, actor });
    expect(revokedKeys).toBe(3);
    for (const k of keys) {
      const err = await auth.authenticate(k.secret).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeyAuthError);
      expect((err as KeyAuthError).code).toBe('key_revoked');
    }
    expect((await auth.authenticate(survivor.secret)).keyId).toBe(survivor.key.keyId);
    expect(await codeOf(h.projects.getLive(account, p.projectId))).toBe('project_archived');
  });

  it('finishArchives revokes a key that a race left active in an archived project', async () => {
    const p = await h.projects.create({ accountId: account, name: 'Half', actor });
    const k = await h.k.keys.create({ accountId: account, project: p.name, projectId: p.projectId, actor });
    await h.projects.archive({ accountId: account, projectId: p.projectId, actor });
    // A creation that checked the project just before the archive, and appended just after it.
    const late = await h.k.keys.create({ accountId: account, project: p.name, projectId: p.projectId, actor });
    expect((await h.k.repo.findById(late.key.keyId))!.status).toBe('active');
    expect(await h.projects.finishArchives(actor)).toBe(1);
    expect((await h.k.repo.findById(late.key.keyId))!.status).toBe('revoked');
    expect((await h.k.repo.findById(k.key.keyId))!.status).toBe('revoked');
    expect(await h.projects.finishArchives(actor)).toBe(0);
  });
});
