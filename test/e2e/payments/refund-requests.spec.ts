/**
 * Refund requests end to end (issue 20): the booted app on a fresh database, a local Stripe
 * (test/support/fake-stripe.ts) reached through the `stripe` SDK, and the built CLI. Purchases
 * are booked through the ledger (the stripe helper's webhook is not needed to make one); spending
 * is real holds settled through the ledger. After every scenario the ledger verifies and the
 * trial balance sums to zero.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { UsersService } from '../../../src/accounts/application/users.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { eventIdFor } from '../../../src/ledger/domain/event-ids';
import { evolveAll } from '../../../src/ledger/domain/account.decider';
import { accountStream, decodeLedgerEvent, encodeLedgerEvent } from '../../../src/ledger/domain/events';
import { EVENT_STORE, EventStore } from '../../../src/platform/event-store/event-store.port';
import { RefundRequestsService } from '../../../src/payments/refunds/application/refund-requests.service';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import { FakeStripe, startFakeStripe } from '../../support/fake-stripe';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

const c = (n: number) => BigInt(Math.round(n * 1_000_000));
type Json = Record<string, any>;

describe('refund requests (booted app, fake Stripe, built CLI, real Postgres and Redis)', () => {
  let gw: Gateway;
  let fake: FakeStripe;
  let ledger: LedgerService;
  let staff: SignedIn;
  let smtp: SmtpReceiver;
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, ...args], { DATABASE_URL: gw.db.url, STRIPE_SECRET_KEY: fake.secretKey, STRIPE_API_URL: fake.url, SMTP_URL: smtp.url });

  beforeAll(async () => {
    fake = await startFakeStripe();
    smtp = await startSmtpReceiver();
    gw = await startGateway({ env: { STRIPE_SECRET_KEY: fake.secretKey, STRIPE_API_URL: fake.url, SMTP_URL: smtp.url } });
    ledger = gw.app.get(LedgerService);
    const email = uniqueEmail('accountant');
    const first = await signedIn(gw, email);
    await gw.app.get(UsersService).execute(first.userId, { type: 'GrantRole', data: { role: 'accountant', by: 'cli:test', reason: 'refund tests' } }, 'cli:test');
    staff = await signedIn(gw, email); // a session made after the grant
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await smtp?.close();
  });

  afterEach(async () => {
    const [verify, tb] = await Promise.all([tollgate('ledger', 'verify'), tollgate('ledger', 'trial-balance', '--json')]);
    expect(verify).toMatchObject({ code: 0 });
    expect(tb).toMatchObject({ code: 0 });
    expect(JSON.parse(tb.stdout)).toMatchObject({ total: '0.000000', balanced: true });
  }, 60_000);

  /** A card purchase booked as the webhook would, and known to the fake Stripe. */
  async function buyCard(accountId: string, credits: number): Promise<string> {
    const paymentId = `pi_${randomBytes(12).toString('hex')}`;
    await ledger.execute(accountId, { type: 'PurchaseCredits', data: { paymentId, amount: c(credits) } });
    const cents = Number(c(credits) / 10_000n);
    fake.payments.set(paymentId, {
      id: paymentId,
      amount: cents,
      amount_received: cents,
      currency: 'usd',
      status: 'succeeded',
      created: Math.floor(Date.now() / 1000),
      latest_charge: `ch_${randomBytes(8).toString('hex')}`,
      metadata: { account_id: accountId },
    });
    return paymentId;
  }

  async function buyCrypto(accountId: string, credits: number): Promise<string> {
    const txHash = `0x${randomBytes(32).toString('hex')}`;
    await ledger.execute(accountId, { type: 'CreditCryptoPayment', data: { amount: c(credits), chainId: 8453, txHash, logIndex: 0, token: 'USDC' } });
    return `chain-8453-${txHash}-0`;
  }

  /** Spending as a proxied request does it: a hold, settled for its cost. */
  async function spend(accountId: string, credits: number): Promise<void> {
    const holdId = randomUUID();
    await ledger.execute(accountId, { type: 'PlaceHold', data: { holdId, amount: c(credits), expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(accountId, { type: 'SettleHold', data: { holdId, amount: c(credits) } });
  }

  const ask = (who: SignedIn, body: unknown) => who.fetch('/api/billing/refund-requests', { method: 'POST', body });
  const approve = (id: string, body: unknown = { reason: 'unused credit, within policy' }) => staff.fetch(`/staff/refund-requests/${id}/approve`, { method: 'POST', body });
  const decline = (id: string, body: unknown = { reason: 'outside policy' }) => staff.fetch(`/staff/refund-requests/${id}/decline`, { method: 'POST', body });
  const json = async (res: Response): Promise<Json> => (await res.json()) as Json;
  const errorOf = async (res: Response) => [res.status, ((await res.json()) as { error: { code: string } }).error.code];
  async function requested(who: SignedIn, body: Json): Promise<Json> {
    const res = await ask(who, body);
    const b = await json(res);
    if (res.status !== 201) throw new Error(`refund request answered ${res.status}: ${JSON.stringify(b)}${res.status >= 500 ? `\n${gw.logs.filter((l) => l.includes('"level":50')).slice(-2).join("\n")}` : ''}`);
    return b;
  }
  const refundsOf = async (accountId: string) =>
    (await gw.db.pool.query<{ data: Json }>(`SELECT data FROM events WHERE stream_id = $1 AND type = 'CreditsRefunded' ORDER BY stream_version`, [accountStream(accountId)])).rows.map((r) => r.data);
  const stripeRefundsFor = (requestId: string) => [...fake.refunds.values()].filter((r) => r.metadata.refund_request_id === requestId);
  const refundCalls = (requestId: string) => fake.calls.filter((call) => call.method === 'POST' && call.path === '/v1/refunds' && call.idempotencyKey === `refund-request-${requestId}`);

  it('lists purchases with their unspent part and asks for all of it by default; one open request per purchase', async () => {
    const person = await signedIn(gw);
    const older = await buyCard(person.accountId, 10);
    const newer = await buyCard(person.accountId, 20);
    await spend(person.accountId, 4.5); // from the older purchase first
    const purchases = await json(await person.fetch('/api/billing/purchases'));
    expect(purchases.data).toEqual([
      expect.objectContaining({ id: newer, method: 'card', amount: '20.000000', unspent: '20.000000', frozen: '0.000000' }),
      expect.objectContaining({ id: older, method: 'card', amount: '10.000000', unspent: '5.500000' }),
    ]);
    const until = Date.parse(purchases.data[1].refundableUntil) - Date.parse(purchases.data[1].purchasedAt);
    expect(until).toBe(30 * 86_400_000);

    const r = await requested(person, { purchaseId: older, reason: 'I bought too much' });
    expect(r).toMatchObject({ purchaseId: older, method: 'card', amount: '5.500000', status: 'requested', reason: 'I bought too much' });
    expect(await errorOf(await ask(person, { purchaseId: older, reason: 'again' }))).toEqual([409, 'refund_request_open']);
    const mine = await json(await person.fetch('/api/billing/refund-requests'));
    expect(mine.data.map((x: Json) => x.id)).toEqual([r.id]);
    expect(mine.data[0].reason).toBe('I bought too much');
    // The reason is stored sealed with the person's key, not in clear.
    const stored = await gw.db.pool.query<{ reason: string }>('SELECT reason FROM refund_requests WHERE request_id = $1', [r.id]);
    expect(stored.rows[0].reason).toMatch(/^v1:/);
    const event = await gw.db.pool.query<{ data: string }>('SELECT data::text AS data FROM events WHERE stream_id = $1', [`refundrequest-${r.id}`]);
    expect(event.rows[0].data).not.toContain('I bought too much');

    // Five at once for the other purchase: exactly one is made.
    const answers = await Promise.all(Array.from({ length: 5 }, () => ask(person, { purchaseId: newer, amount: '1', reason: 'race' })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409]);
  }, 60_000);

  it('never more than the unspent part; refuses bad input, fully spent, unknown and other accounts’ purchases', async () => {
    const person = await signedIn(gw);
    const other = await signedIn(gw);
    const pid = await buyCard(person.accountId, 10);
    const spentOut = await buyCard(person.accountId, 3);
    await spend(person.accountId, 10 + 1); // oldest first: all of pid, then 1 of spentOut
    const theirs = await buyCard(other.accountId, 10);
    expect(await errorOf(await ask(person, { purchaseId: pid, reason: 'x' }))).toEqual([409, 'nothing_to_refund']);
    expect(await errorOf(await ask(person, { purchaseId: spentOut, amount: '2.01', reason: 'x' }))).toEqual([409, 'refund_exceeds_unspent']);
    expect(await errorOf(await ask(person, { purchaseId: spentOut, amount: '1.005', reason: 'x' }))).toEqual([400, 'invalid_amount']);
    expect(await errorOf(await ask(person, { purchaseId: theirs, reason: 'x' }))).toEqual([404, 'purchase_not_found']);
    expect(await errorOf(await ask(person, { purchaseId: 'pi_doesnotexist', reason: 'x' }))).toEqual([404, 'purchase_not_found']);
    expect(await errorOf(await ask(person, { purchaseId: 'grant-1', reason: 'x' }))).toEqual([404, 'purchase_not_found']);
    for (const bad of [
      { purchaseId: spentOut },
      { purchaseId: spentOut, reason: '' },
      { purchaseId: spentOut, reason: 'x'.repeat(501) },
      { purchaseId: spentOut, reason: 'x', amount: '0' },
      { purchaseId: spentOut, reason: 'x', amount: '-1' },
      { purchaseId: spentOut, reason: 'x', amount: 'abc' },
      { purchaseId: spentOut, reason: 'x', amount: 1 },
      { purchaseId: spentOut, reason: 'x', amount: '1000000001' },
      { purchaseId: spentOut, reason: 'x', amount: '9'.repeat(40) },
      { purchaseId: spentOut, reason: 'x', extra: true },
      { purchaseId: 'p'.repeat(301), reason: 'x' },
    ]) {
      expect([bad, ...(await errorOf(await ask(person, bad)))]).toEqual([bad, 400, 'validation_failed']);
    }
    const ok = await requested(person, { purchaseId: spentOut, amount: '2', reason: 'the rest' });
    expect(ok.amount).toBe('2.000000');
    // Spent meanwhile: approval cannot freeze more than is unspent, and the request stays open.
    await spend(person.accountId, 1.5);
    expect(await errorOf(await approve(ok.id))).toEqual([409, 'refund_exceeds_unspent']);
    expect((await json(await decline(ok.id))).status).toBe('declined');
    expect(await gw.available(person.accountId)).toBe(c(0.5));
  }, 60_000);

  it('refuses a purchase made more than 30 days ago', async () => {
    const person = await signedIn(gw);
    const paymentId = `pi_${randomBytes(12).toString('hex')}`;
    // The purchase as the ledger would have recorded it 31 days ago: its event's recorded time.
    const store = gw.app.get<EventStore>(EVENT_STORE);
    const { version } = await ledger.load(person.accountId);
    const command = { type: 'PurchaseCredits' as const, data: { paymentId, amount: c(10) } };
    const event = encodeLedgerEvent({ type: 'CreditsPurchased', data: { paymentId, amount: c(10), provider: 'stripe' } });
    const occurredAt = new Date(Date.now() - 31 * 86_400_000).toISOString();
    await store.append(accountStream(person.accountId), [{ id: eventIdFor(person.accountId, command, 0), ...event, metadata: { occurredAt, command: 'PurchaseCredits', actor: 'test' } }], { expectedVersion: version });
    const recent = await buyCard(person.accountId, 5);
    const [status, code] = await errorOf(await ask(person, { purchaseId: paymentId, reason: 'late' }));
    expect([status, code]).toEqual([409, 'refund_window_passed']);
    expect((await requested(person, { purchaseId: recent, reason: 'in time' })).amount).toBe('5.000000');
  }, 60_000);

  it('card: approval freezes, refunds through Stripe once with the idempotency key, and books one CreditsRefunded; approving twice refunds once', async () => {
    const person = await signedIn(gw);
    const pid = await buyCard(person.accountId, 25);
    await spend(person.accountId, 5.004); // unspent 19.996: the default rounds down to whole cents
    const r = await requested(person, { purchaseId: pid, reason: 'not needed' });
    expect(r.amount).toBe('19.990000');
    const done = await approve(r.id);
    expect(done.status).toBe(200);
    const body = await json(done);
    expect(body).toMatchObject({ id: r.id, status: 'completed', stripeRefundId: expect.stringMatching(/^re_/), accountId: person.accountId, decidedBy: staff.userId });
    const calls = refundCalls(r.id);
    expect(calls).toHaveLength(1);
    expect(calls[0].form).toMatchObject({ payment_intent: pid, amount: '1999', 'metadata[refund_request_id]': r.id, 'metadata[account_id]': person.accountId });
    expect(await refundsOf(person.accountId)).toEqual([
      { refundId: body.stripeRefundId, amount: '19990000', reason: `refund request ${r.id}`, paymentId: pid, freezeId: r.id },
    ]);
    expect(await gw.available(person.accountId)).toBe(c(25 - 5.004 - 19.99));
    // Approving again, and at once several times: the same outcome, no new refund.
    const again = await Promise.all([approve(r.id), approve(r.id), approve(r.id)]);
    for (const a of again) expect((await json(a)).status).toBe('completed');
    expect(refundCalls(r.id)).toHaveLength(1);
    expect(await refundsOf(person.accountId)).toHaveLength(1);
    const audit = await gw.db.pool.query("SELECT actor FROM staff_audit WHERE action = 'refunds.approve' AND details->>'requestId' = $1", [r.id]);
    expect(audit.rows[0]).toEqual({ actor: staff.userId });
    const list = await json(await staff.fetch('/staff/refund-requests?status=completed'));
    expect(list.data.map((x: Json) => x.id)).toContain(r.id);
    // The person sees it completed.
    expect((await json(await person.fetch('/api/billing/refund-requests'))).data[0]).toMatchObject({ id: r.id, status: 'completed' });
    // And is told, once.
    const mail = await smtp.messageTo(person.email);
    expect(mail.subject).toBe('Refund made: 19.990000 credits');
    expect(mail.text).toContain(r.id);
    expect(smtp.messages.filter((m) => m.envelopeTo.includes(person.email))).toHaveLength(1);
  }, 60_000);

  it('card: two approvals racing from the start refund once', async () => {
    const person = await signedIn(gw);
    const pid = await buyCard(person.accountId, 8);
    const r = await requested(person, { purchaseId: pid, reason: 'race' });
    const answers = await Promise.all([approve(r.id), approve(r.id), approve(r.id)]);
    for (const a of answers) expect((await json(a)).status).toBe('completed');
    expect(stripeRefundsFor(r.id)).toHaveLength(1);
    expect(await refundsOf(person.accountId)).toHaveLength(1);
    expect(await gw.available(person.accountId)).toBe(0n);
    await smtp.messageTo(person.email);
    await new Promise((res) => setTimeout(res, 200));
    expect(smtp.messages.filter((m) => m.envelopeTo.includes(person.email))).toHaveLength(1);
  }, 60_000);

  it('card: the charge.refunded webhook booking the refund before Stripe’s answer arrives, and again after, books it once', async () => {
    const person = await signedIn(gw);
    const pid = await buyCard(person.accountId, 6);
    const r = await requested(person, { purchaseId: pid, reason: 'webhook first' });
    // What the stripe webhook books for a refund that carries refund_request_id: exactly these fields.
    const asWebhook = (refundId: string) =>
      ledger.execute(person.accountId, { type: 'RefundCredits', data: { refundId, amount: c(6), reason: `refund request ${r.id}`, freezeId: r.id } });
    fake.refundDelayMs = 1500;
    try {
      const approving = approve(r.id);
      let refund = stripeRefundsFor(r.id)[0];
      for (let i = 0; i < 200 && !refund; i++) {
        await new Promise((res) => setTimeout(res, 10));
        refund = stripeRefundsFor(r.id)[0];
      }
      expect(refund).toBeDefined();
      expect((await asWebhook(refund.id)).events.map((e) => e.type)).toEqual(['CreditsRefunded']);
      const done = await json(await approving);
      expect(done).toMatchObject({ status: 'completed', stripeRefundId: refund.id });
      expect((await asWebhook(refund.id)).events).toEqual([]);
    } finally {
      fake.refundDelayMs = 0;
    }
    expect(await refundsOf(person.accountId)).toHaveLength(1);
    expect((await ledger.load(person.accountId)).state).toMatchObject({ available: 0n, frozen: 0n });
  }, 60_000);

  it('card: Stripe refuses → the request fails with Stripe’s message and the freeze is released', async () => {
    const person = await signedIn(gw);
    const pid = await buyCard(person.accountId, 12);
    const r = await requested(person, { purchaseId: pid, amount: '7.25', reason: 'please' });
    fake.refundMode = 'refuse';
    try {
      const res = await approve(r.id);
      expect(res.status).toBe(200);
      expect(await json(res)).toMatchObject({ status: 'failed', failure: expect.stringContaining('Charge has already been refunded') });
    } finally {
      fake.refundMode = 'ok';
    }
    const { state } = await ledger.load(person.accountId);
    expect(state.available).toBe(c(12));
    expect(state.frozen).toBe(0n);
    expect(state.funds.unspentOf(pid)).toBe(c(12));
    expect(await refundsOf(person.accountId)).toHaveLength(0);
    expect(await errorOf(await approve(r.id))).toEqual([409, 'refund_request_closed']);
    // A new request may be made for the purchase now.
    expect((await requested(person, { purchaseId: pid, reason: 'try again' })).amount).toBe('12.000000');
  }, 60_000);

  it('card: Stripe unreachable → 503, the freeze stays and the request approved; approving later refunds once', async () => {
    const person = await signedIn(gw);
    const pid = await buyCard(person.accountId, 9);
    const r = await requested(person, { purchaseId: pid, reason: 'down' });
    fake.down = true;
    try {
      const res = await approve(r.id);
      expect(await errorOf(res)).toEqual([503, 'refund_provider_unavailable']);
    } finally {
      fake.down = false;
    }
    const { state } = await ledger.load(person.accountId);
    expect([state.available, state.frozen]).toEqual([0n, c(9)]);
    expect(await errorOf(await decline(r.id))).toEqual([409, 'refund_request_decided']);
    expect((await json(await staff.fetch('/staff/refund-requests?status=approved'))).data.map((x: Json) => x.id)).toContain(r.id);
    const retried = await json(await approve(r.id));
    expect(retried.status).toBe('completed');
    expect(stripeRefundsFor(r.id)).toHaveLength(1);
    expect(await refundsOf(person.accountId)).toHaveLength(1);
    expect((await ledger.load(person.accountId)).state.frozen).toBe(0n);
  }, 60_000);

  it('card: an approval that never heard Stripe’s answer is finished by the charge.refunded webhook (completedByStripe)', async () => {
    const person = await signedIn(gw);
    const pid = await buyCard(person.accountId, 7);
    const r = await requested(person, { purchaseId: pid, reason: 'answer lost' });
    fake.down = true;
    try {
      expect(await errorOf(await approve(r.id))).toEqual([503, 'refund_provider_unavailable']);
    } finally {
      fake.down = false;
    }
    // Stripe did make it after all (the answer was lost): its webhook names the request.
    const service = gw.app.get(RefundRequestsService);
    const done = await service.completedByStripe(r.id, 're_from_webhook');
    expect(done).toMatchObject({ status: 'completed', stripeRefundId: 're_from_webhook' });
    expect(await service.completedByStripe(r.id, 're_from_webhook')).toMatchObject({ status: 'completed' });
    expect(await service.completedByStripe(randomUUID(), 're_x')).toBeNull();
    expect(await refundsOf(person.accountId)).toEqual([{ refundId: 're_from_webhook', amount: '7000000', reason: `refund request ${r.id}`, paymentId: pid, freezeId: r.id }]);
    expect((await ledger.load(person.accountId)).state).toMatchObject({ available: 0n, frozen: 0n });
    // Approving again now answers the outcome without calling Stripe.
    const calls = fake.calls.length;
    expect((await json(await approve(r.id))).status).toBe('completed');
    expect(fake.calls.length).toBe(calls);
  }, 60_000);

  it('approve and decline at once: exactly one outcome, and a declined request leaves nothing frozen', async () => {
    const person = await signedIn(gw);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const pid = await buyCard(person.accountId, 5);
      const r = await requested(person, { purchaseId: pid, reason: `race ${i}` });
      const [a, d] = await Promise.all([approve(r.id), decline(r.id)]);
      const statuses = [a.status, d.status].sort();
      expect(statuses).toEqual([200, 409]);
      const final = (await json(await staff.fetch(`/staff/refund-requests?limit=200`))).data.find((x: Json) => x.id === r.id);
      outcomes.push(final.status);
      expect(['completed', 'declined']).toContain(final.status);
      expect(stripeRefundsFor(r.id)).toHaveLength(final.status === 'completed' ? 1 : 0);
    }
    const { state } = await ledger.load(person.accountId);
    // The ledger's cached state equals a fresh fold of the log (a load() racing a round once counted events twice).
    const fresh = evolveAll((await gw.app.get<EventStore>(EVENT_STORE).readStream(accountStream(person.accountId))).map((e) => decodeLedgerEvent(e.type, e.data)));
    expect([state.available, state.frozen]).toEqual([fresh.available, fresh.frozen]);
    expect(state.frozen).toBe(0n);
    const completed = outcomes.filter((o) => o === 'completed').length;
    expect(await refundsOf(person.accountId)).toHaveLength(completed);
    expect(state.available).toBe(c(5) * BigInt(4 - completed));
  }, 60_000);

  it('crypto: approved with the operator’s tx hash (required), recorded as the refund; card refuses a tx hash', async () => {
    const person = await signedIn(gw);
    const pid = await buyCrypto(person.accountId, 15.123456);
    const card = await buyCard(person.accountId, 5);
    const r = await requested(person, { purchaseId: pid, amount: '10.000001', reason: 'wrong chain' });
    expect(r).toMatchObject({ method: 'crypto', amount: '10.000001' });
    expect(await errorOf(await approve(r.id))).toEqual([400, 'refund_tx_hash']);
    expect(await errorOf(await approve(r.id, { reason: 'x', txHash: '0x12' }))).toEqual([400, 'validation_failed']);
    const txHash = `0x${randomBytes(32).toString('hex').toUpperCase()}`;
    const done = await json(await approve(r.id, { reason: 'sent back on Base', txHash }));
    expect(done).toMatchObject({ status: 'completed', txHash: txHash.toLowerCase(), stripeRefundId: null });
    expect(await refundsOf(person.accountId)).toEqual([{ refundId: txHash.toLowerCase(), amount: '10000001', reason: `refund request ${r.id}`, paymentId: pid, freezeId: r.id }]);
    const rc = await requested(person, { purchaseId: card, reason: 'card' });
    expect(await errorOf(await approve(rc.id, { reason: 'x', txHash }))).toEqual([400, 'refund_tx_hash']);
    expect(fake.calls.filter((call) => call.form['metadata[refund_request_id]'] === r.id)).toHaveLength(0);
  }, 60_000);

  it('staff routes refuse people without the role (403) and unknown ids (404)', async () => {
    const person = await signedIn(gw);
    const pid = await buyCard(person.accountId, 5);
    const r = await requested(person, { purchaseId: pid, reason: 'mine' });
    expect(await errorOf(await person.fetch('/staff/refund-requests'))).toEqual([403, 'forbidden']);
    expect(await errorOf(await person.fetch(`/staff/refund-requests/${r.id}/approve`, { method: 'POST', body: { reason: 'self-service' } }))).toEqual([403, 'forbidden']);
    expect(await errorOf(await person.fetch(`/staff/refund-requests/${r.id}/decline`, { method: 'POST', body: { reason: 'x' } }))).toEqual([403, 'forbidden']);
    expect(await errorOf(await approve(randomUUID()))).toEqual([404, 'refund_request_not_found']);
    expect(await errorOf(await approve('not-a-uuid'))).toEqual([400, 'validation_failed']);
    expect(await errorOf(await approve(r.id, {}))).toEqual([400, 'validation_failed']);
    expect(await errorOf(await staff.fetch('/staff/refund-requests?status=lost'))).toEqual([400, 'validation_failed']);
    expect((await ledger.load(person.accountId)).state.frozen).toBe(0n);
  }, 60_000);

  it('`ledger replay` rewrites refund_requests rows from their streams; a slot left by a crash is freed', async () => {
    const person = await signedIn(gw);
    const pid = await buyCard(person.accountId, 4);
    const r = await requested(person, { purchaseId: pid, reason: 'replay me' });
    // A row changed behind the service's back, and one whose event was never written.
    await gw.db.pool.query(`UPDATE refund_requests SET status = 'completed', amount = 1 WHERE request_id = $1`, [r.id]);
    const orphanPid = await buyCard(person.accountId, 3);
    const orphan = randomUUID();
    await gw.db.pool.query(
      `INSERT INTO refund_requests (request_id, account_id, user_id, payment_id, method, amount, reason, status, purchased_at, requested_at)
       VALUES ($1, $2, $3, $4, 'card', 3000000, 'v1:x', 'requested', now(), now() - interval '2 minutes')`,
      [orphan, person.accountId, person.userId, orphanPid],
    );
    // The orphan's slot is freed when the purchase is asked for again.
    const again = await requested(person, { purchaseId: orphanPid, reason: 'after a crash' });
    expect(again.amount).toBe('3.000000');
    expect((await gw.db.pool.query('SELECT 1 FROM refund_requests WHERE request_id = $1', [orphan])).rowCount).toBe(0);
    const replay = await tollgate('ledger', 'replay', '--json');
    expect(replay).toMatchObject({ code: 0 });
    const rebuilt = (JSON.parse(replay.stdout) as { rebuilt: Json[] }).rebuilt.find((x) => x.name === 'refund_requests');
    expect(rebuilt).toMatchObject({ repaired: 1 });
    const row = await gw.db.pool.query<{ status: string; amount: string }>('SELECT status, amount::text FROM refund_requests WHERE request_id = $1', [r.id]);
    expect(row.rows[0]).toEqual({ status: 'requested', amount: '4000000' });
  }, 60_000);

  it('the CLI lists, declines and approves (crypto with --tx-hash), audited with its actor', async () => {
    const person = await signedIn(gw);
    const card = await buyCard(person.accountId, 6);
    const crypto = await buyCrypto(person.accountId, 7);
    const a = await requested(person, { purchaseId: card, reason: 'cli decline' });
    const b = await requested(person, { purchaseId: crypto, reason: 'cli approve' });
    const listed = await tollgate('payments', 'refunds', 'list', '--status', 'requested', '--json');
    expect(listed).toMatchObject({ code: 0 });
    const ids = (JSON.parse(listed.stdout) as { requests: Json[] }).requests.map((x) => x.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    const declined = await tollgate('payments', 'refunds', 'decline', '--id', a.id, '--reason', 'duplicate', '--json');
    expect(declined).toMatchObject({ code: 0 });
    expect(JSON.parse(declined.stdout).request).toMatchObject({ id: a.id, status: 'declined', decisionReason: 'duplicate' });
    const mail = await smtp.messageTo(person.email);
    expect(mail.subject).toBe('Refund request declined');
    expect(mail.text).toContain('Reason:    duplicate');
    const noHash = await tollgate('payments', 'refunds', 'approve', '--id', b.id, '--reason', 'ok');
    expect(noHash.code).toBe(1);
    expect(noHash.stderr).toMatch(/--tx-hash.*\(refund_tx_hash\)/);
    const txHash = `0x${randomBytes(32).toString('hex')}`;
    const approved = await tollgate('payments', 'refunds', 'approve', '--id', b.id, '--reason', 'sent back', '--tx-hash', txHash, '--json');
    expect(approved).toMatchObject({ code: 0 });
    expect(JSON.parse(approved.stdout).request).toMatchObject({ status: 'completed', txHash });
    const bad = await tollgate('payments', 'refunds', 'approve', '--id', 'nope', '--reason', 'x');
    expect(bad.code).toBe(2);
    const audit = await gw.db.pool.query<{ action: string; actor: string }>("SELECT action, actor FROM staff_audit WHERE details->>'requestId' = ANY($1) ORDER BY action", [[a.id, b.id]]);
    // The approval without a hash was refused before anything, so it left no entry.
    expect(audit.rows.map((r) => r.action)).toEqual(['refunds.approve', 'refunds.decline']);
    for (const row of audit.rows) expect(row.actor).toMatch(/^cli:/);
    expect(await gw.available(person.accountId)).toBe(c(6));
  }, 60_000);
});
