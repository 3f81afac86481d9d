/**
 * Reading a verified Stripe event: which payment it is about and what it says (StripeFact), or
 * that it is not ours to act on (ignored, with why). Pure. Stripe's objects are checked field by
 * field: a signed event with a malformed field is refused (WebhookRefused, 400) naming it, so
 * nothing is booked from a shape we do not understand.
 */
import { microsFromCents } from '../stripe-client';
import { PAYMENT_INTENT_ID, STRIPE_ID, StripeFact } from './stripe-payment';

export class WebhookRefused extends Error {
  override readonly name = 'WebhookRefused';
}

export type ReadEvent =
  | { kind: 'ignored'; why: string }
  | { kind: 'facts'; paymentIntent: string; facts: StripeFact[] }
  /** Stripe did not include what we need; the service asks Stripe's API (dispute → charge's payment intent; charge → its refunds). */
  | { kind: 'needs_payment_intent_of_charge'; charge: string; then: (paymentIntent: string) => ReadEvent }
  | { kind: 'needs_refunds'; paymentIntent: string; then: (refunds: unknown[]) => ReadEvent };

/** A checkout can be at most this many cents (Stripe's own limit is $999,999.99; the ledger's far above). */
const MAX_CENTS = 100_000_000_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function cents(o: Obj, field: string, where: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > MAX_CENTS) throw new WebhookRefused(`${where}.${field} must be a whole number of cents from 0 to ${MAX_CENTS}`);
  return v;
}

function stripeId(v: unknown, where: string, pattern = STRIPE_ID): string {
  if (typeof v !== 'string' || !pattern.test(v)) throw new WebhookRefused(`${where} is not a Stripe id`);
  return v;
}

/** An expandable field: the id, or the object with its id. */
const idOf = (v: unknown): unknown => (isObj(v) ? v.id : v);

const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,100}$/;

export function readStripeEvent(event: unknown): ReadEvent {
  if (!isObj(event) || typeof event.type !== 'string' || !isObj(event.data) || !isObj(event.data.object)) {
    throw new WebhookRefused('the event has no type or data.object');
  }
  const o = event.data.object;
  switch (event.type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
    case 'checkout.session.async_payment_failed':
      return readSession(event.type, o);
    case 'charge.refunded':
      return readRefunded(o);
    case 'charge.dispute.created':
    case 'charge.dispute.closed':
      return readDispute(event.type, o);
    default:
      return { kind: 'ignored', why: `event type ${event.type} is not handled` };
  }
}

function readSession(type: string, o: Obj): ReadEvent {
  if (o.mode !== 'payment') return { kind: 'ignored', why: `checkout session in mode ${String(o.mode)}` };
  const sessionId = stripeId(o.id, 'session.id');
  const pi = idOf(o.payment_intent);
  if (pi === null || pi === undefined) return { kind: 'ignored', why: 'checkout session without a payment intent' };
  const paymentIntent = stripeId(pi, 'session.payment_intent', PAYMENT_INTENT_ID);
  const metadata = isObj(o.metadata) ? o.metadata : {};
  const given = metadata.account_id ?? o.client_reference_id ?? null;
  const accountId = typeof given === 'string' && ACCOUNT_ID.test(given) ? given : null;
  const amount = microsFromCents(cents(o, 'amount_total', 'session'));
  const currency = typeof o.currency === 'string' ? o.currency.slice(0, 10) : '?';
  if (type === 'checkout.session.async_payment_failed') return { kind: 'facts', paymentIntent, facts: [{ type: 'Failed', data: { sessionId } }] };
  if (type === 'checkout.session.async_payment_succeeded' || o.payment_status === 'paid') {
    return { kind: 'facts', paymentIntent, facts: [{ type: 'Paid', data: { sessionId, accountId, amount, currency } }] };
  }
  if (o.payment_status === 'unpaid') return { kind: 'facts', paymentIntent, facts: [{ type: 'Pending', data: { sessionId, accountId, amount } }] };
  return { kind: 'ignored', why: `checkout session with payment_status ${String(o.payment_status)}` };
}

function readRefunded(o: Obj): ReadEvent {
  const pi = idOf(o.payment_intent);
  if (pi === null || pi === undefined) return { kind: 'ignored', why: 'a charge without a payment intent (not a checkout payment)' };
  const paymentIntent = stripeId(pi, 'charge.payment_intent', PAYMENT_INTENT_ID);
  const then = (refunds: unknown[]): ReadEvent => ({ kind: 'facts', paymentIntent, facts: refundFacts(refunds) });
  // Since API version 2022-11-15 a charge's refunds are not in the event unless expanded: ask Stripe.
  if (!isObj(o.refunds) || !Array.isArray(o.refunds.data) || o.refunds.has_more === true) return { kind: 'needs_refunds', paymentIntent, then };
  return then(o.refunds.data);
}

function refundFacts(refunds: unknown[]): StripeFact[] {
  const facts: StripeFact[] = [];
  for (const r of refunds) {
    if (!isObj(r)) throw new WebhookRefused('a refund is not an object');
    // Booked when Stripe made it or is making it; a failed or canceled refund returned nothing.
    if (r.status !== 'succeeded' && r.status !== 'pending') continue;
    const refundId = stripeId(r.id, 'refund.id');
    const amount = cents(r, 'amount', 'refund');
    if (amount === 0) continue;
    const md = isObj(r.metadata) ? r.metadata : {};
    const rr = md.refund_request_id;
    const refundRequestId = typeof rr === 'string' && ACCOUNT_ID.test(rr) ? rr : null;
    facts.push({ type: 'RefundSeen', data: { refundId, amount: microsFromCents(amount), refundRequestId } });
  }
  return facts;
}

function readDispute(type: string, o: Obj): ReadEvent {
  const disputeId = stripeId(o.id, 'dispute.id');
  const c = cents(o, 'amount', 'dispute');
  if (c === 0) throw new WebhookRefused('dispute.amount must be more than 0');
  const amount = microsFromCents(c);
  const status = typeof o.status === 'string' ? o.status.slice(0, 40) : '?';
  const facts: StripeFact[] =
    type === 'charge.dispute.created'
      ? [{ type: 'DisputeOpened', data: { disputeId, amount } }]
      : // lost: the money went back to the card holder; anything else that closes it (won,
        // warning_closed, charge_refunded) releases what was frozen.
        [{ type: 'DisputeClosed', data: { disputeId, amount, outcome: status === 'lost' ? 'lost' : 'won', status } }];
  const pi = idOf(o.payment_intent);
  if (pi !== null && pi !== undefined) return { kind: 'facts', paymentIntent: stripeId(pi, 'dispute.payment_intent', PAYMENT_INTENT_ID), facts };
  const charge = stripeId(idOf(o.charge), 'dispute.charge');
  return { kind: 'needs_payment_intent_of_charge', charge, then: (paymentIntent) => ({ kind: 'facts', paymentIntent, facts }) };
}
