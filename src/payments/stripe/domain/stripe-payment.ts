/**
 * One card payment as Stripe told us about it: the stream `stripe-<payment_intent>`, its events,
 * the state they fold to, and the ledger commands that state implies. Pure: no I/O, no clock.
 *
 * The stream records what Stripe said, once each (event ids derive from the fact, not from
 * Stripe's event id, so the same fact delivered by two events — `checkout.session.completed`
 * and `..._async_payment_succeeded` — is one event):
 *   StripePaymentPending     {sessionId, accountId, amount}   paid later (an async method)
 *   StripePaymentSucceeded   {sessionId, accountId, amount}   paid, for an account that exists: credit
 *   StripePaymentUnassigned  {sessionId, accountId, amount, reason}  paid, but for no account we can
 *                            credit (unknown account, no account in metadata, not USD, beyond the
 *                            ledger's bound): kept for `tollgate payments reconcile`, never credited
 *   StripePaymentFailed      {sessionId}                      the async method failed: nothing
 *   StripeRefundSeen         {refundId, amount, refundRequestId}
 *   StripeDisputeOpened      {disputeId, amount}
 *   StripeDisputeClosed      {disputeId, outcome: won|lost, status}
 * Succeeded and Unassigned share one id (`stripe:<pi>:paid`): a payment is one or the other.
 *
 * Amounts are µcr (decimal strings in the stream), from Stripe's cents (1 cent = 10,000 µcr).
 * Refunds and disputes that arrive before the payment's credit (Stripe does not promise order)
 * are recorded and applied once it is credited: effects() puts the purchase first.
 */
import { AccountCommand } from '../../../ledger/domain/account.decider';
import { deterministicId } from '../../../shared/ids';
import { MAX_MICROS, Micros } from '../../../shared/money';

export const STRIPE_STREAM_PREFIX = 'stripe-';
export const paymentStream = (paymentIntent: string): string => `${STRIPE_STREAM_PREFIX}${paymentIntent}`;

/** Stripe's ids: a prefix, an underscore, letters and digits; bounded so a stream id stays short. */
export const STRIPE_ID = /^[a-z]{2,8}_[A-Za-z0-9_]{1,200}$/;
export const PAYMENT_INTENT_ID = /^pi_[A-Za-z0-9_]{1,200}$/;

/** What a webhook told us about a payment (already validated). */
export type StripeFact =
  | { type: 'Paid'; data: { sessionId: string; accountId: string | null; amount: Micros; currency: string } }
  | { type: 'Pending'; data: { sessionId: string; accountId: string | null; amount: Micros } }
  | { type: 'Failed'; data: { sessionId: string } }
  | { type: 'RefundSeen'; data: { refundId: string; amount: Micros; refundRequestId: string | null } }
  | { type: 'DisputeOpened'; data: { disputeId: string; amount: Micros } }
  | { type: 'DisputeClosed'; data: { disputeId: string; amount: Micros; outcome: 'won' | 'lost'; status: string } };

export type PaymentEvent =
  | { type: 'StripePaymentPending'; data: { sessionId: string; accountId: string | null; amount: string } }
  | { type: 'StripePaymentSucceeded'; data: { sessionId: string; accountId: string; amount: string } }
  | { type: 'StripePaymentUnassigned'; data: { sessionId: string; accountId: string | null; amount: string; reason: string } }
  | { type: 'StripePaymentFailed'; data: { sessionId: string } }
  | { type: 'StripeRefundSeen'; data: { refundId: string; amount: string; refundRequestId: string | null } }
  | { type: 'StripeDisputeOpened'; data: { disputeId: string; amount: string } }
  | { type: 'StripeDisputeClosed'; data: { disputeId: string; outcome: 'won' | 'lost'; status: string } };

export interface PaymentState {
  paymentIntent: string;
  pending: boolean;
  failed: boolean;
  credited: { accountId: string; amount: Micros; sessionId: string } | null;
  unassigned: { accountId: string | null; amount: Micros; reason: string } | null;
  refunds: Map<string, { amount: Micros; refundRequestId: string | null }>;
  disputes: Map<string, { amount: Micros; outcome: 'won' | 'lost' | null }>;
  /** Refunds and dispute steps in the order recorded: the order they are applied in. */
  steps: Array<{ kind: 'refund' | 'dispute_opened' | 'dispute_closed'; id: string }>;
}

export const initialPaymentState = (paymentIntent: string): PaymentState => ({
  paymentIntent,
  pending: false,
  failed: false,
  credited: null,
  unassigned: null,
  refunds: new Map(),
  disputes: new Map(),
  steps: [],
});

export function evolvePayment(s: PaymentState, e: PaymentEvent): PaymentState {
  switch (e.type) {
    case 'StripePaymentPending':
      return { ...s, pending: true };
    case 'StripePaymentSucceeded':
      return { ...s, credited: { accountId: e.data.accountId, amount: BigInt(e.data.amount), sessionId: e.data.sessionId } };
    case 'StripePaymentUnassigned':
      return { ...s, unassigned: { accountId: e.data.accountId, amount: BigInt(e.data.amount), reason: e.data.reason } };
    case 'StripePaymentFailed':
      return { ...s, failed: true };
    case 'StripeRefundSeen': {
      const refunds = new Map(s.refunds).set(e.data.refundId, { amount: BigInt(e.data.amount), refundRequestId: e.data.refundRequestId });
      return { ...s, refunds, steps: [...s.steps, { kind: 'refund', id: e.data.refundId }] };
    }
    case 'StripeDisputeOpened': {
      const disputes = new Map(s.disputes).set(e.data.disputeId, { amount: BigInt(e.data.amount), outcome: null });
      return { ...s, disputes, steps: [...s.steps, { kind: 'dispute_opened', id: e.data.disputeId }] };
    }
    case 'StripeDisputeClosed': {
      const open = s.disputes.get(e.data.disputeId);
      if (!open) return s; // never written: decide() opens a dispute before it closes it
      const disputes = new Map(s.disputes).set(e.data.disputeId, { ...open, outcome: e.data.outcome });
      return { ...s, disputes, steps: [...s.steps, { kind: 'dispute_closed', id: e.data.disputeId }] };
    }
  }
}

export interface DecidePaymentContext {
  /** Whether the ledger has this account (asked only for a Paid fact). */
  accountExists: (accountId: string) => boolean;
}

export interface DecidedEvent {
  id: string;
  event: PaymentEvent;
}

/** The events these facts add to the payment's stream (none when all were recorded already). */
export function decidePayment(facts: StripeFact[], state: PaymentState, ctx: DecidePaymentContext): DecidedEvent[] {
  const out: DecidedEvent[] = [];
  let s = state;
  const pi = state.paymentIntent;
  const add = (key: string, event: PaymentEvent) => {
    out.push({ id: deterministicId(`stripe:${pi}:${key}`), event });
    s = evolvePayment(s, event);
  };
  for (const f of facts) {
    switch (f.type) {
      case 'Paid': {
        if (s.credited || s.unassigned) break; // told before (a redelivery, or completed + async_succeeded)
        const amount = f.data.amount.toString();
        const reason = unassignedReason(f.data, ctx);
        if (reason === null) add('paid', { type: 'StripePaymentSucceeded', data: { sessionId: f.data.sessionId, accountId: f.data.accountId as string, amount } });
        else add('paid', { type: 'StripePaymentUnassigned', data: { sessionId: f.data.sessionId, accountId: f.data.accountId, amount, reason } });
        break;
      }
      case 'Pending':
        if (s.pending || s.credited || s.unassigned || s.failed) break;
        add('pending', { type: 'StripePaymentPending', data: { sessionId: f.data.sessionId, accountId: f.data.accountId, amount: f.data.amount.toString() } });
        break;
      case 'Failed':
        if (s.failed || s.credited || s.unassigned) break;
        add('failed', { type: 'StripePaymentFailed', data: { sessionId: f.data.sessionId } });
        break;
      case 'RefundSeen':
        if (s.refunds.has(f.data.refundId)) break;
        add(`refund:${f.data.refundId}`, {
          type: 'StripeRefundSeen',
          data: { refundId: f.data.refundId, amount: f.data.amount.toString(), refundRequestId: f.data.refundRequestId },
        });
        break;
      case 'DisputeOpened':
        if (s.disputes.has(f.data.disputeId)) break;
        add(`dispute:${f.data.disputeId}:opened`, { type: 'StripeDisputeOpened', data: { disputeId: f.data.disputeId, amount: f.data.amount.toString() } });
        break;
      case 'DisputeClosed': {
        // A close whose creation never reached us opens it first: the freeze and its outcome both happen.
        if (!s.disputes.has(f.data.disputeId)) {
          add(`dispute:${f.data.disputeId}:opened`, { type: 'StripeDisputeOpened', data: { disputeId: f.data.disputeId, amount: f.data.amount.toString() } });
        }
        if (s.disputes.get(f.data.disputeId)?.outcome) break;
        add(`dispute:${f.data.disputeId}:closed`, { type: 'StripeDisputeClosed', data: { disputeId: f.data.disputeId, outcome: f.data.outcome, status: f.data.status } });
        break;
      }
    }
  }
  return out;
}

function unassignedReason(d: Extract<StripeFact, { type: 'Paid' }>['data'], ctx: DecidePaymentContext): string | null {
  if (d.currency.toLowerCase() !== 'usd') return `paid in ${d.currency}, not usd`;
  if (d.amount <= 0n) return 'nothing was paid';
  if (d.amount > MAX_MICROS) return "the amount passes the ledger's bound";
  if (!d.accountId) return 'no account in the session (metadata account_id, client_reference_id)';
  if (!ctx.accountExists(d.accountId)) return `no account ${d.accountId}`;
  return null;
}

/** A ledger command the payment's state implies, with the account it goes to. */
export interface LedgerEffect {
  accountId: string;
  command: AccountCommand;
}

/**
 * The ledger commands this payment implies, in order: its credit, then each refund and dispute
 * step as recorded. All of them have deterministic ids, so running them again is a retry.
 * Nothing until the payment is credited.
 */
export function paymentEffects(s: PaymentState): LedgerEffect[] {
  if (!s.credited) return [];
  const { accountId } = s.credited;
  const pi = s.paymentIntent;
  const out: LedgerEffect[] = [{ accountId, command: { type: 'PurchaseCredits', data: { paymentId: pi, amount: s.credited.amount } } }];
  for (const step of s.steps) {
    if (step.kind === 'refund') {
      const r = s.refunds.get(step.id)!;
      // A refund our approval flow made (refund_request_id in its metadata) resolves that request's
      // freeze, with exactly the fields that flow books, so whichever comes first, the other is a retry.
      const command: AccountCommand = r.refundRequestId
        ? { type: 'RefundCredits', data: { refundId: step.id, amount: r.amount, reason: `refund request ${r.refundRequestId}`, freezeId: r.refundRequestId } }
        : { type: 'RefundCredits', data: { refundId: step.id, amount: r.amount, reason: 'refunded in Stripe', paymentId: pi, allowOwed: true } };
      out.push({ accountId, command });
    } else if (step.kind === 'dispute_opened') {
      const d = s.disputes.get(step.id)!;
      out.push({ accountId, command: { type: 'OpenDispute', data: { disputeId: step.id, paymentId: pi, amount: d.amount } } });
    } else {
      const d = s.disputes.get(step.id)!;
      out.push({ accountId, command: { type: 'CloseDispute', data: { disputeId: step.id, outcome: d.outcome as 'won' | 'lost' } } });
    }
  }
  return out;
}

export const PAYMENT_EVENT_TYPES: ReadonlySet<string> = new Set<PaymentEvent['type']>([
  'StripePaymentPending',
  'StripePaymentSucceeded',
  'StripePaymentUnassigned',
  'StripePaymentFailed',
  'StripeRefundSeen',
  'StripeDisputeOpened',
  'StripeDisputeClosed',
]);

export function foldPayment(paymentIntent: string, events: Array<{ type: string; data: unknown }>): PaymentState {
  let s = initialPaymentState(paymentIntent);
  for (const e of events) if (PAYMENT_EVENT_TYPES.has(e.type)) s = evolvePayment(s, e as PaymentEvent);
  return s;
}
