/**
 * Receipts (issue 20) with a real SMTP receiver: one row per payment however often it is
 * issued; a mail server that refuses leaves the receipt unsent with the error's code (never the
 * server's words, which may quote the address), and the retry sends it once; an account with
 * no address on file is not retried.
 */
import { randomBytes } from 'node:crypto';
import { ReceiptsService, MAX_RECEIPT_ATTEMPTS } from '../../../src/payments/receipts/receipts.service';
import { signedIn } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';
import { waitFor } from '../../support/wait';

describe('receipts (booted app, real Postgres, real SMTP receiver)', () => {
  let smtp: SmtpReceiver;
  let gw: Gateway;
  let receipts: ReceiptsService;
  const row = async (paymentId: string) =>
    (await gw.db.pool.query<{ sent_at: Date | null; attempts: number; last_error: string | null }>('SELECT sent_at, attempts, last_error FROM payment_receipts WHERE payment_id = $1', [paymentId])).rows;

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    gw = await startGateway({ env: { SMTP_URL: smtp.url, MAIL_FROM: 'Tollgate <billing@tollgate.test>' } });
    receipts = gw.app.get(ReceiptsService);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await smtp?.close();
  });

  it('issued five times at once for one payment: one row, one mail, with the figures', async () => {
    const person = await signedIn(gw);
    const paymentId = `pi_${randomBytes(8).toString('hex')}`;
    const facts = { paymentId, accountId: person.accountId, method: 'card' as const, amount: 12_340_000n, detail: 'card (Stripe)', paidAt: new Date() };
    await Promise.all(Array.from({ length: 5 }, () => receipts.issue(facts)));
    const mail = await smtp.messageTo(person.email, 10_000);
    expect(mail.subject).toBe('Receipt: 12.340000 Tollgate credits');
    expect(mail.text).toContain(`Reference:      ${paymentId}`);
    await waitFor(async () => (await row(paymentId))[0]?.sent_at !== null, 5_000, 'the receipt marked sent');
    expect(await row(paymentId)).toEqual([expect.objectContaining({ attempts: 1, last_error: null })]);
    expect(await receipts.sendPending()).toBe(0);
    expect(smtp.messages.filter((m) => m.envelopeTo.includes(person.email))).toHaveLength(1);
  }, 30_000);

  it('a refusing mail server: unsent, the error kept as a code without the address; the retry sends it once', async () => {
    const person = await signedIn(gw);
    const paymentId = `chain-8453-0x${randomBytes(32).toString('hex')}-0`;
    smtp.refuseNext(1);
    await receipts.issue({ paymentId, accountId: person.accountId, method: 'crypto', amount: 5_000_000n, detail: 'USDC on Base', paidAt: new Date() });
    await waitFor(async () => (await row(paymentId))[0]?.attempts === 1 && (await row(paymentId))[0]?.last_error !== null, 10_000, 'the failed first try');
    const [failed] = await row(paymentId);
    expect(failed).toMatchObject({ sent_at: null, last_error: 'mail_failed' });
    expect(gw.logs.join('\n')).not.toContain(person.email);
    expect(await receipts.sendPending()).toBe(1);
    expect((await smtp.messageTo(person.email, 10_000)).subject).toBe('Receipt: 5.000000 Tollgate credits');
    expect(await receipts.sendPending()).toBe(0);
    expect(await row(paymentId)).toEqual([expect.objectContaining({ attempts: 2, last_error: null })]);
  }, 30_000);

  it('an account with no address on file: marked, not retried', async () => {
    const accountId = await gw.account(0n);
    const paymentId = `pi_${randomBytes(8).toString('hex')}`;
    await receipts.issue({ paymentId, accountId, method: 'card', amount: 5_000_000n, detail: 'card (Stripe)', paidAt: new Date() });
    await waitFor(async () => (await row(paymentId))[0]?.last_error !== null, 10_000, 'the no-address mark');
    expect(await row(paymentId)).toEqual([expect.objectContaining({ sent_at: null, attempts: MAX_RECEIPT_ATTEMPTS, last_error: expect.stringMatching(/^no_address/) })]);
    expect(await receipts.sendPending()).toBe(0);
  }, 30_000);
});
