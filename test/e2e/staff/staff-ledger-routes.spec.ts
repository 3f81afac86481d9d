/**
 * The accountant's staff routes on the booted API (real Postgres and Redis):
 * GET /staff/ledger/trial-balance and GET /staff/accounts/{id}/balance, now and as of an
 * instant, give exactly what the built `tollgate ledger trial-balance|balance --as-of --json`
 * prints for the same instant; bad, future and repeated asOf values are 400 naming the field;
 * an unknown account is 404 (the probe audited); only the accountant role (or admin) gets in;
 * every read leaves one audit entry; concurrent questions all see fresh figures.
 */
import { randomUUID } from 'node:crypto';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { StaffRolesService } from '../../../src/staff/application/staff-roles.service';
import { SignedIn, signedIn } from '../../support/account-client';
import { CLI, expectOneErrorLine, run } from '../../support/cli-runner';
import { Gateway, startGateway } from '../../support/gateway';

type Json = Record<string, any>;

describe('/staff ledger routes (booted API, built CLI, real Postgres)', () => {
  let gw: Gateway;
  let ledger: LedgerService;
  let accountant: SignedIn;
  let support: SignedIn;
  let admin: SignedIn;
  let customer: SignedIn;
  let between: string;
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'ledger', ...args], { DATABASE_URL: gw.db.url });
  const errorOf = async (r: Response) => ({ status: r.status, error: ((await r.json()) as { error: { code: string; message: string } }).error });
  const auditRows = async (action: string) =>
    (await gw.db.pool.query(`SELECT * FROM staff_audit WHERE action = $1 ORDER BY occurred_at, stream_id, stream_version`, [action])).rows as Json[];
  const grant = (userId: string, role: 'admin' | 'support' | 'accountant') =>
    gw.app.get(StaffRolesService).grant({ who: { userId }, role, reason: 'test set-up', actor: 'cli:test' });

  beforeAll(async () => {
    gw = await startGateway();
    ledger = gw.app.get(LedgerService);
    [accountant, support, admin, customer] = await Promise.all([signedIn(gw), signedIn(gw), signedIn(gw), signedIn(gw)]);
    await grant(accountant.userId, 'accountant');
    await grant(support.userId, 'support');
    await grant(admin.userId, 'admin');
    await ledger.execute(customer.accountId, { type: 'GrantCredits', data: { grantId: 'staff-ledger-1', amount: 20_000_000n, reason: 'test funds' } });
    await new Promise((r) => setTimeout(r, 20));
    between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const holdId = randomUUID();
    await ledger.execute(customer.accountId, { type: 'PlaceHold', data: { holdId, amount: 3_000_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(customer.accountId, { type: 'SettleHold', data: { holdId, amount: 1_234_567n } });
    await ledger.execute(customer.accountId, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 500_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
  }, 120_000);
  afterAll(() => gw?.close());

  it('as of an instant, the API and the CLI give the same figures (trial balance and balance)', async () => {
    const q = encodeURIComponent(between);
    const httpTb = await accountant.fetch(`/staff/ledger/trial-balance?asOf=${q}`);
    expect(httpTb.status).toBe(200);
    const tb = (await httpTb.json()) as Json;
    const cliTb = await tollgate('trial-balance', '--as-of', between, '--json');
    expect(cliTb).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(tb).toEqual(JSON.parse(cliTb.stdout));
    expect(tb).toMatchObject({ asOf: between, total: '0.000000', balanced: true });
    expect(tb.lines).toContainEqual({ ledgerAccount: `user:${customer.accountId}:available`, balance: '20.000000' });
    expect(tb.lines.find((l: Json) => l.ledgerAccount === 'revenue')).toBeUndefined(); // the settle came after

    const httpB = await accountant.fetch(`/staff/accounts/${customer.accountId}/balance?asOf=${q}`);
    expect(httpB.status).toBe(200);
    const b = (await httpB.json()) as Json;
    const cliB = await tollgate('balance', '--account', customer.accountId, '--as-of', between, '--json');
    expect(cliB).toMatchObject({ code: 0 });
    expect(b).toEqual(JSON.parse(cliB.stdout));
    expect(b).toEqual({ accountId: customer.accountId, asOf: between, available: '20.000000', held: '0.000000', frozen: '0.000000', receivable: '0.000000', total: '20.000000' });
  }, 60_000);

  it('now: the same figures as the CLI, fresh (an event appended just before the question is in the answer)', async () => {
    const before = (await (await accountant.fetch(`/staff/accounts/${customer.accountId}/balance`)).json()) as Json;
    expect(before).toMatchObject({ asOf: null, available: '18.265433', held: '0.500000', total: '18.765433' });
    await ledger.execute(customer.accountId, { type: 'GrantCredits', data: { grantId: 'staff-ledger-2', amount: 1n, reason: 'one micro-credit' } });
    const after = (await (await accountant.fetch(`/staff/accounts/${customer.accountId}/balance`)).json()) as Json;
    expect(after.available).toBe('18.265434');
    const cli = await tollgate('balance', '--account', customer.accountId, '--json');
    expect(after).toEqual(JSON.parse(cli.stdout));
    const tb = (await (await accountant.fetch('/staff/ledger/trial-balance')).json()) as Json;
    expect(tb).toEqual(JSON.parse((await tollgate('trial-balance', '--json')).stdout));
    expect(tb).toMatchObject({ asOf: null, total: '0.000000', balanced: true });
    expect(tb.lines).toContainEqual({ ledgerAccount: 'revenue', balance: '1.234567' });
  }, 60_000);

  it('a bare date is the end of that day (UTC), as on the CLI', async () => {
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const r = (await (await accountant.fetch(`/staff/ledger/trial-balance?asOf=${yesterday}`)).json()) as Json;
    expect(r.asOf).toBe(`${yesterday}T23:59:59.999Z`);
    expect(r).toEqual(JSON.parse((await tollgate('trial-balance', '--as-of', yesterday, '--json')).stdout));
  }, 30_000);

  it('bad asOf values are 400 validation_failed naming asOf; unknown parameters too; nothing is audited', async () => {
    const before = (await auditRows('ledger.trial_balance')).length + (await auditRows('ledger.balance')).length;
    const bad = ['soon', '2026-02-30', '31/03/2026', '2026-03-31T12:00:00', '', 'x'.repeat(10_000), '2026-03-31T12:00:00Z&asOf=2026-03-30T12:00:00Z'];
    for (const v of bad) {
      const raw = v.includes('&') ? v : encodeURIComponent(v);
      for (const path of [`/staff/ledger/trial-balance?asOf=${raw}`, `/staff/accounts/${customer.accountId}/balance?asOf=${raw}`]) {
        const e = await errorOf(await accountant.fetch(path));
        expect(e.status).toBe(400);
        expect(e.error.code).toBe('validation_failed');
        expect(e.error.message).toMatch(/^asOf: /);
      }
    }
    const unknown = await errorOf(await accountant.fetch('/staff/ledger/trial-balance?as_of=2026-01-01'));
    expect(unknown).toMatchObject({ status: 400, error: { code: 'validation_failed', message: expect.stringMatching(/as_of/) } });
    expect((await auditRows('ledger.trial_balance')).length + (await auditRows('ledger.balance')).length).toBe(before);
  }, 60_000);

  it('an asOf in the future is refused by both: 400 on the API, exit 2 on the CLI', async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const today = new Date().toISOString().slice(0, 10); // its end is still to come
    for (const v of [soon, today, '9999-12-31']) {
      const e = await errorOf(await accountant.fetch(`/staff/ledger/trial-balance?asOf=${encodeURIComponent(v)}`));
      expect(e).toMatchObject({ status: 400, error: { code: 'validation_failed', message: expect.stringMatching(/^asOf: is in the future/) } });
    }
    const cli = await tollgate('trial-balance', '--as-of', soon);
    expect(cli.code).toBe(2);
    expectOneErrorLine(cli, /--as-of: is in the future/);
    const cliB = await tollgate('balance', '--account', customer.accountId, '--as-of', soon);
    expect(cliB.code).toBe(2);
  }, 60_000);

  it('an unknown account is 404 account_not_found, its probe audited; a malformed id is 400, a huge one 414', async () => {
    const ghost = randomUUID();
    const e = await errorOf(await accountant.fetch(`/staff/accounts/${ghost}/balance`));
    expect(e).toMatchObject({ status: 404, error: { code: 'account_not_found' } });
    const rows = await auditRows('ledger.balance');
    expect(rows[rows.length - 1]).toMatchObject({ actor: accountant.userId, subject_user_id: null, details: { accountId: ghost, found: false } });
    expect((await errorOf(await accountant.fetch('/staff/accounts/not-an-id/balance'))).status).toBe(400);
    expect((await errorOf(await accountant.fetch(`/staff/accounts/${'9'.repeat(90)}/balance`))).status).toBe(400);
    // Fastify's router refuses a path parameter this long (maxParamLength) before any guard or handler runs.
    expect((await accountant.fetch(`/staff/accounts/${'9'.repeat(5000)}/balance`)).status).toBe(414);
  });

  it('every read is audited: who, what, on whom (the account owner for a balance)', async () => {
    const tbBefore = (await auditRows('ledger.trial_balance')).length;
    expect((await accountant.fetch(`/staff/ledger/trial-balance?asOf=${encodeURIComponent(between)}`)).status).toBe(200);
    const tb = await auditRows('ledger.trial_balance');
    expect(tb).toHaveLength(tbBefore + 1);
    expect(tb[tb.length - 1]).toMatchObject({ actor: accountant.userId, subject_user_id: null, details: { asOf: between, balanced: true } });
    expect((await accountant.fetch(`/staff/accounts/${customer.accountId}/balance`)).status).toBe(200);
    const b = await auditRows('ledger.balance');
    expect(b[b.length - 1]).toMatchObject({ actor: accountant.userId, subject_user_id: customer.userId, details: { accountId: customer.accountId, asOf: null, found: true } });
  });

  it('401 signed out, 403 for a customer, for support and for a management key; admin may read', async () => {
    const before = (await auditRows('ledger.trial_balance')).length + (await auditRows('ledger.balance')).length;
    for (const path of ['/staff/ledger/trial-balance', `/staff/accounts/${customer.accountId}/balance`]) {
      expect((await errorOf(await fetch(`${gw.url}${path}`))).status).toBe(401);
      expect(await errorOf(await customer.fetch(path))).toMatchObject({ status: 403, error: { code: 'forbidden' } });
      expect(await errorOf(await support.fetch(path))).toMatchObject({ status: 403, error: { code: 'forbidden' } });
      expect((await fetch(`${gw.url}${path}`, { headers: { authorization: 'Bearer tg-mgmt-unknown' } })).status).toBe(401);
    }
    expect((await auditRows('ledger.trial_balance')).length + (await auditRows('ledger.balance')).length).toBe(before);
    expect((await admin.fetch('/staff/ledger/trial-balance')).status).toBe(200);
  });

  it('concurrent questions while money moves: every answer balances and none misses what was committed before it was asked', async () => {
    const asked = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        await ledger.execute(customer.accountId, { type: 'GrantCredits', data: { grantId: `staff-ledger-c${i}`, amount: 1_000_000n, reason: 'concurrent' } });
        const floor = (await ledger.load(customer.accountId)).state.available;
        const [tb, b] = await Promise.all([accountant.fetch('/staff/ledger/trial-balance'), accountant.fetch(`/staff/accounts/${customer.accountId}/balance`)]);
        return { floor, tb: (await tb.json()) as Json, b: (await b.json()) as Json };
      }),
    );
    for (const { floor, tb, b } of asked) {
      expect(tb).toMatchObject({ total: '0.000000', balanced: true });
      expect(BigInt(String(b.available).replace('.', ''))).toBeGreaterThanOrEqual(floor);
    }
  }, 60_000);

  it('is in the OpenAPI document with its errors', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as Json;
    expect(Object.keys(doc.paths['/staff/ledger/trial-balance'].get.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '503']));
    expect(Object.keys(doc.paths['/staff/accounts/{id}/balance'].get.responses)).toEqual(expect.arrayContaining(['200', '400', '404']));
  });
});

describe('/staff ledger routes in an API that runs the workers (the default)', () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway({ env: { API_RUNS_WORKERS: 'true' } });
  }, 120_000);
  afterAll(() => gw?.close());

  it("answers without stopping the worker's projections: the read models keep following the log afterwards", async () => {
    const [accountant, customer] = await Promise.all([signedIn(gw), signedIn(gw)]);
    await gw.app.get(StaffRolesService).grant({ who: { userId: accountant.userId }, role: 'accountant', reason: 'test set-up', actor: 'cli:test' });
    const ledger = gw.app.get(LedgerService);
    await ledger.execute(customer.accountId, { type: 'GrantCredits', data: { grantId: 'workers-1', amount: 1_000_000n, reason: 'test funds' } });
    const [a, b] = await Promise.all([accountant.fetch('/staff/ledger/trial-balance'), accountant.fetch(`/staff/accounts/${customer.accountId}/balance`)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(((await b.json()) as Json).available).toBe('1.000000');
    // Nothing asks the read models to catch up now: only the worker can bring this grant in.
    await ledger.execute(customer.accountId, { type: 'GrantCredits', data: { grantId: 'workers-2', amount: 2_000_000n, reason: 'test funds' } });
    const deadline = Date.now() + 10_000;
    let seen: unknown;
    while (Date.now() < deadline) {
      const row = await gw.db.pool.query('SELECT available FROM rm_balances.balances WHERE account_id = $1', [customer.accountId]);
      seen = row.rows[0]?.available;
      if (String(seen) === '3000000') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(String(seen)).toBe('3000000');
  }, 60_000);
});
