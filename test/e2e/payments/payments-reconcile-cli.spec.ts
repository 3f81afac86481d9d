/**
 * `tollgate payments reconcile` end to end (built CLI, the fake Stripe, real Postgres): exit 0
 * and "everything matches" when Stripe and the ledger agree; exit 1 naming each difference when
 * they do not; exit 1 when Stripe cannot be read (an unread source proves nothing); exit 2 for
 * a bad window; and with no payment method configured, nothing to compare.
 */
import { randomBytes } from 'node:crypto';
import { signedIn } from '../../support/account-client';
import { CLI, expectOneErrorLine, run } from '../../support/cli-runner';
import { FakeStripe, checkoutCompletedEvent, deliverWebhook, startFakeStripe } from '../../support/fake-stripe';
import { Gateway, startGateway } from '../../support/gateway';

describe('tollgate payments reconcile (built CLI, fake Stripe, real Postgres)', () => {
  let fake: FakeStripe;
  let gw: Gateway;
  const stripeEnv = () => ({ STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_URL: fake.url });
  const reconcile = (args: string[], env: Record<string, string | undefined> = stripeEnv()) =>
    run(process.execPath, [CLI, 'payments', 'reconcile', ...args], { DATABASE_URL: gw.db.url, ...env });
  const window = () => ['--from', new Date(Date.now() - 60_000).toISOString(), '--to', new Date(Date.now() + 60_000).toISOString()];
  const newPi = () => `pi_${randomBytes(10).toString('hex')}`;
  const stripeKnows = (id: string, cents: number, accountId: string) =>
    fake.payments.set(id, { id, amount: cents, amount_received: cents, currency: 'usd', status: 'succeeded', created: Math.floor(Date.now() / 1000), latest_charge: null, metadata: { account_id: accountId } });

  beforeAll(async () => {
    fake = await startFakeStripe();
    gw = await startGateway({ env: stripeEnv() });
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('matches a paid, credited payment (exit 0); names one Stripe has and the ledger lacks (exit 1)', async () => {
    const person = await signedIn(gw);
    const paid = newPi();
    stripeKnows(paid, 1250, person.accountId);
    const delivered = await deliverWebhook(gw.url, fake, checkoutCompletedEvent({ accountId: person.accountId, cents: 1250, paymentIntent: paid }));
    expect(delivered.status).toBe(200);
    const ok = await reconcile([...window(), '--json']);
    expect(ok).toMatchObject({ code: 0 });
    expect(JSON.parse(ok.stdout)).toMatchObject({ sources: [expect.objectContaining({ source: 'stripe', differences: 0 })], differences: [] });

    const lost = newPi(); // Stripe took the money; no webhook ever reached the gateway
    stripeKnows(lost, 900, person.accountId);
    const human = await reconcile(window());
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(new RegExp(`^DIFF stripe missing_in_ledger ${lost}: `, 'm'));
    expect(human.stdout).toMatch(/1 difference\(s\)$/m);
    fake.payments.delete(lost);
  }, 60_000);

  it('exit 1 when Stripe cannot be read, saying so; exit 2 for a window that ends before it starts', async () => {
    fake.down = true;
    try {
      const r = await reconcile(window());
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^stripe: could not be read: /m);
    } finally {
      fake.down = false;
    }
    const backwards = await reconcile(['--from', '2026-02-01T00:00:00Z', '--to', '2026-01-01T00:00:00Z']);
    expect(backwards.code).toBe(2);
    expectOneErrorLine(backwards, /--from must be before --to/);
    const noFrom = await reconcile([]);
    expect(noFrom.code).toBe(2);
  }, 60_000);

  it('with no payment method configured: nothing to compare, exit 0', async () => {
    const r = await reconcile(window(), { STRIPE_SECRET_KEY: undefined, STRIPE_WEBHOOK_SECRET: undefined, STRIPE_API_URL: undefined });
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/no payment method is configured/);
  }, 30_000);
});
