/**
 * The refund_requests read table (migrations/018_refund_requests.sql): one row per request,
 * rewritten from the folded stream after each event the service appends. Its partial unique
 * index is the "one open request per purchase" rule.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../../platform/database/pg';
import { microsFromDb } from '../../../shared/money';
import { RefundMethod, RefundRequest, RefundStatus } from '../domain/refund-request';

export interface RefundRow {
  requestId: string;
  accountId: string;
  userId: string;
  paymentId: string;
  method: RefundMethod;
  amount: bigint;
  sealedReason: string;
  status: RefundStatus;
  purchasedAt: Date;
  requestedAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  decisionReason: string | null;
  stripeRefundId: string | null;
  txHash: string | null;
  failure: string | null;
}

/** The sort key of lists: newest first. */
export interface RefundCursor {
  at: string;
  id: string;
}

interface DbRow {
  request_id: string;
  account_id: string;
  user_id: string;
  payment_id: string;
  method: RefundMethod;
  amount: string | bigint;
  reason: string;
  status: RefundStatus;
  purchased_at: Date;
  requested_at: Date;
  decided_at: Date | null;
  decided_by: string | null;
  decision_reason: string | null;
  stripe_refund_id: string | null;
  tx_hash: string | null;
  failure: string | null;
}

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class RefundRequestsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Claims the purchase's one open slot; false when another open request holds it. */
  async claim(r: RefundRequest): Promise<boolean> {
    try {
      await this.pool.query(
        `INSERT INTO refund_requests (request_id, account_id, user_id, payment_id, method, amount, reason, status, purchased_at, requested_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', $8, $9)`,
        [r.requestId, r.accountId, r.userId, r.paymentId, r.method, r.amount.toString(), r.sealedReason, r.purchasedAt, r.requestedAt],
      );
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return false;
      throw err;
    }
  }

  /** Gives the slot back: the RefundRequested event could not be written. */
  async unclaim(requestId: string): Promise<void> {
    await this.pool.query(`DELETE FROM refund_requests WHERE request_id = $1 AND status = 'requested'`, [requestId]);
  }

  /** The row as the folded stream has it now. */
  async write(r: RefundRequest): Promise<void> {
    await this.pool.query(
      `INSERT INTO refund_requests (request_id, account_id, user_id, payment_id, method, amount, reason, status, purchased_at, requested_at,
                                    decided_at, decided_by, decision_reason, stripe_refund_id, tx_hash, failure)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       ON CONFLICT (request_id) DO UPDATE SET account_id = EXCLUDED.account_id, user_id = EXCLUDED.user_id, payment_id = EXCLUDED.payment_id,
         method = EXCLUDED.method, amount = EXCLUDED.amount, reason = EXCLUDED.reason, status = EXCLUDED.status, purchased_at = EXCLUDED.purchased_at,
         requested_at = EXCLUDED.requested_at, decided_at = EXCLUDED.decided_at, decided_by = EXCLUDED.decided_by, decision_reason = EXCLUDED.decision_reason,
         stripe_refund_id = EXCLUDED.stripe_refund_id, tx_hash = EXCLUDED.tx_hash, failure = EXCLUDED.failure`,
      [
        r.requestId,
        r.accountId,
        r.userId,
        r.paymentId,
        r.method,
        r.amount.toString(),
        r.sealedReason,
        r.status,
        r.purchasedAt,
        r.requestedAt,
        r.decidedAt,
        r.decidedBy,
        r.decisionReason,
        r.stripeRefundId,
        r.txHash,
        r.failure,
      ],
    );
  }

  async ids(): Promise<string[]> {
    const { rows } = await this.pool.query<{ request_id: string }>('SELECT request_id FROM refund_requests');
    return rows.map((r) => r.request_id);
  }

  async find(requestId: string): Promise<RefundRow | null> {
    const { rows } = await this.pool.query<DbRow>('SELECT * FROM refund_requests WHERE request_id = $1', [requestId]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async remove(requestId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM refund_requests WHERE request_id = $1', [requestId]);
    return (rowCount ?? 0) > 0;
  }

  /** The account's open request for this purchase, if any. */
  async openFor(paymentId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ request_id: string }>(`SELECT request_id FROM refund_requests WHERE payment_id = $1 AND status IN ('requested', 'approved')`, [paymentId]);
    return rows[0]?.request_id ?? null;
  }

  async list(filter: { accountId?: string; status?: RefundStatus }, limit: number, cursor: RefundCursor | null): Promise<RefundRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.accountId) {
      args.push(filter.accountId);
      where.push(`account_id = $${args.length}`);
    }
    if (filter.status) {
      args.push(filter.status);
      where.push(`status = $${args.length}`);
    }
    if (cursor) {
      args.push(cursor.at, cursor.id);
      where.push(`(requested_at, request_id) < ($${args.length - 1}::timestamptz, $${args.length}::uuid)`);
    }
    args.push(limit + 1);
    const { rows } = await this.pool.query<DbRow>(
      `SELECT * FROM refund_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC, request_id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(toRow);
  }
}

function toRow(r: DbRow): RefundRow {
  return {
    requestId: r.request_id,
    accountId: r.account_id,
    userId: r.user_id,
    paymentId: r.payment_id,
    method: r.method,
    amount: microsFromDb(r.amount),
    sealedReason: r.reason,
    status: r.status,
    purchasedAt: r.purchased_at,
    requestedAt: r.requested_at,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    decisionReason: r.decision_reason,
    stripeRefundId: r.stripe_refund_id,
    txHash: r.tx_hash,
    failure: r.failure,
  };
}
