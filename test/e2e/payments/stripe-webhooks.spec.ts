/**
 * POST /webhooks/stripe end to end: webhooks signed the way Stripe signs them
 * (stripe.webhooks.generateTestHeaderString), delivered to the booted app on the machine's
 * Postgres and Redis, receipts through a real SMTP receiver, the reconciler against the fake
 * Stripe's lists, and the built CLI's `ledger verify` and `trial-balance` after the scenarios.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { accountStream } from '../../../src/ledger/domain/events';
import { StripeReconciler } from '../../../src/payments/stripe/stripe-reconciler';
import { SignedIn, signedIn } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import {
  FakeStripe,
  asyncPaymentFailedEvent,
  asyncPaymentSucceededEvent,
  chargeRefundedEvent,
  checkoutCompletedEvent,
  deliverWebhook,
  disputeClosedEvent,
  disputeCreatedEvent,
  startFakeStripe,
} from '../../support/fake-stripe';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

const newPi = () => `pi_${randomBytes(10).toString('hex')}`;

describe('Stripe webhooks (booted app, fake Stripe, real Postgres, Redis and SMTP)', () => {
  let fake: FakeStripe;
  let smtp: SmtpReceiver;
  let gw: Gateway;
  let ledger: LedgerService;
  const deliver = (event: object, opts?: Parameters<typeof deliverWebhook>[3]) => deliverWebhook(gw.url, fake, event, opts);
  const count = async (sql: string, args: unknown[]) => (await gw.db.pool.query<{ n: number }>(sql, args)).rows[0].n;
  const credits = (pi: string) => count("SELECT count(*)::int AS n FROM events WHERE type = 'CreditsPurchased' AND data->>'paymentId' = $1", [pi]);
  const streamTypes = async (pi: string) => (await gw.db.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version', [`stripe-${pi}`])).rows.map((r) => r.type);
  const paid = async (person: SignedIn, cents: number, pi = newPi()) => {
    const r = await deliver(checkoutCompletedEvent({ accountId: person.accountId, cents, paymentIntent: pi }));
    expect(r.status).toBe(200);
    return pi;
  };

  beforeAll(async () => {
    fake = await startFakeStripe();
    smtp = await startSmtpReceiver();
    gw = await startGateway({
      env: { STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_URL: fake.url, SMTP_URL: smtp.url, MAIL_FROM: 'Tollgate <billing@tollgate.test>' },
    });
    ledger = gw.app.get(LedgerService);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await smtp?.close();
    await fake?.close();
  });

  it('credits a paid checkout once, to the account in its metadata, and mails a receipt', async () => {
    const person = await signedIn(gw);
    const pi = newPi();
    const r = await deliver(checkoutCompletedEvent({ accountId: person.accountId, cents: 2550, paymentIntent: pi }));
    expect(r).toEqual({ status: 200, body: { received: true, outcome: 'recorded', paymentIntent: pi, recorded: 1 } });
    // 2xx came after the credit was durable: no waiting needed.
    expect(await gw.available(person.accountId)).toBe(25_500_000n);
    expect(await streamTypes(pi)).toEqual(['StripePaymentSucceeded']);
    const mail = await smtp.messageTo(person.email, 10_000);
    expect(mail.subject).toBe('Receipt: 25.500000 Tollgate credits');
    expect(mail.text).toContain('card (Stripe)');
    expect(mail.text).toContain(pi);
  }, 30_000);

  it('credits the same webhook delivered 5 times in a row and 5 times at once exactly once (and mails once)', async () => {
    const person = await signedIn(gw);
    const pi = newPi();
    const event = checkoutCompletedEvent({ accountId: person.accountId, cents: 1000, paymentIntent: pi });
    for (let i = 0; i < 5; i++) expect((await deliver(event)).status).toBe(200);
    const pi2 = newPi();
    const event2 = checkoutCompletedEvent({ accountId: person.accountId, cents: 700, paymentIntent: pi2 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(event2)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.filter((a) => a.body.recorded === 1)).toHaveLength(1);
    expect(await credits(pi)).toBe(1);
    expect(await credits(pi2)).toBe(1);
    expect(await gw.available(person.accountId)).toBe(17_000_000n);
    expect(await streamTypes(pi2)).toEqual(['StripePaymentSucceeded']);
    await smtp.messageTo(person.email, 10_000);
    await smtp.messageTo(person.email, 10_000, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(smtp.messages.filter((m) => m.envelopeTo.includes(person.email))).toHaveLength(2);
  }, 30_000);

  it('credits once when both completed and async_payment_succeeded tell of one payment, in either order', async () => {
    const person = await signedIn(gw);
    const a = newPi();
    await deliver(checkoutCompletedEvent({ accountId: person.accountId, cents: 600, paymentIntent: a }));
    await deliver(asyncPaymentSucceededEvent({ accountId: person.accountId, cents: 600, paymentIntent: a }));
    const b = newPi();
    await deliver(asyncPaymentSucceededEvent({ accountId: person.accountId, cents: 900, paymentIntent: b }));
    await deliver(checkoutCompletedEvent({ accountId: person.accountId, cents: 900, paymentIntent: b }));
    expect([await credits(a), await credits(b)]).toEqual([1, 1]);
    expect(await gw.available(person.accountId)).toBe(15_000_000n);
  }, 30_000);

  it('records an unpaid checkout as pending and credits on async success; an async failure credits nothing', async () => {
    const person = await signedIn(gw);
    const later = newPi();
    const pending = await deliver(checkoutCompletedEvent({ accountId: person.accountId, cents: 1200, paymentIntent: later, paymentStatus: 'unpaid' }));
    expect(pending.status).toBe(200);
    expect(await gw.available(person.accountId)).toBe(0n);
    expect((await deliver(asyncPaymentSucceededEvent({ accountId: person.accountId, cents: 1200, paymentIntent: later }))).status).toBe(200);
    expect(await gw.available(person.accountId)).toBe(12_000_000n);
    expect(await streamTypes(later)).toEqual(['StripePaymentPending', 'StripePaymentSucceeded']);

    const failed = newPi();
    await deliver(checkoutCompletedEvent({ accountId: person.accountId, cents: 800, paymentIntent: failed, paymentStatus: 'unpaid' }));
    const f = await deliver(asyncPaymentFailedEvent({ accountId: person.accountId, cents: 800, paymentIntent: failed }));
    expect(f.status).toBe(200);
    expect(await credits(failed)).toBe(0);
    expect(await streamTypes(failed)).toEqual(['StripePaymentPending', 'StripePaymentFailed']);
    expect(await gw.available(person.accountId)).toBe(12_000_000n);
  }, 30_000);

  it('refuses a tampered body, a stale timestamp, a wrong secret, no signature and garbage with 400, changing nothing', async () => {
    const person = await signedIn(gw);
    const pi = newPi();
    const event = checkoutCompletedEvent({ accountId: person.accountId, cents: 5000, paymentIntent: pi });
    const attempts = [
      await deliver(event, { tamper: (b) => b.replace('"amount_total":5000', '"amount_total":500000') }),
      await deliver(event, { tamper: (b) => `${b} ` }),
      await deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      await deliver(event, { secret: 'whsec_someone_else' }),
      await deliver(event, { noSignature: true }),
    ];
    for (const a of attempts) expect(a).toMatchObject({ status: 400, body: { error: { code: 'invalid_signature' } } });
    const garbage = await fetch(`${gw.url}/webhooks/stripe`, { method: 'POST', headers: { 'stripe-signature': 'nonsense', 'content-type': 'text/plain' }, body: 'x'.repeat(100) });
    expect(garbage.status).toBe(400);
    const huge = await fetch(`${gw.url}/webhooks/stripe`, { method: 'POST', headers: { 'stripe-signature': 't=1,v1=00', 'content-type': 'application/json' }, body: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(await streamTypes(pi)).toEqual([]);
    expect(await gw.available(person.accountId)).toBe(0n);
    // No body or signature in the logs.
    expect(gw.logs.join('\n')).not.toContain(fake.webhookSecret);
    expect(gw.logs.join('\n')).not.toContain('amount_total');
  }, 30_000);

  it('answers 200 to event types it does not act on, and 400 to a signed event with a malformed field', async () => {
    const ignored = await deliver({ id: 'evt_x', object: 'event', type: 'customer.created', data: { object: { id: 'cus_1' } } });
    expect(ignored).toMatchObject({ status: 200, body: { received: true, outcome: 'ignored' } });
    const person = await signedIn(gw);
    const bad = checkoutCompletedEvent({ accountId: person.accountId, cents: 500 });
    const r = await deliver({ ...bad, data: { object: { ...bad.data.object, amount_total: -5 } } });
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'invalid_event', message: expect.stringContaining('amount_total') } } });
    expect(await gw.available(person.accountId)).toBe(0n);
  });

  it('credits what Stripe says was paid outside $5..max, with a warning; keeps a payment for an unknown account as unassigned', async () => {
    const person = await signedIn(gw);
    const small = await paid(person, 100);
    expect(await gw.available(person.accountId)).toBe(1_000_000n);
    expect(gw.logs.some((l) => l.includes(small) && l.includes('outside $5'))).toBe(true);

    const nobody = randomUUID();
    const orphan = newPi();
    const r = await deliver(checkoutCompletedEvent({ accountId: nobody, cents: 2000, paymentIntent: orphan }));
    expect(r.status).toBe(200);
    expect(await streamTypes(orphan)).toEqual(['StripePaymentUnassigned']);
    expect(await credits(orphan)).toBe(0);
    expect((await ledger.load(nobody)).state.opened).toBe(false);
    expect(gw.logs.some((l) => l.includes(orphan) && l.includes('not credited'))).toBe(true);
    // The reconciler names it (Stripe shows the payment as succeeded).
    fake.payments.set(orphan, { id: orphan, amount: 2000, amount_received: 2000, currency: 'usd', status: 'succeeded', created: Math.floor(Date.now() / 1000), latest_charge: null, metadata: { account_id: nobody } });
    const from = new Date(Date.now() - 60_000);
    const { differences } = await gw.app.get(StripeReconciler).reconcile(from, new Date(Date.now() + 60_000));
    expect(differences).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'missing_in_ledger', reference: orphan, detail: `not credited: no account ${nobody}`, outside: '20.000000' })]));
    fake.payments.delete(orphan);
  }, 30_000);

  it('books a refund made in Stripe’s dashboard: from available, and what was spent as a receivable', async () => {
    const person = await signedIn(gw);
    const pi = await paid(person, 1000);
    const first = `re_${randomBytes(8).toString('hex')}`;
    const r1 = chargeRefundedEvent({ paymentIntent: pi, cents: 1000, refunds: [{ id: first, cents: 300 }] });
    expect((await deliver(r1)).status).toBe(200);
    expect((await deliver(r1)).status).toBe(200); // again: booked once
    expect(await gw.available(person.accountId)).toBe(7_000_000n);
    // Spend 6 of the 7 credits left, then Stripe refunds the other 7 dollars: 1 from available, 6 owed.
    const holdId = randomUUID();
    await ledger.execute(person.accountId, { type: 'PlaceHold', data: { holdId, amount: 6_000_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(person.accountId, { type: 'SettleHold', data: { holdId, amount: 6_000_000n } });
    const second = `re_${randomBytes(8).toString('hex')}`;
    const r2 = chargeRefundedEvent({ paymentIntent: pi, cents: 1000, refunds: [{ id: first, cents: 300 }, { id: second, cents: 700 }] });
    expect((await deliver(r2)).status).toBe(200);
    const { state } = await ledger.load(person.accountId);
    expect(state.available).toBe(0n);
    expect(state.receivable).toBe(6_000_000n);
    const refunds = await gw.db.pool.query<{ data: Record<string, string> }>("SELECT data FROM events WHERE type = 'CreditsRefunded' AND stream_id = $1 ORDER BY stream_version", [`account-${person.accountId}`]);
    expect(refunds.rows.map((r) => r.data)).toEqual([
      expect.objectContaining({ amount: '3000000', reason: 'refunded in Stripe', paymentId: pi }),
      expect.objectContaining({ refundId: second, amount: '7000000', owed: '6000000' }),
    ]);
    // Then a purchase repays the debt first.
    await paid(person, 1000);
    expect((await ledger.load(person.accountId)).state).toMatchObject({ available: 4_000_000n, receivable: 0n });
  }, 30_000);

  it('records a refund that arrives before its payment, and books it right after the credit', async () => {
    const person = await signedIn(gw);
    const pi = newPi();
    const early = await deliver(chargeRefundedEvent({ paymentIntent: pi, cents: 2000, refunds: [{ cents: 500 }] }));
    expect(early.status).toBe(200);
    expect(await gw.available(person.accountId)).toBe(0n);
    await paid(person, 2000, pi);
    expect(await gw.available(person.accountId)).toBe(15_000_000n);
    expect(await streamTypes(pi)).toEqual(['StripeRefundSeen', 'StripePaymentSucceeded']);
  }, 30_000);

  it('fetches the refunds from Stripe when the charge event does not list them', async () => {
    const person = await signedIn(gw);
    const pi = await paid(person, 1500);
    const refundId = `re_${randomBytes(8).toString('hex')}`;
    fake.refunds.set(refundId, { id: refundId, object: 'refund', amount: 500, charge: 'ch_1', payment_intent: pi, status: 'succeeded', created: Math.floor(Date.now() / 1000), currency: 'usd', metadata: {}, reason: null });
    const ev = chargeRefundedEvent({ paymentIntent: pi, cents: 1500, refunds: [] });
    const r = await deliver({ ...ev, data: { object: { ...ev.data.object, refunds: undefined } } });
    expect(r.status).toBe(200);
    expect(await gw.available(person.accountId)).toBe(10_000_000n);
    fake.refunds.delete(refundId);
  }, 30_000);

  it('answers 5xx while the ledger refuses (a refund of an approved request whose freeze is not there), and books it once Stripe redelivers after the freeze exists', async () => {
    const person = await signedIn(gw);
    const pi = await paid(person, 2000);
    const requestId = randomUUID();
    const refundId = `re_${randomBytes(8).toString('hex')}`;
    const event = chargeRefundedEvent({ paymentIntent: pi, cents: 2000, refunds: [{ id: refundId, cents: 800, metadata: { refund_request_id: requestId } }] });
    const refused = await deliver(event);
    expect(refused).toMatchObject({ status: 500, body: { error: { code: 'not_recorded' } } });
    expect(await gw.available(person.accountId)).toBe(20_000_000n);
    expect(gw.logs.some((l) => l.includes(event.id) && l.includes('RefundCredits'))).toBe(true);
    // The approval flow freezes, as it does before asking Stripe; Stripe delivers again.
    await ledger.execute(person.accountId, { type: 'FreezeCredits', data: { freezeId: requestId, paymentId: pi, amount: 8_000_000n, reason: 'refund request' } });
    expect((await deliver(event)).status).toBe(200);
    // The approval flow's own booking of the same refund is then a retry.
    const again = await ledger.execute(person.accountId, { type: 'RefundCredits', data: { refundId, amount: 8_000_000n, reason: `refund request ${requestId}`, freezeId: requestId } });
    expect(again.events).toEqual([]);
    const { state } = await ledger.load(person.accountId);
    expect(state).toMatchObject({ available: 12_000_000n, frozen: 0n });
  }, 30_000);

  it('reconciles Stripe’s payments and refunds against the ledger', async () => {
    const person = await signedIn(gw);
    const now = Math.floor(Date.now() / 1000);
    const pi = (id: string, cents: number) => ({ id, amount: cents, amount_received: cents, currency: 'usd', status: 'succeeded' as const, created: now, latest_charge: null, metadata: {} });
    const ok = await paid(person, 1000);
    const differs = await paid(person, 1000);
    const missing = newPi();
    const notInStripe = await paid(person, 700);
    fake.payments.set(ok, pi(ok, 1000));
    fake.payments.set(differs, pi(differs, 1100));
    fake.payments.set(missing, pi(missing, 500));
    const refundId = `re_${randomBytes(8).toString('hex')}`;
    fake.refunds.set(refundId, { id: refundId, object: 'refund', amount: 200, charge: null, payment_intent: ok, status: 'succeeded', created: now, currency: 'usd', metadata: {}, reason: null });
    const { differences, compared } = await gw.app.get(StripeReconciler).reconcile(new Date(Date.now() - 60_000), new Date(Date.now() + 60_000));
    const mine = differences.filter((d) => [ok, differs, missing, notInStripe, refundId].includes(d.reference));
    expect(mine.map((d) => [d.kind, d.reference]).sort()).toEqual(
      [
        ['amount_differs', differs],
        ['missing_in_ledger', missing],
        ['missing_in_ledger', refundId],
        ['missing_in_stripe', notInStripe],
      ].sort(),
    );
    expect(compared).toBeGreaterThanOrEqual(5);
    // Once the refund's webhook arrives, it reconciles.
    await deliver(chargeRefundedEvent({ paymentIntent: ok, cents: 1000, refunds: [{ id: refundId, cents: 200 }] }));
    const after = await gw.app.get(StripeReconciler).reconcile(new Date(Date.now() - 60_000), new Date(Date.now() + 60_000));
    expect(after.differences.find((d) => d.reference === refundId)).toBeUndefined();
    for (const id of [ok, differs, missing]) fake.payments.delete(id);
    fake.refunds.delete(refundId);
  }, 30_000);

  // Second to last: starting another app takes over Nest's global logger, which gw.logs reads.
  it('two instances: news about a payment delivered to either is carried out once, and each answers redeliveries', async () => {
    const other = await startGateway({ db: gw.db, env: { STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_URL: fake.url } });
    try {
      const accountId = await gw.account(0n);
      const pi = newPi();
      const disputeId = `dp_${randomBytes(8).toString('hex')}`;
      const completed = checkoutCompletedEvent({ accountId, cents: 1200, paymentIntent: pi });
      const opened = disputeCreatedEvent({ disputeId, paymentIntent: pi, cents: 1200 });
      expect(await deliver(completed)).toMatchObject({ status: 200, body: { recorded: 1 } });
      // The dispute reaches the other instance; this one still remembers the payment as it carried it out.
      expect(await deliverWebhook(other.url, fake, opened)).toMatchObject({ status: 200, body: { recorded: 1 } });
      expect(await deliver(completed)).toMatchObject({ status: 200, body: { recorded: 0 } });
      // Its close reaches this one, whose memory lacks the opening: it reads the stream and carries out both.
      expect(await deliver(disputeClosedEvent({ disputeId, paymentIntent: pi, cents: 1200, status: 'lost' }))).toMatchObject({ status: 200, body: { recorded: 1 } });
      expect(await deliverWebhook(other.url, fake, opened)).toMatchObject({ status: 200, body: { recorded: 0 } });
      expect(await deliverWebhook(other.url, fake, completed)).toMatchObject({ status: 200, body: { recorded: 0 } });
      expect(await streamTypes(pi)).toEqual(['StripePaymentSucceeded', 'StripeDisputeOpened', 'StripeDisputeClosed']);
      const types = (await gw.db.pool.query<{ type: string }>('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version', [accountStream(accountId)])).rows.map((r) => r.type);
      expect(types.filter((t) => t !== 'AccountOpened')).toEqual(['CreditsPurchased', 'DisputeOpened', 'DisputeLost']);
      expect(await gw.available(accountId)).toBe(0n);

      // An instance that never saw a payment decides news of it on an empty stream first (no
      // read). Here the news is in the stream already, with more before it, and its booking
      // failed on this instance: the other one must not take "already recorded" for "done".
      const person = await signedIn(gw);
      const pi2 = await paid(person, 2000);
      const requestId = randomUUID();
      const refundId = `re_${randomBytes(8).toString('hex')}`;
      const refunded = chargeRefundedEvent({ paymentIntent: pi2, cents: 2000, refunds: [{ id: refundId, cents: 800, metadata: { refund_request_id: requestId } }] });
      expect(await deliver(refunded)).toMatchObject({ status: 500 }); // recorded, not booked: the freeze is not there
      await ledger.execute(person.accountId, { type: 'FreezeCredits', data: { freezeId: requestId, paymentId: pi2, amount: 8_000_000n, reason: 'refund request' } });
      expect(await deliverWebhook(other.url, fake, refunded)).toMatchObject({ status: 200, body: { recorded: 0 } });
      expect(await streamTypes(pi2)).toEqual(['StripePaymentSucceeded', 'StripeRefundSeen']);
      expect(await count("SELECT count(*)::int AS n FROM events WHERE type = 'CreditsRefunded' AND stream_id = $1", [accountStream(person.accountId)])).toBe(1);
      expect((await ledger.load(person.accountId)).state).toMatchObject({ available: 12_000_000n, frozen: 0n });
      // And a new payment reaching the other instance first is recorded and credited once there.
      const pi3 = newPi();
      const completed3 = checkoutCompletedEvent({ accountId: person.accountId, cents: 500, paymentIntent: pi3 });
      expect(await deliverWebhook(other.url, fake, completed3)).toMatchObject({ status: 200, body: { recorded: 1 } });
      expect(await deliver(completed3)).toMatchObject({ status: 200, body: { recorded: 0 } });
      expect(await credits(pi3)).toBe(1);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('leaves a ledger that verifies and balances', async () => {
    const verify = await run(process.execPath, [CLI, 'ledger', 'verify'], { DATABASE_URL: gw.db.url });
    expect(verify).toMatchObject({ code: 0 });
    const tb = await run(process.execPath, [CLI, 'ledger', 'trial-balance', '--json'], { DATABASE_URL: gw.db.url });
    expect(JSON.parse(tb.stdout)).toMatchObject({ total: '0.000000', balanced: true });
  }, 60_000);
});
