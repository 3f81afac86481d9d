/**
 * StaffAudit on the real Postgres event store: entries on the subject's stream with a sealed
 * reason, the staff_audit rows written at once and repaired after a crash, the rebuild, and
 * the abuse cases (bad input writes nothing, concurrent records, a retried record, an erased
 * subject).
 */
import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '../../../src/platform/event-store/postgres/postgres-event-store';
import { PersonalDataVault } from '../../../src/compliance/personal-data-vault';
import { Clock } from '../../../src/platform/clock';
import { StaffAudit } from '../../../src/audit/application/staff-audit.service';
import { StaffAuditRepository } from '../../../src/audit/application/staff-audit.repository';
import { AuditError } from '../../../src/audit/domain/audit.errors';
import { unscopedReasonKey } from '../../../src/audit/domain/audit.events';
import { FreshDb, freshDb } from '../../support/fresh-db';
import { waitFor } from '../../support/wait';

describe('StaffAudit (real Postgres)', () => {
  let db: FreshDb;
  let store: PostgresEventStore;
  let vault: PersonalDataVault;
  let audit: StaffAudit;
  let now = new Date('2026-03-01T10:00:00.000Z');
  const clock: Clock = { now: () => now };
  const tick = (ms = 1000) => (now = new Date(now.getTime() + ms));
  const staff = randomUUID();
  const count = async (sql: string, params: unknown[] = []) => (await db.pool.query<{ n: number }>(sql, params)).rows[0].n;
  const events = () => count("SELECT count(*)::int AS n FROM events WHERE stream_id LIKE 'audit-%'");
  // Readers of the whole log see only what every older transaction of the cluster has settled;
  // other test processes on this server may hold that back for a moment.
  const logShows = (n: number) =>
    waitFor(async () => (await store.readAll({ streamPrefixes: ['audit-'], limit: 100_000 })).length === n, 20_000, `the log to show ${n} audit events`);

  beforeAll(async () => {
    db = await freshDb(6);
    store = new PostgresEventStore(db.pool);
    vault = new PersonalDataVault(db.pool);
    audit = new StaffAudit(store, clock, vault, new StaffAuditRepository(db.pool));
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('a read: one event on audit-<subject> with who, what, whom and when, and its row at once', async () => {
    const subject = randomUUID();
    tick();
    const entry = await audit.record({ actor: staff, action: 'users.view', subjectUserId: subject, details: { found: true } });
    expect(entry).toMatchObject({ actor: staff, action: 'users.view', subjectUserId: subject, reason: null, at: now, details: { found: true } });
    const stream = await store.readStream(`audit-${subject}`);
    expect(stream).toHaveLength(1);
    expect(stream[0]).toMatchObject({ id: entry.auditId, type: 'StaffActionRecorded', metadata: { actor: staff } });
    expect(stream[0].data).toMatchObject({ actor: staff, action: 'users.view', subjectUserId: subject, at: now.toISOString(), reason: null });
    const { rows } = await db.pool.query('SELECT * FROM staff_audit WHERE audit_id = $1', [entry.auditId]);
    expect(rows[0]).toMatchObject({ actor: staff, action: 'users.view', subject_user_id: subject, stream_id: `audit-${subject}`, reason: null });
  });

  it('a write: the reason is sealed with the subject’s key in the event and the row, and listed in clear', async () => {
    const subject = randomUUID();
    const reason = `customer ${randomUUID()} asked by phone`;
    tick();
    const entry = await audit.record({ actor: 'cli:ops', action: 'role.grant', subjectUserId: subject, reason, details: { role: 'support' } });
    expect(entry.reason).toBe(reason);
    expect(await count('SELECT count(*)::int AS n FROM events WHERE data::text LIKE $1', [`%${reason}%`])).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM staff_audit WHERE reason LIKE $1 OR details::text LIKE $1', [`%${reason}%`])).toBe(0);
    const [row] = (await db.pool.query('SELECT reason, reason_sealed_for FROM staff_audit WHERE audit_id = $1', [entry.auditId])).rows;
    expect(row.reason).toMatch(/^v1:/);
    expect(row.reason_sealed_for).toBe(subject);
    const listed = await audit.list({ subjectUserId: subject, limit: 10 });
    expect(listed).toEqual([{ ...entry, reasonErased: false }]);
  });

  it('an entry about nobody: on the month’s stream, its reason under the month’s key', async () => {
    tick();
    const entry = await audit.record({ actor: staff, action: 'users.search', subjectUserId: null, reason: 'looking for a duplicate', details: { found: false } });
    const [event] = await store.readStream('audit-unscoped-2026-03');
    expect(event.id).toBe(entry.auditId);
    expect(event.data).toMatchObject({ reasonSealedFor: unscopedReasonKey(now), subjectUserId: null });
    expect((await audit.list({ actor: staff, since: now, limit: 5 }))[0]).toMatchObject({ reason: 'looking for a duplicate', subjectUserId: null });
  });

  it('list: by subject, by actor, since an instant (oldest first), or the latest N (as tail does)', async () => {
    const subject = randomUUID();
    const actor = randomUUID();
    const start = tick(60_000);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      tick();
      ids.push((await audit.record({ actor, action: 'users.view', subjectUserId: subject, details: { i } })).auditId);
    }
    await audit.record({ actor: staff, action: 'users.view', subjectUserId: subject });
    const byActor = await audit.list({ actor, limit: 50 });
    expect(byActor.map((e) => e.auditId)).toEqual(ids);
    expect((await audit.list({ actor, limit: 2 })).map((e) => e.auditId)).toEqual(ids.slice(3));
    expect((await audit.list({ actor, since: new Date(start.getTime() + 2000), limit: 2 })).map((e) => e.auditId)).toEqual(ids.slice(1, 3));
    expect(await audit.list({ subjectUserId: subject, limit: 50 })).toHaveLength(6);
    expect(await audit.list({ subjectUserId: randomUUID(), limit: 50 })).toEqual([]);
  });

  it('bad entries are refused and write nothing', async () => {
    const before = await events();
    const bad = [
      { actor: 'someone@example.com', action: 'users.view', subjectUserId: null },
      { actor: staff, action: 'DROP TABLE', subjectUserId: null },
      { actor: staff, action: 'users.view', subjectUserId: 'not-a-uuid' },
      { actor: staff, action: 'role.grant', subjectUserId: null, reason: 'x'.repeat(100_000) },
      { actor: staff, action: 'users.view', subjectUserId: null, details: { email: { address: 'a@b.c' } } },
      { actor: staff, action: 'users.view', subjectUserId: null, auditId: 'retry-1' },
    ];
    for (const input of bad) {
      await expect(audit.record(input as never)).rejects.toBeInstanceOf(AuditError);
    }
    expect(await events()).toBe(before);
  });

  it('a retried record (same auditId) is recorded once, and answers the first attempt', async () => {
    const subject = randomUUID();
    const auditId = randomUUID();
    tick();
    const first = await audit.record({ auditId, actor: staff, action: 'role.revoke', subjectUserId: subject, reason: 'left the team' });
    tick();
    const again = await audit.record({ auditId, actor: staff, action: 'role.revoke', subjectUserId: subject, reason: 'left the team' });
    expect(again).toEqual({ ...first, reasonErased: false });
    expect(await store.readStream(`audit-${subject}`)).toHaveLength(1);
  });

  it('concurrent records about one person all land, in one contiguous stream, each with its row', async () => {
    const subject = randomUUID();
    const n = 40;
    const entries = await Promise.all(Array.from({ length: n }, (_, i) => audit.record({ actor: staff, action: 'users.view', subjectUserId: subject, details: { i } })));
    const stream = await store.readStream(`audit-${subject}`);
    expect(stream.map((e) => e.streamVersion)).toEqual(Array.from({ length: n }, (_, i) => BigInt(i + 1)));
    expect(new Set(stream.map((e) => e.id))).toEqual(new Set(entries.map((e) => e.auditId)));
    expect(await count('SELECT count(*)::int AS n FROM staff_audit WHERE subject_user_id = $1', [subject])).toBe(n);
  });

  it('the person’s audit stream is the compliance export’s source; their erasure makes the reasons unreadable', async () => {
    const subject = randomUUID();
    tick();
    await audit.record({ actor: staff, action: 'role.grant', subjectUserId: subject, reason: 'new support hire' });
    tick();
    await audit.record({ actor: staff, action: 'users.view', subjectUserId: subject });
    const about = await audit.aboutSubject(subject);
    expect(about.map((e) => [e.action, e.reason])).toEqual([
      ['role.grant', 'new support hire'],
      ['users.view', null],
    ]);
    await vault.erase(subject);
    const listed = await audit.list({ subjectUserId: subject, limit: 10 });
    expect(listed.map((e) => [e.action, e.reason, e.reasonErased])).toEqual([
      ['role.grant', null, true],
      ['users.view', null, false],
    ]);
    // Staff may still act about an erased person: the new reason goes under the month's key.
    tick();
    const later = await audit.record({ actor: staff, action: 'role.revoke', subjectUserId: subject, reason: 'erased person, roles cleared' });
    expect(later.reason).toBe('erased person, roles cleared');
    const [row] = (await db.pool.query('SELECT reason_sealed_for FROM staff_audit WHERE audit_id = $1', [later.auditId])).rows;
    expect(row.reason_sealed_for).toBe(unscopedReasonKey(now));
    expect((await audit.list({ subjectUserId: subject, limit: 10 }))[2]).toMatchObject({ reason: 'erased person, roles cleared', reasonErased: false });
  });

  it('a row lost to a crash between the append and the insert is back before the next list', async () => {
    const subject = randomUUID();
    tick();
    const entry = await audit.record({ actor: staff, action: 'users.view', subjectUserId: subject });
    await db.pool.query('DELETE FROM staff_audit WHERE audit_id = $1', [entry.auditId]);
    // The repair reads the whole log, which another test process's open transaction may hold back a moment.
    await logShows(await events());
    expect(await audit.list({ subjectUserId: subject, limit: 10 })).toEqual([entry]);
    expect(await audit.catchUp()).toBe(0);
  });

  it('rebuild: damaged rows rewritten from the log, rows no event backs removed, missing rows back', async () => {
    const subject = randomUUID();
    tick();
    const a = await audit.record({ actor: staff, action: 'users.view', subjectUserId: subject });
    const b = await audit.record({ actor: staff, action: 'role.grant', subjectUserId: subject, reason: 'cover for holidays' });
    await db.pool.query("UPDATE staff_audit SET action = 'users.search', actor = 'cli:mallory' WHERE audit_id = $1", [a.auditId]);
    await db.pool.query('DELETE FROM staff_audit WHERE audit_id = $1', [b.auditId]);
    await db.pool.query(
      "INSERT INTO staff_audit (audit_id, occurred_at, actor, action, subject_user_id, stream_id, stream_version) VALUES ($1, now(), 'cli:mallory', 'users.view', $2, 'audit-x', 1)",
      [randomUUID(), subject],
    );
    const total = await events();
    await logShows(total);
    let progress = 0;
    const r = await audit.rebuild((done) => (progress = done));
    expect(r).toEqual({ rows: total, repaired: 3 });
    expect(progress).toBe(total);
    const listed = await audit.list({ subjectUserId: subject, limit: 10 });
    expect(listed.map((e) => [e.auditId, e.actor, e.action, e.reason])).toEqual([
      [a.auditId, staff, 'users.view', null],
      [b.auditId, staff, 'role.grant', 'cover for holidays'],
    ]);
    expect(await audit.rebuild()).toEqual({ rows: total, repaired: 0 });
  });

  it('rebuild keeps the row of an entry the log does not show yet (an older transaction still open)', async () => {
    const subject = randomUUID();
    await logShows(await events());
    // An open transaction with an id holds back what readers of the whole log may see.
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_current_xact_id()');
      const fresh = await audit.record({ actor: staff, action: 'users.view', subjectUserId: subject });
      const seen = await store.readAll({ streamPrefixes: ['audit-'], limit: 100_000 });
      expect(seen.map((e) => e.id)).not.toContain(fresh.auditId);
      await audit.rebuild();
      expect(await audit.list({ subjectUserId: subject, limit: 10 })).toEqual([fresh]);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
  });
});
