/**
 * What a verified Stripe event does: record what it says in its payment's stream
 * (`stripe-<payment_intent>`, first event appended with "no stream", later ones at the version
 * read, retried on a conflict), then carry out the ledger commands the payment's state implies
 * (paymentEffects: the credit, then refunds and disputes in order), each with a deterministic id.
 * The caller answers 2xx only when this resolves: everything is durable then. Anything that
 * throws (store down, a ledger refusal nobody expects) is answered 5xx and Stripe delivers again;
 * a redelivery records nothing new and re-runs the same commands, which are then retries.
 *
 * The receipt is issued after the credit, without waiting for mail (ReceiptsService keeps and
 * retries what it could not send). Every delivery of a paid payment issues it: the first makes
 * the row, the rest find it.
 *
 * In one process, deliveries about one payment run one after another (copies sent at the same
 * moment would otherwise race to append the same events, and the loser pays a locked retry), and
 * the process remembers, for the last CARRIED_OUT_MEMORY payments, the state it carried out in
 * full (stream durable, ledger commands done, receipt row written). A delivery that adds nothing
 * to that state is then answered without touching the store: whatever else the stream holds came
 * from deliveries that carry it out themselves. Across instances nothing is assumed: the stream's
 * version check and the deterministic ids keep them apart.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { APP_CONFIG, AppConfig } from '../../../config/config';
import { ExecuteAccountCommand } from '../../../ledger/application/execute-account.command';
import { LedgerService } from '../../../ledger/application/ledger.service';
import { LedgerError } from '../../../ledger/domain/errors';
import { accountStream } from '../../../ledger/domain/events';
import { eventIdFor } from '../../../ledger/domain/event-ids';
import { CLOCK, Clock } from '../../../platform/clock';
import { EVENT_STORE, EventIdConflictError, EventStore, VersionConflictError } from '../../../platform/event-store/event-store.port';
import { formatCredits } from '../../../shared/money';
import { ReceiptsService } from '../../receipts/receipts.service';
import { RefundRequestsService } from '../../refunds/application/refund-requests.service';
import { STRIPE_CLIENT, StripeClient } from '../stripe-client';
import { ReadEvent, WebhookRefused, readStripeEvent } from '../domain/stripe-facts';
import { LedgerEffect, PaymentState, StripeFact, decidePayment, foldPayment, paymentEffects, paymentStream } from '../domain/stripe-payment';

export interface WebhookOutcome {
  outcome: 'recorded' | 'ignored';
  paymentIntent?: string;
  /** Events this delivery added to the payment's stream (0: a redelivery). */
  recorded?: number;
  why?: string;
}

const MAX_APPEND_ATTEMPTS = 10;
/** Payments remembered as carried out in full (a few hundred bytes each). */
export const CARRIED_OUT_MEMORY = 10_000;

@Injectable()
export class StripeWebhookService {
  private readonly log = new Logger('StripeWebhooks');
  /** Payment intent → the state this process carried out in full; oldest forgotten first. */
  private readonly carriedOut = new Map<string, PaymentState>();
  /** Payment intent → the tail of its deliveries running in this process. */
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(STRIPE_CLIENT) private readonly stripe: StripeClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly ledger: LedgerService,
    private readonly commands: CommandBus,
    private readonly receipts: ReceiptsService,
    private readonly refunds: RefundRequestsService,
  ) {}

  async handle(event: { id: string; type: string }): Promise<WebhookOutcome> {
    const read = await this.complete(readStripeEvent(event));
    if (read.kind === 'ignored') return { outcome: 'ignored', why: read.why };
    if (read.kind !== 'facts') throw new Error('unreachable');
    const { paymentIntent, facts } = read;
    this.warnOfAmounts(event.id, paymentIntent, facts);
    return this.oneAtATime(paymentIntent, async () => {
      const known = this.carriedOut.get(paymentIntent);
      // Nothing new for a state carried out in full (a Paid fact not yet in it always decides something).
      if (known && decidePayment(facts, known, { accountExists: () => false }).length === 0) return { outcome: 'recorded', paymentIntent, recorded: 0 };
      const { state, recorded } = await this.record(paymentIntent, facts, event);
      await this.apply(state, event, recorded === 0);
      this.remember(paymentIntent, state);
      return { outcome: 'recorded', paymentIntent, recorded };
    });
  }

  /** Runs fn after every delivery about this payment that came before it in this process, whatever their outcome. */
  private async oneAtATime<T>(paymentIntent: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.running.get(paymentIntent) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.running.set(paymentIntent, tail);
    try {
      return await run;
    } finally {
      if (this.running.get(paymentIntent) === tail) this.running.delete(paymentIntent);
    }
  }

  private remember(paymentIntent: string, state: PaymentState): void {
    this.carriedOut.delete(paymentIntent);
    this.carriedOut.set(paymentIntent, state);
    if (this.carriedOut.size > CARRIED_OUT_MEMORY) this.carriedOut.delete(this.carriedOut.keys().next().value as string);
  }

  /** Fills in what the event left out by asking Stripe's API. */
  private async complete(read: ReadEvent): Promise<ReadEvent> {
    if (read.kind === 'needs_payment_intent_of_charge') {
      const charge = await this.api().charges.retrieve(read.charge);
      const pi = typeof charge.payment_intent === 'string' ? charge.payment_intent : charge.payment_intent?.id;
      if (!pi) return { kind: 'ignored', why: `charge ${read.charge} has no payment intent` };
      return this.complete(read.then(pi));
    }
    if (read.kind === 'needs_refunds') {
      const refunds: unknown[] = [];
      for await (const r of this.api().refunds.list({ payment_intent: read.paymentIntent, limit: 100 })) refunds.push(r);
      return read.then(refunds);
    }
    return read;
  }

  private api() {
    if (!this.stripe) throw new Error('STRIPE_SECRET_KEY is not set: the event needs a call to Stripe');
    return this.stripe;
  }

  /** Appends the facts not yet recorded; the payment's state after them. */
  private async record(pi: string, facts: StripeFact[], event: { id: string; type: string }): Promise<{ state: PaymentState; recorded: number }> {
    const stream = paymentStream(pi);
    const known = new Map<string, boolean>();
    // A payment this process has not carried out is usually new: decide on an empty stream and
    // append with "no stream", which succeeds only if the stream was empty indeed, so the state
    // decided on was the real one; that saves a read per new payment. Anything else (the stream
    // exists; these very events are in it already, maybe with more; nothing to decide on an
    // empty stream) proves nothing about the stream, and the loop reads it and decides again.
    let assumeEmpty = !this.carriedOut.has(pi);
    for (let attempt = 1; ; attempt++) {
      const events = assumeEmpty ? [] : await this.store.readStream(stream);
      const state = foldPayment(pi, events);
      const version = events.length === 0 ? 0n : events[events.length - 1].streamVersion;
      // Whether the account exists is asked of the ledger only for a payment not yet decided.
      for (const f of facts) {
        if (f.type === 'Paid' && f.data.accountId && !state.credited && !state.unassigned && !known.has(f.data.accountId)) {
          // An account is never closed: a cached open state answers without a read.
          known.set(f.data.accountId, this.ledger.cachedState(f.data.accountId)?.opened === true || (await this.ledger.load(f.data.accountId)).state.opened);
        }
      }
      const decided = decidePayment(facts, state, { accountExists: (id) => known.get(id) === true });
      if (decided.length === 0 && assumeEmpty) {
        assumeEmpty = false;
        continue;
      }
      if (decided.length === 0) return { state, recorded: 0 };
      const metadata = { stripeEventId: event.id, stripeEventType: event.type, occurredAt: this.clock.now().toISOString() };
      let appended;
      try {
        appended = await this.store.append(
          stream,
          decided.map((d) => ({ id: d.id, type: d.event.type, data: { ...d.event.data }, metadata })),
          { expectedVersion: version === 0n ? 'no_stream' : version },
        );
      } catch (err) {
        // Another delivery about this payment wrote first: read what it wrote and decide again.
        if (!(err instanceof VersionConflictError || err instanceof EventIdConflictError) || attempt >= MAX_APPEND_ATTEMPTS) throw err;
        assumeEmpty = false;
        continue;
      }
      if (assumeEmpty && appended.idempotent) {
        assumeEmpty = false;
        continue;
      }
      for (const d of appended.idempotent ? [] : decided) {
        if (d.event.type === 'StripePaymentUnassigned') {
          this.log.warn(`Stripe event ${event.id}: payment ${pi} of ${formatCredits(BigInt(d.event.data.amount))} credits is not credited (${d.event.data.reason}); see \`tollgate payments reconcile\``);
        }
      }
      const after = foldPayment(pi, [...events, ...decided.map((d) => d.event)]);
      // A concurrent delivery of the same fact wrote these very events first: nothing new.
      return { state: after, recorded: appended.idempotent ? 0 : decided.length };
    }
  }

  /**
   * Runs the ledger commands the payment implies; each is a retry if it ran before. A delivery
   * that recorded nothing new (a redelivery) first asks whether each command's event is already
   * in the log (one read by id): most are, and a retried append costs far more than that read.
   */
  private async apply(state: PaymentState, event: { id: string }, redelivery: boolean): Promise<void> {
    const effects = paymentEffects(state);
    for (const effect of effects) {
      if ((redelivery || effect.command.type === 'RefundCredits') && (await this.booked(effect))) continue;
      try {
        await this.commands.execute(new ExecuteAccountCommand(effect.accountId, effect.command, { actor: 'stripe', causationId: event.id }));
        // A refund our approval flow asked for: its request is finished too, even if the
        // approval never heard Stripe's answer (the same booking, then RefundCompleted).
        if (effect.command.type === 'RefundCredits' && effect.command.data.freezeId !== undefined) {
          await this.refunds.completedByStripe(effect.command.data.freezeId, effect.command.data.refundId);
        }
      } catch (err) {
        // A refund decided again after the balance moved is another payload under the same id:
        // if the first booking is there, this was a retry.
        if (err instanceof LedgerError && err.code === 'idempotency_conflict' && (await this.booked(effect))) continue;
        this.log.error(
          `Stripe event ${event.id}: ${effect.command.type} for payment ${state.paymentIntent} (account ${effect.accountId}) failed: ${(err as Error).message}; answered 5xx so Stripe delivers it again`,
        );
        throw err;
      }
    }
    if (state.credited) await this.issueReceipt(state.paymentIntent, state.credited.accountId, state.credited.amount);
  }

  /** The receipt's row is written now (once per payment); ReceiptsService mails it in the background. */
  private async issueReceipt(paymentId: string, accountId: string, amount: bigint): Promise<void> {
    await this.receipts.issue({ paymentId, accountId, method: 'card', amount, detail: 'card (Stripe)', paidAt: this.clock.now() });
  }


  /** Whether the command's first event is in the account's stream already. */
  private async booked(effect: LedgerEffect): Promise<boolean> {
    const prior = await this.store.getEvent(eventIdFor(effect.accountId, effect.command, 0));
    return prior !== null && prior.streamId === accountStream(effect.accountId);
  }

  /** Amounts outside what checkout offers were still paid: credited, and said in the log. */
  private warnOfAmounts(eventId: string, pi: string, facts: StripeFact[]): void {
    for (const f of facts) {
      if (f.type !== 'Paid') continue;
      const dollars = f.data.amount / 1_000_000n;
      if (f.data.amount < 5_000_000n || dollars > BigInt(this.config.TOPUP_MAX_USD) || (dollars === BigInt(this.config.TOPUP_MAX_USD) && f.data.amount % 1_000_000n !== 0n)) {
        this.log.warn(`Stripe event ${eventId}: payment ${pi} of ${formatCredits(f.data.amount)} credits is outside $5 to $${this.config.TOPUP_MAX_USD}; credited as paid`);
      }
    }
  }
}

export { WebhookRefused };
