/**
 * Projects, API keys and management keys through the account API of a booted gateway (real
 * Postgres, Redis, the fake upstream, the official `openai` SDK): a key made through the API
 * calls a model and is refused on the very next request after its revocation; a management key
 * manages keys and reads /api/me but never calls a model nor mints management keys, and is
 * refused right after its own revocation; another account's objects are 404; Idempotency-Key
 * replays, mismatches, and makes one key of 10 concurrent duplicates.
 */
import OpenAI from 'openai';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { SignedIn, signedIn } from '../../support/account-client';

interface Json {
  [k: string]: any;
}

describe('projects and keys through the account API', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  let alice: SignedIn;
  let bob: SignedIn;

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake });
    [alice, bob] = [await signedIn(gw), await signedIn(gw)];
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  const chat = (secret: string) =>
    new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello' }],
    });
  async function refusedBySdk(secret: string): Promise<void> {
    const before = fake.requests.length;
    const err = await chat(secret).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect(fake.requests.length).toBe(before); // nothing went upstream
  }
  async function json(r: Response, status: number): Promise<Json> {
    const text = await r.text();
    expect({ status: r.status, text }).toMatchObject({ status });
    return text ? (JSON.parse(text) as Json) : {};
  }
  const bearer = (secret: string, path: string, init: RequestInit & { json?: unknown } = {}) =>
    fetch(`${gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${secret}`, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) },
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });
  const project = async (who: SignedIn, name: string) => json(await who.fetch('/api/projects', { method: 'POST', body: { name } }), 201);

  it('projects: create (201, id), list, rename, a taken name 409, archive (hidden unless archived=true)', async () => {
    const web = await project(alice, 'Web');
    expect(web).toMatchObject({ id: expect.any(String), name: 'Web', archivedAt: null });
    expect((await json(await alice.fetch('/api/projects', { method: 'POST', body: { name: 'web' } }), 409)).error.code).toBe('project_name_taken');
    const renamed = await json(await alice.fetch(`/api/projects/${web.id}`, { method: 'PATCH', body: { name: 'Website' } }), 200);
    expect(renamed.name).toBe('Website');
    const listed = await json(await alice.fetch('/api/projects'), 200);
    expect(listed.data.map((p: Json) => p.name)).toContain('Website');
    expect(listed.nextCursor).toBeNull();
    const archived = await json(await alice.fetch(`/api/projects/${web.id}`, { method: 'DELETE' }), 200);
    expect(archived.archivedAt).not.toBeNull();
    expect((await json(await alice.fetch('/api/projects'), 200)).data.map((p: Json) => p.id)).not.toContain(web.id);
    expect((await json(await alice.fetch('/api/projects?archived=true'), 200)).data.map((p: Json) => p.id)).toContain(web.id);
    for (const body of [{}, { name: '' }, { name: 'x'.repeat(101) }, { name: 'a\nb' }, { name: 'ok', extra: 1 }]) {
      expect((await json(await alice.fetch('/api/projects', { method: 'POST', body }), 400)).error.code).toMatch(/validation_failed|invalid_command/);
    }
  });

  it('lists page with cursor and limit', async () => {
    const carol = await signedIn(gw);
    for (const n of ['p1', 'p2', 'p3']) await project(carol, n);
    const first = await json(await carol.fetch('/api/projects?limit=2'), 200);
    expect(first.data.map((p: Json) => p.name)).toEqual(['p1', 'p2']);
    const second = await json(await carol.fetch(`/api/projects?limit=2&cursor=${first.nextCursor}`), 200);
    expect(second).toMatchObject({ data: [{ name: 'p3' }], nextCursor: null });
    expect((await json(await carol.fetch('/api/projects?cursor=bogus!'), 400)).error.code).toBe('validation_failed');
    expect((await json(await carol.fetch('/api/projects?limit=0'), 400)).error.code).toBe('validation_failed');
  });

  it('a key made through the API works with the openai SDK, shows lastUsedAt, and is refused on the very next request after its revocation', async () => {
    const p = await project(alice, 'SDK');
    const key = await json(await alice.fetch(`/api/projects/${p.id}/keys`, { method: 'POST', body: { name: 'ci', rpm: 100 } }), 201);
    expect(key).toMatchObject({ id: expect.any(String), projectId: p.id, name: 'ci', status: 'active', limits: { rpm: 100 }, lastUsedAt: null });
    expect(key.secret).toMatch(/^tg-[0-9A-Za-z]{40}$/);
    const answer = await chat(key.secret);
    expect(answer.choices[0].message.content).toMatch(/^Hello from fake-/);
    const deadline = Date.now() + 5000;
    let listed: Json = {};
    do {
      listed = await json(await alice.fetch(`/api/projects/${p.id}/keys`), 200);
    } while (listed.data[0].lastUsedAt === null && Date.now() < deadline && (await new Promise((r) => setTimeout(r, 50)), true));
    expect(listed.data).toHaveLength(1);
    expect(listed.data[0]).toMatchObject({ id: key.id, key: `${key.secret.slice(0, 7)}…${key.secret.slice(-4)}` });
    expect(listed.data[0].lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(key.secret);

    const revoked = await json(await alice.fetch(`/api/keys/${key.id}/revoke`, { method: 'POST' }), 200);
    expect(revoked).toMatchObject({ status: 'revoked' });
    await refusedBySdk(key.secret);
  });

  it('PATCH /api/keys/{id} sets limits as the CLI does (null clears one); regenerate gives a new secret and the old one stops at once', async () => {
    const p = await project(alice, 'Limits');
    const key = await json(await alice.fetch(`/api/projects/${p.id}/keys`, { method: 'POST', body: { spendCap: '2.5' } }), 201);
    expect(key.limits).toMatchObject({ spendCap: '2.500000' });
    const patched = await json(
      await alice.fetch(`/api/keys/${key.id}`, { method: 'PATCH', body: { models: ['gpt-4o-mini'], spendCap: null, expiresAt: '2999-01-01', tpm: 1_000_000 } }),
      200,
    );
    expect(patched.limits).toEqual({ models: ['gpt-4o-mini'], spendCap: null, expiresAt: '2999-01-01T23:59:59.999Z', rpm: null, tpm: 1_000_000 });
    for (const body of [{ spendCap: '-1' }, { spendCap: '1.0000001' }, { rpm: 0 }, { rpm: 1.5 }, { models: [] }, { expiresAt: 'tomorrow' }, { color: 'red' }]) {
      const err = await json(await alice.fetch(`/api/keys/${key.id}`, { method: 'PATCH', body }), 400);
      expect(err.error.code).toBe('validation_failed');
    }
    const regenerated = await json(await alice.fetch(`/api/keys/${key.id}/regenerate`, { method: 'POST' }), 200);
    expect(regenerated.secret).toMatch(/^tg-[0-9A-Za-z]{40}$/);
    expect(regenerated.secret).not.toBe(key.secret);
    expect((await chat(regenerated.secret)).choices[0].message.content).toMatch(/^Hello from fake-/);
    await refusedBySdk(key.secret);
  });

  it("another account's project or key is 404 not_found, exactly as an unknown one", async () => {
    const p = await project(alice, 'Private');
    const key = await json(await alice.fetch(`/api/projects/${p.id}/keys`, { method: 'POST', body: {} }), 201);
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', `/api/projects/${p.id}/keys`],
      ['POST', `/api/projects/${p.id}/keys`, {}],
      ['PATCH', `/api/projects/${p.id}`, { name: 'mine' }],
      ['DELETE', `/api/projects/${p.id}`],
      ['PATCH', `/api/keys/${key.id}`, { rpm: 1 }],
      ['POST', `/api/keys/${key.id}/revoke`],
      ['POST', `/api/keys/${key.id}/regenerate`],
      ['GET', `/api/projects/00000000-0000-4000-8000-000000000000/keys`],
      ['POST', `/api/keys/not-a-key/revoke`],
    ];
    for (const [method, path, body] of attempts) {
      const err = await json(await bob.fetch(path, { method, body }), 404);
      expect(err.error.code).toBe('not_found');
    }
    // Nothing of Alice's changed: her key still works.
    expect((await chat(key.secret)).choices[0].message.content).toMatch(/^Hello from fake-/);
  });

  it("archiving a project revokes its keys: the proxy refuses them, and it takes no new key", async () => {
    const p = await project(alice, 'Doomed');
    const keys = [
      await json(await alice.fetch(`/api/projects/${p.id}/keys`, { method: 'POST', body: {} }), 201),
      await json(await alice.fetch(`/api/projects/${p.id}/keys`, { method: 'POST', body: {} }), 201),
    ];
    await chat(keys[0].secret); // cached by the gateway
    expect((await json(await alice.fetch(`/api/projects/${p.id}`, { method: 'DELETE' }), 200)).revokedKeys).toBe(2);
    for (const k of keys) await refusedBySdk(k.secret);
    expect((await json(await alice.fetch(`/api/projects/${p.id}/keys`, { method: 'POST', body: {} }), 409)).error.code).toBe('project_archived');
  });

  it('a management key lists and creates keys and reads /api/me, without CSRF; it never calls a model nor touches management keys; revoked, it is refused at once', async () => {
    const made = await json(await alice.fetch('/api/management-keys', { method: 'POST', body: { name: 'deploy' } }), 201);
    expect(made.secret).toMatch(/^tg-mgmt-[0-9A-Za-z]{40}$/);
    expect(made).toMatchObject({ id: expect.any(String), name: 'deploy', status: 'active' });
    const mk = made.secret as string;

    expect(await json(await bearer(mk, '/api/me'), 200)).toMatchObject({ id: alice.userId, accountId: alice.accountId });
    const p = await json(await bearer(mk, '/api/projects', { method: 'POST', json: { name: 'Scripted' } }), 201);
    const key = await json(await bearer(mk, `/api/projects/${p.id}/keys`, { method: 'POST', json: { name: 'from a script' } }), 201);
    expect((await json(await bearer(mk, `/api/projects/${p.id}/keys`), 200)).data.map((k: Json) => k.id)).toEqual([key.id]);
    expect((await chat(key.secret)).choices[0].message.content).toMatch(/^Hello from fake-/);

    await refusedBySdk(mk); // not an API key
    expect((await json(await bearer(mk, '/api/management-keys', { method: 'POST', json: { name: 'child' } }), 403)).error.code).toBe('forbidden');
    expect((await json(await bearer(mk, '/api/management-keys'), 403)).error.code).toBe('forbidden');
    expect((await json(await bearer(mk, `/api/management-keys/${made.id}`, { method: 'DELETE' }), 403)).error.code).toBe('forbidden');

    const listed = await json(await alice.fetch('/api/management-keys'), 200);
    expect(listed.data.find((k: Json) => k.id === made.id)).toMatchObject({ key: `${mk.slice(0, 12)}…${mk.slice(-4)}` });
    expect(JSON.stringify(listed)).not.toContain(mk);
    expect((await json(await bob.fetch(`/api/management-keys/${made.id}`, { method: 'DELETE' }), 404)).error.code).toBe('not_found');

    expect((await json(await alice.fetch(`/api/management-keys/${made.id}`, { method: 'DELETE' }), 200)).status).toBe('revoked');
    expect((await json(await bearer(mk, '/api/me'), 401)).error.code).toBe('unauthenticated');
    expect((await json(await bearer(mk, `/api/projects/${p.id}/keys`), 401)).error.code).toBe('unauthenticated');
    // Only its hash is stored.
    const { rows } = await gw.db.pool.query('SELECT * FROM management_keys WHERE key_id = $1', [made.id]);
    expect(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(mk.slice(8));
  });

  it('Idempotency-Key: a replay answers the same key with 200 and without its secret; another body is 422; 10 concurrent duplicates make one key', async () => {
    const p = await project(alice, 'Idempotent');
    const post = (key: string, body: unknown) => alice.fetch(`/api/projects/${p.id}/keys`, { method: 'POST', body, headers: { 'idempotency-key': key } });
    const first = await post('create-ci-key', { name: 'ci' });
    const created = await json(first, 201);
    expect(created.secret).toBeDefined();
    const again = await post('create-ci-key', { name: 'ci' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const replayed = await json(again, 200);
    expect(replayed.id).toBe(created.id);
    expect(replayed).not.toHaveProperty('secret');
    expect((await json(await post('create-ci-key', { name: 'other' }), 422)).error.code).toBe('idempotency_mismatch');
    // What a replay is answered from holds the key's id, never its secret.
    const { rows } = await gw.db.pool.query('SELECT * FROM idempotency_keys');
    expect(rows.map((r) => r.resource_id)).toContain(created.id);
    expect(JSON.stringify(rows)).not.toContain(created.secret);
    expect((await json(await post('x'.repeat(300), { name: 'ci' }), 400)).error.code).toBe('invalid_idempotency_key');

    const answers = await Promise.all(Array.from({ length: 10 }, () => post('burst', { name: 'burst' })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const ids = new Set(await Promise.all(answers.map(async (a) => ((await a.json()) as Json).id)));
    expect(ids.size).toBe(1);
    const keys = (await json(await alice.fetch(`/api/projects/${p.id}/keys`), 200)).data.filter((k: Json) => k.name === 'burst');
    expect(keys).toHaveLength(1);

    // Projects and management keys take it too.
    const mk1 = await json(await alice.fetch('/api/management-keys', { method: 'POST', body: { name: 'm' }, headers: { 'idempotency-key': 'mk' } }), 201);
    const mk2 = await json(await alice.fetch('/api/management-keys', { method: 'POST', body: { name: 'm' }, headers: { 'idempotency-key': 'mk' } }), 200);
    expect(mk2.id).toBe(mk1.id);
    expect(mk2).not.toHaveProperty('secret');
    const p1 = await json(await alice.fetch('/api/projects', { method: 'POST', body: { name: 'Once' }, headers: { 'idempotency-key': 'proj' } }), 201);
    const p2 = await json(await alice.fetch('/api/projects', { method: 'POST', body: { name: 'Once' }, headers: { 'idempotency-key': 'proj' } }), 200);
    expect(p2.id).toBe(p1.id);
    // The same Idempotency-Key from another account is that account's own.
    expect((await json(await bob.fetch('/api/projects', { method: 'POST', body: { name: 'Once' }, headers: { 'idempotency-key': 'proj' } }), 201)).id).not.toBe(p1.id);
  });

  it('without a session or key: 401; a cookie write without the CSRF token or from another origin: 403, nothing made', async () => {
    expect((await json(await fetch(`${gw.url}/api/projects`), 401)).error.code).toBe('unauthenticated');
    expect((await json(await alice.fetch('/api/projects', { method: 'POST', body: { name: 'csrf' }, headers: { 'x-csrf-token': 'forged' } }), 403)).error.code).toBe('csrf');
    expect((await json(await alice.fetch('/api/projects', { method: 'POST', body: { name: 'csrf' }, headers: { origin: 'https://evil.example' } }), 403)).error.code).toBe('csrf');
    expect((await json(await alice.fetch('/api/projects'), 200)).data.map((p: Json) => p.name)).not.toContain('csrf');
  });

  it('at start, keys made before projects existed get the project of their name, shown by the API', async () => {
    const dave = await signedIn(gw);
    const legacy = await gw.key(dave.accountId); // a name only ("default"), as every key had before
    expect((await gw.db.pool.query('SELECT project_id FROM api_keys WHERE key_id = $1', [legacy.keyId])).rows[0].project_id).toBeNull();
    const second = await startGateway({ openai: fake, db: gw.db }); // another instance starting: it runs the step
    try {
      const projects = await json(await dave.fetch('/api/projects'), 200);
      expect(projects.data.map((p: Json) => p.name)).toEqual(['default']);
      const keys = await json(await dave.fetch(`/api/projects/${projects.data[0].id}/keys`), 200);
      expect(keys.data.map((k: Json) => k.id)).toEqual([legacy.keyId]);
      expect((await chat(legacy.secret)).choices[0].message.content).toMatch(/^Hello from fake-/);
    } finally {
      await second.close();
    }
  });

  it('every route is in the OpenAPI document with its error codes', async () => {
    const doc = await json(await fetch(`${gw.url}/openapi.json`), 200);
    for (const path of ['/api/projects', '/api/projects/{id}', '/api/projects/{id}/keys', '/api/keys/{id}', '/api/keys/{id}/revoke', '/api/keys/{id}/regenerate', '/api/management-keys', '/api/management-keys/{id}']) {
      expect(doc.paths).toHaveProperty([path]);
    }
    expect(JSON.stringify(doc.paths['/api/projects/{id}/keys'].post)).toContain('idempotency_mismatch');
    expect(JSON.stringify(doc.paths['/api/keys/{id}'].patch)).toContain('not_found');
  });
});
