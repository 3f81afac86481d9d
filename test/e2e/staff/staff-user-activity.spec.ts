/**
 * Support staff on one person's activity, through the booted API: GET /staff/users/{id}/keys
 * shows the keys as `tollgate keys list` does and never a secret or hash; GET
 * /staff/users/{id}/requests pages the request log (requests made with the official openai SDK
 * through the real proxy and the fake upstream) with each receipt equal to /v1/generations, in a
 * date window; unknown ids 404 (audited), bad windows 400, other roles 403, signed out 401.
 */
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { StaffRolesService } from '../../../src/staff/application/staff-roles.service';
import { SignedIn, signedIn } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

type Json = Record<string, any>;

describe('/staff/users/{id}/keys and /requests (booted API, real proxy)', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  let support: SignedIn;
  let accountant: SignedIn;
  let customer: SignedIn;
  let keys: { keyId: string; secret: string }[];
  let startedAt: Date;
  const errorOf = async (r: Response) => ({ status: r.status, error: ((await r.json()) as { error: { code: string; message: string } }).error });
  const auditRows = async (action: string) => (await gw.db.pool.query(`SELECT * FROM staff_audit WHERE action = $1 ORDER BY occurred_at`, [action])).rows as Json[];

  async function walk(path: string, limit: number): Promise<Json[]> {
    const out: Json[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const sep = path.includes('?') ? '&' : '?';
      const r = await support.fetch(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      const page = (await r.json()) as Json;
      expect(page.data.length).toBeLessThanOrEqual(limit);
      out.push(...(page.data as Json[]));
      cursor = page.nextCursor as string | null;
      if (!cursor) return out;
    }
    throw new Error('the walk did not end');
  }

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake });
    [support, accountant, customer] = await Promise.all([signedIn(gw), signedIn(gw), signedIn(gw)]);
    const roles = gw.app.get(StaffRolesService);
    await roles.grant({ who: { userId: support.userId }, role: 'support', reason: 'test set-up', actor: 'cli:test' });
    await roles.grant({ who: { userId: accountant.userId }, role: 'accountant', reason: 'test set-up', actor: 'cli:test' });
    keys = [await gw.key(customer.accountId), await gw.key(customer.accountId, { rpm: 100 })];
    startedAt = new Date();
    for (let i = 0; i < 7; i++) {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: keys[i % 2].secret, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: `staff activity request ${i}` }] });
    }
    await gw.requests(customer.accountId, 7);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('keys: every key with its limits, as the CLI lists them; never a secret or a hash; audited', async () => {
    const r = await support.fetch(`/staff/users/${customer.userId}/keys`);
    expect(r.status).toBe(200);
    const text = await r.text();
    for (const k of keys) expect(text).not.toContain(k.secret);
    const hashes = (await gw.db.pool.query('SELECT hash FROM api_keys WHERE account_id = $1', [customer.accountId])).rows.map((x) => String(x.hash));
    expect(hashes).toHaveLength(2);
    for (const h of hashes) expect(text).not.toContain(h);
    const body = JSON.parse(text) as Json;
    expect(body).toMatchObject({ userId: customer.userId, accountId: customer.accountId });
    expect(body.data.map((k: Json) => k.id).sort()).toEqual(keys.map((k) => k.keyId).sort());
    expect(body.data.find((k: Json) => k.id === keys[1].keyId)).toMatchObject({ status: 'active', limits: { rpm: 100 }, key: expect.stringMatching(/^tg-.+….{4}$/) });
    const cli = await run(process.execPath, [CLI, 'keys', 'list', '--account', customer.accountId, '--json'], { DATABASE_URL: gw.db.url });
    expect(cli).toMatchObject({ code: 0 });
    const listed = (JSON.parse(cli.stdout) as Json).keys as Json[];
    for (const k of listed) {
      const h = body.data.find((x: Json) => x.id === k.keyId);
      expect({ key: h.key, limits: h.limits, createdAt: h.createdAt }).toEqual({ key: k.key, limits: k.limits, createdAt: k.createdAt });
    }
    const rows = await auditRows('users.keys');
    expect(rows[rows.length - 1]).toMatchObject({ actor: support.userId, subject_user_id: customer.userId, details: { found: true, shown: 2 } });
  }, 60_000);

  it('requests: pages walk every request once, newest first, each receipt equal to /v1/generations/{id}', async () => {
    const all = await walk(`/staff/users/${customer.userId}/requests`, 3);
    expect(all).toHaveLength(7);
    expect(new Set(all.map((x) => x.id)).size).toBe(7);
    const times = all.map((x) => Date.parse(x.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    for (const receipt of all.slice(0, 2)) {
      // Any key of the account reads its receipts.
      const own = await fetch(`${gw.url}/v1/generations/${receipt.id}`, { headers: { authorization: `Bearer ${keys[0].secret}` } });
      expect(own.status).toBe(200);
      expect(receipt).toEqual(await own.json());
    }
    expect(all[0]).toMatchObject({ model: 'gpt-4o-mini', estimated: false, price_version: expect.any(Number), unit_prices: expect.objectContaining({ input: expect.any(String) }), hold: expect.any(String), cost: expect.any(String) });
    expect(JSON.stringify(all)).not.toContain('staff activity request'); // metadata only, never content
  }, 60_000);

  it('`tollgate staff requests` prints the same receipts as the route for the same window; audited as the CLI', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const http = await walk(`/staff/users/${customer.userId}/requests?from=${today}&to=${today}`, 50);
    const cli = await run(process.execPath, [CLI, 'staff', 'requests', '--user', customer.userId, '--from', today, '--to', today, '--json'], { DATABASE_URL: gw.db.url });
    expect(cli).toMatchObject({ code: 0 });
    expect(JSON.parse(cli.stdout)).toEqual({ userId: customer.userId, accountId: customer.accountId, requests: http });
    const rows = await auditRows('users.requests');
    expect(rows[rows.length - 1]).toMatchObject({ actor: expect.stringMatching(/^cli:/), subject_user_id: customer.userId, details: { found: true, shown: 7 } });
    const human = await run(process.execPath, [CLI, 'staff', 'requests', '--user', customer.userId, '--limit', '2'], { DATABASE_URL: gw.db.url });
    expect(human.stdout.trimEnd().split('\n')).toHaveLength(4); // header, two rows, the legend
    const backwards = await run(process.execPath, [CLI, 'staff', 'requests', '--user', customer.userId, '--from', '2026-03-02', '--to', '2026-03-01'], { DATABASE_URL: gw.db.url });
    expect(backwards.code).toBe(2);
    const ghost = await run(process.execPath, [CLI, 'staff', 'requests', '--user', randomUUID()], { DATABASE_URL: gw.db.url });
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toMatch(/user_not_found/);
  }, 60_000);

  it('a date window: what started in it; bare dates cover whole days; an empty window is empty', async () => {
    const today = new Date().toISOString().slice(0, 10);
    expect(await walk(`/staff/users/${customer.userId}/requests?from=${today}&to=${today}`, 50)).toHaveLength(7);
    const afterAll = new Date(Date.now() + 1000).toISOString();
    expect(await walk(`/staff/users/${customer.userId}/requests?from=${encodeURIComponent(afterAll)}`, 50)).toHaveLength(0);
    const beforeAny = new Date(startedAt.getTime() - 1000).toISOString();
    expect(await walk(`/staff/users/${customer.userId}/requests?to=${encodeURIComponent(beforeAny)}`, 50)).toHaveLength(0);
    // A century-wide window is just a filter: it pages like any other.
    expect(await walk(`/staff/users/${customer.userId}/requests?from=1970-01-01&to=2999-12-31`, 2)).toHaveLength(7);
    const rows = await auditRows('users.requests');
    expect(rows[rows.length - 1]).toMatchObject({ actor: support.userId, subject_user_id: customer.userId, details: { from: '1970-01-01T00:00:00.000Z', to: '2999-12-31T23:59:59.999Z', found: true } });
  }, 60_000);

  it('bad input is 400 naming the field: window backwards, a non-instant, a forged cursor, a bad limit, unknown parameters', async () => {
    const base = `/staff/users/${customer.userId}/requests`;
    const cases: Array<[string, RegExp]> = [
      [`${base}?from=2026-03-02&to=2026-03-01`, /^from: /],
      [`${base}?from=yesterday`, /^from: /],
      [`${base}?to=2026-13-01`, /^to: /],
      [`${base}?cursor=${Buffer.from(JSON.stringify({ at: "'; DROP TABLE request_log; --", id: 'x' })).toString('base64url')}`, /^cursor: /],
      [`${base}?limit=100000`, /^limit: /],
      [`${base}?limit=0`, /^limit: /],
      [`${base}?model=gpt-4o`, /model/],
      [`${base}?from=2026-03-01&from=2026-03-02`, /^from: /],
    ];
    for (const [path, message] of cases) {
      const e = await errorOf(await support.fetch(path));
      expect({ path, status: e.status, code: e.error.code }).toEqual({ path, status: 400, code: 'validation_failed' });
      expect(e.error.message).toMatch(message);
    }
  });

  it('an unknown person is 404 user_not_found (the probe audited); a malformed id is 400', async () => {
    const ghost = randomUUID();
    for (const path of [`/staff/users/${ghost}/keys`, `/staff/users/${ghost}/requests`]) {
      expect(await errorOf(await support.fetch(path))).toMatchObject({ status: 404, error: { code: 'user_not_found' } });
    }
    const probes = (await gw.db.pool.query('SELECT action, details FROM staff_audit WHERE subject_user_id = $1 ORDER BY occurred_at', [ghost])).rows;
    expect(probes).toEqual([
      { action: 'users.keys', details: { found: false } },
      { action: 'users.requests', details: { found: false } },
    ]);
    expect((await errorOf(await support.fetch('/staff/users/nope/keys'))).status).toBe(400);
    expect((await errorOf(await support.fetch('/staff/users/nope/requests'))).status).toBe(400);
  });

  it('401 signed out, 403 for the person themself and for an accountant; nothing audited', async () => {
    const before = (await auditRows('users.keys')).length + (await auditRows('users.requests')).length;
    for (const path of [`/staff/users/${customer.userId}/keys`, `/staff/users/${customer.userId}/requests`]) {
      expect((await errorOf(await fetch(`${gw.url}${path}`))).status).toBe(401);
      expect(await errorOf(await customer.fetch(path))).toMatchObject({ status: 403, error: { code: 'forbidden' } });
      expect(await errorOf(await accountant.fetch(path))).toMatchObject({ status: 403, error: { code: 'forbidden' } });
    }
    expect((await auditRows('users.keys')).length + (await auditRows('users.requests')).length).toBe(before);
  });

  it('when the audit entry cannot be written, nothing of the person is sent', async () => {
    await gw.db.pool.query(
      `CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.stream_id LIKE 'audit-%' THEN RAISE EXCEPTION 'audit refused by the test'; END IF; RETURN NEW; END $$`,
    );
    await gw.db.pool.query('CREATE TRIGGER refuse_audit BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_audit()');
    try {
      const requestIds = (await gw.requests(customer.accountId, 7)).map((r) => String(r.request_id));
      for (const path of [`/staff/users/${customer.userId}/keys`, `/staff/users/${customer.userId}/requests`]) {
        const r = await support.fetch(path);
        const text = await r.text();
        expect(r.status).toBe(500);
        expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: expect.any(String) } });
        for (const k of keys) expect(text).not.toContain(k.keyId);
        for (const id of requestIds) expect(text).not.toContain(id);
      }
    } finally {
      await gw.db.pool.query('DROP TRIGGER refuse_audit ON events');
      await gw.db.pool.query('DROP FUNCTION refuse_audit()');
    }
    expect((await support.fetch(`/staff/users/${customer.userId}/keys`)).status).toBe(200);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as Json;
    expect(Object.keys(doc.paths['/staff/users/{id}/keys'].get.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404']));
    expect(doc.paths['/staff/users/{id}/requests'].get.parameters.map((p: Json) => p.name)).toEqual(expect.arrayContaining(['id', 'from', 'to', 'limit', 'cursor']));
  });
});
