/**
 * How refund requests and purchases look on the API and in the CLI's --json: amounts as exact
 * decimal strings of credits, times as ISO 8601, the person's reason in clear (null once erased).
 */
import { z } from 'zod';
import { MAX_CREDITS_TEXT, MAX_MICROS, MoneyFormatError, formatCredits, parseCredits } from '../../../shared/money';
import { Purchase } from '../application/purchases';
import { RefundRow } from '../application/refund-requests.repository';
import { REFUND_STATUSES, RefundRequest } from '../domain/refund-request';

/** A decimal string of credits, more than 0 and within the ledger's bound. */
export const creditsText = z.string().max(32, 'is too long').transform((value, ctx) => {
  try {
    const micros = parseCredits(value);
    if (micros > 0n && micros <= MAX_MICROS) return micros;
    ctx.addIssue({ code: 'custom', message: `must be more than 0 and at most ${MAX_CREDITS_TEXT} credits` });
  } catch (err) {
    if (!(err instanceof MoneyFormatError)) throw err;
    ctx.addIssue({ code: 'custom', message: 'must be a decimal string of credits with at most 6 decimals, e.g. "12.50"' });
  }
  return z.NEVER;
});

export const refundRequestView = z.object({
  id: z.uuid(),
  purchaseId: z.string(),
  method: z.enum(['card', 'crypto']),
  amount: z.string().describe('credits, exact decimal string'),
  reason: z.string().nullable().describe("the person's reason; null once they are erased"),
  status: z.enum(REFUND_STATUSES as [string, ...string[]]),
  purchasedAt: z.iso.datetime(),
  requestedAt: z.iso.datetime(),
  decidedAt: z.iso.datetime().nullable(),
  decisionReason: z.string().nullable(),
  stripeRefundId: z.string().nullable(),
  txHash: z.string().nullable(),
  failure: z.string().nullable().describe('why the refund failed (Stripe refused it)'),
});
export type RefundRequestView = z.infer<typeof refundRequestView>;
export const staffRefundRequestView = refundRequestView.extend({ accountId: z.uuid(), userId: z.uuid(), decidedBy: z.string().nullable() });
export type StaffRefundRequestView = z.infer<typeof staffRefundRequestView>;

export const purchaseView = z.object({
  id: z.string().describe('the purchase id a refund request names: a Stripe payment intent (pi_…) or chain-<chainId>-<txHash>-<logIndex>'),
  method: z.enum(['card', 'crypto']),
  amount: z.string(),
  unspent: z.string().describe('what a refund may still return'),
  frozen: z.string().describe('set aside for a refund or a dispute under way'),
  purchasedAt: z.iso.datetime(),
  refundableUntil: z.iso.datetime(),
});

export function viewOf(r: RefundRequest | RefundRow, reason: string | null): RefundRequestView {
  return {
    id: r.requestId,
    purchaseId: r.paymentId,
    method: r.method,
    amount: formatCredits(r.amount),
    reason,
    status: r.status,
    purchasedAt: r.purchasedAt.toISOString(),
    requestedAt: r.requestedAt.toISOString(),
    decidedAt: r.decidedAt?.toISOString() ?? null,
    decisionReason: r.decisionReason,
    stripeRefundId: r.stripeRefundId,
    txHash: r.txHash,
    failure: r.failure,
  };
}

export function staffViewOf(r: RefundRequest | RefundRow, reason: string | null): StaffRefundRequestView {
  return { ...viewOf(r, reason), accountId: r.accountId, userId: r.userId, decidedBy: r.decidedBy };
}

export function purchaseViewOf(p: Purchase): z.infer<typeof purchaseView> {
  return {
    id: p.paymentId,
    method: p.method,
    amount: formatCredits(p.amount),
    unspent: formatCredits(p.unspent),
    frozen: formatCredits(p.reserved),
    purchasedAt: p.purchasedAt.toISOString(),
    refundableUntil: p.refundableUntil.toISOString(),
  };
}
