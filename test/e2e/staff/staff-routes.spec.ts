/**
 * The /staff routes on the booted API (real Postgres and Redis): who may call them (signed-in
 * staff holding the role; never a stranger, a signed-out client or a management key), that a
 * grant works and a revoke stops them on the very next request, and that every staff read and
 * write leaves exactly one audit entry (who, what, on whom, when; the reason on writes) before
 * the answer, with no personal data in clear anywhere.
 */
import { randomUUID } from 'node:crypto';
import { ManagementKeyAuthenticators } from '../../../src/auth/http/management-key.port';
import { StaffRolesService } from '../../../src/staff/application/staff-roles.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { ReadModelRebuilders } from '../../../src/platform/read-models/read-model-rebuilders';
import { Gateway, startGateway } from '../../support/gateway';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';

interface AuditRow {
  actor: string;
  action: string;
  subject_user_id: string | null;
  occurred_at: Date;
  reason: string | null;
  details: Record<string, unknown>;
}

describe('/staff routes (booted API, real Postgres and Redis)', () => {
  let gw: Gateway;
  let support: SignedIn;
  let admin: SignedIn;
  let customer: SignedIn;
  const MGMT_SECRET = `tg-mgmt-${randomUUID().replace(/-/g, '')}`;
  const auditRows = async (where = 'true', params: unknown[] = []) =>
    (await gw.db.pool.query<AuditRow>(`SELECT * FROM staff_audit WHERE ${where} ORDER BY occurred_at, stream_id, stream_version`, params)).rows;
  const auditCount = async () => (await auditRows()).length;
  const grant = (userId: string, role: 'admin' | 'support') =>
    gw.app.get(StaffRolesService).grant({ who: { userId }, role, reason: 'test set-up', actor: 'cli:test' });
  const errorOf = async (r: Response) => ({ status: r.status, code: ((await r.json()) as { error: { code: string } }).error.code });

  beforeAll(async () => {
    gw = await startGateway();
    [support, admin, customer] = await Promise.all([signedIn(gw), signedIn(gw), signedIn(gw)]);
    await grant(support.userId, 'support');
    await grant(admin.userId, 'admin');
    // A management key of the support person's own account, as the keys context's
    // authenticator answers for one (through the guard's port, where that context registers
    // it): staff routes must refuse it all the same, a key never carries its owner's roles.
    gw.app.get(ManagementKeyAuthenticators).register({
      authenticate: (secret) => Promise.resolve(secret === MGMT_SECRET ? { keyId: randomUUID(), accountId: support.accountId, userId: support.userId } : null),
    });
  }, 120_000);
  afterAll(() => gw?.close());

  it('support finds a person by email: id, account, email in clear, roles, created; one audit entry', async () => {
    const before = await auditCount();
    const r = await support.fetch(`/staff/users?email=${encodeURIComponent(`  ${customer.email.toUpperCase()} `)}`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { data: Record<string, unknown>[] };
    expect(body.data).toEqual([{ id: customer.userId, accountId: customer.accountId, email: customer.email, displayName: null, roles: [], createdAt: expect.any(String) }]);
    const rows = await auditRows();
    expect(rows).toHaveLength(before + 1);
    expect(rows[rows.length - 1]).toMatchObject({ actor: support.userId, action: 'users.search', subject_user_id: customer.userId, reason: null, details: { found: true } });
    expect(Date.now() - rows[rows.length - 1].occurred_at.getTime()).toBeLessThan(60_000);
  });

  it('a search that finds nobody answers an empty list, and is audited without a subject', async () => {
    const r = await support.fetch(`/staff/users?email=${encodeURIComponent(uniqueEmail('nobody'))}`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ data: [] });
    const rows = await auditRows();
    expect(rows[rows.length - 1]).toMatchObject({ actor: support.userId, action: 'users.search', subject_user_id: null, details: { found: false } });
  });

  it('support sees a profile with its balance; audited as users.view of that person', async () => {
    await gw.app.get(LedgerService).execute(customer.accountId, { type: 'GrantCredits', data: { grantId: 'staff-test', amount: 2_500_000n, reason: 'test funds' } });
    const r = await support.fetch(`/staff/users/${customer.userId}`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: customer.userId, accountId: customer.accountId, email: customer.email, roles: [], emailVerified: true, passkeys: 0, identities: [] });
    expect(body.balance).toEqual({ available: '2.500000', held: '0.000000', frozen: '0.000000', receivable: '0.000000' });
    const rows = await auditRows('subject_user_id = $1 AND action = $2', [customer.userId, 'users.view']);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: support.userId, details: { found: true } });
  });

  it('an unknown id is 404 user_not_found (the probe is audited); a malformed one is 400 and reads nothing', async () => {
    const ghost = randomUUID();
    expect(await errorOf(await support.fetch(`/staff/users/${ghost}`))).toEqual({ status: 404, code: 'user_not_found' });
    expect(await auditRows('subject_user_id = $1', [ghost])).toEqual([expect.objectContaining({ action: 'users.view', details: { found: false } })]);
    const before = await auditCount();
    expect(await errorOf(await support.fetch('/staff/users/not-a-uuid'))).toEqual({ status: 400, code: 'validation_failed' });
    expect(await errorOf(await support.fetch('/staff/users?email=not%20an%20address'))).toEqual({ status: 400, code: 'validation_failed' });
    expect(await errorOf(await support.fetch('/staff/users'))).toEqual({ status: 400, code: 'validation_failed' });
    expect(await auditCount()).toBe(before);
  });

  it('a stranger gets 403 forbidden, a signed-out client 401, a management key 403 (even a staff member’s own): nothing is read or audited', async () => {
    const before = await auditCount();
    const paths = [`/staff/users?email=${encodeURIComponent(support.email)}`, `/staff/users/${support.userId}`];
    for (const path of paths) {
      expect(await errorOf(await customer.fetch(path))).toEqual({ status: 403, code: 'forbidden' });
      expect(await errorOf(await fetch(`${gw.url}${path}`))).toEqual({ status: 401, code: 'unauthenticated' });
      expect(await errorOf(await fetch(`${gw.url}${path}`, { headers: { cookie: 'tg_session=forged' } }))).toEqual({ status: 401, code: 'unauthenticated' });
      expect(await errorOf(await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${MGMT_SECRET}` } }))).toEqual({ status: 403, code: 'forbidden' });
      expect(await errorOf(await fetch(`${gw.url}${path}`, { headers: { authorization: 'Bearer tg-mgmt-unknown' } }))).toEqual({ status: 401, code: 'unauthenticated' });
    }
    const write = { method: 'POST', body: { role: 'support', reason: 'self-promotion' } };
    expect(await errorOf(await customer.fetch(`/staff/users/${customer.userId}/roles`, write))).toEqual({ status: 403, code: 'forbidden' });
    // Support may read, not grant.
    expect(await errorOf(await support.fetch(`/staff/users/${customer.userId}/roles`, write))).toEqual({ status: 403, code: 'forbidden' });
    expect(await auditCount()).toBe(before);
    expect((await gw.db.pool.query('SELECT roles FROM users WHERE user_id = $1', [customer.userId])).rows[0].roles).toEqual([]);
  });

  it('a grant makes the routes work; a revoke stops them on the very next request', async () => {
    const person = await signedIn(gw);
    const path = `/staff/users?email=${encodeURIComponent(customer.email)}`;
    expect((await person.fetch(path)).status).toBe(403);
    const granted = await admin.fetch(`/staff/users/${person.userId}/roles`, { method: 'POST', body: { role: 'support', reason: 'joins support on Monday' } });
    expect(granted.status).toBe(200);
    expect(await granted.json()).toMatchObject({ id: person.userId, roles: ['support'], changed: true });
    expect((await person.fetch(path)).status).toBe(200);
    const revoked = await admin.fetch(`/staff/users/${person.userId}/roles/support/revoke`, { method: 'POST', body: { reason: 'moved to sales' } });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ id: person.userId, roles: [], changed: true });
    expect(await errorOf(await person.fetch(path))).toEqual({ status: 403, code: 'forbidden' });
    const writes = await auditRows('subject_user_id = $1', [person.userId]);
    expect(writes.map((w) => [w.actor, w.action, w.details.role, w.reason?.startsWith('v1:')])).toEqual([
      [admin.userId, 'role.grant', 'support', true],
      [admin.userId, 'role.revoke', 'support', true],
    ]);
  });

  it('a write without a reason (or an empty, huge or garbled one) is 400 and changes and records nothing', async () => {
    const before = { audit: await auditCount(), events: (await gw.db.pool.query('SELECT count(*)::int AS n FROM events')).rows[0].n as number };
    const url = `/staff/users/${customer.userId}/roles`;
    for (const body of [{ role: 'support' }, { role: 'support', reason: '' }, { role: 'support', reason: '   ' }, { role: 'support', reason: 'x'.repeat(1001) }, { role: 'support', reason: 'a\u0007b' }, { role: 'root', reason: 'x' }, { role: 'support', reason: 'x', extra: 1 }]) {
      expect(await errorOf(await admin.fetch(url, { method: 'POST', body }))).toEqual({ status: 400, code: 'validation_failed' });
    }
    expect(await errorOf(await admin.fetch(`/staff/users/${customer.userId}/roles/support/revoke`, { method: 'POST', body: {} }))).toEqual({ status: 400, code: 'validation_failed' });
    expect(await errorOf(await admin.fetch(`/staff/users/${customer.userId}/roles/root/revoke`, { method: 'POST', body: { reason: 'x' } }))).toEqual({ status: 400, code: 'validation_failed' });
    const missing = (await (await admin.fetch(url, { method: 'POST', body: { role: 'support' } })).json()) as { error: { message: string } };
    expect(missing.error.message).toMatch(/^reason: is required/);
    // Other callers of the service (later contexts, scripts) are held to it too.
    await expect(gw.app.get(StaffRolesService).grant({ who: { userId: customer.userId }, role: 'support', reason: '  ', actor: admin.userId })).rejects.toMatchObject({ code: 'invalid_command' });
    expect(await auditCount()).toBe(before.audit);
    expect((await gw.db.pool.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(before.events);
  });

  it('a staff write from another site, or without the CSRF token, is refused 403 csrf and changes nothing', async () => {
    const before = await auditCount();
    const url = `/staff/users/${customer.userId}/roles`;
    const body = { role: 'support', reason: 'forged' };
    expect(await errorOf(await admin.fetch(url, { method: 'POST', body, headers: { origin: 'https://evil.example' } }))).toEqual({ status: 403, code: 'csrf' });
    expect(await errorOf(await admin.fetch(url, { method: 'POST', body, headers: { 'x-csrf-token': 'forged' } }))).toEqual({ status: 403, code: 'csrf' });
    expect(await auditCount()).toBe(before);
  });

  it('revoking a role not held is 409 role_not_held, unknown people 404, and neither is recorded', async () => {
    const before = await auditCount();
    expect(await errorOf(await admin.fetch(`/staff/users/${customer.userId}/roles/compliance/revoke`, { method: 'POST', body: { reason: 'x' } }))).toEqual({ status: 409, code: 'role_not_held' });
    expect(await errorOf(await admin.fetch(`/staff/users/${randomUUID()}/roles`, { method: 'POST', body: { role: 'support', reason: 'x' } }))).toEqual({ status: 404, code: 'user_not_found' });
    expect(await auditCount()).toBe(before);
  });

  it('concurrent staff reads each leave exactly one audit entry', async () => {
    const before = await auditCount();
    const answers = await Promise.all(Array.from({ length: 20 }, () => support.fetch(`/staff/users/${customer.userId}`)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(await auditCount()).toBe(before + 20);
  });

  it('no address, name or reason in clear: not in events, rows or logs', async () => {
    await admin.fetch(`/staff/users/${customer.userId}/roles`, { method: 'POST', body: { role: 'support', reason: 'canary-reason-7f3a for the audit' } });
    for (const needle of [customer.email, 'canary-reason-7f3a']) {
      const inEvents = await gw.db.pool.query('SELECT count(*)::int AS n FROM events WHERE data::text ILIKE $1 OR metadata::text ILIKE $1', [`%${needle}%`]);
      expect(inEvents.rows[0].n).toBe(0);
      const inAudit = await gw.db.pool.query('SELECT count(*)::int AS n FROM staff_audit WHERE reason ILIKE $1 OR details::text ILIKE $1', [`%${needle}%`]);
      expect(inAudit.rows[0].n).toBe(0);
      expect(gw.logs.join('\n')).not.toContain(needle);
    }
  });

  it('the routes are in the OpenAPI document, with their error codes', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { tags: string[]; responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/staff/users', '/staff/users/{id}', '/staff/users/{id}/roles', '/staff/users/{id}/roles/{role}/revoke']));
    expect(doc.paths['/staff/users'].get.tags).toEqual(['staff']);
    expect(Object.keys(doc.paths['/staff/users/{id}'].get.responses)).toEqual(expect.arrayContaining(['200', '401', '403', '404']));
    expect(Object.keys(doc.paths['/staff/users/{id}/roles'].post.responses)).toEqual(expect.arrayContaining(['200', '400', '403']));
  });

  it('when the audit entry cannot be written, the person’s data is not sent', async () => {
    // The event store refuses audit streams (as a failing disk or a lost connection would).
    await gw.db.pool.query(
      `CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.stream_id LIKE 'audit-%' THEN RAISE EXCEPTION 'audit refused by the test'; END IF; RETURN NEW; END $$`,
    );
    await gw.db.pool.query('CREATE TRIGGER refuse_audit BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_audit()');
    try {
      for (const path of [`/staff/users/${customer.userId}`, `/staff/users?email=${encodeURIComponent(customer.email)}`]) {
        const r = await support.fetch(path);
        const text = await r.text();
        expect(r.status).toBe(500);
        expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: expect.any(String) } });
        expect(text).not.toContain(customer.email);
        expect(text).not.toContain(customer.accountId);
      }
    } finally {
      await gw.db.pool.query('DROP TRIGGER refuse_audit ON events');
      await gw.db.pool.query('DROP FUNCTION refuse_audit()');
    }
    expect((await support.fetch(`/staff/users/${customer.userId}`)).status).toBe(200);
  });

  it('roles survive a rebuild of the users rows: the guard follows the stream again', async () => {
    await gw.db.pool.query("UPDATE users SET roles = '{}' WHERE user_id = $1", [support.userId]);
    expect((await support.fetch(`/staff/users/${customer.userId}`)).status).toBe(403);
    const users = gw.app.get(ReadModelRebuilders).all().find((r) => r.name === 'users');
    expect(users).toBeDefined();
    await users!.rebuild(() => undefined);
    expect((await support.fetch(`/staff/users/${customer.userId}`)).status).toBe(200);
  });
});
