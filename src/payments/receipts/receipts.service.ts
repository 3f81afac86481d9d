/**
 * A receipt email for every purchase, card or crypto. The purchase's flow calls `issue` once its
 * credit is durable: a row in payment_receipts (one per payment, so a webhook delivered twice
 * mails once), then one try to send, in the background. What could not be sent (mail down, no SMTP yet, a crash in
 * between) is retried by ReceiptRetryJob, at most MAX_ATTEMPTS times, each failure kept in
 * `last_error` for operators; an account with no address on file is marked and not retried.
 *
 * Under a restriction of processing (ledger/domain/processing-restriction.ts: receipts are
 * deferred) a receipt is kept, marked `deferred_since`, and not sent; deferral costs no attempt.
 * The retry job releases an account's deferred receipts once its restrictions are lifted and
 * sends them then, once each. A send whose check ran just before a restriction was appended may
 * still go out: the check and the restriction are not one transaction (the ledger and this
 * table are apart), so the guarantee is that no send starts after the restriction is seen.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { UsersService } from '../../accounts/application/users.service';
import { ProcessingRestriction } from '../../ledger/application/processing-restriction';
import { CLOCK, Clock } from '../../platform/clock';
import { PG_POOL } from '../../platform/database/pg';
import { Mailer } from '../../platform/mail/mailer';
import { formatCredits } from '../../shared/money';

export const MAX_RECEIPT_ATTEMPTS = 20;
/** How long a sender holds a receipt it is sending before another may try (a crashed sender's claim lapses). */
const CLAIM_SECONDS = 120;

/** A receipt's row as its sender claimed it. */
interface Claimed {
  account_id: string;
  amount: string;
  detail: string;
  paid_at: Date;
}

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
    private readonly restriction: ProcessingRestriction,
  ) {}

  /**
   * Records the receipt (once per payment; durable when this resolves) and sends it in the
   * background: the caller (a webhook, the chain scanner) does not wait for the mail server.
   */
  async issue(facts: ReceiptFacts): Promise<void> {
    // The row is written already claimed by this sender (its first attempt): no second statement to claim it.
    const { rowCount } = await this.pool.query(
      `INSERT INTO payment_receipts (payment_id, account_id, method, amount, detail, paid_at, claimed_until, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7), 1) ON CONFLICT (payment_id) DO NOTHING`,
      [facts.paymentId, facts.accountId, facts.method, facts.amount.toString(), facts.detail, facts.paidAt, CLAIM_SECONDS],
    );
    if (rowCount === 0) return; // issued before: the first issue (or the retry job) sends it
    const claimed = { account_id: facts.accountId, amount: facts.amount.toString(), detail: facts.detail, paid_at: facts.paidAt };
    void this.send(facts.paymentId, claimed).catch((err: Error) => this.log.warn(`receipt for payment ${facts.paymentId} not sent yet: ${err.message}`));
  }

  /** Sends what is unsent (the retry job), deferred receipts of lifted restrictions first released: returns how many were sent. */
  async sendPending(limit = 100): Promise<number> {
    await this.releaseLifted();
    const { rows } = await this.pool.query<{ payment_id: string }>(
      `SELECT payment_id FROM payment_receipts
        WHERE sent_at IS NULL AND deferred_since IS NULL AND attempts < $1 AND (claimed_until IS NULL OR claimed_until < now())
        ORDER BY paid_at LIMIT $2`,
      [MAX_RECEIPT_ATTEMPTS, limit],
    );
    let sent = 0;
    for (const r of rows) if (await this.trySend(r.payment_id)) sent += 1;
    return sent;
  }

  /**
   * Deferred receipts of accounts whose restrictions are all lifted become sendable again. Few
   * accounts are ever restricted, so asking the ledger for each one on every run is cheap; a
   * release that races a new restriction is caught by send(), which asks again.
   */
  private async releaseLifted(): Promise<void> {
    const { rows } = await this.pool.query<{ account_id: string }>(
      'SELECT DISTINCT account_id FROM payment_receipts WHERE deferred_since IS NOT NULL AND sent_at IS NULL',
    );
    for (const { account_id } of rows) {
      if ((await this.restriction.decide(account_id, 'receipt')) !== 'proceed') continue;
      const { rowCount } = await this.pool.query(
        'UPDATE payment_receipts SET deferred_since = NULL, last_error = NULL WHERE account_id = $1 AND deferred_since IS NOT NULL AND sent_at IS NULL',
        [account_id],
      );
      if (rowCount) this.log.log(`account ${account_id}: restriction lifted, ${rowCount} deferred receipt(s) to send`);
    }
  }

  /**
   * One sender per receipt across instances: a conditional UPDATE claims it for CLAIM_SECONDS
   * (and counts the attempt); no connection is held while the mail server answers.
   */
  private async trySend(paymentId: string): Promise<boolean> {
    const { rows } = await this.pool.query<Claimed>(
      `UPDATE payment_receipts SET claimed_until = now() + make_interval(secs => $3), attempts = attempts + 1
        WHERE payment_id = $1 AND sent_at IS NULL AND deferred_since IS NULL AND attempts < $2 AND (claimed_until IS NULL OR claimed_until < now())
        RETURNING account_id, amount::text, detail, paid_at`,
      [paymentId, MAX_RECEIPT_ATTEMPTS, CLAIM_SECONDS],
    );
    return rows.length === 0 ? false : this.send(paymentId, rows[0]);
  }

  /** One attempt at a receipt this sender has claimed; the row then says sent, or why not. */
  private async send(paymentId: string, r: Claimed): Promise<boolean> {
    let error: string | null = null;
    let giveUp = false;
    try {
      // Asked before the address is read: reading it is processing too.
      if ((await this.restriction.decide(r.account_id, 'receipt')) === 'defer') return await this.defer(paymentId);
      const to = await this.addressOf(r.account_id);
      if (!to) {
        error = 'no_address: the account has no email address on file';
        giveUp = true; // not retried: nothing will change by waiting
      } else {
        await this.mailer.send(receiptMail(to, { paymentId, amount: BigInt(r.amount), detail: r.detail, paidAt: r.paid_at }));
      }
    } catch (err) {
      // The code only: a mail server's message often quotes the recipient's address, which is
      // personal data and must not land in the table or the log.
      const code = (err as { code?: unknown }).code;
      error = typeof code === 'string' ? code : (err as Error).name;
    }
    await this.pool.query(
      `UPDATE payment_receipts SET sent_at = $2, last_error = $3, claimed_until = NULL, attempts = CASE WHEN $4 THEN $5 ELSE attempts END WHERE payment_id = $1`,
      [paymentId, error === null ? this.clock.now() : null, error, giveUp, MAX_RECEIPT_ATTEMPTS],
    );
    if (error !== null) this.log.warn(`receipt for payment ${paymentId} not sent: ${error}`);
    return error === null;
  }

  /** Kept for after the lift: the claim ends and this attempt is not counted. */
  private async defer(paymentId: string): Promise<false> {
    await this.pool.query(
      `UPDATE payment_receipts SET deferred_since = coalesce(deferred_since, now()), claimed_until = NULL, attempts = greatest(attempts - 1, 0),
              last_error = 'restricted: processing of the account is restricted; sent once the restriction is lifted'
        WHERE payment_id = $1 AND sent_at IS NULL`,
      [paymentId],
    );
    this.log.log(`receipt for payment ${paymentId} deferred: the account is under a restriction of processing`);
    return false;
  }

  private async addressOf(accountId: string): Promise<string | null> {
    return (await this.users.findByAccount(accountId))?.email ?? null;
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
