/**
 * POST /staff/payments/reconcile on the booted API with the fake Stripe (real Postgres): the
 * same report as the built `tollgate payments reconcile --json` for the same window; a payment
 * Stripe has and the ledger lacks is named; Stripe down is reported, not hidden; the window is
 * bounded and must run forwards; one run at a time; accountant only; audited before it runs.
 */
import { randomBytes } from 'node:crypto';
import { StaffRolesService } from '../../../src/staff/application/staff-roles.service';
import { SignedIn, signedIn } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import { FakeStripe, checkoutCompletedEvent, deliverWebhook, startFakeStripe } from '../../support/fake-stripe';
import { Gateway, startGateway } from '../../support/gateway';

type Json = Record<string, any>;

describe('POST /staff/payments/reconcile (booted API, fake Stripe, built CLI)', () => {
  let fake: FakeStripe;
  let gw: Gateway;
  let accountant: SignedIn;
  let support: SignedIn;
  let customer: SignedIn;
  const stripeEnv = () => ({ STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_URL: fake.url });
  const newPi = () => `pi_${randomBytes(10).toString('hex')}`;
  const stripeKnows = (id: string, cents: number, accountId: string) =>
    fake.payments.set(id, { id, amount: cents, amount_received: cents, currency: 'usd', status: 'succeeded', created: Math.floor(Date.now() / 1000), latest_charge: null, metadata: { account_id: accountId } });
  const reconcile = (who: SignedIn, body: unknown) => who.fetch('/staff/payments/reconcile', { method: 'POST', body });
  const errorOf = async (r: Response) => ({ status: r.status, error: ((await r.json()) as { error: { code: string; message: string } }).error });
  const audits = async () => (await gw.db.pool.query(`SELECT * FROM staff_audit WHERE action = 'payments.reconcile' ORDER BY occurred_at`)).rows as Json[];

  beforeAll(async () => {
    fake = await startFakeStripe();
    gw = await startGateway({ env: stripeEnv() });
    [accountant, support, customer] = await Promise.all([signedIn(gw), signedIn(gw), signedIn(gw)]);
    const roles = gw.app.get(StaffRolesService);
    await roles.grant({ who: { userId: accountant.userId }, role: 'accountant', reason: 'test set-up', actor: 'cli:test' });
    await roles.grant({ who: { userId: support.userId }, role: 'support', reason: 'test set-up', actor: 'cli:test' });
    const paid = newPi();
    stripeKnows(paid, 1250, customer.accountId);
    expect((await deliverWebhook(gw.url, fake, checkoutCompletedEvent({ accountId: customer.accountId, cents: 1250, paymentIntent: paid }))).status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('the same report as the CLI for the same window; a payment the ledger lacks is named; audited first', async () => {
    const lost = newPi();
    stripeKnows(lost, 900, customer.accountId);
    try {
      const from = new Date(Date.now() - 60_000).toISOString();
      const to = new Date(Date.now() + 60_000).toISOString();
      const r = await reconcile(accountant, { from, to });
      expect(r.status).toBe(200);
      const body = (await r.json()) as Json;
      expect(body).toMatchObject({ from, to, matches: false, sources: [{ source: 'stripe', differences: 1 }] });
      expect(body.differences).toEqual([expect.objectContaining({ source: 'stripe', kind: 'missing_in_ledger', reference: lost })]);
      const cli = await run(process.execPath, [CLI, 'payments', 'reconcile', '--from', from, '--to', to, '--json'], { DATABASE_URL: gw.db.url, ...stripeEnv() });
      expect(cli.code).toBe(1);
      const { matches: _m, ...report } = body;
      expect(JSON.parse(cli.stdout)).toEqual(report);
      const rows = await audits();
      expect(rows[rows.length - 1]).toMatchObject({ actor: accountant.userId, subject_user_id: null, details: { from, to } });
    } finally {
      fake.payments.delete(lost);
    }
    const ok = (await (await reconcile(accountant, { from: new Date(Date.now() - 60_000).toISOString() })).json()) as Json;
    expect(ok).toMatchObject({ matches: true, differences: [], sources: [{ source: 'stripe', compared: 1, differences: 0 }] });
  }, 60_000);

  it('Stripe down: 200 with the source unread and matches false (an unread source proves nothing)', async () => {
    fake.down = true;
    try {
      const r = await reconcile(accountant, { from: new Date(Date.now() - 60_000).toISOString() });
      expect(r.status).toBe(200);
      const body = (await r.json()) as Json;
      expect(body).toMatchObject({ matches: false, sources: [{ source: 'stripe', compared: 0, error: expect.any(String) }] });
    } finally {
      fake.down = false;
    }
  }, 60_000);

  it('bad windows are 400 naming the field, before anything is audited or asked of Stripe', async () => {
    const before = (await audits()).length;
    const calls = fake.calls.length;
    const cases: Array<[unknown, RegExp]> = [
      [{}, /^from: /],
      [{ from: 'last week' }, /^from: /],
      [{ from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, /^from: must be before to/],
      [{ from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, /^from: must be before to/],
      [{ from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, /^to: the window is at most 92 days/],
      [{ from: '2026-01-01T00:00:00Z', reason: 'x' }, /reason/],
      [{ from: 20260101 }, /^from: /],
      [{ from: ['2026-01-01T00:00:00Z'] }, /^from: /],
    ];
    for (const [body, message] of cases) {
      const e = await errorOf(await reconcile(accountant, body));
      expect({ body, status: e.status, code: e.error.code }).toEqual({ body, status: 400, code: 'validation_failed' });
      expect(e.error.message).toMatch(message);
    }
    const huge = await accountant.fetch('/staff/payments/reconcile', { method: 'POST', body: { from: 'x'.repeat(2_000_000) } });
    expect([400, 413]).toContain(huge.status);
    expect((await audits()).length).toBe(before);
    expect(fake.calls.length).toBe(calls);
  }, 60_000);

  it('one run at a time: a second while the first runs is 409 conflict', async () => {
    fake.delayMs = 1500;
    try {
      const from = new Date(Date.now() - 60_000).toISOString();
      const [a, b] = await Promise.all([reconcile(accountant, { from }), new Promise((r) => setTimeout(r, 300)).then(() => reconcile(accountant, { from }))]);
      expect(a.status).toBe(200);
      expect(await errorOf(b)).toMatchObject({ status: 409, error: { code: 'conflict' } });
    } finally {
      fake.delayMs = 0;
    }
    expect((await reconcile(accountant, { from: new Date(Date.now() - 60_000).toISOString() })).status).toBe(200);
  }, 60_000);

  it('401 signed out, 403 for support and a customer, 403 csrf without the token; nothing audited', async () => {
    const before = (await audits()).length;
    const body = { from: new Date(Date.now() - 60_000).toISOString() };
    expect((await fetch(`${gw.url}/staff/payments/reconcile`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status).toBe(401);
    expect(await errorOf(await reconcile(support, body))).toMatchObject({ status: 403, error: { code: 'forbidden' } });
    expect(await errorOf(await reconcile(customer, body))).toMatchObject({ status: 403, error: { code: 'forbidden' } });
    const noToken = await accountant.fetch('/staff/payments/reconcile', { method: 'POST', body, headers: { 'x-csrf-token': 'wrong' } });
    expect(await errorOf(noToken)).toMatchObject({ status: 403, error: { code: 'csrf' } });
    expect((await audits()).length).toBe(before);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as Json;
    expect(Object.keys(doc.paths['/staff/payments/reconcile'].post.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '409']));
  });
});
