/**
 * `tollgate audit list` as an operator runs it: the built CLI over a fresh database, entries
 * recorded by StaffAudit in this process (as the API would). Reading the trail is itself
 * recorded; bad usage exits 2 and records nothing.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { PersonalDataVault } from '../../src/compliance/personal-data-vault';
import { systemClock } from '../../src/platform/clock';
import { StaffAudit } from '../../src/audit/application/staff-audit.service';
import { StaffAuditRepository } from '../../src/audit/application/staff-audit.repository';
import { freshDb, FreshDb } from '../support/fresh-db';
import { CLI, expectOneErrorLine, run } from '../support/cli-runner';

describe('tollgate audit list (built CLI, real Postgres)', () => {
  let db: FreshDb;
  let store: PostgresEventStore;
  let audit: StaffAudit;
  const staff = randomUUID();
  const subject = randomUUID();
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'audit', ...args], { DATABASE_URL: db.url });
  const entries = async (...args: string[]) => {
    const r = await tollgate('list', ...args, '--json');
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { entries: Record<string, unknown>[] }).entries;
  };
  const auditEvents = async () => (await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE stream_id LIKE 'audit-%'")).rows[0].n;

  beforeAll(async () => {
    db = await freshDb(2);
    store = new PostgresEventStore(db.pool);
    audit = new StaffAudit(store, systemClock, new PersonalDataVault(db.pool), new StaffAuditRepository(db.pool));
    await audit.record({ actor: staff, action: 'users.view', subjectUserId: subject, details: { found: true } });
    await audit.record({ actor: staff, action: 'role.grant', subjectUserId: subject, reason: 'joins support\nfrom Monday', details: { role: 'support' } });
    await audit.record({ actor: randomUUID(), action: 'users.view', subjectUserId: randomUUID() });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('--json: the entries about a person, oldest first, with who, what, when and the reason in clear', async () => {
    const listed = await entries('--subject', subject);
    expect(listed).toEqual([
      expect.objectContaining({ actor: staff, action: 'users.view', subjectUserId: subject, reason: null, details: { found: true } }),
      expect.objectContaining({ actor: staff, action: 'role.grant', subjectUserId: subject, reason: 'joins support\nfrom Monday', reasonErased: false }),
    ]);
    expect(Date.parse(String(listed[0].at))).toBeLessThanOrEqual(Date.parse(String(listed[1].at)));
  });

  it('a table for people: one line per entry, the reason on one line', async () => {
    const r = await tollgate('list', '--actor', staff);
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+SUBJECT\s+REASON\s+DETAILS$/);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toContain('joins support from Monday');
    expect(lines[2]).toContain('role=support');
  });

  it('reading the trail is recorded, by the operator who ran the command', async () => {
    const before = await auditEvents();
    await entries('--subject', subject, '--limit', '1');
    expect(await auditEvents()).toBe(before + 1);
    const reads = (await entries('--since', '2000-01-01')).filter((e) => e.action === 'audit.list');
    expect(reads.length).toBeGreaterThanOrEqual(1);
    expect(reads[reads.length - 1]).toMatchObject({ actor: `cli:${userInfo().username}`, subjectUserId: subject, details: expect.objectContaining({ limit: 1, shown: 1 }) });
  });

  it('--since and --limit: from an instant onwards, at most N', async () => {
    expect(await entries('--since', '2999-01-01')).toEqual([]);
    expect(await entries('--limit', '2', '--since', '2000-01-01T00:00:00Z')).toHaveLength(2);
  });

  it('bad usage exits 2 with one error line and records nothing', async () => {
    const before = await auditEvents();
    for (const args of [['--limit', '0'], ['--limit', '1001'], ['--limit', 'ten'], ['--since', 'yesterday'], ['--since', '2026-02-30'], ['--subject', 'bob']]) {
      const r = await tollgate('list', ...args);
      expectOneErrorLine(r);
      expect(r.code).toBe(2);
    }
    expect(await auditEvents()).toBe(before);
  });
});
