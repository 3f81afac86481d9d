/**
 * Refund requests (issue 20): a person asks for the unspent part of a purchase back; staff
 * approve or decline. Each request is its own stream `refundrequest-<id>`:
 *
 *   RefundRequested → RefundApproved → RefundCompleted (Stripe's refund id, or the operator's tx hash)
 *                                    → RefundFailed    (Stripe refused; the freeze was released)
 *                   → RefundDeclined
 *
 * A decision (approve or decline) is appended at the version the decider saw, so of an approve
 * and a decline sent at once exactly one is recorded. The money is the ledger's: approving
 * freezes the amount (FreezeCredits, freezeId = request id), then refunds it from the freeze
 * (RefundCredits) or releases it (ReleaseFreeze); the ledger lets a freeze resolve only once.
 *
 * Bounds: an amount is more than 0 and at most the purchase's unspent part (itself at most the
 * ledger's 10^15 µcr); card refunds are whole cents (Stripe counts cents), crypto ones whole
 * token units (6 decimals = 1 µcr). The person's reason is 1..500 characters and is stored sealed
 * with their personal-data key (it is their words).
 */
import { DomainError } from '../../../shared/domain-error';
import { Micros } from '../../../shared/money';
import { assertNever } from '../../../shared/assert-never';

export const REFUND_REQUEST_PREFIX = 'refundrequest-';
export const refundRequestStream = (id: string) => `${REFUND_REQUEST_PREFIX}${id}`;

/** A refund may be requested within this many days of the purchase (checked when requested). */
export const REFUND_WINDOW_DAYS = 30;
export const REFUND_WINDOW_MS = REFUND_WINDOW_DAYS * 86_400_000;
export const MAX_REFUND_REASON_CHARS = 500;
export const MICROS_PER_CENT = 10_000n;

export type RefundMethod = 'card' | 'crypto';
export type RefundStatus = 'requested' | 'approved' | 'completed' | 'declined' | 'failed';
export const REFUND_STATUSES: readonly RefundStatus[] = ['requested', 'approved', 'completed', 'declined', 'failed'];
/** Statuses of a request still open: one per purchase at a time. */
export const OPEN_STATUSES: readonly RefundStatus[] = ['requested', 'approved'];

export type RefundsErrorCode =
  | 'refund_request_not_found'
  | 'purchase_not_found'
  | 'refund_request_open'
  | 'refund_window_passed'
  | 'nothing_to_refund'
  | 'refund_request_closed'
  | 'refund_request_decided'
  | 'refund_tx_hash'
  | 'refund_provider_unavailable'
  | 'stripe_not_configured'
  | 'refund_exceeds_unspent'
  | 'invalid_amount';

export class RefundsError extends DomainError<RefundsErrorCode, Record<string, unknown>> {
  override readonly name = 'RefundsError';
}

/** Which kind of purchase a payment id names: a Stripe payment intent or an on-chain transfer. */
export function methodOf(paymentId: string): RefundMethod | null {
  if (/^pi_[A-Za-z0-9_]{1,250}$/.test(paymentId)) return 'card';
  if (/^chain-\d{1,12}-0x[0-9a-f]{64}-\d{1,9}$/.test(paymentId)) return 'crypto';
  return null;
}

export const TX_HASH = /^0x[0-9a-fA-F]{64}$/;

export interface RefundRequestedData {
  requestId: string;
  accountId: string;
  /** The person who asked (their key seals the reason). */
  userId: string;
  paymentId: string;
  method: RefundMethod;
  amount: string; // µcr, decimal string
  /** The person's reason, sealed with their personal-data key. */
  reason: string;
  purchasedAt: string;
  requestedAt: string;
}

export type RefundRequestEvent =
  | { type: 'RefundRequested'; data: RefundRequestedData }
  | { type: 'RefundApproved'; data: { requestId: string; actor: string; reason: string; txHash?: string; at: string } }
  | { type: 'RefundDeclined'; data: { requestId: string; actor: string; reason: string; at: string } }
  // The outcome's data holds no time (it is in the metadata): two approvals racing to record the same
  // outcome write the same event, which the store answers as a retry.
  | { type: 'RefundCompleted'; data: { requestId: string; stripeRefundId?: string; txHash?: string } }
  | { type: 'RefundFailed'; data: { requestId: string; message: string } };

export const REFUND_EVENT_TYPES = new Set<string>(['RefundRequested', 'RefundApproved', 'RefundDeclined', 'RefundCompleted', 'RefundFailed']);

export interface RefundRequest {
  requestId: string;
  accountId: string;
  userId: string;
  paymentId: string;
  method: RefundMethod;
  amount: Micros;
  sealedReason: string;
  purchasedAt: Date;
  requestedAt: Date;
  status: RefundStatus;
  decidedBy: string | null;
  decidedAt: Date | null;
  decisionReason: string | null;
  txHash: string | null;
  stripeRefundId: string | null;
  failure: string | null;
  /** The stream's version: a decision is appended at it. */
  version: bigint;
}

/** Folds a request's stream; null for an empty one. */
export function foldRefundRequest(events: ReadonlyArray<{ type: string; data: Record<string, unknown> }>): RefundRequest | null {
  let r: RefundRequest | null = null;
  let version = 0n;
  for (const raw of events) {
    version += 1n;
    if (!REFUND_EVENT_TYPES.has(raw.type)) throw new Error(`unknown refund request event type ${raw.type}`);
    const e = raw as RefundRequestEvent;
    if (e.type === 'RefundRequested') {
      const d = e.data;
      r = {
        requestId: d.requestId,
        accountId: d.accountId,
        userId: d.userId,
        paymentId: d.paymentId,
        method: d.method,
        amount: BigInt(d.amount),
        sealedReason: d.reason,
        purchasedAt: new Date(d.purchasedAt),
        requestedAt: new Date(d.requestedAt),
        status: 'requested',
        decidedBy: null,
        decidedAt: null,
        decisionReason: null,
        txHash: null,
        stripeRefundId: null,
        failure: null,
        version,
      };
      continue;
    }
    if (!r) throw new Error(`refund request stream starts with ${e.type}`);
    switch (e.type) {
      case 'RefundApproved':
        r = { ...r, status: 'approved', decidedBy: e.data.actor, decidedAt: new Date(e.data.at), decisionReason: e.data.reason, txHash: e.data.txHash ?? null };
        break;
      case 'RefundDeclined':
        r = { ...r, status: 'declined', decidedBy: e.data.actor, decidedAt: new Date(e.data.at), decisionReason: e.data.reason };
        break;
      case 'RefundCompleted':
        r = { ...r, status: 'completed', stripeRefundId: e.data.stripeRefundId ?? null, txHash: e.data.txHash ?? r.txHash };
        break;
      case 'RefundFailed':
        r = { ...r, status: 'failed', failure: e.data.message };
        break;
      default:
        return assertNever(e);
    }
    r.version = version;
  }
  return r;
}

/**
 * The amount a request is for: the amount asked, or by default all of the purchase still unspent.
 * Card refunds are whole cents: an amount asked with a fraction of a cent is refused (the person
 * said exactly what they want), while the default is rounded down to whole cents (at most 0.009999
 * credits stays on the account, spendable).
 */
export function requestedAmount(method: RefundMethod, unspent: Micros, asked: Micros | null): Micros {
  if (asked !== null) {
    if (asked <= 0n) throw new RefundsError('invalid_amount', 'the amount must be more than 0');
    if (method === 'card' && asked % MICROS_PER_CENT !== 0n) {
      throw new RefundsError('invalid_amount', 'a card refund is a whole number of cents: give at most 2 decimals');
    }
    return asked;
  }
  return method === 'card' ? unspent - (unspent % MICROS_PER_CENT) : unspent;
}
