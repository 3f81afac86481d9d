/**
 * The Stripe payment stream's pure parts: what a verified event says (readStripeEvent), what a
 * payment's stream records of it (decidePayment: once per fact, whatever the delivery order),
 * the ledger commands its state implies (paymentEffects), and the checkout amount's parsing.
 */
import { checkoutCompletedEvent, asyncPaymentSucceededEvent, asyncPaymentFailedEvent, chargeRefundedEvent, disputeCreatedEvent, disputeClosedEvent } from '../../support/fake-stripe';
import { centsOfDollars } from '../../../src/payments/stripe/application/checkout.service';
import { ReadEvent, WebhookRefused, readStripeEvent } from '../../../src/payments/stripe/domain/stripe-facts';
import { PaymentState, StripeFact, decidePayment, evolvePayment, initialPaymentState, paymentEffects } from '../../../src/payments/stripe/domain/stripe-payment';

const facts = (r: ReadEvent): { paymentIntent: string; facts: StripeFact[] } => {
  if (r.kind !== 'facts') throw new Error(`expected facts, got ${r.kind}`);
  return r;
};
const exists = { accountExists: (id: string) => id === 'acct-1' };
const apply = (s: PaymentState, fs: StripeFact[], ctx = exists) => decidePayment(fs, s, ctx).reduce((st, d) => evolvePayment(st, d.event), s);

describe('readStripeEvent', () => {
  it('reads a paid, an unpaid, an async success and an async failure of a checkout', () => {
    const paid = facts(readStripeEvent(checkoutCompletedEvent({ accountId: 'acct-1', cents: 2500, paymentIntent: 'pi_1' })));
    expect(paid).toEqual({ kind: 'facts', paymentIntent: 'pi_1', facts: [{ type: 'Paid', data: expect.objectContaining({ accountId: 'acct-1', amount: 25_000_000n, currency: 'usd' }) }] });
    expect(facts(readStripeEvent(checkoutCompletedEvent({ accountId: 'acct-1', cents: 2500, paymentIntent: 'pi_1', paymentStatus: 'unpaid' }))).facts[0].type).toBe('Pending');
    expect(facts(readStripeEvent(asyncPaymentSucceededEvent({ accountId: 'acct-1', cents: 2500, paymentIntent: 'pi_1' }))).facts[0].type).toBe('Paid');
    expect(facts(readStripeEvent(asyncPaymentFailedEvent({ accountId: 'acct-1', cents: 2500, paymentIntent: 'pi_1' }))).facts[0].type).toBe('Failed');
  });

  it('ignores what is not ours and refuses malformed fields by name', () => {
    expect(readStripeEvent({ type: 'customer.created', data: { object: {} } })).toMatchObject({ kind: 'ignored' });
    const sub = checkoutCompletedEvent({ accountId: 'a', cents: 500 });
    expect(readStripeEvent({ ...sub, data: { object: { ...sub.data.object, mode: 'subscription' } } })).toMatchObject({ kind: 'ignored' });
    for (const amount_total of [-1, 1.5, '500', 1e12, null]) {
      expect(() => readStripeEvent({ ...sub, data: { object: { ...sub.data.object, amount_total } } })).toThrow(/session.amount_total/);
    }
    expect(() => readStripeEvent({ ...sub, data: { object: { ...sub.data.object, payment_intent: 'pi_../../x' } } })).toThrow(WebhookRefused);
    expect(() => readStripeEvent({ type: 'x' })).toThrow(WebhookRefused);
  });

  it('reads refunds (succeeded or pending, not failed) and asks Stripe when the charge does not list them', () => {
    const ev = chargeRefundedEvent({ paymentIntent: 'pi_2', cents: 1000, refunds: [{ id: 're_a', cents: 300 }, { id: 're_b', cents: 200, status: 'failed' }, { id: 're_c', cents: 100, status: 'pending', metadata: { refund_request_id: 'rr-1' } }] });
    expect(facts(readStripeEvent(ev)).facts).toEqual([
      { type: 'RefundSeen', data: { refundId: 're_a', amount: 3_000_000n, refundRequestId: null } },
      { type: 'RefundSeen', data: { refundId: 're_c', amount: 1_000_000n, refundRequestId: 'rr-1' } },
    ]);
    const bare = { ...ev, data: { object: { ...ev.data.object, refunds: undefined } } };
    expect(readStripeEvent(bare)).toMatchObject({ kind: 'needs_refunds', paymentIntent: 'pi_2' });
  });

  it('reads disputes: lost is lost, any other close releases; a dispute without payment intent asks for its charge', () => {
    expect(facts(readStripeEvent(disputeCreatedEvent({ paymentIntent: 'pi_3', cents: 700, disputeId: 'dp_1' }))).facts).toEqual([{ type: 'DisputeOpened', data: { disputeId: 'dp_1', amount: 7_000_000n } }]);
    expect(facts(readStripeEvent(disputeClosedEvent({ paymentIntent: 'pi_3', cents: 700, status: 'lost' }))).facts[0]).toMatchObject({ data: { outcome: 'lost' } });
    const warn = disputeClosedEvent({ paymentIntent: 'pi_3', cents: 700, status: 'won' });
    expect(facts(readStripeEvent({ ...warn, data: { object: { ...warn.data.object, status: 'warning_closed' } } })).facts[0]).toMatchObject({ data: { outcome: 'won' } });
    const noPi = disputeCreatedEvent({ paymentIntent: 'pi_3', cents: 700, charge: 'ch_9' });
    expect(readStripeEvent({ ...noPi, data: { object: { ...noPi.data.object, payment_intent: null } } })).toMatchObject({ kind: 'needs_payment_intent_of_charge', charge: 'ch_9' });
  });
});

describe('decidePayment and paymentEffects', () => {
  const paid: StripeFact = { type: 'Paid', data: { sessionId: 'cs_1', accountId: 'acct-1', amount: 10_000_000n, currency: 'usd' } };

  it('records a payment once, whichever events tell it and how often', () => {
    let s = initialPaymentState('pi_1');
    const first = decidePayment([paid], s, exists);
    expect(first.map((d) => d.event.type)).toEqual(['StripePaymentSucceeded']);
    s = apply(s, [paid]);
    expect(decidePayment([paid, paid], s, exists)).toEqual([]);
    expect(decidePayment([{ type: 'Failed', data: { sessionId: 'cs_1' } }], s, exists)).toEqual([]);
    expect(decidePayment([{ type: 'Pending', data: { sessionId: 'cs_1', accountId: 'acct-1', amount: 1n } }], s, exists)).toEqual([]);
    // The same fact decided from the empty state again has the same id: a concurrent delivery's append is idempotent.
    expect(decidePayment([paid], initialPaymentState('pi_1'), exists)[0].id).toBe(first[0].id);
  });

  it('keeps a payment it cannot credit as unassigned, with the reason, and credits nothing', () => {
    const cases: Array<[Partial<typeof paid.data>, RegExp]> = [
      [{ accountId: 'acct-unknown' }, /no account acct-unknown/],
      [{ accountId: null }, /no account in the session/],
      [{ currency: 'eur' }, /eur/],
      [{ amount: 10n ** 15n + 1n }, /bound/],
    ];
    for (const [change, reason] of cases) {
      const s = apply(initialPaymentState('pi_x'), [{ type: 'Paid', data: { ...paid.data, ...change } }]);
      expect(s.credited).toBeNull();
      expect(s.unassigned?.reason).toMatch(reason);
      expect(paymentEffects(s)).toEqual([]);
    }
  });

  it('applies refunds and disputes after the credit, in the order recorded, even when they came first', () => {
    let s = initialPaymentState('pi_1');
    s = apply(s, [{ type: 'RefundSeen', data: { refundId: 're_1', amount: 2_000_000n, refundRequestId: null } }]);
    expect(paymentEffects(s)).toEqual([]); // not credited yet: nothing to refund from
    s = apply(s, [{ type: 'DisputeClosed', data: { disputeId: 'dp_1', amount: 3_000_000n, outcome: 'lost', status: 'lost' } }]);
    s = apply(s, [{ type: 'RefundSeen', data: { refundId: 're_2', amount: 1_000_000n, refundRequestId: 'rr-9' } }]);
    s = apply(s, [paid]);
    expect(paymentEffects(s).map((e) => e.command)).toEqual([
      { type: 'PurchaseCredits', data: { paymentId: 'pi_1', amount: 10_000_000n } },
      { type: 'RefundCredits', data: { refundId: 're_1', amount: 2_000_000n, reason: 'refunded in Stripe', paymentId: 'pi_1', allowOwed: true } },
      { type: 'OpenDispute', data: { disputeId: 'dp_1', paymentId: 'pi_1', amount: 3_000_000n } },
      { type: 'CloseDispute', data: { disputeId: 'dp_1', outcome: 'lost' } },
      { type: 'RefundCredits', data: { refundId: 're_2', amount: 1_000_000n, reason: 'refund request rr-9', freezeId: 'rr-9' } },
    ]);
    // Redelivered, nothing new is recorded.
    expect(decidePayment([{ type: 'DisputeOpened', data: { disputeId: 'dp_1', amount: 3_000_000n } }, { type: 'RefundSeen', data: { refundId: 're_1', amount: 2_000_000n, refundRequestId: null } }], s, exists)).toEqual([]);
  });
});

describe('centsOfDollars', () => {
  it('takes decimal strings of dollars and cents from 5.00 to the maximum, one or two decimals', () => {
    expect(centsOfDollars('5.00', 10_000)).toEqual({ cents: 500 });
    expect(centsOfDollars('5.0', 10_000)).toEqual({ cents: 500 });
    expect(centsOfDollars('25.5', 10_000)).toEqual({ cents: 2550 });
    expect(centsOfDollars('10000.00', 10_000)).toEqual({ cents: 1_000_000 });
    for (const bad of ['5', '4.99', '10000.01', '5.001', '-5', '1e3', ' ', '', ' 5.00', '5,00', '0x10', '.5', '5.', 5, null, '99999999999']) {
      expect(centsOfDollars(bad, 10_000)).toHaveProperty('error');
    }
  });
});
