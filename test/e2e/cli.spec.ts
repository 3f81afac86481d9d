/**
 * The built `tollgate` command as an operator runs it: a child process over a fresh database.
 * Bad input must give one `error:` line, a non-zero exit, and write nothing.
 */
import { Pool } from 'pg';
import { freshDb, FreshDb } from '../support/fresh-db';
import { TEST_PG_URL } from '../support/test-env';
import { CLI, expectOneErrorLine, run } from '../support/cli-runner';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('tollgate CLI (built, child process, real Postgres)', () => {
  let db: FreshDb;
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, ...args], { DATABASE_URL: db.url });
  const eventCount = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0].n;

  beforeAll(async () => {
    db = await freshDb(2);
  }, 120_000);
  afterAll(() => db?.drop());

  it('--help lists the commands and exits 0', async () => {
    const r = await tollgate('--help');
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    for (const c of ['db', 'accounts', 'credits']) expect(r.stdout).toContain(c);
    const sub = await tollgate('credits', 'grant', '--help');
    expect(sub).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(sub.stdout).toContain('--grant-id');
  });

  it('bad usage exits 2 with one error line', async () => {
    const bogus = await tollgate('accounts', 'create', '--email', 'a@example.org', '--bogus');
    expectOneErrorLine(bogus, /unknown option '--bogus'/);
    expect(bogus.code).toBe(2);
    const none = await tollgate('nosuch');
    expectOneErrorLine(none, /unknown command 'nosuch'/);
    expect(none.code).toBe(2);
  });

  it('db migrate creates a missing database and applies every migration, then has nothing to do', async () => {
    const name = `tollgate_t_cli_${process.pid}`;
    const url = new URL(TEST_PG_URL);
    url.pathname = `/${name}`;
    try {
      const first = await run(process.execPath, [CLI, 'db', 'migrate', '--json'], { DATABASE_URL: url.toString() });
      expect(first).toMatchObject({ code: 0 }); // on failure, shows its stderr
      expect(JSON.parse(first.stdout).applied).toEqual(expect.arrayContaining(['001_event_store', '002_personal_data']));
      const again = await run(process.execPath, [CLI, 'db', 'migrate'], { DATABASE_URL: url.toString() });
      expect(again).toMatchObject({ code: 0 }); // on failure, shows its stderr
      expect(again.stdout).toMatch(/nothing to apply/);
    } finally {
      const admin = new Pool({ connectionString: TEST_PG_URL, max: 1 });
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });

  it('accounts create prints an account id and stores the email encrypted', async () => {
    const email = 'cli-canary-51d2@example.org';
    const r = await tollgate('accounts', 'create', '--email', email);
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const accountId = r.stdout.trim();
    expect(accountId).toMatch(UUID);

    const json = await tollgate('accounts', 'create', '--email', 'second@example.org', '--free-requests', '3', '--json');
    expect(json).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const created = JSON.parse(json.stdout);
    expect(created.accountId).toMatch(UUID);
    expect(created.userId).toMatch(UUID);

    const { rows } = await db.pool.query('SELECT stream_id, type, data FROM events ORDER BY global_position');
    expect(rows.filter((e) => e.stream_id === `account-${accountId}`).map((e) => e.type)).toEqual([
      'AccountOpened',
      'FreeRequestsGranted',
    ]);
    const registered = rows.filter((e) => e.type === 'UserRegistered');
    expect(registered).toHaveLength(2);
    expect(registered[1].stream_id).toBe(`user-${created.userId}`);
    expect(JSON.stringify(rows)).not.toContain('cli-canary-51d2');
    const free = rows.find((e) => e.stream_id === `account-${created.accountId}` && e.type === 'FreeRequestsGranted');
    expect(free.data.count).toBe(3);
  });

  it('accounts create accepts any well-formed address, short domains and plus tags included', async () => {
    for (const email of ['a@b.c', 'first.last+tag@sub.example.co.uk', "o'brien@example.org"]) {
      const r = await tollgate('accounts', 'create', '--email', email);
      expect(r).toMatchObject({ code: 0, stderr: '' }); // on failure, shows its stderr
      expect(r.stdout.trim()).toMatch(UUID);
    }
  });

  it('accounts create refuses an address someone holds already, in any case, and writes nothing', async () => {
    const first = await tollgate('accounts', 'create', '--email', 'taken@example.org');
    expect(first).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const before = await eventCount();
    const again = await tollgate('accounts', 'create', '--email', ' TAKEN@example.org ');
    expectOneErrorLine(again, /a person with this email address exists already \(email_taken\)/);
    expect(again.code).toBe(1);
    expect(await eventCount()).toBe(before);
  });

  it.each([
    [['--email', 'not-an-email'], /--email: must be an email address/],
    [['--email', 'a b@example.org'], /--email: must be an email address/],
    [['--email', 'a@b..c'], /--email: must be an email address/],
    [['--email', '@example.org'], /--email: must be an email address/],
    [['--email', 'a@example.org', '--free-requests', '-1'], /--free-requests/],
    [[], /--email/],
  ])('accounts create %j is refused and writes nothing', async (args, message) => {
    const before = await eventCount();
    const r = await tollgate('accounts', 'create', ...args);
    expectOneErrorLine(r, message);
    expect(r.code).toBe(2);
    expect(await eventCount()).toBe(before);
  });

  describe('credits grant', () => {
    let accountId: string;
    beforeAll(async () => {
      accountId = (await tollgate('accounts', 'create', '--email', 'grantee@example.org')).stdout.trim();
    });

    it('grants once per --grant-id and prints the new available balance', async () => {
      const args = ['credits', 'grant', '--account', accountId, '--amount', '2.5', '--reason', 'launch promo', '--grant-id', 'promo-1'];
      const first = await tollgate(...args, '--json');
      expect(first).toMatchObject({ code: 0 }); // on failure, shows its stderr
      expect(JSON.parse(first.stdout)).toEqual({
        accountId,
        grantId: 'promo-1',
        amount: '2.500000',
        idempotent: false,
        available: '2.500000',
      });
      const before = await eventCount();
      const again = await tollgate(...args);
      expect(again).toMatchObject({ code: 0 }); // on failure, shows its stderr
      expect(again.stdout).toMatch(/already recorded.*available: 2\.500000/);
      expect(await eventCount()).toBe(before);

      const other = await tollgate('credits', 'grant', '--account', accountId, '--amount', '1', '--reason', 'goodwill');
      expect(other).toMatchObject({ code: 0 }); // on failure, shows its stderr
      expect(other.stdout).toMatch(/granted 1\.000000 credits.*available: 3\.500000/);

      const { rows } = await db.pool.query(
        "SELECT metadata FROM events WHERE stream_id = $1 AND type = 'CreditsGranted' ORDER BY stream_version",
        [`account-${accountId}`],
      );
      expect(rows).toHaveLength(2);
      expect(rows[0].metadata.actor).toMatch(/^cli:/);
    });

    it('refuses the same --grant-id for a different amount', async () => {
      const args = ['credits', 'grant', '--account', accountId, '--reason', 'promo', '--grant-id', 'promo-2'];
      expect((await tollgate(...args, '--amount', '1')).code).toBe(0);
      const before = await eventCount();
      expectOneErrorLine(await tollgate(...args, '--amount', '2'), /idempotency_conflict/);
      expect(await eventCount()).toBe(before);
    });

    it.each([
      ['-5', /--amount: must be more than 0/],
      ['0', /--amount: must be more than 0/],
      ['1.2345678', /--amount: must be a number of credits/],
      ['abc', /--amount: must be a number of credits/],
    ])('refuses --amount %s with one line and writes nothing', async (amount, message) => {
      const before = await eventCount();
      const r = await tollgate('credits', 'grant', '--account', accountId, '--amount', amount, '--reason', 'x');
      expectOneErrorLine(r, message);
      expect(await eventCount()).toBe(before);
    });

    it.each(['99999999999999999999999999', '5000000000000', '1000000000.000001'])(
      'refuses --amount %s, beyond the ledger bound, as a usage error (exit 2) and writes nothing',
      async (amount) => {
        const before = await eventCount();
        const r = await tollgate('credits', 'grant', '--account', accountId, '--amount', amount, '--reason', 'x');
        expectOneErrorLine(r, /--amount: must be at most 1,000,000,000 credits/);
        expect(r.code).toBe(2);
        expect(await eventCount()).toBe(before);
      },
    );

    it('refuses a grant that would take the balance past the bound (exit 1, amount_out_of_range), and writes nothing', async () => {
      const holder = (await tollgate('accounts', 'create', '--email', 'big-grantee@example.org')).stdout.trim();
      const grant = (amount: string) => tollgate('credits', 'grant', '--account', holder, '--amount', amount, '--reason', 'x', '--json');
      const first = await grant('600000000');
      expect(first).toMatchObject({ code: 0 }); // on failure, shows its stderr
      expect(JSON.parse(first.stdout)).toMatchObject({ available: '600000000.000000' });
      const before = await eventCount();
      const second = await grant('500000000');
      expectOneErrorLine(second, /would pass the ledger's bound of 1,000,000,000 credits \(amount_out_of_range\)/);
      expect(second.code).toBe(1);
      expect(await eventCount()).toBe(before);
      // Up to the bound exactly is still accepted.
      expect(JSON.parse((await grant('400000000')).stdout)).toMatchObject({ available: '1000000000.000000' });
    });

    it('refuses an unknown account, a missing or empty reason, and writes nothing', async () => {
      const before = await eventCount();
      const unknown = await tollgate('credits', 'grant', '--account', '00000000-0000-4000-8000-000000000000', '--amount', '1', '--reason', 'x');
      expectOneErrorLine(unknown, /no account 00000000-0000-4000-8000-000000000000 \(account_not_found\)/);
      expect(unknown.code).toBe(1);
      expectOneErrorLine(await tollgate('credits', 'grant', '--account', accountId, '--amount', '1'), /--reason/);
      expectOneErrorLine(await tollgate('credits', 'grant', '--account', accountId, '--amount', '1', '--reason', '  '), /--reason: must not be empty/);
      expect(await eventCount()).toBe(before);
    });
  });

  it('a malformed DATABASE_URL is one line naming it, exit 1', async () => {
    const r = await run(process.execPath, [CLI, 'db', 'migrate'], { DATABASE_URL: 'localhost:5432/tollgate' });
    expectOneErrorLine(r, /DATABASE_URL/);
    expect(r.code).toBe(1);
  });

  it('an unreachable DATABASE_URL is one line naming it, exit 1', async () => {
    const unreachable = { DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/tollgate' };
    const r = await run(process.execPath, [CLI, 'credits', 'grant', '--account', 'a', '--amount', '1', '--reason', 'x'], unreachable);
    expectOneErrorLine(r, /cannot connect to Postgres at DATABASE_URL=postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/tollgate/);
    expect(r.stderr).not.toContain('secret');
  });
});
