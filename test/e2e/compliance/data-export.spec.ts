/**
 * Data exports end to end (issue 21, portability): a booted gateway that runs its workers (the
 * export build worker on BullMQ, real Postgres and Redis), a real signed-in person, the zip read
 * back with yauzl. The owner gets it and nobody else (404; anonymous 401); one export at a time
 * (409); progress while building; JSON and CSV agree; the manifest lists every file; no secret
 * or key hash inside; CSV formula cells neutralised; usage older than retention left out;
 * expired exports are 410 and deleted by the purge; staff (role compliance) export audited.
 */
import { createHash, randomUUID } from 'node:crypto';
import { UsersService } from '../../../src/accounts/application/users.service';
import { StaffAudit } from '../../../src/audit/application/staff-audit.service';
import { ExportsService } from '../../../src/compliance/export/application/exports.service';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { checkAgreement, csvObjects, insertUsage, readZip, untilZip } from '../../support/export-zip-reader';
import { Gateway, startGateway } from '../../support/gateway';
import { waitFor } from '../../support/wait';
import { QUEUES, makeQueue } from '../../../src/platform/queue/queues';

type Json = Record<string, any>;
const FORMULA = '=HYPERLINK("http://evil.example","click")';

describe('data exports (booted gateway with its workers, real Postgres/Redis, zip read with yauzl)', () => {
  let gw: Gateway;
  let users: UsersService;
  let owner: SignedIn;
  let other: SignedIn;
  let staff: SignedIn;
  let key: { keyId: string; secret: string };

  beforeAll(async () => {
    gw = await startGateway({ env: { API_RUNS_WORKERS: 'true', EXPORT_PURGE_EVERY_MS: '500' } });
    users = gw.app.get(UsersService);
    owner = await signedIn(gw);
    other = await signedIn(gw);
    await users.execute(owner.userId, { type: 'ChangeDisplayName', data: { displayName: await users.sealFor(owner.userId, FORMULA) } }, 'test');
    key = await gw.key(owner.accountId);
    await insertUsage(gw, owner.accountId, key.keyId, 1500);
    await insertUsage(gw, owner.accountId, key.keyId, 3, 100); // older than the 90 days of retention
    await gw.app.get(StaffAudit).record({ actor: 'cli:test', action: 'users.view', subjectUserId: owner.userId, reason: 'a support question about the invoice' });
    const staffEmail = uniqueEmail('staff');
    const s = await signedIn(gw, staffEmail);
    await users.execute(s.userId, { type: 'GrantRole', data: { role: 'compliance', by: 'cli:test', reason: 'export tests' } }, 'cli:test');
    staff = await signedIn(gw, staffEmail); // a session made after the grant
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
  });

  const ask = (p: SignedIn) => p.fetch('/api/me/export', { method: 'POST' });
  const exportOf = async (p: SignedIn) => {
    const r = await ask(p);
    expect(r.status).toBe(202);
    return (await r.json()) as Json;
  };

  let ownerExport: Json;
  let files: Map<string, string>;

  it('gives the owner a zip of every section in JSON and CSV, with a manifest, progress reported while it is built', async () => {
    const asked = await owner.fetch('/api/me/requests', { method: 'POST', body: { kind: 'access', details: 'a copy of everything, please' } });
    expect(asked.status).toBe(201);
    ownerExport = await exportOf(owner);
    expect(ownerExport).toMatchObject({ id: expect.any(String), status: 'queued', download: `/api/me/exports/${ownerExport.id}` });
    const { zip, pending, response } = await untilZip(() => owner.fetch(ownerExport.download));
    expect(response.headers.get('content-type')).toBe('application/zip');
    expect(response.headers.get('content-disposition')).toContain(`tollgate-export-${ownerExport.id}.zip`);
    expect(createHash('sha256').update(zip).digest('hex')).toBe(response.headers.get('x-content-sha256'));
    for (const p of pending) expect(['queued', 'building']).toContain(p.status);
    files = await readZip(zip);
    const manifest = checkAgreement(files);
    expect(manifest).toMatchObject({ kind: 'tollgate-data-export', exportId: ownerExport.id, userId: owner.userId, accountId: owner.accountId, usageRetentionDays: 90 });
    const sections = new Set((manifest.files as Json[]).map((f) => f.section));
    for (const s of ['profile', 'sign_in_identities', 'passkeys', 'sign_ins', 'sessions', 'projects', 'api_keys', 'management_keys', 'transactions', 'card_payments', 'crypto_payments', 'receipts', 'usage', 'refund_requests', 'audit_events', 'data_subject_requests', 'breach_notices']) {
      expect(sections).toContain(s);
    }
    const listed = (await (await owner.fetch('/api/me/exports')).json()) as Json;
    expect(listed.data[0]).toMatchObject({ id: ownerExport.id, status: 'ready', progress: { percent: 100 } });
  });

  it('opens personal fields with the vault: email, display name, session IP and device, audit reasons', () => {
    const [profile] = JSON.parse(files.get('profile.json')!) as Json[];
    expect(profile).toMatchObject({ user_id: owner.userId, account_id: owner.accountId, email: owner.email, display_name: FORMULA });
    const sessions = JSON.parse(files.get('sessions.json')!) as Json[];
    expect(sessions.find((s) => s.session_id === owner.sessionId)).toMatchObject({ ip: '127.0.0.1', device: expect.stringContaining('Firefox') });
    const signIns = JSON.parse(files.get('sign_ins.json')!) as Json[];
    expect(signIns.length).toBeGreaterThanOrEqual(1);
    const audit = JSON.parse(files.get('audit_events.json')!) as Json[];
    expect(audit.map((a) => a.reason)).toContain('a support question about the invoice');
    const requests = JSON.parse(files.get('data_subject_requests.json')!) as Json[];
    expect(requests).toEqual([expect.objectContaining({ kind: 'access', details: 'a copy of everything, please', status: 'open' })]);
  });

  it('holds the usage within retention only, and the key without its secret or hash', async () => {
    const usage = JSON.parse(files.get('usage.json')!) as Json[];
    expect(usage).toHaveLength(1500); // not the 3 rows of 100 days ago
    expect(usage[0]).toMatchObject({ key_id: key.keyId, endpoint: 'openai.chat', cost: expect.stringMatching(/^\d+\.\d{6}$/) });
    const keys = JSON.parse(files.get('api_keys.json')!) as Json[];
    expect(keys.map((k) => k.key_id)).toEqual([key.keyId]);
    const hash = createHash('sha256').update(key.secret).digest('hex');
    const { rows } = await gw.db.pool.query('SELECT hash, csrf_secret FROM api_keys, sessions WHERE key_id = $1 AND session_id = $2', [key.keyId, owner.sessionId]);
    expect(rows[0].hash).toBe(hash);
    const token = owner.cookie.split('=')[1];
    for (const [name, text] of files) {
      for (const secret of [key.secret, hash, token, rows[0].csrf_secret]) expect({ name, found: text.includes(secret) }).toEqual({ name, found: false });
    }
  });

  it('neutralises CSV cells a spreadsheet would run as formulas', () => {
    const profile = csvObjects(files.get('profile.csv')!);
    expect(profile[0].display_name).toBe(`'${FORMULA}`);
    expect(files.get('usage.csv')!).toContain(",'@sum(A1),");
    expect(files.get('usage.csv')!).not.toMatch(/,@sum/);
  });

  it('is 404 to another person, 401 without a session, 400 for a malformed id', async () => {
    const r = await other.fetch(ownerExport.download);
    expect(r.status).toBe(404);
    expect(((await r.json()) as Json).error.code).toBe('export_not_found');
    expect((await fetch(`${gw.url}${ownerExport.download}`)).status).toBe(401);
    expect((await fetch(`${gw.url}/api/me/export`, { method: 'POST' })).status).toBe(401);
    expect((await other.fetch(`/api/me/exports/${randomUUID()}`)).status).toBe(404);
    const bad = await owner.fetch('/api/me/exports/not-an-id');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error.message).toMatch(/^id: /);
  });

  it('lets a person run one export at a time: of concurrent requests one is queued, the others 409', async () => {
    const p = await signedIn(gw);
    const answers = await Promise.all(Array.from({ length: 5 }, () => ask(p)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([202, 409, 409, 409, 409]);
    const refused = answers.find((a) => a.status === 409)!;
    expect(((await refused.json()) as Json).error.code).toBe('export_in_progress');
    const first = (await answers.find((a) => a.status === 202)!.json()) as Json;
    await untilZip(() => p.fetch(first.download));
    // Finished: the next one may start.
    expect((await ask(p)).status).toBe(202);
  });

  it('is 410 export_expired after 24 hours, and the scheduled purge deletes the zip', async () => {
    const p = await signedIn(gw);
    const e = await exportOf(p);
    await untilZip(() => p.fetch(e.download));
    const chunks = async () => (await gw.db.pool.query('SELECT count(*)::int AS n FROM data_export_chunks WHERE export_id = $1', [e.id])).rows[0].n;
    expect(await chunks()).toBeGreaterThan(0);
    await gw.db.pool.query("UPDATE data_exports SET expires_at = now() - interval '1 second' WHERE export_id = $1", [e.id]);
    const late = await p.fetch(e.download);
    expect(late.status).toBe(410);
    expect(((await late.json()) as Json).error.code).toBe('export_expired');
    // The worker's purge job (every 500 ms here) deletes it.
    await waitFor(async () => (await gw.db.pool.query('SELECT status FROM data_exports WHERE export_id = $1', [e.id])).rows[0].status === 'expired', 15_000, 'the purge job');
    expect(await chunks()).toBe(0);
    const row = (await gw.db.pool.query('SELECT status, deleted_at FROM data_exports WHERE export_id = $1', [e.id])).rows[0];
    expect(row).toMatchObject({ status: 'expired', deleted_at: expect.any(Date) });
    expect((await p.fetch(e.download)).status).toBe(410);
  });

  it('lets compliance staff export a person, audited; others are refused', async () => {
    expect((await other.fetch(`/staff/users/${owner.userId}/export`, { method: 'POST', body: { reason: 'subject access request' } })).status).toBe(403);
    const noReason = await staff.fetch(`/staff/users/${owner.userId}/export`, { method: 'POST', body: {} });
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as Json).error.message).toMatch(/^reason: /);
    expect((await staff.fetch(`/staff/users/${randomUUID()}/export`, { method: 'POST', body: { reason: 'subject access request' } })).status).toBe(404);
    const r = await staff.fetch(`/staff/users/${owner.userId}/export`, { method: 'POST', body: { reason: 'subject access request #12' } });
    expect(r.status).toBe(202);
    const e = (await r.json()) as Json;
    expect(e.download).toBe(`/staff/exports/${e.id}`);
    const { zip } = await untilZip(() => staff.fetch(e.download));
    const got = await readZip(zip);
    expect(JSON.parse(got.get('profile.json')!)[0].email).toBe(owner.email);
    // The staff route is not the person's: their own route does not serve it to staff's session.
    expect((await staff.fetch(`/api/me/exports/${e.id}`)).status).toBe(404);
    const audit = await gw.db.pool.query("SELECT actor, action FROM staff_audit WHERE subject_user_id = $1 AND action LIKE 'exports.%' ORDER BY occurred_at", [owner.userId]);
    expect(audit.rows).toEqual([
      { actor: staff.userId, action: 'exports.request' },
      { actor: staff.userId, action: 'exports.download' },
    ]);
  });

  it('deletes every export of a person at once (for erasure), and a failed export is 409 export_failed', async () => {
    const p = await signedIn(gw);
    const e = await exportOf(p);
    await untilZip(() => p.fetch(e.download));
    const exports = gw.app.get(ExportsService);
    expect(await exports.deleteAllOf(p.userId)).toBe(1);
    expect((await gw.db.pool.query('SELECT count(*)::int AS n FROM data_export_chunks WHERE export_id = $1', [e.id])).rows[0].n).toBe(0);
    expect((await p.fetch(e.download)).status).toBe(410);

    const f = await exportOf(p);
    await untilZip(() => p.fetch(f.download));
    await gw.db.pool.query("UPDATE data_exports SET status = 'failed', error = 'every build attempt failed' WHERE export_id = $1", [f.id]);
    const failed = await p.fetch(f.download);
    expect(failed.status).toBe(409);
    expect(((await failed.json()) as Json).error.code).toBe('export_failed');
    expect((await ask(p)).status).toBe(202); // a failed export does not block the next
  });

  it('is deleted when its person is erased (DELETE /api/me runs the exports\' erasure hook before the key goes)', async () => {
    const p = await signedIn(gw);
    const e = await exportOf(p);
    await untilZip(() => p.fetch(e.download));
    expect((await gw.db.pool.query('SELECT count(*)::int AS n FROM data_export_chunks WHERE export_id = $1', [e.id])).rows[0].n).toBeGreaterThan(0);
    const erased = await p.fetch('/api/me', { method: 'DELETE' });
    expect(erased.status).toBe(200);
    expect((await gw.db.pool.query('SELECT count(*)::int AS n FROM data_export_chunks WHERE export_id = $1', [e.id])).rows[0].n).toBe(0);
    expect((await gw.db.pool.query('SELECT status FROM data_exports WHERE export_id = $1', [e.id])).rows).not.toEqual([{ status: 'ready' }]);
  });

  it('schedules its purge again when Redis has lost it (as after a restart that came back empty)', async () => {
    const q = makeQueue(QUEUES.dataExport, gw.config.REDIS_URL, gw.config.REDIS_KEY_PREFIX);
    try {
      await waitFor(async () => (await q.getJobScheduler('data-export-purge-schedule')) != null, 10_000, 'the purge to be scheduled');
      await q.removeJobScheduler('data-export-purge-schedule');
      expect(await q.getJobScheduler('data-export-purge-schedule')).toBeFalsy();
      await waitFor(async () => (await q.getJobScheduler('data-export-purge-schedule')) != null, 10_000, 'the purge to be scheduled again');
    } finally {
      await q.close();
    }
  });

  it('keeps every zip in Postgres when EXPORT_DIR is unset', async () => {
    const { rows } = await gw.db.pool.query("SELECT DISTINCT storage FROM data_exports WHERE status = 'ready'");
    expect(rows).toEqual([{ storage: 'postgres' }]);
  });
});
