/**
 * Stripe against the ledger, for `tollgate payments reconcile`: every payment intent and refund
 * Stripe lists as created in [from, to) (the SDK's auto-pagination; Stripe counts whole seconds),
 * and every payment and refund the webhooks recorded in that window (the `stripe-<pi>` streams),
 * each looked up on the other side by its deterministic ledger event id, never by a read model
 * that could lag. Differences:
 *   missing_in_ledger  Stripe took the money (a succeeded intent) or gave it back (a refund),
 *                      and the ledger has no such credit or refund (the detail says why when the
 *                      webhook recorded one: an unknown account, not USD, …);
 *   missing_in_stripe  the ledger credited or refunded what Stripe does not have (or has not
 *                      succeeded);
 *   amount_differs     both have it, for other amounts.
 */
import { Inject, Injectable } from '@nestjs/common';
import type Stripe from 'stripe';
import { AccountCommand } from '../../ledger/domain/account.decider';
import { accountStream, decodeLedgerEvent } from '../../ledger/domain/events';
import { eventIdFor } from '../../ledger/domain/event-ids';
import { EVENT_STORE, EventStore, LOG_START, LogPosition, comparePositions } from '../../platform/event-store/event-store.port';
import { formatCredits } from '../../shared/money';
import { Difference, Reconciler } from '../reconcile/difference';
import { STRIPE_STREAM_PREFIX, foldPayment, paymentStream } from './domain/stripe-payment';
import { STRIPE_CLIENT, StripeClient, microsFromCents } from './stripe-client';

const PAGE = 1000;
const HEAD_WAIT_MS = 30_000;

@Injectable()
export class StripeReconciler implements Reconciler {
  readonly source = 'stripe' as const;

  constructor(
    @Inject(STRIPE_CLIENT) private readonly stripe: StripeClient,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async reconcile(from: Date, to: Date, onProgress?: (done: number, total: number | null) => void): Promise<{ compared: number; differences: Difference[] }> {
    if (!this.stripe) throw new Error('Stripe is not configured (STRIPE_SECRET_KEY): nothing to reconcile against');
    const stripe = this.stripe;
    const created = { gte: Math.floor(from.getTime() / 1000), lt: Math.ceil(to.getTime() / 1000) };
    const differences: Difference[] = [];
    let compared = 0;
    const tick = () => {
      compared += 1;
      onProgress?.(compared, null);
    };

    // Stripe's side: payments.
    const seenIntents = new Set<string>();
    for await (const pi of stripe.paymentIntents.list({ created, limit: 100 })) {
      seenIntents.add(pi.id);
      if (pi.status === 'succeeded') await this.checkPayment(pi.id, microsFromCents(pi.amount_received), differences);
      tick();
    }
    // Stripe's side: refunds.
    const seenRefunds = new Set<string>();
    for await (const r of stripe.refunds.list({ created, limit: 100 })) {
      seenRefunds.add(r.id);
      if (r.status === 'succeeded' || r.status === 'pending') await this.checkRefund(r, differences);
      tick();
    }
    // The ledger's side: what the webhooks recorded in the window that Stripe did not list.
    for (const e of await this.recorded(from, to)) {
      const pi = e.streamId.slice(STRIPE_STREAM_PREFIX.length);
      if (e.type === 'StripePaymentSucceeded' && !seenIntents.has(pi)) {
        const found = await this.retrieve(() => stripe.paymentIntents.retrieve(pi));
        const ledger = formatCredits(BigInt(String(e.data.amount)));
        if (!found || found.status !== 'succeeded') {
          differences.push({ source: 'stripe', kind: 'missing_in_stripe', reference: pi, detail: found ? `credited, but Stripe says the payment is ${found.status}` : 'credited, but Stripe has no such payment', ledger });
        } else await this.checkPayment(pi, microsFromCents(found.amount_received), differences);
        tick();
      } else if (e.type === 'StripeRefundSeen' && !seenRefunds.has(String(e.data.refundId))) {
        const refundId = String(e.data.refundId);
        const found = await this.retrieve(() => stripe.refunds.retrieve(refundId));
        if (!found || (found.status !== 'succeeded' && found.status !== 'pending')) {
          differences.push({ source: 'stripe', kind: 'missing_in_stripe', reference: refundId, detail: found ? `refunded in the ledger, but Stripe says the refund is ${found.status}` : 'refunded in the ledger, but Stripe has no such refund', ledger: formatCredits(BigInt(String(e.data.amount))) });
        }
        tick();
      }
    }
    return { compared, differences };
  }

  private async checkPayment(pi: string, outside: bigint, differences: Difference[]): Promise<void> {
    const command: AccountCommand = { type: 'PurchaseCredits', data: { paymentId: pi, amount: outside } };
    const prior = await this.store.getEvent(eventIdFor('', command, 0));
    if (!prior) {
      const state = foldPayment(pi, await this.store.readStream(paymentStream(pi)));
      const why = state.unassigned ? `not credited: ${state.unassigned.reason}` : state.credited ? 'recorded, but its credit is not in the ledger' : 'no credit in the ledger (no paid webhook recorded)';
      differences.push({ source: 'stripe', kind: 'missing_in_ledger', reference: pi, detail: why, outside: formatCredits(outside) });
      return;
    }
    const credited = decodeLedgerEvent(prior.type, prior.data);
    if (credited.type === 'CreditsPurchased' && credited.data.amount !== outside) {
      differences.push({ source: 'stripe', kind: 'amount_differs', reference: pi, detail: 'credited another amount than Stripe received', outside: formatCredits(outside), ledger: formatCredits(credited.data.amount) });
    }
  }

  private async checkRefund(r: Stripe.Refund, differences: Difference[]): Promise<void> {
    const outside = microsFromCents(r.amount);
    const pi = typeof r.payment_intent === 'string' ? r.payment_intent : r.payment_intent?.id;
    const state = pi ? foldPayment(pi, await this.store.readStream(paymentStream(pi))) : null;
    if (!state?.credited) {
      differences.push({ source: 'stripe', kind: 'missing_in_ledger', reference: r.id, detail: `refund of ${pi ?? 'a charge'} whose payment the ledger never credited`, outside: formatCredits(outside) });
      return;
    }
    const requestId = r.metadata?.refund_request_id;
    const command: AccountCommand = requestId
      ? { type: 'RefundCredits', data: { refundId: r.id, amount: outside, reason: `refund request ${requestId}`, freezeId: requestId } }
      : { type: 'RefundCredits', data: { refundId: r.id, amount: outside, reason: 'refunded in Stripe', paymentId: pi, allowOwed: true } };
    const accountId = state.credited.accountId;
    const prior = await this.store.getEvent(eventIdFor(accountId, command, 0));
    const booked = prior && prior.streamId === accountStream(accountId) ? decodeLedgerEvent(prior.type, prior.data) : null;
    if (!booked || booked.type !== 'CreditsRefunded' || booked.data.refundId !== r.id) {
      differences.push({ source: 'stripe', kind: 'missing_in_ledger', reference: r.id, detail: booked ? `the ledger shows ${booked.type} instead of this refund` : `refund of ${pi} not booked in the ledger`, outside: formatCredits(outside) });
    } else if (booked.data.amount !== outside) {
      differences.push({ source: 'stripe', kind: 'amount_differs', reference: r.id, detail: 'refunded another amount than Stripe did', outside: formatCredits(outside), ledger: formatCredits(booked.data.amount) });
    }
  }

  /**
   * Payment and refund facts the webhooks recorded in [from, to): everything committed when the
   * reconcile started. The log is read in order, so a reader waits for transactions still open
   * below the head (HEAD_WAIT_MS at most, then it says so rather than report a partial picture).
   */
  private async recorded(from: Date, to: Date) {
    const out = [];
    const head = await this.store.headPosition([STRIPE_STREAM_PREFIX]);
    const deadline = Date.now() + HEAD_WAIT_MS;
    for (let after: LogPosition = LOG_START; comparePositions(after, head) < 0; ) {
      const page = await this.store.readAll({ after, limit: PAGE, streamPrefixes: [STRIPE_STREAM_PREFIX] });
      if (page.length === 0) {
        if (Date.now() > deadline) throw new Error(`the event log did not show the Stripe payments recorded up to ${head.tx}:${head.seq} within ${HEAD_WAIT_MS / 1000} s (a transaction held open?); try again`);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      for (const e of page) {
        const t = e.recordedAt.getTime();
        if (t >= from.getTime() && t < to.getTime() && (e.type === 'StripePaymentSucceeded' || e.type === 'StripeRefundSeen')) out.push(e);
      }
      after = page[page.length - 1].position;
    }
    return out;
  }

  private async retrieve<T>(get: () => Promise<T>): Promise<T | null> {
    try {
      return await get();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }
}
