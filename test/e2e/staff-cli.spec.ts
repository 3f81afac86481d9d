/**
 * `tollgate staff grant|revoke|list` as an operator runs them: the built CLI over a fresh
 * database. Roles are events on the person's stream (the users row follows), every change is
 * in the audit trail with its reason before it is made, `tollgate audit list` shows it, and the
 * roles come back when `ledger replay` rebuilds the users rows from the streams.
 */
import { userInfo } from 'node:os';
import { freshDb, FreshDb } from '../support/fresh-db';
import { CLI, expectOneErrorLine, run } from '../support/cli-runner';

describe('tollgate staff … (built CLI, real Postgres)', () => {
  let db: FreshDb;
  const operator = `cli:${userInfo().username}`;
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, ...args], { DATABASE_URL: db.url });
  const json = async (...args: string[]) => {
    const r = await tollgate(...args, '--json');
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, any>;
  };
  const eventCount = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0].n;
  const rolesRow = async (userId: string) => (await db.pool.query<{ roles: string[] }>('SELECT roles FROM users WHERE user_id = $1', [userId])).rows[0].roles;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    db = await freshDb(2);
    alice = (await json('accounts', 'create', '--email', 'alice.staff@example.org')).userId;
    bob = (await json('accounts', 'create', '--email', 'bob.staff@example.org')).userId;
  }, 120_000);
  afterAll(() => db?.drop());

  it('grant: a RoleGranted on the person’s stream, the row’s roles, and an audit entry with the reason, recorded first', async () => {
    const r = await json('staff', 'grant', '--email', ' Alice.Staff@example.org ', '--role', 'support', '--reason', 'joins the support rota (ticket 7)');
    expect(r).toMatchObject({ userId: alice, roles: ['support'], changed: true });
    expect(await rolesRow(alice)).toEqual(['support']);
    const { rows } = await db.pool.query<{ stream_id: string; type: string; data: Record<string, string> }>(
      "SELECT stream_id, type, data FROM events WHERE stream_id IN ($1, $2) ORDER BY global_position",
      [`user-${alice}`, `audit-${alice}`],
    );
    const audit = rows.find((e) => e.type === 'StaffActionRecorded')!;
    const granted = rows.find((e) => e.type === 'RoleGranted')!;
    expect(rows.indexOf(audit)).toBeLessThan(rows.indexOf(granted));
    expect(granted.data).toEqual({ role: 'support', by: operator, reason: `audit:${r.auditId}` });
    expect(audit.data).toMatchObject({ auditId: r.auditId, actor: operator, action: 'role.grant', subjectUserId: alice, details: { role: 'support', changed: true } });
    // The reason is nowhere in clear.
    expect((await db.pool.query("SELECT count(*)::int AS n FROM events WHERE data::text LIKE '%support rota%'")).rows[0].n).toBe(0);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM staff_audit WHERE reason LIKE '%support rota%'")).rows[0].n).toBe(0);
  });

  it('granting a role held already changes nothing, and says so (still audited)', async () => {
    const before = await eventCount();
    const r = await tollgate('staff', 'grant', '--email', 'alice.staff@example.org', '--role', 'support', '--reason', 'again');
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(r.stdout).toMatch(/already holds support; nothing changed/);
    expect(await eventCount()).toBe(before + 1); // the audit entry only
  });

  it('list: who holds what; audit list shows the grants with who, what, whom, when and why', async () => {
    await json('staff', 'grant', '--email', 'bob.staff@example.org', '--role', 'accountant', '--reason', 'month-end close');
    const { staff } = await json('staff', 'list');
    expect(staff).toEqual([
      { userId: alice, email: 'alice.staff@example.org', roles: ['support'] },
      { userId: bob, email: 'bob.staff@example.org', roles: ['accountant'] },
    ]);
    const human = await tollgate('staff', 'list');
    expect(human.stdout).toMatch(/^USER ID\s+EMAIL\s+ROLES\n/);
    const { entries } = await json('audit', 'list', '--subject', bob);
    expect(entries).toEqual([
      expect.objectContaining({ actor: operator, action: 'role.grant', subjectUserId: bob, reason: 'month-end close', details: { role: 'accountant', changed: true } }),
    ]);
    expect(Number.isNaN(Date.parse(entries[0].at))).toBe(false);
    const all = (await json('audit', 'list', '--actor', operator)).entries.map((e: { action: string }) => e.action);
    expect(all).toEqual(['role.grant', 'role.grant', 'role.grant', 'staff.list', 'staff.list', 'audit.list']);
  });

  it('revoke: the role goes, with its own audit entry; revoking a role not held is refused and records nothing', async () => {
    const r = await json('staff', 'revoke', '--email', 'bob.staff@example.org', '--role', 'accountant', '--reason', 'close done');
    expect(r).toMatchObject({ userId: bob, roles: [], changed: true });
    expect(await rolesRow(bob)).toEqual([]);
    const before = await eventCount();
    const again = await tollgate('staff', 'revoke', '--email', 'bob.staff@example.org', '--role', 'accountant', '--reason', 'twice');
    expectOneErrorLine(again, /does not hold the role accountant \(role_not_held\)/);
    expect(again.code).toBe(1);
    expect(await eventCount()).toBe(before);
    const aboutBob = (await json('audit', 'list', '--subject', bob)).entries as { action: string; reason: string | null }[];
    expect(aboutBob.map((e) => [e.action, e.reason])).toEqual([
      ['role.grant', 'month-end close'],
      ['audit.list', null], // the earlier `audit list --subject` read about bob
      ['role.revoke', 'close done'],
    ]);
  });

  it('an unknown email is a clear error (exit 1); an unknown role or a missing reason is bad usage (exit 2); nothing is written', async () => {
    const before = await eventCount();
    const unknown = await tollgate('staff', 'grant', '--email', 'nobody@example.org', '--role', 'admin', '--reason', 'x');
    expectOneErrorLine(unknown, /no person has this email address \(user_not_found\)/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).not.toContain('nobody@example.org');
    const bad = [
      ['--email', 'alice.staff@example.org', '--role', 'superuser', '--reason', 'x'],
      ['--email', 'alice.staff@example.org', '--role', 'admin'],
      ['--email', 'alice.staff@example.org', '--role', 'admin', '--reason', '   '],
      ['--email', 'alice.staff@example.org', '--role', 'admin', '--reason', 'x'.repeat(1001)],
      ['--email', 'not an address', '--role', 'admin', '--reason', 'x'],
    ];
    for (const args of bad) {
      for (const verb of ['grant', 'revoke']) {
        const r = await tollgate('staff', verb, ...args);
        expectOneErrorLine(r);
        expect(r.code).toBe(2);
      }
    }
    expect(await eventCount()).toBe(before);
  });

  it('roles survive a rebuild of the users rows (the row is derived from the person’s stream)', async () => {
    await db.pool.query("UPDATE users SET roles = '{admin}' WHERE user_id = $1", [bob]);
    await db.pool.query("UPDATE users SET roles = '{}' WHERE user_id = $1", [alice]);
    const r = await tollgate('ledger', 'replay');
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(await rolesRow(alice)).toEqual(['support']);
    expect(await rolesRow(bob)).toEqual([]);
  });
});
