/**
 * The names people give their API keys, management keys and projects (issue 21: they may name a
 * person) on the booted app, real Postgres and Redis: shown in clear to their owner through the
 * account API and the CLI, stored only sealed with the account holder's vault key (events and
 * rows), and after the holder's erasure read as "(erased)" everywhere, a `ledger replay`
 * included, even for keys made before names were sealed (plain-text events, which stay as they
 * are: no event is ever edited). Also: unicode and maximum lengths, a person with many keys,
 * and key and project creations racing the erasure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ERASED_NAME } from '../../../src/compliance/account-names';
import { ErasureService } from '../../../src/compliance/erasure/application/erasure.service';
import { PersonalDataVault } from '../../../src/compliance/personal-data-vault';
import { KeysService } from '../../../src/keys/application/keys.service';
import { apiKeyStream } from '../../../src/keys/domain/api-key.events';
import { ProjectsService } from '../../../src/projects/application/projects.service';
import { ProjectBackfill } from '../../../src/projects/application/project-backfill';
import { projectStream } from '../../../src/projects/domain/project.events';
import { EVENT_STORE, EventStore } from '../../../src/platform/event-store/event-store.port';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { searchPostgres } from '../../support/canary-search';
import { csvObjects, readZip, untilZip } from '../../support/export-zip-reader';
import { CLI, run } from '../../support/cli-runner';
import { Gateway, startGateway } from '../../support/gateway';
import { TEST_REDIS_URL } from '../../support/test-env';

type Json = Record<string, any>;
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('names of keys and projects: sealed for the account holder, gone with them (booted app)', () => {
  let gw: Gateway;
  const tollgate = (...args: string[]) =>
    run(process.execPath, [CLI, ...args], { DATABASE_URL: gw.db.url, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: gw.config.REDIS_KEY_PREFIX });
  const json = async (res: Response): Promise<Json> => {
    const body = (await res.json()) as Json;
    if (res.status >= 300) throw new Error(`${res.status}: ${JSON.stringify(body)}`);
    return body;
  };
  const cliKeys = async (accountId: string): Promise<Json[]> => {
    const r = await tollgate('keys', 'list', '--account', accountId, '--json');
    expect(r).toMatchObject({ code: 0 });
    return JSON.parse(r.stdout).keys as Json[];
  };
  const replay = async () => expect(await tollgate('ledger', 'replay', '--json')).toMatchObject({ code: 0 });
  const rowNames = async (accountId: string) => ({
    keys: (await gw.db.pool.query<{ name: string; project: string; name_owner: string | null }>('SELECT name, project, name_owner FROM api_keys WHERE account_id = $1 ORDER BY created_at, key_id', [accountId])).rows,
    projects: (await gw.db.pool.query<{ name: string; name_owner: string | null }>('SELECT name, name_owner FROM projects WHERE account_id = $1 ORDER BY created_at', [accountId])).rows,
    management: (await gw.db.pool.query<{ name: string; name_owner: string | null }>('SELECT name, name_owner FROM management_keys WHERE account_id = $1', [accountId])).rows,
  });
  const erase = (p: SignedIn) => gw.app.get(ErasureService).erase({ userId: p.userId, actor: 'cli:test', via: 'cli', reason: 'asked by mail' }, { holdWaitMs: 1_000 });

  beforeAll(async () => {
    gw = await startGateway({ env: { API_RUNS_WORKERS: 'true' } }); // the workers build data exports
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('unicode names at their maximum lengths read back in clear (API, CLI), yet events and rows hold them only sealed; one character more is refused', async () => {
    const p = await signedIn(gw, uniqueEmail('names'));
    const projectName = `Zoë Ångström 客户 🚀 ${hex(3)} ${'ß'.repeat(100)}`.slice(0, 100);
    const keyName = `Ada’s key — 日本語 ✓ ${hex(3)} ${'ø'.repeat(200)}`.slice(0, 200);
    const mgmtName = `Ωmega deploy ${hex(3)} ${'ж'.repeat(200)}`.slice(0, 200);
    expect([projectName.length, keyName.length, mgmtName.length]).toEqual([100, 200, 200]);

    const project = await json(await p.fetch('/api/projects', { method: 'POST', body: { name: projectName } }));
    expect(project.name).toBe(projectName);
    const key = await json(await p.fetch(`/api/projects/${project.id}/keys`, { method: 'POST', body: { name: keyName } }));
    expect(key.name).toBe(keyName);
    const mgmt = await json(await p.fetch('/api/management-keys', { method: 'POST', body: { name: mgmtName } }));
    expect(mgmt.name).toBe(mgmtName);
    expect((await p.fetch('/api/projects', { method: 'POST', body: { name: `${projectName}x` } })).status).toBe(400);
    expect((await p.fetch(`/api/projects/${project.id}/keys`, { method: 'POST', body: { name: `${keyName}x` } })).status).toBe(400);
    expect((await p.fetch('/api/management-keys', { method: 'POST', body: { name: `${mgmtName}x` } })).status).toBe(400);

    // Shown in clear to the owner: account API and CLI.
    expect((await json(await p.fetch('/api/projects'))).data.map((x: Json) => x.name)).toEqual([projectName]);
    expect((await json(await p.fetch(`/api/projects/${project.id}/keys`))).data.map((x: Json) => x.name)).toEqual([keyName]);
    expect((await json(await p.fetch('/api/management-keys'))).data.map((x: Json) => x.name)).toEqual([mgmtName]);
    expect((await cliKeys(p.accountId)).map((k) => [k.name, k.project])).toEqual([[keyName, projectName]]);
    // And in the person's data export (JSON and CSV).
    const asked = await json(await p.fetch('/api/me/export', { method: 'POST' }));
    const files = await readZip((await untilZip(() => p.fetch(asked.download))).zip);
    for (const [section, name] of [['projects', projectName], ['api_keys', keyName], ['management_keys', mgmtName]]) {
      expect({ section, names: (JSON.parse(files.get(`${section}.json`)!) as Json[]).map((r) => r.name) }).toEqual({ section, names: [name] });
      expect({ section, names: csvObjects(files.get(`${section}.csv`)!).map((r) => r.name) }).toEqual({ section, names: [name] });
    }

    // Stored sealed for the holder: the events and rows say whose key, never the name.
    const { rows: events } = await gw.db.pool.query<{ type: string; data: Json }>(
      `SELECT type, data FROM events WHERE stream_id = ANY($1) AND type IN ('KeyCreated', 'ProjectCreated', 'ManagementKeyCreated')`,
      [[apiKeyStream(key.id), projectStream(project.id), `mgmtkey-${mgmt.id}`]],
    );
    expect(events.map((e) => [e.type, e.data.nameOwner, e.data.name.startsWith('v1:')]).sort()).toEqual(
      [
        ['KeyCreated', p.userId, true],
        ['ManagementKeyCreated', p.userId, true],
        ['ProjectCreated', p.userId, true],
      ].sort(),
    );
    const rows = await rowNames(p.accountId);
    expect([...rows.keys, ...rows.projects, ...rows.management].every((r) => r.name.startsWith('v1:') && r.name_owner === p.userId)).toBe(true);
    for (const needle of [projectName, keyName, mgmtName]) expect((await searchPostgres(gw.db.pool, needle)).hits).toEqual([]);
    // The positive control: the same search finds what is stored in clear.
    expect((await searchPostgres(gw.db.pool, p.userId)).hits.length).toBeGreaterThan(0);

    // Uniqueness among live projects, whatever the case, still holds over sealed names; a rename is sealed too.
    const other = `Client ${hex(4)}`;
    const second = await json(await p.fetch('/api/projects', { method: 'POST', body: { name: other } }));
    const taken = await p.fetch('/api/projects', { method: 'POST', body: { name: other.toUpperCase() } });
    expect([taken.status, ((await taken.json()) as Json).error.code]).toEqual([409, 'project_name_taken']);
    // Concurrent creations of one name (cases apart) over sealed names: exactly one is made.
    const contested = `Contested ${hex(4)}`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => p.fetch('/api/projects', { method: 'POST', body: { name: i % 2 ? contested.toUpperCase() : contested } }).then((r) => r.status)),
    );
    expect(answers.sort()).toEqual([201, ...Array<number>(9).fill(409)]);
    const renamedTo = `Renamed ${hex(4)}`;
    expect((await json(await p.fetch(`/api/projects/${second.id}`, { method: 'PATCH', body: { name: renamedTo } }))).name).toBe(renamedTo);
    const renamed = await gw.db.pool.query<{ data: Json }>(`SELECT data FROM events WHERE stream_id = $1 AND type = 'ProjectRenamed'`, [projectStream(second.id)]);
    expect(renamed.rows.map((r) => [r.data.nameOwner, r.data.name.startsWith('v1:')])).toEqual([[p.userId, true]]);
    expect((await searchPostgres(gw.db.pool, renamedTo)).hits).toEqual([]);
  }, 120_000);

  it('after the erasure every name reads "(erased)" (CLI, rows), and a ledger replay brings none back, plain-text events of older keys included', async () => {
    const p = await signedIn(gw, uniqueEmail('erase-names'));
    const projectName = `Client Lovelace ${hex(4)}`;
    const keyName = `Charles's key ${hex(4)}`;
    const mgmtName = `Ada's deploys ${hex(4)}`;
    const project = await json(await p.fetch('/api/projects', { method: 'POST', body: { name: projectName } }));
    await json(await p.fetch(`/api/projects/${project.id}/keys`, { method: 'POST', body: { name: keyName } }));
    await json(await p.fetch('/api/management-keys', { method: 'POST', body: { name: mgmtName } }));
    // A key and a project from before names were sealed: events of the old shape, plain text.
    const legacyKeyName = `legacy key ${hex(4)}`;
    const legacyProject = `legacy project ${hex(4)}`;
    const legacyKeyId = `key_${hex(8)}`;
    const store = gw.app.get<EventStore>(EVENT_STORE);
    await store.append(
      apiKeyStream(legacyKeyId),
      [{ id: randomUUID(), type: 'KeyCreated', data: { keyId: legacyKeyId, accountId: p.accountId, project: legacyProject, name: legacyKeyName, hash: hex(32), prefix: 'tg-abcd', last4: 'wxyz', createdAt: new Date().toISOString() }, metadata: {} }],
      { expectedVersion: 0n },
    );
    const legacyProjectId = randomUUID();
    await store.append(
      projectStream(legacyProjectId),
      [{ id: randomUUID(), type: 'ProjectCreated', data: { projectId: legacyProjectId, accountId: p.accountId, name: legacyProject, createdAt: new Date().toISOString() }, metadata: {} }],
      { expectedVersion: 0n },
    );
    await replay();
    // Both shapes read.
    expect((await cliKeys(p.accountId)).map((k) => [k.name, k.project]).sort()).toEqual([[keyName, projectName], [legacyKeyName, legacyProject]].sort());
    expect((await json(await p.fetch('/api/projects'))).data.map((x: Json) => x.name).sort()).toEqual([projectName, legacyProject].sort());

    expect((await erase(p)).erasure.completedAt).not.toBeNull();
    const check = async () => {
      const rows = await rowNames(p.accountId);
      expect(rows.keys.map((r) => [r.name, r.project, r.name_owner])).toEqual([[ERASED_NAME, ERASED_NAME, null], [ERASED_NAME, ERASED_NAME, null]]);
      expect(rows.projects.map((r) => [r.name, r.name_owner])).toEqual([[ERASED_NAME, null], [ERASED_NAME, null]]);
      expect(rows.management.map((r) => [r.name, r.name_owner])).toEqual([[ERASED_NAME, null]]);
      expect((await cliKeys(p.accountId)).map((k) => [k.name, k.project])).toEqual([[ERASED_NAME, ERASED_NAME], [ERASED_NAME, ERASED_NAME]]);
      for (const needle of [projectName, keyName, mgmtName]) expect({ needle, hits: (await searchPostgres(gw.db.pool, needle)).hits }).toEqual({ needle, hits: [] });
      // The old events keep their plain text (no event is ever edited); no table besides them does.
      // (The project's name is in its ProjectCreated and in the key's KeyCreated.)
      for (const [needle, n] of [[legacyKeyName, 1], [legacyProject, 2]] as const) {
        expect({ needle, hits: (await searchPostgres(gw.db.pool, needle)).hits }).toEqual({ needle, hits: [`public.events (${n} rows)`] });
      }
    };
    await check();
    await replay();
    await check();
    // The start step that gives old keys a project leaves this one alone (no name can be sealed for an erased holder).
    const backfill = await gw.app.get(ProjectBackfill, { strict: false }).run();
    expect(backfill).toMatchObject({ keysMoved: 0, projectsCreated: 0 });
    expect((await gw.db.pool.query('SELECT project_id FROM api_keys WHERE key_id = $1', [legacyKeyId])).rows).toEqual([{ project_id: null }]);
    await check();
    // The sealed names in the events open no more.
    const vault = gw.app.get(PersonalDataVault);
    const { rows } = await gw.db.pool.query<{ name: string }>(
      `SELECT data->>'name' AS name FROM events WHERE data->>'nameOwner' = $1::text`,
      [p.userId],
    );
    expect(rows.length).toBe(3);
    for (const r of rows) expect(await vault.decrypt(p.userId, r.name)).toBeNull();
  }, 180_000);

  it('a person with many keys: every name of a 150-key project opened right in one page, through the API and the CLI', async () => {
    const p = await signedIn(gw, uniqueEmail('many-keys'));
    const project = await json(await p.fetch('/api/projects', { method: 'POST', body: { name: `Big ${hex(3)}` } }));
    const keys = gw.app.get(KeysService);
    const names = Array.from({ length: 150 }, (_, i) => `key ${i} of Grace ${hex(3)}`);
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(names.slice(i, i + 10).map((name) => keys.create({ accountId: p.accountId, project: project.name, projectId: project.id, name, actor: 'cli:test' })));
    }
    const page = await json(await p.fetch(`/api/projects/${project.id}/keys?limit=200`));
    expect(page.data.map((k: Json) => k.name).sort()).toEqual([...names].sort());
    expect((await cliKeys(p.accountId)).map((k) => k.name).sort()).toEqual([...names].sort());
    const sealed = await gw.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE account_id = $1 AND name LIKE 'v1:%' AND name_owner = $2`, [p.accountId, p.userId]);
    expect(sealed.rows[0].n).toBe(150);
  }, 180_000);

  it('keys and projects created while the holder is being erased: each is refused or ends "(erased)"; no name is left in clear, none decrypts', async () => {
    const p = await signedIn(gw, uniqueEmail('race'));
    const keys = gw.app.get(KeysService);
    const projects = gw.app.get(ProjectsService);
    const base = await projects.create({ accountId: p.accountId, name: `Base ${hex(3)}`, actor: 'cli:test' });
    const tried: string[] = [];
    const outcomes: Array<PromiseSettledResult<unknown>> = [];
    const attempt = async (make: (name: string) => Promise<unknown>, kind: string) => {
      const name = `race ${kind} ${tried.length} ${hex(4)}`;
      tried.push(name);
      const [o] = await Promise.allSettled([make(name)]);
      outcomes.push(o);
    };
    const newKey = (name: string) => keys.create({ accountId: p.accountId, project: base.name, projectId: base.projectId, name, actor: 'cli:test' });
    const newProject = (name: string) => projects.create({ accountId: p.accountId, name, actor: 'cli:test' });
    // Creations before, during and after the erasure: three lanes of keys and one of projects,
    // each running until the erasure has finished.
    let erased = false;
    const lane = async (make: (name: string) => Promise<unknown>, kind: string) => {
      while (!erased) await attempt(make, kind);
    };
    const erasing = erase(p).finally(() => (erased = true));
    await Promise.all([lane(newKey, 'key'), lane(newKey, 'key'), lane(newKey, 'key'), lane(newProject, 'project'), erasing]);
    // Once the erasure is done a name can no longer be sealed for the person: refused.
    await attempt(newKey, 'key');
    await attempt(newProject, 'project');
    const statuses = outcomes.map((o) => o.status);
    expect(statuses).toContain('fulfilled');
    expect(statuses.slice(-2)).toEqual(['rejected', 'rejected']);
    for (const o of outcomes) {
      // Refused only because the person is gone (the vault has no key left to seal with).
      if (o.status === 'rejected') expect(o.reason).toMatchObject({ code: 'person_erased' });
    }
    const rows = await rowNames(p.accountId);
    expect([...rows.keys, ...rows.projects].every((r) => r.name === ERASED_NAME && r.name_owner === null)).toBe(true);
    for (const needle of tried) expect({ needle, hits: (await searchPostgres(gw.db.pool, needle)).hits }).toEqual({ needle, hits: [] });
    const vault = gw.app.get(PersonalDataVault);
    const { rows: sealed } = await gw.db.pool.query<{ name: string }>(`SELECT data->>'name' AS name FROM events WHERE data->>'nameOwner' = $1::text`, [p.userId]);
    expect(sealed.length).toBeGreaterThan(1);
    for (const r of sealed) expect(await vault.decrypt(p.userId, r.name)).toBeNull();
    await replay();
    expect((await rowNames(p.accountId)).keys.every((r) => r.name === ERASED_NAME)).toBe(true);
  }, 180_000);
});
