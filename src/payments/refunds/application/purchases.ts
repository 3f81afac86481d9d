/**
 * An account's purchases as refunds see them: when each was made (the time its credit event
 * recorded, metadata.occurredAt, as the read models use it) and what of it is unspent (the
 * ledger's attribution rule, funds.ts, on the account's current state).
 *
 * When: from the transactions read model when it has the purchase, else from the account's own
 * stream (the projection may lag, or not run in this process): a purchase the stream of this
 * account does not hold is not this account's.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { LedgerService } from '../../../ledger/application/ledger.service';
import { accountStream } from '../../../ledger/domain/events';
import { PG_POOL } from '../../../platform/database/pg';
import { EVENT_STORE, EventStore } from '../../../platform/event-store/event-store.port';
import { Micros, microsFromDb } from '../../../shared/money';
import { REFUND_WINDOW_MS, RefundMethod, methodOf } from '../domain/refund-request';

export interface Purchase {
  paymentId: string;
  method: RefundMethod;
  amount: Micros;
  purchasedAt: Date;
  unspent: Micros;
  /** Frozen for a refund request or a dispute. */
  reserved: Micros;
  refundableUntil: Date;
}

const PAGE = 1000;
const UNDEFINED_TABLE = '42P01';

@Injectable()
export class PurchasesReader {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly ledger: LedgerService,
  ) {}

  /** One purchase of this account, or null when the account made no such purchase. */
  async one(accountId: string, paymentId: string): Promise<Purchase | null> {
    const method = methodOf(paymentId);
    if (!method) return null;
    const [times, { state }] = await Promise.all([this.times(accountId, [paymentId]), this.ledger.load(accountId)]);
    const t = times.get(paymentId);
    if (!t) return null;
    const lot = state.funds.lot(paymentId);
    return { paymentId, method, amount: t.amount, purchasedAt: t.at, unspent: lot?.unspent ?? 0n, reserved: lot?.reserved ?? 0n, refundableUntil: new Date(t.at.getTime() + REFUND_WINDOW_MS) };
  }

  /** The account's purchases with credit still unspent or frozen (the only ones a refund can concern), newest first. */
  async withCredit(accountId: string): Promise<Purchase[]> {
    const { state } = await this.ledger.load(accountId);
    const lots = state.funds.lots.filter((l) => methodOf(l.paymentId) !== null);
    const times = await this.times(accountId, lots.map((l) => l.paymentId));
    const out: Purchase[] = [];
    for (const lot of lots) {
      const t = times.get(lot.paymentId);
      if (!t) continue;
      out.push({
        paymentId: lot.paymentId,
        method: methodOf(lot.paymentId) as RefundMethod,
        amount: lot.amount,
        purchasedAt: t.at,
        unspent: lot.unspent,
        reserved: lot.reserved,
        refundableUntil: new Date(t.at.getTime() + REFUND_WINDOW_MS),
      });
    }
    return out.sort((a, b) => b.purchasedAt.getTime() - a.purchasedAt.getTime());
  }

  private async times(accountId: string, paymentIds: string[]): Promise<Map<string, { at: Date; amount: Micros }>> {
    const found = new Map<string, { at: Date; amount: Micros }>();
    if (paymentIds.length === 0) return found;
    for (const r of await this.fromReadModel(accountId, paymentIds)) found.set(r.reference, { at: r.occurred_at, amount: microsFromDb(r.amount) });
    const missing = new Set(paymentIds.filter((p) => !found.has(p)));
    for (let after = 0n; missing.size > 0; ) {
      const page = await this.store.readStream(accountStream(accountId), { afterVersion: after, limit: PAGE });
      for (const e of page) {
        if (e.type !== 'CreditsPurchased' && e.type !== 'CryptoPaymentCredited') continue;
        const id = String(e.data.paymentId);
        if (!missing.has(id)) continue;
        const at = typeof e.metadata.occurredAt === 'string' ? new Date(e.metadata.occurredAt) : e.recordedAt;
        found.set(id, { at: Number.isNaN(at.getTime()) ? e.recordedAt : at, amount: BigInt(String(e.data.amount)) });
        missing.delete(id);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1].streamVersion;
    }
    return found;
  }

  private async fromReadModel(accountId: string, paymentIds: string[]): Promise<Array<{ reference: string; amount: string | bigint; occurred_at: Date }>> {
    try {
      const { rows } = await this.pool.query<{ reference: string; amount: string | bigint; occurred_at: Date }>(
        `SELECT reference, amount, occurred_at FROM transactions WHERE account_id = $1 AND kind IN ('purchase', 'crypto_payment') AND reference = ANY($2)`,
        [accountId, paymentIds],
      );
      return rows;
    } catch (err) {
      // The projections create their tables when they first run: before that, the stream answers.
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return [];
      throw err;
    }
  }
}
