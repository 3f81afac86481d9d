/**
 * A receipt email for every purchase, card or crypto. The purchase's flow calls `issue` once its
 * credit is durable: a row in payment_receipts (one per payment, so a webhook delivered twice
 * mails once), then one try to send. What could not be sent (mail down, no SMTP yet, a crash in
 * between) is retried by ReceiptRetryJob, at most MAX_ATTEMPTS times, each failure kept in
 * `last_error` for operators; an account with no address on file is marked and not retried.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { UsersRepository } from '../../accounts/application/users.repository';
import { UsersService } from '../../accounts/application/users.service';
import { CLOCK, Clock } from '../../platform/clock';
import { PG_POOL } from '../../platform/database/pg';
import { Mailer } from '../../platform/mail/mailer';
import { formatCredits } from '../../shared/money';

export const MAX_RECEIPT_ATTEMPTS = 20;

export interface ReceiptFacts {
  paymentId: string;
  accountId: string;
  method: 'card' | 'crypto';
  /** µcr credited. */
  amount: bigint;
  /** What paid, for the mail: "card (Stripe)", "USDC on Base, transaction 0x…". */
  detail: string;
  paidAt: Date;
}

@Injectable()
export class ReceiptsService {
  private readonly log = new Logger('Receipts');

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly mailer: Mailer,
    private readonly users: UsersService,
    private readonly userRows: UsersRepository,
  ) {}

  /** Records the receipt (once per payment) and tries to send it; never throws for the mail. */
  async issue(facts: ReceiptFacts): Promise<void> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO payment_receipts (payment_id, account_id, method, amount, detail, paid_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (payment_id) DO NOTHING`,
      [facts.paymentId, facts.accountId, facts.method, facts.amount.toString(), facts.detail, facts.paidAt],
    );
    if (rowCount === 0) return; // issued before: the first issue (or the retry job) sends it
    await this.trySend(facts.paymentId);
  }

  /** Sends what is unsent (the retry job): returns how many were sent. */
  async sendPending(limit = 100): Promise<number> {
    const { rows } = await this.pool.query<{ payment_id: string }>(
      `SELECT payment_id FROM payment_receipts WHERE sent_at IS NULL AND attempts < $1 ORDER BY paid_at LIMIT $2`,
      [MAX_RECEIPT_ATTEMPTS, limit],
    );
    let sent = 0;
    for (const r of rows) if (await this.trySend(r.payment_id)) sent += 1;
    return sent;
  }

  private async trySend(paymentId: string): Promise<boolean> {
    // Claim it: one sender per receipt across instances (the row lock is held while sending).
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ account_id: string; method: string; amount: string; detail: string; paid_at: Date }>(
        `SELECT account_id, method, amount::text, detail, paid_at FROM payment_receipts
          WHERE payment_id = $1 AND sent_at IS NULL FOR UPDATE SKIP LOCKED`,
        [paymentId],
      );
      if (rows.length === 0) {
        await client.query('ROLLBACK');
        return false;
      }
      const r = rows[0];
      let outcome: { sent: boolean; error: string | null };
      try {
        const to = await this.addressOf(r.account_id);
        if (!to) outcome = { sent: false, error: 'no_address: the account has no email address on file' };
        else {
          await this.mailer.send(receiptMail(to, { paymentId, amount: BigInt(r.amount), detail: r.detail, paidAt: r.paid_at }));
          outcome = { sent: true, error: null };
        }
      } catch (err) {
        outcome = { sent: false, error: (err as Error).message.slice(0, 500) };
      }
      await client.query(
        `UPDATE payment_receipts SET sent_at = $2, attempts = attempts + $3, last_error = $4 WHERE payment_id = $1`,
        // An account without an address is not retried: attempts go to the limit at once.
        [paymentId, outcome.sent ? this.clock.now() : null, outcome.error?.startsWith('no_address') ? MAX_RECEIPT_ATTEMPTS : 1, outcome.error],
      );
      await client.query('COMMIT');
      if (!outcome.sent) this.log.warn(`receipt for payment ${paymentId} not sent: ${outcome.error}`);
      return outcome.sent;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async addressOf(accountId: string): Promise<string | null> {
    const row = await this.userRows.findByAccount(accountId);
    if (!row) return null;
    return (await this.users.get(row.userId)).email;
  }
}

export function receiptMail(to: string, r: { paymentId: string; amount: bigint; detail: string; paidAt: Date }) {
  const credits = formatCredits(r.amount);
  const text = [
    'Thank you for your purchase.',
    '',
    `Credits added:  ${credits} (1 credit = $1.00)`,
    `Paid with:      ${r.detail}`,
    `Date:           ${r.paidAt.toISOString()}`,
    `Reference:      ${r.paymentId}`,
    '',
    'Credits never expire. Unused credits of a purchase may be refunded within 30 days of it:',
    'ask from the billing page.',
  ].join('\n');
  return { to, subject: `Receipt: ${credits} Tollgate credits`, text };
}
