/**
 * The money of one proxied request, from its reservation to its end, in one place:
 *   reserve — the spending-cap reservation (when the key has a cap), then a free request or a
 *             hold for the worst case (billing.service.ts); the cap's share is given back if the
 *             ledger refuses. reserve() returns once the ledger has decided in memory that the
 *             reservation goes through (the upstream may be asked then); `durable` resolves once
 *             it is committed (nothing may reach the client before) or rejects with the refusal;
 *   while it runs — the hold's expiry is moved on (keep-alive), so a long answer keeps its hold;
 *   settle or release — the hold settles for the cost (or is voided, or the free request given
 *             back), and the unspent part of the cap reservation returns.
 * The request's log row rides with its settle or release when there is one (`rowWritten`): one
 * commit, in the ledger's group commit, carries both.
 * A ledger write Postgres cannot take now (NotWritten) is charged all the same: it goes to the
 * settle journal together with the request's log row (keep), to be written once Postgres is back.
 *
 * One object per request; it holds no content, only ids and amounts.
 */
import { Logger } from '@nestjs/common';
import { KeyPrincipal } from '../../keys/application/api-key-authenticator';
import { UsageFigures } from '../../ledger/domain/events';
import { formatCredits } from '../../shared/money';
import { BillingService, NotWritten, Reservation } from '../billing/billing.service';
import { SettleJournal } from '../billing/settle-journal';
import { ProxyError } from '../http/proxy-error';
import { SpendCaps } from '../limits/spend-caps';
import { RequestLogRow, requestLogAlongside } from '../usage/request-log.repository';

/** What every request's charge works with: made once by the proxy service. */
export interface ChargeServices {
  billing: BillingService;
  spendCaps: SpendCaps;
  journal: SettleJournal;
  log: Logger;
  holdTtlSeconds: number;
}

export class RequestCharge {
  /** What admission reserved: null until then, and for an endpoint that is not billed. */
  reservation: Reservation | null = null;
  /** What the request was charged (µcr). */
  costMicros = 0n;
  /** How its money ended, as its log row says. */
  billing: RequestLogRow['billing'] = 'none';
  /** The settle or void Postgres could not take: kept in the settle journal with the row. */
  unwritten: NotWritten | null = null;
  /** The request's log row was committed with its settle or release (nothing left to record). */
  rowWritten = false;
  /** µcr reserved under the key's spending cap, given back (less what was spent) as the request ends. */
  private spendReserved = 0n;
  /**
   * Resolves once the reservation is durable (at once when there is none); rejects with what the
   * client is told when the ledger refused it at commit, or could not take it (no byte of the
   * answer may reach the client before it resolves). Never left unhandled: see reserve().
   */
  durable: Promise<void> = Promise.resolve();
  /** While the request runs: the next extension of its hold (see keepHoldAlive). */
  private holdKeepAlive: NodeJS.Timeout | undefined = undefined;
  /** The request is done with its hold: a reservation that commits after this starts no keep-alive. */
  private ended = false;

  constructor(
    private readonly s: ChargeServices,
    private readonly principal: KeyPrincipal,
    private readonly requestId: string,
  ) {}

  /**
   * Reserves the worst case: under the key's spending cap first (a refusal throws at once), then
   * in the ledger. Returns as soon as the ledger accepts the reservation in memory, or throws the
   * refusal: a state the ledger refuses on is read again before the refusal is final, so a
   * refusal always waits for the ledger's answer (as before anything went upstream). What the
   * commit says afterwards is in `durable`.
   */
  async reserve(worstCase: bigint): Promise<void> {
    const { accountId, keyId, spendCapMicros } = this.principal;
    if (spendCapMicros !== null) {
      if (!(await this.s.spendCaps.reserve(keyId, spendCapMicros, worstCase))) {
        throw new ProxyError('spend_cap_reached', `this key's spending cap of ${formatCredits(spendCapMicros)} credits would be passed`);
      }
      this.spendReserved = worstCase;
    }
    let decided!: () => void;
    const accepted = new Promise<void>((resolve) => (decided = resolve));
    this.durable = this.s.billing.reserve(accountId, this.requestId, worstCase, keyId, decided).then(
      (reservation) => {
        this.reservation = reservation;
        if (!this.ended) this.keepHoldAlive(reservation);
      },
      async (err: unknown) => {
        await this.giveBackSpend(0n);
        throw err;
      },
    );
    // Whoever goes on past an acceptance awaits `durable`; a rejection nobody awaited yet is not unhandled.
    this.durable.catch(() => undefined);
    await Promise.race([accepted, this.durable]);
  }

  /**
   * Settles for `cost` (the ledger caps it at the hold); `upstreamCost` is what the provider is owed.
   * Runs after the answer's last byte, in the ledger's group commit with other requests' writes;
   * `row` (built once the charge is known, from this object) is committed with it.
   * The hold is kept alive until the settle is written (or kept in the journal), not only until
   * it starts: a settle slow to reach the ledger (the day's sealing key read from Postgres, say)
   * must not let its hold lapse meanwhile. An extension queued behind the settle's own stuck
   * commit cannot overtake it; there the settle, waiting first, goes first, and were the hold to
   * expire all the same, the settle is a late debit, never a free answer.
   */
  async settle(cost: bigint, upstreamCost: bigint, usage: UsageFigures, row?: () => RequestLogRow): Promise<void> {
    const reservation = this.reservation;
    if (!reservation) return;
    try {
      await this.settleHeld(reservation, cost, upstreamCost, usage, row);
    } finally {
      this.stopHoldKeepAlive();
    }
  }

  private async settleHeld(reservation: Reservation, cost: bigint, upstreamCost: bigint, usage: UsageFigures, row?: () => RequestLogRow): Promise<void> {
    const billing = reservation.kind === 'free' ? 'free' : 'settled';
    // The row as it reads once the settle is written: committed with it, or not at all.
    const rowFor = row && ((charged: bigint) => {
      this.costMicros = charged;
      this.billing = billing;
      return requestLogAlongside(row());
    });
    try {
      const settled = await this.s.billing.settle(this.principal.accountId, this.requestId, reservation, cost, upstreamCost, usage, rowFor);
      this.costMicros = settled.charged;
      this.billing = billing;
      this.rowWritten = settled.rowWritten;
      await this.giveBackSpend(this.costMicros);
    } catch (err) {
      if (err instanceof NotWritten) {
        // Delivered while Postgres is unreachable: charged all the same, once it is back.
        this.costMicros = err.charged;
        this.billing = 'settled';
        this.unwritten = err;
        await this.giveBackSpend(err.charged);
        return;
      }
      this.billing = 'unbilled';
      this.costMicros = 0n;
      this.s.log.error(`request ${this.requestId}: could not settle its hold (${(err as Error).message}); the hold expires`);
    }
  }

  /** Failed before the first byte reached the client: nothing is charged, the reservation returns. */
  async release(reason: string, row?: () => RequestLogRow): Promise<void> {
    this.stopHoldKeepAlive();
    const reservation = this.reservation;
    if (!reservation) return;
    try {
      this.billing = 'voided'; // as the row committed with the release says
      this.rowWritten = await this.s.billing.release(this.principal.accountId, this.requestId, reservation, reason, row && requestLogAlongside(row()));
      await this.giveBackSpend(0n);
    } catch (err) {
      if (err instanceof NotWritten) {
        this.billing = 'voided';
        this.unwritten = err;
        await this.giveBackSpend(0n);
        return;
      }
      this.billing = 'unbilled';
      this.s.log.error(`request ${this.requestId}: could not void its hold (${(err as Error).message}); the hold expires`);
    }
  }

  /** The ledger write that was not written and the request's row go to the settle journal together, fsynced. */
  keep(row: RequestLogRow): Promise<void> {
    const notWritten = this.unwritten!;
    this.s.log.warn(`request ${this.requestId}: Postgres is unreachable; its ${notWritten.command.type} is kept in the settle journal`);
    return this.s.journal.keep([{ id: this.requestId, accountId: this.principal.accountId, command: notWritten.command, row }]);
  }

  /** The request is done with its hold (settling, voiding, or gone): no more extensions. */
  stopHoldKeepAlive(): void {
    this.ended = true;
    clearTimeout(this.holdKeepAlive);
    this.holdKeepAlive = undefined;
  }

  /**
   * A hold expires HOLD_TTL_SECONDS after it was placed unless settled; an answer that streams
   * for longer must not lose its hold (and its charge) to the expiry sweep. Every half TTL while
   * the request runs, the hold's expiry moves a full TTL on (HoldExtended); a failed extension
   * is tried again sooner. A crashed process extends nothing, so its holds still expire.
   */
  private keepHoldAlive(reservation: Reservation): void {
    if (reservation.kind !== 'hold') return;
    const every = this.s.holdTtlSeconds * 500;
    const arm = (ms: number) => {
      this.holdKeepAlive = setTimeout(() => {
        this.s.billing.extend(this.principal.accountId, this.requestId, reservation).then(
          () => this.holdKeepAlive && arm(every),
          (err: Error) => {
            if (!this.holdKeepAlive) return; // the request ended meanwhile (its settle closed the hold)
            this.s.log.warn(`request ${this.requestId}: could not extend its hold (${err.message}); trying again`);
            arm(Math.min(every, 5_000));
          },
        );
      }, ms);
      this.holdKeepAlive.unref();
    };
    arm(every);
  }

  /** Returns the part of the spending-cap reservation the request did not spend. */
  private async giveBackSpend(spent: bigint): Promise<void> {
    const reserved = this.spendReserved;
    this.spendReserved = 0n;
    if (reserved > spent) {
      await this.s.spendCaps.release(this.principal.keyId, reserved - spent).catch((err: Error) => {
        this.s.log.warn(`request ${this.requestId}: could not give back its spending-cap reservation (${err.message})`);
      });
    }
  }
}
