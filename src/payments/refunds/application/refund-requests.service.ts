/**
 * Refund requests: asked for by the account holder (the account API), approved or declined by
 * staff (the staff API and `tollgate payments refunds`, both through this service, audited).
 *
 * Approving: the amount is frozen first (FreezeCredits, freezeId = request id: it cannot be spent
 * meanwhile), then the decision is appended at the version read, so of an approve and a decline
 * sent at once only one is recorded (the loser releases the freeze it may have placed). Then:
 * - card: Stripe's Refund API with the idempotency key `refund-request-<id>`. Succeeded or
 *   pending → RefundCredits from the freeze (refundId = Stripe's refund id, the same command the
 *   charge.refunded webhook books, so either order books once) and RefundCompleted. Refused (a
 *   4xx) → ReleaseFreeze and RefundFailed with Stripe's message. Unreachable (5xx, timeout,
 *   409/429) → the freeze stays, the request stays approved, the caller gets 503; approving
 *   again retries with the same key, so Stripe refunds once.
 * - crypto: the operator has sent the funds back; the approval carries the outgoing tx hash and
 *   RefundCredits is booked with it as the refund id.
 * Declining: RefundDeclined, then ReleaseFreeze if an approval that lost the race had frozen.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { StaffAudit } from '../../../audit/application/staff-audit.service';
import { PersonalDataVault } from '../../../compliance/personal-data-vault';
import { ExecuteAccountCommand } from '../../../ledger/application/execute-account.command';
import { LedgerService } from '../../../ledger/application/ledger.service';
import { AccountCommand } from '../../../ledger/domain/account.decider';
import { LedgerError } from '../../../ledger/domain/errors';
import { CLOCK, Clock } from '../../../platform/clock';
import { EVENT_STORE, EventIdConflictError, EventStore, NewEvent, VersionConflictError } from '../../../platform/event-store/event-store.port';
import { deterministicId } from '../../../shared/ids';
import { Micros, formatCredits } from '../../../shared/money';
import { STRIPE_CLIENT, StripeClient, centsFromMicros } from '../../stripe/stripe-client';
import {
  REFUND_REQUEST_PREFIX,
  REFUND_WINDOW_DAYS,
  RefundRequest,
  RefundRequestEvent,
  RefundStatus,
  RefundsError,
  TX_HASH,
  foldRefundRequest,
  methodOf,
  refundRequestStream,
  requestedAmount,
} from '../domain/refund-request';
import { PurchasesReader } from './purchases';
import { RefundMail } from './refund-mail';
import { RefundCursor, RefundRequestsRepository, RefundRow } from './refund-requests.repository';
import { rebuildRowsFromStreams } from '../../../platform/event-store/rebuild-rows';

export interface NewRefundRequest {
  accountId: string;
  userId: string;
  purchaseId: string;
  /** µcr asked; null: all of the purchase still unspent. */
  amount: Micros | null;
  reason: string;
}

export interface Decision {
  actor: string;
  reason: string;
  /** Crypto only: the operator's outgoing transaction. */
  txHash?: string | null;
}

const DECISION_ATTEMPTS = 5;
/** A claimed row with no event after this long is left from a crash, not a request being written. */
const ORPHAN_AFTER_MS = 60_000;

@Injectable()
export class RefundRequestsService {
  private readonly log = new Logger('RefundRequests');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(STRIPE_CLIENT) private readonly stripe: StripeClient,
    private readonly commands: CommandBus,
    private readonly ledger: LedgerService,
    private readonly purchases: PurchasesReader,
    private readonly rows: RefundRequestsRepository,
    private readonly audit: StaffAudit,
    private readonly vault: PersonalDataVault,
    private readonly mail: RefundMail,
  ) {}

  async request(input: NewRefundRequest): Promise<RefundRequest> {
    const method = methodOf(input.purchaseId);
    const purchase = method ? await this.purchases.one(input.accountId, input.purchaseId) : null;
    if (!purchase) throw new RefundsError('purchase_not_found', `this account has no purchase ${input.purchaseId}`);
    const now = this.clock.now();
    if (now.getTime() > purchase.refundableUntil.getTime()) {
      throw new RefundsError(
        'refund_window_passed',
        `a refund may be asked within ${REFUND_WINDOW_DAYS} days of the purchase; this one was made ${purchase.purchasedAt.toISOString()} (refundable until ${purchase.refundableUntil.toISOString()})`,
        { refundableUntil: purchase.refundableUntil.toISOString() },
      );
    }
    const open = await this.rows.openFor(input.purchaseId);
    // A slot claimed by a request whose event was never written (a crash in between) is freed.
    if (open && !(await this.orphan(open, now))) throw openRequest(open);
    const amount = requestedAmount(purchase.method, purchase.unspent, input.amount);
    if (amount === 0n) {
      throw new RefundsError(
        'nothing_to_refund',
        purchase.reserved > 0n
          ? `nothing of purchase ${input.purchaseId} is left to refund: what is unspent is frozen (a refund or a dispute under way)`
          : `nothing of purchase ${input.purchaseId} is left to refund: its credit has been spent (promotional credit is used first, then purchases oldest first)`,
      );
    }
    if (amount > purchase.unspent) {
      throw new RefundsError('refund_exceeds_unspent', `only ${formatCredits(purchase.unspent)} credits of purchase ${input.purchaseId} are unspent`, {
        unspent: formatCredits(purchase.unspent),
      });
    }
    const requestId = randomUUID();
    const sealed = await this.vault.encrypt(input.userId, input.reason);
    const data = {
      requestId,
      accountId: input.accountId,
      userId: input.userId,
      paymentId: input.purchaseId,
      method: purchase.method,
      amount: amount.toString(),
      reason: sealed,
      purchasedAt: purchase.purchasedAt.toISOString(),
      requestedAt: now.toISOString(),
    };
    const r = foldRefundRequest([{ type: 'RefundRequested', data }]) as RefundRequest;
    // The open slot first (a unique index): of two requests for one purchase at once, one wins.
    if (!(await this.rows.claim(r))) {
      throw openRequest((await this.rows.openFor(input.purchaseId)) ?? 'another');
    }
    try {
      await this.append(requestId, [{ type: 'RefundRequested', data }], 'no_stream', 'requested', input.userId);
    } catch (err) {
      await this.rows.unclaim(requestId).catch((e: unknown) => this.log.error(`refund request ${requestId}: its row could not be removed after a failed append: ${(e as Error).message}`));
      throw err;
    }
    return r;
  }

  /**
   * Rewrites every row from its stream (`tollgate ledger replay` runs it): rows whose stream never
   * got its first event (a crash between the claim and the append) are removed.
   */
  rebuild(onProgress?: (done: number) => void): Promise<{ rows: number; repaired: number }> {
    return rebuildRowsFromStreams(this.store, REFUND_REQUEST_PREFIX, this.rows, foldRefundRequest, onProgress);
  }

  /** True (and the row removed) when this open row's request was never written and is not being written now. */
  private async orphan(requestId: string, now: Date): Promise<boolean> {
    const row = await this.rows.find(requestId);
    if (!row || now.getTime() - row.requestedAt.getTime() < ORPHAN_AFTER_MS) return false;
    if ((await this.store.readStream(refundRequestStream(requestId), { limit: 1 })).length > 0) return false;
    this.log.warn(`refund request ${requestId}: its row had no event (a crash between the two writes); freed the purchase's open slot`);
    return this.rows.remove(requestId);
  }

  async get(requestId: string): Promise<RefundRequest> {
    const r = foldRefundRequest(await this.store.readStream(refundRequestStream(requestId)));
    if (!r) throw new RefundsError('refund_request_not_found', `no refund request ${requestId}`);
    return r;
  }

  list(filter: { accountId?: string; status?: RefundStatus }, limit: number, cursor: RefundCursor | null): Promise<RefundRow[]> {
    return this.rows.list(filter, limit, cursor);
  }

  /** The person's reason in clear; null once they are erased. */
  async reasonOf(r: { userId: string; sealedReason: string }): Promise<string | null> {
    return this.vault.decrypt(r.userId, r.sealedReason);
  }

  async approve(requestId: string, d: Decision): Promise<RefundRequest> {
    let r = await this.get(requestId);
    const txHash = d.txHash ? d.txHash.toLowerCase() : null;
    if (r.method === 'crypto' && !txHash) throw new RefundsError('refund_tx_hash', 'a crypto refund is approved with the hash of the transaction that sent the funds back (txHash / --tx-hash)');
    if (r.method === 'crypto' && txHash && !TX_HASH.test(txHash)) throw new RefundsError('refund_tx_hash', 'the tx hash must be 0x and 64 hex digits');
    if (r.method === 'card' && txHash) throw new RefundsError('refund_tx_hash', 'a card refund is made through Stripe: no tx hash');
    if (r.status === 'completed') return r; // approved twice: refunded once
    if (r.status === 'declined' || r.status === 'failed') throw closed(r);
    if (r.method === 'card' && !this.stripe) throw new RefundsError('stripe_not_configured', 'card refunds need Stripe (STRIPE_SECRET_KEY is not set)');
    if (r.txHash && txHash && r.txHash !== txHash) {
      throw new RefundsError('refund_tx_hash', `this request was approved with transaction ${r.txHash}; approve again with that hash to finish it`);
    }
    await this.audit.record({
      actor: d.actor,
      action: 'refunds.approve',
      subjectUserId: r.userId,
      reason: d.reason,
      details: { requestId, paymentId: r.paymentId, amount: formatCredits(r.amount), ...(txHash ? { txHash } : {}) },
    });
    for (let attempt = 0; r.status === 'requested'; attempt++) {
      if (attempt >= DECISION_ATTEMPTS) throw new RefundsError('refund_request_decided', `refund request ${requestId} kept changing under this approval; try again`);
      // Frozen before the decision is recorded: a request approved is always backed by its freeze.
      await this.execute(r, { type: 'FreezeCredits', data: { freezeId: requestId, paymentId: r.paymentId, amount: r.amount, reason: `refund request ${requestId}` } }, d.actor);
      const approved: RefundRequestEvent = {
        type: 'RefundApproved',
        data: { requestId, actor: d.actor, reason: d.reason, at: this.clock.now().toISOString(), ...(txHash ? { txHash } : {}) },
      };
      const won = await this.decide(r, approved);
      r = won ?? (await this.get(requestId));
      if (!won && r.status === 'declined') {
        await this.releaseIfFrozen(r, 'refund request declined', d.actor);
        throw closed(r);
      }
    }
    if (r.status === 'completed') return r;
    if (r.status !== 'approved') throw closed(r);
    return r.method === 'card' ? this.refundByCard(r, d.actor) : this.refundByChain(r, d.actor);
  }

  /**
   * For the charge.refunded webhook (a refund whose metadata names a request): Stripe made the
   * refund, so an approved request is finished even if its approval never heard Stripe's answer.
   * Books the same RefundCredits the approval would (a no-op when either booked it already).
   * Null when the request is unknown or not a card request; otherwise the request as it stands.
   */
  async completedByStripe(requestId: string, stripeRefundId: string): Promise<RefundRequest | null> {
    const r = foldRefundRequest(await this.store.readStream(refundRequestStream(requestId)));
    if (!r || r.method !== 'card') return null;
    if (r.status !== 'approved') return r;
    await this.execute(r, { type: 'RefundCredits', data: { refundId: stripeRefundId, amount: r.amount, reason: `refund request ${r.requestId}`, freezeId: r.requestId } }, 'system:stripe-webhook');
    return this.outcome(r, { type: 'RefundCompleted', data: { requestId: r.requestId, stripeRefundId } });
  }

  async decline(requestId: string, d: Decision): Promise<RefundRequest> {
    let r = await this.get(requestId);
    if (r.status === 'declined') return r; // declined twice: one decision
    if (r.status === 'completed' || r.status === 'failed') throw closed(r);
    if (r.status === 'approved') throw new RefundsError('refund_request_decided', `refund request ${requestId} is already approved${r.method === 'card' ? '; Stripe is being asked (approve again to retry)' : ''}`);
    await this.audit.record({ actor: d.actor, action: 'refunds.decline', subjectUserId: r.userId, reason: d.reason, details: { requestId, paymentId: r.paymentId, amount: formatCredits(r.amount) } });
    let declinedNow = false;
    for (let attempt = 0; r.status === 'requested'; attempt++) {
      if (attempt >= DECISION_ATTEMPTS) throw new RefundsError('refund_request_decided', `refund request ${requestId} kept changing under this decline; try again`);
      const won = await this.decide(r, { type: 'RefundDeclined', data: { requestId, actor: d.actor, reason: d.reason, at: this.clock.now().toISOString() } });
      declinedNow = won !== null;
      r = won ?? (await this.get(requestId));
    }
    if (r.status !== 'declined') throw new RefundsError('refund_request_decided', `refund request ${requestId} was ${r.status} meanwhile`);
    // An approval that lost the race may have frozen the amount: give it back.
    await this.releaseIfFrozen(r, 'refund request declined', d.actor);
    if (declinedNow) await this.mail.outcome(r);
    return r;
  }

  private async refundByCard(r: RefundRequest, actor: string): Promise<RefundRequest> {
    const stripe = this.stripe;
    if (!stripe) throw new RefundsError('stripe_not_configured', 'card refunds need Stripe (STRIPE_SECRET_KEY is not set)');
    let refund: { id: string; status: string | null };
    try {
      refund = await stripe.refunds.create(
        { payment_intent: r.paymentId, amount: centsFromMicros(r.amount), metadata: { refund_request_id: r.requestId, account_id: r.accountId } },
        { idempotencyKey: `refund-request-${r.requestId}` },
      );
    } catch (err) {
      const e = err as { statusCode?: number; message?: string; type?: string };
      const status = e.statusCode;
      if (status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429) {
        return this.fail(r, `Stripe refused the refund: ${e.message ?? 'no message'}`, actor);
      }
      this.log.warn(`refund request ${r.requestId}: Stripe did not answer (${status ?? e.type ?? 'no status'}); the freeze stays`);
      throw new RefundsError(
        'refund_provider_unavailable',
        'Stripe could not be reached or is busy: the refund is approved and the amount stays frozen; approve again to retry (Stripe refunds once)',
        { retryAfterSeconds: 30 },
      );
    }
    if (refund.status === 'failed' || refund.status === 'canceled') return this.fail(r, `Stripe's refund ${refund.id} ${refund.status}`, actor);
    await this.execute(r, { type: 'RefundCredits', data: { refundId: refund.id, amount: r.amount, reason: `refund request ${r.requestId}`, freezeId: r.requestId } }, actor);
    return this.outcome(r, { type: 'RefundCompleted', data: { requestId: r.requestId, stripeRefundId: refund.id } });
  }

  private async refundByChain(r: RefundRequest, actor: string): Promise<RefundRequest> {
    const txHash = r.txHash as string;
    await this.execute(r, { type: 'RefundCredits', data: { refundId: txHash, amount: r.amount, reason: `refund request ${r.requestId}`, freezeId: r.requestId } }, actor);
    return this.outcome(r, { type: 'RefundCompleted', data: { requestId: r.requestId, txHash } });
  }

  private async fail(r: RefundRequest, message: string, actor: string): Promise<RefundRequest> {
    await this.releaseIfFrozen(r, 'refund failed', actor);
    return this.outcome(r, { type: 'RefundFailed', data: { requestId: r.requestId, message: message.slice(0, 500) } });
  }

  private async releaseIfFrozen(r: RefundRequest, reason: string, actor: string): Promise<void> {
    const { state } = await this.ledger.load(r.accountId);
    if (!state.freezes.has(r.requestId)) return;
    try {
      await this.execute(r, { type: 'ReleaseFreeze', data: { freezeId: r.requestId, reason: `${reason} (${r.requestId})` } }, actor);
    } catch (err) {
      // Resolved meanwhile by the other side of a race: the ledger lets a freeze resolve once.
      if (!(err instanceof LedgerError && err.code === 'freeze_not_open')) throw err;
    }
  }

  /** The decision appended at the version read; null when another decision got there first. */
  private async decide(r: RefundRequest, e: RefundRequestEvent): Promise<RefundRequest | null> {
    try {
      return await this.append(r.requestId, [e], r.version, 'decided', e.data.requestId);
    } catch (err) {
      if (err instanceof VersionConflictError || err instanceof EventIdConflictError) return null;
      throw err;
    }
  }

  /** Completed or failed, once (both share one event id): a second outcome is answered with the first. */
  private async outcome(r: RefundRequest, e: RefundRequestEvent): Promise<RefundRequest> {
    try {
      const { result, appended } = await this.appendOutcome(r.requestId, e);
      if (appended) await this.mail.outcome(result);
      return result;
    } catch (err) {
      if (!(err instanceof EventIdConflictError)) throw err;
      const now = await this.get(r.requestId);
      await this.rows.write(now);
      return now;
    }
  }

  private async appendOutcome(requestId: string, e: RefundRequestEvent): Promise<{ result: RefundRequest; appended: boolean }> {
    const { request, idempotent } = await this.appendRaw(requestId, [e], 'stream_exists', 'outcome', requestId);
    // Written by this call, not answered as a retry of the same outcome: the one that mails.
    return { result: request, appended: !idempotent };
  }

  private async append(requestId: string, events: RefundRequestEvent[], expectedVersion: bigint | 'no_stream' | 'stream_exists', key: string, causation: string): Promise<RefundRequest> {
    return (await this.appendRaw(requestId, events, expectedVersion, key, causation)).request;
  }

  private async appendRaw(
    requestId: string,
    events: RefundRequestEvent[],
    expectedVersion: bigint | 'no_stream' | 'stream_exists',
    key: string,
    causation: string,
  ): Promise<{ request: RefundRequest; idempotent: boolean }> {
    const stream = refundRequestStream(requestId);
    const batch: NewEvent[] = events.map((e, i) => ({
      id: deterministicId(`refundrequest:${requestId}:${key}#${i}`),
      type: e.type,
      data: { ...e.data },
      metadata: { occurredAt: this.clock.now().toISOString(), causationId: causation },
    }));
    const { idempotent } = await this.store.append(stream, batch, { expectedVersion });
    const request = await this.get(requestId);
    await this.rows.write(request);
    return { request, idempotent };
  }

  private async execute(r: RefundRequest, command: AccountCommand, actor: string): Promise<void> {
    await this.commands.execute(new ExecuteAccountCommand(r.accountId, command, { actor, causationId: refundRequestStream(r.requestId) }));
  }
}

const openRequest = (id: string) => new RefundsError('refund_request_open', `this purchase already has an open refund request (${id}); wait for its outcome`, { requestId: id });
const closed = (r: RefundRequest) => new RefundsError('refund_request_closed', `refund request ${r.requestId} is ${r.status}${r.failure ? `: ${r.failure}` : ''}`);
