/**
 * People (issue 19): one person per address under concurrent sign-ups, identities keyed by the
 * provider's subject, linking by email only when the provider vouches for it, the users row
 * rebuilt from the streams, and no address or subject in clear anywhere in the database.
 */
import { Gateway, startGateway } from '../../support/gateway';
import { uniqueEmail } from '../../support/account-client';
import { UsersService } from '../../../src/accounts/application/users.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';

jest.setTimeout(60_000);

describe('people', () => {
  let gw: Gateway;
  let users: UsersService;

  beforeAll(async () => {
    gw = await startGateway();
    users = gw.app.get(UsersService);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('signs up once per address, whatever the case and spaces, with an account and 20 free requests', async () => {
    const email = uniqueEmail('Mixed');
    const first = await users.signUpOrInByEmail(`  ${email.toUpperCase()} `, 'magic_link');
    expect(first.created).toBe(true);
    expect(first.user.email).toBe(email.toLowerCase());
    const again = await users.signUpOrInByEmail(email, 'magic_link');
    expect(again).toMatchObject({ created: false, user: { userId: first.user.userId, accountId: first.user.accountId } });
    const account = await gw.app.get(LedgerService).load(first.user.accountId);
    expect(account.state.freeRequests).toBe(20);
  });

  it('makes exactly one person when ten sign-ups of one new address race', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(Array.from({ length: 10 }, () => users.signUpOrInByEmail(email, 'magic_link')));
    expect(new Set(results.map((r) => r.user.userId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const { rows } = await gw.db.pool.query(`SELECT count(*)::int AS n FROM events WHERE type = 'AccountOpened' AND data->>'ownerId' = $1`, [results[0].user.userId]);
    expect(rows[0].n).toBe(1);
  });

  it('refuses an operator registration of a known address, and keeps the address sealed', async () => {
    const email = uniqueEmail('known');
    const { user } = await users.signUpOrInByEmail(email, 'magic_link');
    await expect(users.registerByOperator(email.toUpperCase(), 'cli:test')).rejects.toMatchObject({ code: 'email_taken' });
    const dump = JSON.stringify((await gw.db.pool.query('SELECT * FROM users WHERE user_id = $1', [user.userId])).rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    const events = JSON.stringify((await gw.db.pool.query('SELECT stream_id, data FROM events')).rows);
    for (const text of [dump, events]) expect(text.toLowerCase()).not.toContain(email.toLowerCase());
  });

  it('keys identities by subject; links by email only when the provider vouches for it', async () => {
    const email = uniqueEmail('linked');
    const { user } = await users.signUpOrInByEmail(email, 'magic_link');

    const unverified = await users.signInWithIdentity({ provider: 'github', subject: '1001', email, emailVerified: false });
    expect(unverified).toMatchObject({ created: true, linked: false });
    expect(unverified.user.userId).not.toBe(user.userId);
    expect(unverified.user.email).toBeNull();

    const verified = await users.signInWithIdentity({ provider: 'google', subject: 'g-77', email: email.toUpperCase(), emailVerified: true, displayName: 'Ann' });
    expect(verified).toMatchObject({ created: false, linked: true, user: { userId: user.userId } });

    // Again, with a changed email at the provider: the subject decides.
    const again = await users.signInWithIdentity({ provider: 'google', subject: 'g-77', email: 'other@example.org', emailVerified: true });
    expect(again).toMatchObject({ created: false, linked: false, user: { userId: user.userId } });

    const fresh = await users.signInWithIdentity({ provider: 'acme', subject: 'a-1', email: uniqueEmail('new'), emailVerified: true, displayName: 'New Person' });
    expect(fresh).toMatchObject({ created: true, linked: false, user: { displayName: 'New Person' } });
    const events = JSON.stringify((await gw.db.pool.query(`SELECT data FROM events WHERE type = 'IdentityLinked'`)).rows);
    expect(events).not.toContain('g-77');
    expect(events).not.toContain('1001');
  });

  it('makes one person when ten first sign-ins of one identity race', async () => {
    const subject = `race-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => users.signInWithIdentity({ provider: 'github', subject, email: uniqueEmail('idrace'), emailVerified: true })),
    );
    expect(new Set(results.map((r) => r.user.userId)).size).toBe(1);
  });

  it('rebuilds every users row from the streams, roles and names included', async () => {
    const { user } = await users.signUpOrInByEmail(uniqueEmail('rebuild'), 'magic_link');
    await users.execute(user.userId, { type: 'GrantRole', data: { role: 'support', by: 'cli:test', reason: 'testing' } }, 'cli:test');
    const before = (await gw.db.pool.query('SELECT * FROM users ORDER BY user_id')).rows;
    await gw.db.pool.query(`UPDATE users SET roles = '{admin}' WHERE user_id = $1`, [user.userId]);
    await gw.db.pool.query(`INSERT INTO users (user_id, account_id, roles, created_at, version) VALUES (gen_random_uuid(), gen_random_uuid(), '{admin}', now(), 1)`);
    const r = await users.rebuildReadModel();
    expect(r.repaired).toBe(2);
    expect((await gw.db.pool.query('SELECT * FROM users ORDER BY user_id')).rows).toEqual(before);
  });
});
