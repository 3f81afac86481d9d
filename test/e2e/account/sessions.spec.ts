/**
 * The account API's door (issue 19): sessions by cookie, CSRF on cookie writes, logout,
 * logout-all, ending one session, expiry, the error shape, and the OpenAPI document. Real
 * Postgres and Redis, the booted app.
 */
import { Queue } from 'bullmq';
import { Gateway, startGateway } from '../../support/gateway';
import { SignedIn, signedIn } from '../../support/account-client';
import { SessionsService } from '../../../src/auth/sessions/sessions.service';
import { bullConnection, bullPrefix } from '../../../src/platform/queue/queues';

jest.setTimeout(60_000);

const json = (r: Response): Promise<any> => r.json();

describe('account API sessions', () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  const me = (who: SignedIn) => who.fetch('/api/me');

  it('answers /api/me for a session and 401 in the one error shape without one', async () => {
    const alice = await signedIn(gw);
    const res = await me(alice);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ id: alice.userId, email: alice.email, displayName: null, accountId: alice.accountId, roles: [], lowBalanceAlert: null });

    const anonymous = await fetch(`${gw.url}/api/me`);
    expect(anonymous.status).toBe(401);
    expect(await json(anonymous)).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });
    for (const cookie of ['tg_session=', 'tg_session=not-a-token', `tg_session=${'A'.repeat(43)}`, `tg_session=${'x'.repeat(100_000)}`]) {
      const r = await fetch(`${gw.url}/api/me`, { headers: { cookie } });
      expect([401, 431]).toContain(r.status);
    }
  });

  it('refuses an API key on the account API, and a malformed Authorization header', async () => {
    const accountId = await gw.account(0n);
    const { secret } = await gw.key(accountId);
    for (const authorization of [`Bearer ${secret}`, 'Basic abc', 'Bearer', 'Bearer tg-mgmt-unknownkey0000000000000000000000000000000']) {
      const r = await fetch(`${gw.url}/api/me`, { headers: { authorization } });
      expect(r.status).toBe(401);
      expect((await json(r)).error.code).toBe('unauthenticated');
    }
  });

  it('changes the display name with the CSRF token, and refuses writes without it or from another origin', async () => {
    const alice = await signedIn(gw);
    const ok = await alice.fetch('/api/me', { method: 'PATCH', body: { displayName: '  Alice  ' } });
    expect(ok.status).toBe(200);
    expect((await json(ok)).displayName).toBe('Alice');

    const noToken = await alice.fetch('/api/me', { method: 'PATCH', body: { displayName: 'Mallory' }, headers: { 'x-csrf-token': '' } });
    expect(noToken.status).toBe(403);
    expect((await json(noToken)).error.code).toBe('csrf');
    const otherOrigin = await alice.fetch('/api/me', { method: 'PATCH', body: { displayName: 'Mallory' }, headers: { origin: 'https://evil.example' } });
    expect(otherOrigin.status).toBe(403);
    expect((await json(otherOrigin)).error.code).toBe('csrf');
    // A token of another session is worthless here.
    const bob = await signedIn(gw);
    const bobsToken = await alice.fetch('/api/me', { method: 'PATCH', body: { displayName: 'Mallory' }, headers: { 'x-csrf-token': bob.csrf } });
    expect(bobsToken.status).toBe(403);

    expect((await json(await me(alice))).displayName).toBe('Alice');
    const gone = await alice.fetch('/api/me', { method: 'PATCH', body: { displayName: null } });
    expect((await json(gone)).displayName).toBeNull();
  });

  it('refuses bad bodies with validation_failed or invalid_json, naming the field', async () => {
    const alice = await signedIn(gw);
    const cases: [unknown, string][] = [
      [{ displayName: 'x'.repeat(101) }, 'displayName'],
      [{ displayName: '' }, 'displayName'],
      [{ displayName: 'a\u0000b' }, 'displayName'],
      [{ displayName: 'ok', admin: true }, 'unknown field admin'],
      [{ displayName: 42 }, 'displayName'],
    ];
    for (const [body, mentions] of cases) {
      const r = await alice.fetch('/api/me', { method: 'PATCH', body });
      expect(r.status).toBe(400);
      const { error } = await json(r);
      expect(error.code).toBe('validation_failed');
      expect(error.message).toContain(mentions);
    }
    const broken = await alice.fetch('/api/me', { method: 'PATCH', body: '{"displayName":', headers: { 'content-type': 'application/json' } });
    expect(broken.status).toBe(400);
    expect((await json(broken)).error.code).toBe('invalid_json');
  });

  it('logs out: the session is refused on its very next request, and the cookie is cleared', async () => {
    const alice = await signedIn(gw);
    const withoutToken = await alice.fetch('/auth/logout', { method: 'POST', headers: { 'x-csrf-token': 'nope' } });
    expect(withoutToken.status).toBe(403);
    expect((await me(alice)).status).toBe(200);

    const out = await alice.fetch('/auth/logout', { method: 'POST' });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^tg_session=;.*Expires=Thu, 01 Jan 1970/);
    expect((await me(alice)).status).toBe(401);
  });

  it('logs out everywhere, and ends one chosen session; another person cannot end mine', async () => {
    const alice = await signedIn(gw);
    const sessions = gw.app.get(SessionsService);
    const second = await sessions.create(alice.userId, 'passkey', { ip: '10.0.0.1', userAgent: 'curl/8.0' }).catch(() => null);
    // A passkey sign-in needs a registered passkey; a magic-link one does not.
    expect(second).toBeNull();
    const other = await sessions.create(alice.userId, 'magic_link', { ip: '10.0.0.1', userAgent: 'curl/8.0' });

    const listed = await json(await alice.fetch('/api/sessions'));
    expect(listed.data).toHaveLength(2);
    expect(listed.data.find((s: { current: boolean }) => s.current).id).toBe(alice.sessionId);
    expect(listed.data.find((s: { id: string }) => s.id === other.sessionId).device).toBe('curl');
    expect(JSON.stringify(listed)).not.toContain('10.0.0.1');

    const mallory = await signedIn(gw);
    expect((await mallory.fetch(`/api/sessions/${other.sessionId}`, { method: 'DELETE' })).status).toBe(404);
    expect((await mallory.fetch('/api/sessions/not-a-uuid', { method: 'DELETE' })).status).toBe(400);

    expect((await alice.fetch(`/api/sessions/${other.sessionId}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${gw.url}/api/me`, { headers: { cookie: `tg_session=${other.token}` } })).status).toBe(401);

    const third = await sessions.create(alice.userId, 'magic_link', { ip: '10.0.0.2', userAgent: null });
    const all = await alice.fetch('/auth/logout-all', { method: 'POST' });
    expect(await json(all)).toEqual({ ended: 2 });
    expect((await me(alice)).status).toBe(401);
    expect((await fetch(`${gw.url}/api/me`, { headers: { cookie: `tg_session=${third.token}` } })).status).toBe(401);
    expect((await me(mallory)).status).toBe(200);
  });

  it('refuses an expired session at once, and the purge deletes only expired rows', async () => {
    const alice = await signedIn(gw);
    const bob = await signedIn(gw);
    await gw.db.pool.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE session_id = $1`, [alice.sessionId]);
    expect((await me(alice)).status).toBe(401);
    const purged = await gw.app.get(SessionsService).purgeExpired();
    expect(purged).toBeGreaterThanOrEqual(1);
    const { rows } = await gw.db.pool.query('SELECT session_id FROM sessions WHERE session_id = ANY($1)', [[alice.sessionId, bob.sessionId]]);
    expect(rows.map((r) => r.session_id)).toEqual([bob.sessionId]);
  });

  it('stores only the hash of the cookie and seals the IP', async () => {
    const alice = await signedIn(gw);
    const token = alice.cookie.slice('tg_session='.length);
    const { rows } = await gw.db.pool.query('SELECT * FROM sessions WHERE session_id = $1', [alice.sessionId]);
    const dump = JSON.stringify(rows[0]);
    expect(dump).not.toContain(token);
    expect(dump).not.toContain('127.0.0.1');
    expect(rows[0].ip).toMatch(/^v1:/);
    const events = await gw.db.pool.query(`SELECT data FROM events WHERE stream_id = $1 AND type = 'SignedIn'`, [`user-${alice.userId}`]);
    expect(JSON.stringify(events.rows)).not.toContain('127.0.0.1');
    expect(JSON.stringify(events.rows)).not.toContain('Firefox');
  });

  it('answers unknown account-API routes 404 in its shape, and serves the OpenAPI document', async () => {
    const r = await fetch(`${gw.url}/api/no-such-thing`);
    expect(r.status).toBe(404);
    expect((await json(r)).error.code).toBe('not_found');

    const doc = await json(await fetch(`${gw.url}/openapi.json`));
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of ['/api/me', '/api/sessions', '/api/sessions/{id}', '/auth/logout', '/auth/logout-all', '/auth/csrf']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(JSON.stringify(doc.paths['/api/me'].patch.responses)).toContain('validation_failed');
    const docs = await fetch(`${gw.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });
});

describe('the session purge job', () => {
  it('is scheduled in Redis by the worker side of the API', async () => {
    const gw = await startGateway({ env: { API_RUNS_WORKERS: 'true' } });
    const queue = new Queue('session-purge', { connection: bullConnection(gw.config.REDIS_URL), prefix: bullPrefix(gw.config.REDIS_KEY_PREFIX) });
    try {
      const scheduler = await queue.getJobScheduler('session-purge-schedule');
      expect(scheduler?.every).toBe(15 * 60_000);
    } finally {
      await queue.close();
      await gw.close();
    }
  });
});
