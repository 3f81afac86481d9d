/**
 * A restriction of processing (issue 21, GDPR Art. 18) stops the gateway's own mail about the
 * person, as the rule in ledger/domain/processing-restriction.ts says: a receipt is deferred
 * and sent once after the lift; a low-balance alert is dropped; a breach notice still goes out.
 * The booted app with its workers (receipt retry, low-balance check every 250 ms, breach
 * notices), purchases through signed Stripe webhooks from the fake Stripe, a real SMTP
 * receiver, restrictions applied and lifted by compliance staff through the staff API.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { UsersService } from '../../../src/accounts/application/users.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { ReceiptsService } from '../../../src/payments/receipts/receipts.service';
import { FakeStripe, checkoutCompletedEvent, deliverWebhook, startFakeStripe } from '../../support/fake-stripe';
import { FreshDb, freshDb } from '../../support/fresh-db';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';
import { waitFor } from '../../support/wait';

type Json = Record<string, any>;
const CHECK_MS = 250;
const QUIET_MS = CHECK_MS * 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const newPi = () => `pi_${randomBytes(10).toString('hex')}`;

describe('restriction of processing stops mail about the person (booted app with workers, fake Stripe, real SMTP)', () => {
  let db: FreshDb;
  let smtp: SmtpReceiver;
  let stripe: FakeStripe;
  let gw: Gateway;
  let staff: SignedIn;
  let staffEmail: string;

  const start = () =>
    startGateway({
      db,
      env: {
        API_RUNS_WORKERS: 'true',
        SMTP_URL: smtp.url,
        LOW_BALANCE_CHECK_MS: String(CHECK_MS),
        INCIDENT_NOTICE_RETRY_SECONDS: '1',
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
        STRIPE_API_URL: stripe.url,
      },
    });

  beforeAll(async () => {
    db = await freshDb(4);
    smtp = await startSmtpReceiver();
    stripe = await startFakeStripe();
    gw = await start();
    staffEmail = uniqueEmail('dpo');
    const first = await signedIn(gw, staffEmail);
    await gw.app.get(UsersService).execute(first.userId, { type: 'GrantRole', data: { role: 'compliance', by: 'cli:test', reason: 'restriction tests' } }, 'cli:test');
    staff = await signedIn(gw, staffEmail); // a session made after the grant
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await db?.drop();
    await stripe?.close();
    await smtp?.close();
  });

  async function ok(res: Response, status = 200): Promise<Json> {
    const b = (await res.json()) as Json;
    if (res.status !== status) throw new Error(`answered ${res.status}, expected ${status}: ${JSON.stringify(b)}`);
    return b;
  }
  const ledger = () => gw.app.get(LedgerService);
  const receipts = () => gw.app.get(ReceiptsService);
  const mailsTo = (email: string) => smtp.messages.filter((m) => m.envelopeTo.includes(email.toLowerCase()));
  const receiptsTo = (email: string) => mailsTo(email).filter((m) => m.subject.startsWith('Receipt:'));
  const receiptRow = async (paymentId: string) =>
    (await db.pool.query('SELECT sent_at, deferred_since, attempts, last_error FROM payment_receipts WHERE payment_id = $1', [paymentId])).rows[0];
  const buy = async (p: SignedIn, cents: number, pi = newPi()) => {
    const r = await deliverWebhook(gw.url, stripe, checkoutCompletedEvent({ accountId: p.accountId, cents, paymentIntent: pi }));
    expect(r).toMatchObject({ status: 200, body: { outcome: 'recorded' } });
    return pi;
  };
  /** A restriction request of the person, restricted by staff: its id. */
  const restricted = async (p: SignedIn): Promise<string> => {
    const r = await ok(await p.fetch('/api/me/requests', { method: 'POST', body: { kind: 'restriction', details: 'I contest my data' } }), 201);
    await ok(await staff.fetch(`/staff/requests/${r.id}/restrict`, { method: 'POST', body: { reason: 'accuracy contested' } }));
    return r.id as string;
  };
  const lift = async (requestId: string) => ok(await staff.fetch(`/staff/requests/${requestId}/lift`, { method: 'POST', body: { reason: 'correction made' } }));

  it('a restricted person buys credits: credited, no receipt while restricted however often the retry runs; after the lift it is delivered once', async () => {
    const p = await signedIn(gw);
    const requestId = await restricted(p);
    const pi = await buy(p, 2550);
    // Credits still come in under a restriction.
    expect(await gw.available(p.accountId)).toBe(25_500_000n);
    await waitFor(async () => (await receiptRow(pi))?.deferred_since != null, 10_000, 'the receipt deferred');
    // The same webhook again: still one receipt row, still deferred.
    await buy(p, 2550, pi);
    for (let i = 0; i < 3; i++) expect(await receipts().sendPending()).toBe(0);
    await sleep(500);
    expect(receiptsTo(p.email)).toHaveLength(0);
    expect(await receiptRow(pi)).toMatchObject({ sent_at: null, attempts: 0, last_error: expect.stringMatching(/^restricted/) });
    expect(gw.logs.join('\n')).not.toContain(p.email);

    await lift(requestId);
    await receipts().sendPending(); // what the retry job does every minute
    await waitFor(() => receiptsTo(p.email).length === 1, 10_000, 'the receipt after the lift');
    const [mail] = receiptsTo(p.email);
    expect(mail.subject).toBe('Receipt: 25.500000 Tollgate credits');
    expect(mail.text).toContain(`Reference:      ${pi}`);
    await waitFor(async () => (await receiptRow(pi)).sent_at !== null, 5_000, 'the receipt marked sent');
    expect(await receiptRow(pi)).toMatchObject({ deferred_since: null, last_error: null, attempts: 1 });
    expect(await receipts().sendPending()).toBe(0);
    await sleep(300);
    expect(receiptsTo(p.email)).toHaveLength(1);
  }, 60_000);

  it('restricted again before the deferred receipt went out: it stays deferred; a second lift sends it once', async () => {
    const p = await signedIn(gw);
    const requestId = await restricted(p);
    const pi = await buy(p, 1000);
    await waitFor(async () => (await receiptRow(pi))?.deferred_since != null, 10_000, 'the receipt deferred');
    await lift(requestId);
    // Restricted again before any retry ran: the release must not send it.
    await ok(await staff.fetch(`/staff/requests/${requestId}/restrict`, { method: 'POST', body: { reason: 'again' } }));
    expect(await receipts().sendPending()).toBe(0);
    expect(await receiptRow(pi)).toMatchObject({ sent_at: null, deferred_since: expect.any(Date) });
    await lift(requestId);
    await receipts().sendPending();
    await waitFor(() => receiptsTo(p.email).length === 1, 10_000, 'the receipt after the second lift');
    await sleep(300);
    expect(receiptsTo(p.email)).toHaveLength(1);
  }, 60_000);

  it('restrictions and purchases at once: every receipt is delivered exactly once after the lift, none left deferred', async () => {
    const people = await Promise.all(Array.from({ length: 4 }, () => signedIn(gw)));
    const rounds = await Promise.all(
      people.map(async (p) => {
        const r = await ok(await p.fetch('/api/me/requests', { method: 'POST', body: { kind: 'restriction' } }), 201);
        const [, pis] = await Promise.all([
          ok(await staff.fetch(`/staff/requests/${r.id}/restrict`, { method: 'POST', body: { reason: 'race' } })),
          Promise.all([buy(p, 500), buy(p, 600), buy(p, 700)]),
        ]);
        return { p, requestId: r.id as string, pis };
      }),
    );
    // Purchases made after the restriction is in force: never mailed before the lift.
    const late = await Promise.all(rounds.map(({ p }) => buy(p, 800)));
    await sleep(500);
    for (const pi of late) expect(await receiptRow(pi)).toMatchObject({ sent_at: null, deferred_since: expect.any(Date) });
    for (const { p } of rounds) expect(mailsTo(p.email).some((m) => late.some((pi) => m.text.includes(pi)))).toBe(false);

    await Promise.all(rounds.map(({ requestId }) => lift(requestId)));
    await Promise.all([receipts().sendPending(), receipts().sendPending()]); // two runs at once (two workers)
    for (const { p, pis } of rounds) {
      const all = [...pis, late[rounds.findIndex((r) => r.p === p)]];
      await waitFor(() => all.every((pi) => receiptsTo(p.email).some((m) => m.text.includes(pi))), 15_000, `the receipts of ${p.accountId}`);
    }
    await sleep(300);
    for (const { p } of rounds) expect(receiptsTo(p.email)).toHaveLength(4);
    const { rows } = await db.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM payment_receipts WHERE account_id = ANY($1::uuid[]) AND (sent_at IS NULL OR deferred_since IS NOT NULL)',
      [rounds.map(({ p }) => p.accountId)],
    );
    expect(rows[0].n).toBe(0);
  }, 90_000);

  it('a low-balance alert due while restricted is dropped, not sent after the lift; the next fall alerts', async () => {
    const p = await signedIn(gw);
    const l = ledger();
    // No free requests: each hold spends credit.
    const grant = (amount: bigint) => l.execute(p.accountId, { type: 'GrantCredits', data: { grantId: randomUUID(), amount, reason: 'restriction test' } });
    await grant(2_000_000n);
    const caughtUp = async () => {
      const { version } = await l.load(p.accountId);
      await waitFor(
        async () => (await db.pool.query('SELECT version FROM rm_balances.balances WHERE account_id = $1', [p.accountId])).rows[0]?.version === version,
        10_000,
        'the balances read model',
      );
    };
    await caughtUp();
    expect((await p.fetch('/api/me', { method: 'PATCH', body: { lowBalanceAlert: '1.00' } })).status).toBe(200);
    // A request in flight when the restriction comes: its hold settles under the restriction and the balance falls.
    const holdId = randomUUID();
    await l.execute(p.accountId, { type: 'PlaceHold', data: { holdId, amount: 1_500_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    const requestId = await restricted(p);
    await l.execute(p.accountId, { type: 'SettleHold', data: { holdId, amount: 1_500_000n } });
    await caughtUp();
    const row = async () => (await db.pool.query('SELECT armed, pending_since, last_error, sent_count FROM low_balance_alerts WHERE account_id = $1', [p.accountId])).rows[0];
    await waitFor(async () => (await row()).last_error !== null, 10_000, 'the alert dropped');
    expect(await row()).toMatchObject({ armed: false, pending_since: null, sent_count: 0, last_error: expect.stringMatching(/^restricted/) });
    await sleep(QUIET_MS);
    expect(mailsTo(p.email).filter((m) => m.subject.startsWith('Low balance'))).toHaveLength(0);

    await lift(requestId);
    await sleep(QUIET_MS);
    expect(mailsTo(p.email).filter((m) => m.subject.startsWith('Low balance'))).toHaveLength(0); // dropped, not deferred
    // A rise to the threshold and a new fall after the lift: one alert, as ever.
    await grant(1_000_000n);
    await caughtUp();
    await waitFor(async () => (await row()).armed === true, 10_000, 're-armed');
    const hold2 = randomUUID();
    await l.execute(p.accountId, { type: 'PlaceHold', data: { holdId: hold2, amount: 1_000_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await l.execute(p.accountId, { type: 'SettleHold', data: { holdId: hold2, amount: 1_000_000n } });
    const mail = await smtp.messageTo(p.email, 10_000);
    expect(mail.subject).toMatch(/^Low balance: 0\.500000 credits left/);
    // The sender records the send after the SMTP server has accepted it: the row may lag the mail.
    await waitFor(async () => (await row()).sent_count === 1, 10_000, 'the alert recorded as sent once');
    await sleep(QUIET_MS);
    expect(await row()).toMatchObject({ sent_count: 1 });
    expect(mailsTo(p.email).filter((m) => m.subject.startsWith('Low balance'))).toHaveLength(1);
  }, 60_000);

  it('a breach notice still reaches a restricted person (a legal duty)', async () => {
    const p = await signedIn(gw);
    await restricted(p);
    const post = async (path: string, body: unknown) => ok(await staff.fetch(`/staff/incidents${path}`, { method: 'POST', body }), path === '' ? 201 : 200);
    const reason = { reason: 'confirmed by the security team' };
    const incident = await post('', {
      title: 'Backup readable',
      nature: 'A database backup was readable from the internet for 6 hours.',
      dataCategories: ['email'],
      peopleCategories: ['account holders'],
      approxPeople: 1,
      approxRecords: 1,
      consequences: 'Phishing mails that look like ours.',
      measures: 'The backup is private again.',
      contact: 'dpo@tollgate.example',
    });
    await post(`/${incident.id}/select`, { by: 'users', userIds: [p.userId], ...reason });
    await post(`/${incident.id}/confirm`, reason);
    expect(await post(`/${incident.id}/notify`, reason)).toMatchObject({ queued: 1 });
    const mail = await smtp.messageTo(p.email, 20_000); // sent by the app's own notice worker
    expect(mail.subject).toContain('security incident');
    expect(mail.text).toContain('A database backup was readable');
    expect((await ledger().load(p.accountId)).state.restrictions.size).toBe(1);
  }, 60_000);

  it('a deferred receipt survives a restart: the gateway stops while restricted, the next one sends it once after the lift', async () => {
    const p = await signedIn(gw);
    const requestId = await restricted(p);
    const pi = await buy(p, 1200);
    await waitFor(async () => (await receiptRow(pi))?.deferred_since != null, 10_000, 'the receipt deferred');
    await gw.close();
    gw = await start(); // same database: a restart of the process that runs the retry job
    staff = await signedIn(gw, staffEmail);
    expect(await receipts().sendPending()).toBe(0);
    await lift(requestId);
    await receipts().sendPending();
    await waitFor(() => receiptsTo(p.email).length === 1, 10_000, 'the receipt after the restart and the lift');
    expect(receiptsTo(p.email)[0].text).toContain(pi);
    await sleep(300);
    expect(receiptsTo(p.email)).toHaveLength(1);
  }, 90_000);
});
