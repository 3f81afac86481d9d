/**
 * The stated rule for an erased person's unused credit (domain/erasure.ts, planCredit), carried
 * out: requests in flight are waited for, what refund requests will not return is forfeited
 * (CreditsForfeited, once: its id derives from the erasure, and a run interrupted after it finds
 * it booked), then a refund request is filed for each purchase still in its window (sealed with
 * the person's key, which still exists at this step).
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ExecuteAccountCommand } from '../../../ledger/application/execute-account.command';
import { LedgerService } from '../../../ledger/application/ledger.service';
import { eventIdFor } from '../../../ledger/domain/event-ids';
import { PurchasesReader } from '../../../payments/refunds/application/purchases';
import { RefundRequestsService } from '../../../payments/refunds/application/refund-requests.service';
import { RefundsError, requestedAmount } from '../../../payments/refunds/domain/refund-request';
import { CLOCK, Clock } from '../../../platform/clock';
import { EVENT_STORE, EventStore } from '../../../platform/event-store/event-store.port';
import { Micros } from '../../../shared/money';
import { Erasure, FORFEIT_REASON, FiledRefund, REFUND_REASON, erasureStream, forfeitIdOf, planCredit } from '../domain/erasure';
import { ErasureRepository } from './erasure.repository';

const HOLD_POLL_MS = 100;

@Injectable()
export class ErasureCredit {
  private readonly log = new Logger('Erasure');

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly repo: ErasureRepository,
    private readonly ledger: LedgerService,
    private readonly commands: CommandBus,
    private readonly purchases: PurchasesReader,
    private readonly refunds: RefundRequestsService,
  ) {}

  /** The stated rule for unused credit (domain/erasure.ts, planCredit). */
  async settle(e: Erasure, actor: string, holdWaitMs: number): Promise<{ forfeited: Micros; refundRequests: FiledRefund[] }> {
    await this.waitForHolds(e.accountId, holdWaitMs);
    const id = forfeitIdOf(e);
    const prior = await this.store.getEvent(eventIdFor(e.accountId, { type: 'ForfeitCredits', data: { forfeitId: id, amount: 0n, reason: FORFEIT_REASON } }, 0));
    const plan = await this.plan(e.accountId);
    // A run interrupted after the forfeit and before its record: the forfeit stands as booked.
    const forfeited = prior ? BigInt(String(prior.data.amount)) : plan.forfeit;
    if (!prior && forfeited > 0n) {
      await this.commands.execute(
        new ExecuteAccountCommand(e.accountId, { type: 'ForfeitCredits', data: { forfeitId: id, amount: forfeited, reason: FORFEIT_REASON } }, { actor, causationId: erasureStream(e.userId) }),
      );
    }
    for (const purchaseId of plan.toRequest) {
      try {
        await this.refunds.request({ accountId: e.accountId, userId: e.userId, purchaseId, amount: null, reason: REFUND_REASON });
      } catch (err) {
        // Already asked for (by an earlier run, or by the person), or nothing of it left after
        // the forfeit's sub-cent rounding: either way nothing more to file.
        if (!(err instanceof RefundsError && ['refund_request_open', 'nothing_to_refund', 'refund_window_passed'].includes(err.code))) throw err;
      }
    }
    const refundRequests = (await this.repo.requestedRefunds(e.accountId)).map((r) => ({ requestId: r.requestId, paymentId: r.paymentId, amount: r.amount.toString() }));
    return { forfeited, refundRequests };
  }

  private async plan(accountId: string): Promise<{ forfeit: Micros; toRequest: string[] }> {
    const [{ state }, purchases, requested] = await Promise.all([
      this.ledger.load(accountId),
      this.purchases.withCredit(accountId),
      this.repo.requestedRefunds(accountId),
    ]);
    return planCredit({
      available: state.available,
      now: this.clock.now(),
      purchases: purchases.map((p) => ({ ...p, refundable: requestedAmount(p.method, p.unspent, null) })),
      openRequested: new Map(requested.map((r) => [r.paymentId, r.amount])),
    });
  }

  /** Requests in flight settle their holds (their keys are revoked, so no new ones start). */
  private async waitForHolds(accountId: string, waitMs: number): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const { state } = await this.ledger.load(accountId);
      if (state.holds.size === 0) return;
      if (Date.now() >= deadline) {
        this.log.warn(`account ${accountId}: ${state.holds.size} holds still open after ${waitMs} ms; what they release later stays on the account`);
        return;
      }
      await new Promise((r) => setTimeout(r, HOLD_POLL_MS));
    }
  }
}
