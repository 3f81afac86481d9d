/**
 * Disputes end to end: Stripe's charge.dispute.created / .closed webhooks against the booted app,
 * and the proxy's answer to the account's own API key (the official OpenAI SDK against the fake
 * upstream): suspended (403 account_suspended) while a dispute is open for more than could be
 * frozen, working again once it is won; a lost one debits the freeze and owes the rest, never a
 * negative balance. `ledger verify` and the trial balance pass afterwards.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { CLI, run } from '../../support/cli-runner';
import { FakeStripe, checkoutCompletedEvent, deliverWebhook, disputeClosedEvent, disputeCreatedEvent, startFakeStripe } from '../../support/fake-stripe';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';

const newPi = () => `pi_${randomBytes(10).toString('hex')}`;
const newDp = () => `dp_${randomBytes(10).toString('hex')}`;

describe('Stripe disputes (booted app, fake Stripe, fake upstream, real Postgres and Redis)', () => {
  let fake: FakeStripe;
  let upstream: FakeUpstream;
  let gw: Gateway;
  let ledger: LedgerService;
  const deliver = async (event: object) => {
    const r = await deliverWebhook(gw.url, fake, event);
    expect(r.status).toBe(200);
    return r;
  };
  const spend = async (accountId: string, amount: bigint) => {
    const holdId = randomUUID();
    await ledger.execute(accountId, { type: 'PlaceHold', data: { holdId, amount, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(accountId, { type: 'SettleHold', data: { holdId, amount } });
  };
  const client = async (accountId: string) => {
    const { secret } = await gw.key(accountId);
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    return () => openai.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
  };
  /** A paid $10 purchase of which 4 credits are spent: 6 available. */
  const customer = async () => {
    const accountId = await gw.account(0n);
    const pi = newPi();
    await deliver(checkoutCompletedEvent({ accountId, cents: 1000, paymentIntent: pi }));
    await spend(accountId, 4_000_000n);
    return { accountId, pi };
  };

  beforeAll(async () => {
    fake = await startFakeStripe();
    upstream = await startFakeUpstream();
    gw = await startGateway({ openai: upstream, env: { STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_URL: fake.url } });
    ledger = gw.app.get(LedgerService);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await fake?.close();
  });

  it('freezes what it can, suspends the account while it owes the rest, and releases it when the dispute is won', async () => {
    const { accountId, pi } = await customer();
    const ask = await client(accountId);
    await ask(); // works before the dispute
    await gw.requests(accountId, 1); // settled
    const before = (await ledger.load(accountId)).state.available;
    const disputeId = newDp();
    const created = disputeCreatedEvent({ disputeId, paymentIntent: pi, cents: 1000 });
    await deliver(created);
    await deliver(created); // redelivered: once
    let { state } = await ledger.load(accountId);
    expect(state).toMatchObject({ available: 0n, frozen: before });
    await expect(ask()).rejects.toMatchObject({ status: 403, error: expect.objectContaining({ code: 'account_suspended' }) });

    await deliver(disputeClosedEvent({ disputeId, paymentIntent: pi, cents: 1000, status: 'won' }));
    ({ state } = await ledger.load(accountId));
    expect(state).toMatchObject({ available: before, frozen: 0n, receivable: 0n });
    const answer = await ask();
    expect(answer.choices[0].message.content).toContain('Hello from fake-openai');
    const types = (await gw.db.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version', [`stripe-${pi}`])).rows.map((r) => r.type);
    expect(types).toEqual(['StripePaymentSucceeded', 'StripeDisputeOpened', 'StripeDisputeClosed']);
  }, 30_000);

  it('debits the freeze when lost and owes the shortfall (never a negative balance); the next purchase repays it first', async () => {
    const { accountId, pi } = await customer();
    const ask = await client(accountId);
    const disputeId = newDp();
    await deliver(disputeCreatedEvent({ disputeId, paymentIntent: pi, cents: 1000 }));
    const lost = disputeClosedEvent({ disputeId, paymentIntent: pi, cents: 1000, status: 'lost' });
    await deliver(lost);
    await deliver(lost);
    let { state } = await ledger.load(accountId);
    expect(state).toMatchObject({ available: 0n, frozen: 0n, receivable: 4_000_000n, disputeOwed: 4_000_000n });
    await expect(ask()).rejects.toMatchObject({ status: 403 });
    // A new $5 purchase repays the 4 owed first: 1 available, no longer suspended.
    await deliver(checkoutCompletedEvent({ accountId, cents: 500, paymentIntent: newPi() }));
    ({ state } = await ledger.load(accountId));
    expect(state).toMatchObject({ available: 1_000_000n, receivable: 0n, disputeOwed: 0n });
    await ask();
  }, 30_000);

  it('records a dispute that arrives before its payment, and applies it after the credit; a close without its creation opens it first', async () => {
    const accountId = await gw.account(0n);
    const pi = newPi();
    const disputeId = newDp();
    await deliver(disputeCreatedEvent({ disputeId, paymentIntent: pi, cents: 500 }));
    expect((await ledger.load(accountId)).state.available).toBe(0n);
    await deliver(checkoutCompletedEvent({ accountId, cents: 2000, paymentIntent: pi }));
    expect((await ledger.load(accountId)).state).toMatchObject({ available: 15_000_000n, frozen: 5_000_000n });

    const other = await gw.account(0n);
    const pi2 = newPi();
    await deliver(checkoutCompletedEvent({ accountId: other, cents: 1000, paymentIntent: pi2 }));
    await deliver(disputeClosedEvent({ disputeId: newDp(), paymentIntent: pi2, cents: 1000, status: 'lost' }));
    expect((await ledger.load(other)).state).toMatchObject({ available: 0n, frozen: 0n, receivable: 0n });
  }, 30_000);

  it('leaves a ledger that verifies and balances', async () => {
    const verify = await run(process.execPath, [CLI, 'ledger', 'verify'], { DATABASE_URL: gw.db.url });
    expect(verify).toMatchObject({ code: 0 });
    const tb = await run(process.execPath, [CLI, 'ledger', 'trial-balance', '--json'], { DATABASE_URL: gw.db.url });
    expect(JSON.parse(tb.stdout)).toMatchObject({ total: '0.000000', balanced: true });
    expect((JSON.parse(tb.stdout) as { lines: Array<{ ledgerAccount: string }> }).lines.map((l) => l.ledgerAccount)).toContain('chargebacks');
  }, 60_000);
});
