/**
 * The money side of a proxied request, all through the ledger:
 *   reserve  — one of the account's free requests if it has any left, else a hold for the worst
 *              case (402 when it cannot be held). `accepted` is told as soon as the ledger
 *              decides in memory that the reservation goes through (the upstream may be asked
 *              then); the returned promise resolves once it is durable, which the relay to the
 *              client waits for, or rejects with what the client is told (see proxy.service.ts);
 *   settle   — the hold settles for what the request cost (at most what was held);
 *   release  — the request failed before the first byte reached the client: the hold is voided.
 *   extend   — a request still running after half the hold's TTL moves the expiry on;
 * A crash between reserve and settle leaves the hold open until the worker's expiry sweep
 * (ledger/jobs/hold-expiry.job.ts) finds it overdue and the credit returns.
 *
 * A settle or release may bring the request's log row (`row`, built once the charge is known):
 * it is committed with the ledger write, in the same group commit (LedgerService), and the
 * answer says whether it was (else the caller records it the usual way).
 *
 * A settle or release that Postgres cannot take now (an outage, not a refusal) is thrown back
 * as NotWritten, carrying the command: the caller keeps it, with the request's log row, in the
 * settle journal (settle-journal.ts), which writes it once Postgres is back.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/config';
import { CLOCK, Clock } from '../../platform/clock';
import { CommandBus } from '@nestjs/cqrs';
import { ExecuteAccountCommand } from '../../ledger/application/execute-account.command';
import { CommandHooks, LedgerService } from '../../ledger/application/ledger.service';
import { LedgerError } from '../../ledger/domain/errors';
import { UsageFigures } from '../../ledger/domain/events';
import { formatCredits } from '../../shared/money';
import { ProxyError, databaseUnavailable } from '../http/proxy-error';
import { proxyErrorFor } from '../http/domain-error-map';
import { KeptCommand } from './settle-journal.codec';
import { isPgUnavailable } from '../../platform/database/pg-unavailable';
import { UsageDayKeys } from '../../compliance/retention/usage-day-keys';
import { SideRows } from '../../platform/event-store/event-store.port';

/** The ledger write an answer's end needed could not be made (Postgres unreachable): keep it for later. */
export class NotWritten extends Error {
  override name = 'NotWritten';

  constructor(
    readonly command: KeptCommand,
    /** What the settle charges once written (0 for a release). */
    readonly charged: bigint,
    cause: unknown,
  ) {
    super(`the ledger could not be reached (${(cause as Error)?.message ?? String(cause)})`);
  }
}

export type Reservation =
  | { kind: 'free' }
  | { kind: 'hold'; amount: bigint; expiresAt: Date }; // expiresAt moves on while the request runs (extend)

@Injectable()
export class BillingService {
  private readonly log = new Logger('Billing');
  /**
   * Settles where the provider billed more than the hold (charged the hold, never more): how
   * many, and the µcr above the holds in all. A hold is an upper bound (metering/input-bound.ts),
   * so each one is a defect to look into: a server-side tool loop, a price table behind the
   * provider's. Read by whoever reports on it (and, later, turned into late debits).
   */
  readonly overHold = { requests: 0, micros: 0n };

  constructor(
    /** Where ledger commands go (the one way to send them, see ledger.module.ts). */
    private readonly commands: CommandBus,
    /** Read only: the account's cached state, a hint for whether to try a free request first. */
    private readonly ledger: LedgerService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    /**
     * Seals the request's usage metadata (its key on the hold, its model and tokens on the
     * settle) with the key of the day, so it is forgotten after retention (compliance/retention).
     * Absent (tests that build the service by hand), they are written in plaintext as before.
     */
    @Optional() private readonly dayKeys?: UsageDayKeys,
  ) {}

  /**
   * `keyId`: the API key of the request, recorded on its hold (per-key spend is counted from the
   * holds). `accepted`: called (perhaps more than once) when a command of the reservation is
   * accepted in memory, before it is durable; never for a refusal.
   */
  async reserve(accountId: string, requestId: string, worstCase: bigint, keyId: string, accepted?: () => void): Promise<Reservation> {
    const hooks = { onAccepted: accepted };
    const cached = this.ledger.cachedState(accountId);
    if (!cached || cached.freeRequests > 0) {
      const free = await this.useFreeRequest(accountId, requestId, hooks);
      if (free) return free;
    }
    try {
      return await this.placeHold(accountId, requestId, worstCase, keyId, hooks);
    } catch (err) {
      // The refusal was decided on the account as the log has it now (LedgerService reads the
      // stream before refusing): free requests granted elsewhere since we last looked count.
      if (!(err instanceof ProxyError) || err.code !== 'insufficient_credits') throw err;
      if (!((this.ledger.cachedState(accountId)?.freeRequests ?? 0) > 0)) throw err;
      const free = await this.useFreeRequest(accountId, requestId, hooks);
      if (free) return free;
      throw err;
    }
  }

  /** One of the account's free requests, or null when it has none left. */
  private async useFreeRequest(accountId: string, requestId: string, hooks: CommandHooks): Promise<Reservation | null> {
    try {
      await this.commands.execute(new ExecuteAccountCommand(accountId, { type: 'UseFreeRequest', data: { requestId } }, { causationId: requestId }, hooks));
      return { kind: 'free' };
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'no_free_requests') return null;
      throw this.translate(err);
    }
  }

  private async placeHold(accountId: string, requestId: string, worstCase: bigint, keyId: string, hooks: CommandHooks): Promise<Reservation> {
    const amount = worstCase > 0n ? worstCase : 1n; // a hold is never zero: the ledger refuses those
    const expiresAt = new Date(this.clock.now().getTime() + this.config.HOLD_TTL_SECONDS * 1000);
    try {
      const key = this.dayKeys ? { sealedKeyId: await this.dayKeys.sealKeyId(requestId, keyId) } : { keyId };
      await this.commands.execute(
        new ExecuteAccountCommand(
          accountId,
          { type: 'PlaceHold', data: { holdId: requestId, amount, expiresAt: expiresAt.toISOString(), ...key } },
          { causationId: requestId },
          hooks,
        ),
      );
    } catch (err) {
      throw this.translate(err);
    }
    return { kind: 'hold', amount, expiresAt };
  }

  /**
   * Moves a running request's hold expiry a full TTL on from now, so the expiry sweep cannot
   * take the hold (and the charge) from under a long answer. Nothing to do for a free request.
   */
  async extend(accountId: string, requestId: string, r: Reservation): Promise<void> {
    if (r.kind === 'free') return;
    const expiresAt = new Date(this.clock.now().getTime() + this.config.HOLD_TTL_SECONDS * 1000);
    await this.commands.execute(
      new ExecuteAccountCommand(
        accountId,
        { type: 'ExtendHold', data: { holdId: requestId, expiresAt: expiresAt.toISOString() } },
        { causationId: requestId },
      ),
    );
    r.expiresAt = expiresAt;
  }

  /**
   * Settles the hold for `cost` (capped at what was held); returns what was charged, and whether
   * the rows `row(charged)` gave were committed with the settle.
   */
  async settle(
    accountId: string,
    requestId: string,
    r: Reservation,
    cost: bigint,
    upstreamCost: bigint,
    usage: UsageFigures,
    row?: (charged: bigint) => SideRows[],
  ): Promise<{ charged: bigint; rowWritten: boolean }> {
    if (r.kind === 'free') return { charged: 0n, rowWritten: false };
    let charged = cost;
    if (charged > r.amount) {
      // Never charge past the hold; count and log it (ids and amounts only, no content).
      this.overHold.requests++;
      this.overHold.micros += charged - r.amount;
      this.log.warn(`request ${requestId} cost ${formatCredits(cost)} exceeds its hold of ${formatCredits(r.amount)} (over_hold); charging the hold`);
      charged = r.amount;
    }
    const owed = upstreamCost > charged ? charged : upstreamCost;
    const figures = await this.sealedUsage(requestId, usage);
    // Unhurried: sent after the answer's last byte, it may wait a moment for the client's next
    // request's hold to share its commit (LedgerService's header).
    const settle: KeptCommand = { type: 'SettleHold', data: { holdId: requestId, amount: charged, upstreamCost: owed, ...figures } };
    const rowWritten = await this.write(accountId, requestId, settle, charged, row?.(charged), { unhurried: true });
    return { charged, rowWritten };
  }

  /** Voids the hold (or gives the free request back); true when `row` was committed with it. */
  async release(accountId: string, requestId: string, r: Reservation, reason: string, row?: SideRows[]): Promise<boolean> {
    // Nothing is charged for a failed request, and a free request is a charge: give it back.
    const command: KeptCommand =
      r.kind === 'free'
        ? { type: 'GrantFreeRequests', data: { grantId: `returned:${requestId}`, count: 1 } }
        : { type: 'VoidHold', data: { holdId: requestId, reason } };
    return this.write(accountId, requestId, command, 0n, row);
  }

  /**
   * The usage as the settle records it: sealed with the day's key. Sealed before the command is
   * kept (settle journal), so a replay days later writes the same value. When even today's key
   * cannot be had (Postgres away at the first request of a day), the settle goes without usage:
   * its amount is what must not be lost; the request log row keeps the figures for reports.
   */
  private async sealedUsage(requestId: string, usage: UsageFigures): Promise<{ usage: UsageFigures } | { sealedUsage: string } | Record<string, never>> {
    if (!this.dayKeys) return { usage };
    try {
      return { sealedUsage: await this.dayKeys.sealUsage(requestId, usage) };
    } catch (err) {
      this.log.warn(`request ${requestId}: usage not sealed (${(err as Error).message}); settled without usage figures`);
      return {};
    }
  }

  private async write(accountId: string, requestId: string, command: KeptCommand, charged: bigint, row?: SideRows[], hooks: CommandHooks = {}): Promise<boolean> {
    try {
      const outcome = await this.commands.execute(new ExecuteAccountCommand(accountId, command, { causationId: requestId }, hooks, row));
      return outcome.alongsideWritten === true;
    } catch (err) {
      throw isPgUnavailable(err) ? new NotWritten(command, charged, err) : err;
    }
  }

  /** A refused reservation as the client is told it (402 and the like, see domain-error-map.ts). */
  private translate(err: unknown): Error {
    return proxyErrorFor(err) ?? (isPgUnavailable(err) ? databaseUnavailable() : (err as Error));
  }
}
