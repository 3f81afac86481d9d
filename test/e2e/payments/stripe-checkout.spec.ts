/**
 * POST /api/billing/checkout end to end: the booted app, a signed-in person, the `stripe` SDK
 * against the local fake Stripe (test/support/fake-stripe.ts) whose recorded form fields show
 * what was asked of Stripe. Refusals name the field and ask nothing of Stripe.
 */
import { FakeStripe, startFakeStripe } from '../../support/fake-stripe';
import { SignedIn, signedIn } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';

describe('card checkout (booted app, fake Stripe)', () => {
  let fake: FakeStripe;
  let gw: Gateway;
  let person: SignedIn;
  const checkout = (amount: unknown, headers: Record<string, string> = {}) => person.fetch('/api/billing/checkout', { method: 'POST', body: { amount }, headers });
  const sessionCalls = () => fake.calls.filter((c) => c.path === '/v1/checkout/sessions');

  beforeAll(async () => {
    fake = await startFakeStripe();
    gw = await startGateway({ env: { STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_URL: fake.url, TOPUP_MAX_USD: '500' } });
    person = await signedIn(gw);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
  });

  it('creates a Checkout Session for the amount, with the account in metadata and client_reference_id', async () => {
    const res = await checkout('25.50');
    expect(res.status).toBe(201);
    const body = (await res.json()) as { url: string; id: string };
    expect(body).toEqual({ id: expect.stringMatching(/^cs_test_/), url: expect.stringMatching(/^https:\/\/checkout\.stripe\.com\//) });
    const call = sessionCalls().at(-1)!;
    expect(call.method).toBe('POST');
    expect(call.form).toMatchObject({
      mode: 'payment',
      'line_items[0][quantity]': '1',
      'line_items[0][price_data][currency]': 'usd',
      'line_items[0][price_data][unit_amount]': '2550',
      'line_items[0][price_data][product_data][name]': 'Tollgate credits',
      client_reference_id: person.accountId,
      'metadata[account_id]': person.accountId,
      'payment_intent_data[metadata][account_id]': person.accountId,
      success_url: `${gw.config.PUBLIC_URL}/billing?checkout=success`,
      cancel_url: `${gw.config.PUBLIC_URL}/billing?checkout=cancel`,
    });
    expect(call.idempotencyKey).toMatch(/^tollgate-checkout:[0-9a-f]{64}$/);
    // The edges: $5.00 and the maximum are accepted.
    expect((await checkout('5.00')).status).toBe(201);
    expect((await checkout('500.00')).status).toBe(201);
    // Nothing is credited by a checkout: only the webhook credits.
    expect(await gw.available(person.accountId)).toBe(0n);
  }, 30_000);

  it('answers the same session for the same Idempotency-Key, and refuses the key with another amount', async () => {
    const key = `k-${Date.now()}`;
    const a = (await (await checkout('10.00', { 'idempotency-key': key })).json()) as { id: string };
    const b = (await (await checkout('10.00', { 'idempotency-key': key })).json()) as { id: string };
    expect(b.id).toBe(a.id);
    const other = await checkout('11.00', { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('idempotency_mismatch');
    // Another person with the same key gets a session of their own.
    const someoneElse = await signedIn(gw);
    const c = (await (await someoneElse.fetch('/api/billing/checkout', { method: 'POST', body: { amount: '10.00' }, headers: { 'idempotency-key': key } })).json()) as { id: string };
    expect(c.id).not.toBe(a.id);
    expect((await checkout('10.00', { 'idempotency-key': 'k'.repeat(256) })).status).toBe(400);
  }, 30_000);

  it('refuses amounts below $5, above the maximum, and malformed ones, naming the field, asking nothing of Stripe', async () => {
    const before = sessionCalls().length;
    const cases: Array<[unknown, RegExp]> = [
      ['4.99', /^amount: must be at least 5\.00/],
      ['500.01', /^amount: must be at most 500\.00/],
      ['5', /^amount: must be a string of dollars and cents/],
      ['5.001', /^amount: must be a string of dollars and cents/],
      ['-5.00', /^amount: must be a string/],
      ['1e3', /^amount: must be a string/],
      [' ', /^amount: must be a string/],
      ['', /^amount: must be a string/],
      [5, /^amount: must be a string/],
      [5.0, /^amount: must be a string/],
      [null, /^amount: must be a string/],
      [{ value: '5.00' }, /^amount: must be a string/],
      ['9'.repeat(10_000), /^amount: must be a string/],
    ];
    for (const [amount, message] of cases) {
      const res = await checkout(amount);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect({ amount, status: res.status, code: body.error.code }).toEqual({ amount, status: 400, code: 'validation_failed' });
      expect(body.error.message).toMatch(message);
    }
    const missing = await person.fetch('/api/billing/checkout', { method: 'POST', body: {} });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/^amount: is required/);
    const extra = await person.fetch('/api/billing/checkout', { method: 'POST', body: { amount: '5.00', currency: 'eur' } });
    expect(extra.status).toBe(400);
    expect(sessionCalls().length).toBe(before);
  }, 30_000);

  it('needs a signed-in person or a management key', async () => {
    const res = await fetch(`${gw.url}/api/billing/checkout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: '5.00' }) });
    expect(res.status).toBe(401);
  });

  it('answers 503 with a clear message when Stripe is down, and nothing is recorded', async () => {
    fake.down = true;
    try {
      const events = async () => (await gw.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE stream_id LIKE 'stripe-%'")).rows[0].n;
      const before = await events();
      const res = await checkout('20.00');
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('stripe_unavailable');
      expect(body.error.message).toMatch(/cannot be reached/);
      expect(await events()).toBe(before);
      expect(await gw.available(person.accountId)).toBe(0n);
    } finally {
      fake.down = false;
    }
  }, 30_000);

  it('answers 503 stripe_not_configured on a gateway without a Stripe key', async () => {
    const bare = await startGateway({ db: gw.db });
    try {
      const someone = await signedIn(bare);
      const res = await someone.fetch('/api/billing/checkout', { method: 'POST', body: { amount: '5.00' } });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('stripe_not_configured');
      const hook = await fetch(`${bare.url}/webhooks/stripe`, { method: 'POST', headers: { 'stripe-signature': 't=1,v1=x' }, body: '{}' });
      expect(hook.status).toBe(503);
    } finally {
      await bare.close();
    }
  }, 60_000);
});
