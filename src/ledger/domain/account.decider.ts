/**
 * The account decider: pure functions over the account's money. decide() checks a command
 * against the state and returns the events it causes (or throws a LedgerError with a stable
 * code); evolve() folds one event into the state. Time comes in as an argument.
 *
 * Invariants kept here (and tested in test/unit/ledger):
 * - available never goes below zero; held is the sum of open holds;
 * - a hold resolves once (settle, void or expire), and settles for at most what it holds;
 * - a hold does not expire before its expiry, which only ever moves later (ExtendHold);
 * - amounts are positive where a sign would be meaningless;
 * - no amount, and no resulting available, held, lifetime purchased or lifetime spent figure,
 *   passes MAX_MICROS (10^15 µcr); lifetime spent plus held stays within it too, so a settle
 *   (at most its hold) is never refused for the bound after the answer was delivered;
 * - a hold that expired may still be settled once, late (its answer was delivered but the settle
 *   could not be written in time): HoldSettledLate takes what is available and books the rest as
 *   a receivable. While an account owes, available is zero, and every event that would raise
 *   available is followed by ReceivableRepaid, so a debt is repaid first from the next credit;
 *   the account is never suspended for it (PlaceHold works on whatever is available);
 * - expired holds are remembered for LATE_SETTLE_WINDOW_MS after their expiry, and at most
 *   MAX_REMEMBERED_EXPIRED_HOLDS of them per account, so the state stays bounded; a settle later
 *   than that is refused with late_settle_window_passed.
 * - money set aside (a freeze for an approved refund, a dispute) is `frozen`: out of available,
 *   not spendable, until released or gone; a refund of a purchase never exceeds its unspent part
 *   (the attribution rule of funds.ts: promotional credit is spent first, then purchases oldest
 *   first), nor what is available;
 * - while a dispute is open for more than it could freeze, or a lost dispute is still owed, the
 *   account is suspended: PlaceHold and UseFreeRequest are refused (account_suspended).
 * - while a restriction of processing is in force (a data-subject request), PlaceHold and
 *   UseFreeRequest are refused (account_restricted); settles, voids and expiries of holds already
 *   placed go on, and credits still come in. A restriction id is applied once and lifted once.
 * Idempotency across retries is the event store's job: event ids derive from the command's
 * key (see eventIdFor), so a retried command re-appends the same ids and is answered "exists".
 */
import { LedgerEvent, UsageFigures } from './events';
import { LedgerError } from './errors';
import { MAX_CREDITS_TEXT, MAX_MICROS, Micros, formatCredits, withinBound } from '../../shared/money';
import { assertNever } from '../../shared/assert-never';
import { ExpiredHold, ExpiredHolds } from './expired-holds';
import { Funds } from './funds';
import { OpenHold, OpenHolds } from './open-holds';

export { ExpiredHolds, Funds, OpenHolds };
export type { ExpiredHold, OpenHold };

/**
 * How long after its expiry a hold still takes a late settle. A settle journal replayed after a
 * longer outage is refused (late_settle_window_passed) and the answer stays unbilled: a week is
 * far beyond any outage the journal is meant to ride out, and it bounds what the state keeps.
 */
export const LATE_SETTLE_WINDOW_MS = 7 * 24 * 3_600_000;

/**
 * Expired holds remembered per account (the earliest expired forgotten first; it may pass this
 * by a few dozen between folds, see ExpiredHolds), whatever the window: an account whose holds
 * all expire in a long outage must not grow its state (kept in memory for every cached account)
 * without bound. A settle of a forgotten one is refused.
 */
export const MAX_REMEMBERED_EXPIRED_HOLDS = 10_000;

/** Credit set aside for an approved refund request, until refunded or released. */
export interface OpenFreeze {
  paymentId: string;
  amount: Micros;
}

/** An open dispute: what is disputed, what of it was frozen, and what of that the purchase's own funds covered. */
export interface OpenDispute {
  paymentId: string;
  amount: Micros;
  frozen: Micros;
  reserved: Micros;
}

export interface AccountState {
  opened: boolean;
  available: Micros;
  held: Micros;
  holds: OpenHolds;
  /** Holds that expired recently, in the order they expired (see LATE_SETTLE_WINDOW_MS). */
  expired: ExpiredHolds;
  /** What the account owes from late settles that available credit could not cover. */
  receivable: Micros;
  freeRequests: number;
  lifetimePurchased: Micros;
  lifetimeSpent: Micros;
  /** Set aside: open freezes plus what open disputes froze. */
  frozen: Micros;
  freezes: ReadonlyMap<string, OpenFreeze>;
  /** How each resolved freeze ended: `refunded:<refundId>` or `released`, so a retry is told from a new command. */
  resolvedFreezes: ReadonlyMap<string, string>;
  disputes: ReadonlyMap<string, OpenDispute>;
  /** How each closed dispute ended ('won' or 'lost'), for the same reason. */
  closedDisputes: ReadonlyMap<string, 'won' | 'lost'>;
  /** What lost disputes left owing and is not repaid yet (part of `receivable`): the account is suspended meanwhile. */
  disputeOwed: Micros;
  /** Where the credit came from: what of each purchase is unspent (funds.ts). */
  funds: Funds;
  /** Restrictions of processing in force: restricted while not empty. */
  restrictions: ReadonlySet<string>;
  /** Restrictions lifted, so a retried lift is told from a lift of something never applied. */
  liftedRestrictions: ReadonlySet<string>;
}

export const initialState = (): AccountState => ({
  opened: false,
  available: 0n,
  held: 0n,
  holds: OpenHolds.empty(),
  expired: ExpiredHolds.empty(LATE_SETTLE_WINDOW_MS, MAX_REMEMBERED_EXPIRED_HOLDS),
  receivable: 0n,
  freeRequests: 0,
  lifetimePurchased: 0n,
  lifetimeSpent: 0n,
  frozen: 0n,
  freezes: new Map(),
  resolvedFreezes: new Map(),
  disputes: new Map(),
  closedDisputes: new Map(),
  disputeOwed: 0n,
  funds: Funds.empty(),
  restrictions: new Set(),
  liftedRestrictions: new Set(),
});

/** Suspended: a dispute froze less than it disputes, or a lost one is still owed. */
export function suspension(state: AccountState): Micros {
  let short = state.disputeOwed;
  for (const d of state.disputes.values()) short += d.amount - d.frozen;
  return short;
}

export type AccountCommand =
  | { type: 'OpenAccount'; data: { accountId: string; ownerId?: string | null; freeRequests?: number } }
  | { type: 'PurchaseCredits'; data: { paymentId: string; amount: Micros } }
  | {
      type: 'CreditCryptoPayment';
      data: { amount: Micros; chainId: number; txHash: string; logIndex: number; token: string };
    }
  | { type: 'GrantCredits'; data: { grantId: string; amount: Micros; reason: string } }
  | { type: 'GrantFreeRequests'; data: { grantId: string; count: number } }
  | { type: 'UseFreeRequest'; data: { requestId: string } }
  // keyId: the API key the request came with (what per-key spend is counted by); absent for holds placed without one.
  // sealedKeyId / sealedUsage: the same facts sealed with their day's key (compliance/retention), in place of keyId / usage.
  | { type: 'PlaceHold'; data: { holdId: string; amount: Micros; expiresAt: string; keyId?: string; sealedKeyId?: string } }
  | {
      type: 'SettleHold';
      data: { holdId: string; amount: Micros; upstreamCost?: Micros; usage?: UsageFigures | null; sealedUsage?: string };
    }
  | { type: 'ExtendHold'; data: { holdId: string; expiresAt: string } }
  | { type: 'VoidHold'; data: { holdId: string; reason: string } }
  | { type: 'ExpireHold'; data: { holdId: string } }
  // A refund: from available (at most what is available); of a purchase (`paymentId`: at most
  // its unspent part); from a freeze (`freezeId`: its whole amount); or, `allowOwed` (a refund
  // Stripe already made), from available as far as it goes with the rest owed.
  | {
      type: 'RefundCredits';
      data: { refundId: string; amount: Micros; reason: string; paymentId?: string; freezeId?: string; allowOwed?: boolean };
    }
  | { type: 'Adjust'; data: { adjustmentId: string; amount: Micros; reason: string } }
  | { type: 'FreezeCredits'; data: { freezeId: string; paymentId: string; amount: Micros; reason: string } }
  | { type: 'ReleaseFreeze'; data: { freezeId: string; reason: string } }
  | { type: 'OpenDispute'; data: { disputeId: string; paymentId: string; amount: Micros } }
  | { type: 'CloseDispute'; data: { disputeId: string; outcome: 'won' | 'lost' } }
  | { type: 'RestrictAccount'; data: { restrictionId: string; reason: string } }
  | { type: 'LiftRestriction'; data: { restrictionId: string; reason: string } }
  // Unused credit given up (an erasure): at most what is available, never from holds or freezes.
  | { type: 'ForfeitCredits'; data: { forfeitId: string; amount: Micros; reason: string } };

export interface DecideContext {
  now: Date;
}

export const DEFAULT_FREE_REQUESTS = 20;

/** Free requests an account can have at once: well inside the read model's integer column. */
export const MAX_FREE_REQUESTS = 1_000_000_000;

// The command fields that carry µcr.
const COMMAND_MONEY_FIELDS = ['amount', 'upstreamCost'] as const;

/**
 * decide(), with the ledger's bound on every figure: an amount in the command beyond it, or a
 * result that would take a balance or lifetime figure beyond it, is refused whatever else the
 * command is, so no event the log accepts can overflow a read model or a double on the way.
 */
export function decide(command: AccountCommand, state: AccountState, ctx: DecideContext): LedgerEvent[] {
  const data = command.data as Record<string, unknown>;
  for (const f of COMMAND_MONEY_FIELDS) {
    const v = data[f];
    if (typeof v === 'bigint' && !withinBound(v)) throw outOfRange(`the ${f === 'amount' ? 'amount' : 'upstream cost'}`, v);
  }
  const events = decideWithinBound(command, state, ctx);
  if (events.length === 0) return events;
  let next = figuresAfter(state, events);
  if (next.receivable > 0n && next.available > 0n) {
    // Whatever this command brings to available (a credit, a hold released) repays the debt first.
    const repaid = next.receivable < next.available ? next.receivable : next.available;
    events.push({ type: 'ReceivableRepaid', data: { amount: repaid, reference: referenceOf(events[0]) } });
    next = figuresAfter(state, events);
  }
  // Checked one by one rather than from a list of pairs: decide() runs two or three times per
  // proxied request (the ledger's forecast, then its round), and the list was eight arrays each time.
  checkBound('the available balance', next.available);
  checkBound('the held balance', next.held);
  checkBound('the receivable', next.receivable);
  checkBound('the frozen balance', next.frozen);
  checkBound('the lifetime purchases', next.lifetimePurchased);
  checkBound('the lifetime spending', next.lifetimeSpent);
  checkBound('the lifetime spending and open holds', next.lifetimeSpent + next.held);
  if (next.freeRequests > MAX_FREE_REQUESTS) {
    throw new LedgerError('amount_out_of_range', `an account can have at most ${MAX_FREE_REQUESTS} free requests`, {
      freeRequests: next.freeRequests,
    });
  }
  return events;
}

type Figures = Pick<AccountState, 'available' | 'held' | 'receivable' | 'lifetimePurchased' | 'lifetimeSpent' | 'freeRequests' | 'frozen'>;

/**
 * The figures evolve() would give after these events, without copying the holds map as it does:
 * decide() runs on every command, and a busy account has many open holds. (The bound property
 * in test/unit/ledger/account-bounds.spec.ts checks the real evolve() never passes the bound.)
 */
export function figuresAfter(state: AccountState, events: LedgerEvent[]): Figures {
  const f: Figures = { available: state.available, held: state.held, receivable: state.receivable, lifetimePurchased: state.lifetimePurchased, lifetimeSpent: state.lifetimeSpent, freeRequests: state.freeRequests, frozen: state.frozen };
  for (const e of events) {
    switch (e.type) {
      case 'CreditsPurchased':
      case 'CryptoPaymentCredited':
        f.available += e.data.amount;
        f.lifetimePurchased += e.data.amount;
        break;
      case 'CreditsGranted':
      case 'Adjusted':
        f.available += e.data.amount;
        break;
      case 'CreditsRefunded':
        if (e.data.freezeId !== undefined) f.frozen -= e.data.amount;
        else {
          f.available -= e.data.amount - (e.data.owed ?? 0n);
          f.receivable += e.data.owed ?? 0n;
        }
        break;
      case 'CreditsFrozen':
        f.available -= e.data.amount;
        f.frozen += e.data.amount;
        break;
      case 'FreezeReleased':
        f.available += e.data.amount;
        f.frozen -= e.data.amount;
        break;
      case 'DisputeOpened':
        f.available -= e.data.frozen;
        f.frozen += e.data.frozen;
        break;
      case 'DisputeWon':
        f.available += e.data.released;
        f.frozen -= e.data.released;
        break;
      case 'DisputeLost':
        f.frozen -= e.data.fromFrozen;
        f.receivable += e.data.owed;
        break;
      case 'HoldPlaced':
        f.available -= e.data.amount;
        f.held += e.data.amount;
        break;
      case 'HoldSettled':
        f.held -= e.data.amount + e.data.released;
        f.available += e.data.released;
        f.lifetimeSpent += e.data.amount;
        break;
      case 'HoldVoided':
      case 'HoldExpired':
        f.held -= e.data.amount;
        f.available += e.data.amount;
        break;
      case 'HoldSettledLate':
        f.available -= e.data.paid;
        f.receivable += e.data.owed;
        f.lifetimeSpent += e.data.amount;
        break;
      case 'ReceivableRepaid':
        f.available -= e.data.amount;
        f.receivable -= e.data.amount;
        break;
      case 'FreeRequestsGranted':
        f.freeRequests += e.data.count;
        break;
      case 'FreeRequestUsed':
        f.freeRequests -= 1;
        break;
      case 'CreditsForfeited':
        f.available -= e.data.amount;
        break;
      case 'AccountOpened':
      case 'HoldExtended':
      case 'AccountRestricted':
      case 'AccountRestrictionLifted':
        break;
      default:
        return assertNever(e);
    }
  }
  return f;
}

function checkBound(what: string, value: Micros): void {
  if (value > MAX_MICROS) throw outOfRange(what, value);
}

function outOfRange(what: string, value: Micros): LedgerError {
  return new LedgerError('amount_out_of_range', `${what} would pass the ledger's bound of ${MAX_CREDITS_TEXT} credits`, {
    value,
    max: MAX_MICROS,
  });
}

function decideWithinBound(command: AccountCommand, state: AccountState, ctx: DecideContext): LedgerEvent[] {
  if (command.type === 'OpenAccount') {
    if (state.opened) return []; // opening twice is a retry, not an error
    const free = command.data.freeRequests ?? DEFAULT_FREE_REQUESTS;
    nonNegativeInt(free, 'freeRequests');
    const events: LedgerEvent[] = [
      { type: 'AccountOpened', data: { accountId: command.data.accountId, ownerId: command.data.ownerId ?? null } },
    ];
    if (free > 0) events.push({ type: 'FreeRequestsGranted', data: { grantId: 'welcome', count: free } });
    return events;
  }
  if (!state.opened) throw new LedgerError('account_not_found', 'the account does not exist');

  switch (command.type) {
    case 'PurchaseCredits':
      positive(command.data.amount);
      return [{ type: 'CreditsPurchased', data: { ...command.data, provider: 'stripe' } }];
    case 'CreditCryptoPayment':
      positive(command.data.amount);
      // The hash is stored as the payment id spells it: a retry that reports the same transaction
      // in another letter case must be the same event, or the store answers it with a conflict.
      return [
        {
          type: 'CryptoPaymentCredited',
          data: { ...command.data, txHash: command.data.txHash.toLowerCase(), paymentId: cryptoPaymentId(command.data) },
        },
      ];
    case 'GrantCredits':
      positive(command.data.amount);
      requireReason(command.data.reason);
      return [{ type: 'CreditsGranted', data: command.data }];
    case 'GrantFreeRequests':
      nonNegativeInt(command.data.count, 'count');
      return [{ type: 'FreeRequestsGranted', data: command.data }];
    case 'UseFreeRequest':
      refuseWhenRestricted(state);
      refuseWhenSuspended(state);
      if (state.freeRequests <= 0) throw new LedgerError('no_free_requests', 'no free requests left');
      return [{ type: 'FreeRequestUsed', data: command.data }];
    case 'PlaceHold': {
      const { holdId, amount, expiresAt, keyId, sealedKeyId } = command.data;
      positive(amount);
      if (Number.isNaN(Date.parse(expiresAt))) throw new LedgerError('invalid_command', 'expiresAt must be a date');
      if (keyId !== undefined && (typeof keyId !== 'string' || keyId === '')) throw new LedgerError('invalid_command', 'keyId must be a key id');
      checkSealed('sealedKeyId', sealedKeyId, keyId !== undefined);
      const open = state.holds.get(holdId);
      if (open) {
        if (open.amount === amount) return []; // the same hold placed again: a retry
        throw new LedgerError('idempotency_conflict', `hold ${holdId} is already placed for another amount`);
      }
      refuseWhenRestricted(state);
      refuseWhenSuspended(state);
      if (amount > state.available) {
        throw new LedgerError('insufficient_credits', 'not enough credits for this request', {
          available: state.available,
          needed: amount,
        });
      }
      // No keyId field at all when there is none: such a hold encodes (and hashes) as before keys were recorded.
      if (sealedKeyId !== undefined) return [{ type: 'HoldPlaced', data: { holdId, amount, expiresAt, sealedKeyId } }];
      return [{ type: 'HoldPlaced', data: keyId === undefined ? { holdId, amount, expiresAt } : { holdId, amount, expiresAt, keyId } }];
    }
    case 'SettleHold': {
      const expired = state.holds.has(command.data.holdId) ? undefined : state.expired.get(command.data.holdId);
      if (expired) return settleLate(command.data, expired, state, ctx);
      const hold = openHold(state, command.data.holdId);
      const { amount, upstreamCost = 0n, usage = null, sealedUsage } = command.data;
      checkSettle(amount, upstreamCost, hold.amount);
      checkSealed('sealedUsage', sealedUsage, usage !== null);
      return [
        {
          type: 'HoldSettled',
          data: { holdId: command.data.holdId, amount, released: hold.amount - amount, upstreamCost, usage, ...sealedField(sealedUsage) },
        },
      ];
    }
    case 'ExtendHold': {
      // The request behind the hold is still running: it must not expire under it.
      const hold = openHold(state, command.data.holdId);
      const { holdId, expiresAt } = command.data;
      if (Number.isNaN(Date.parse(expiresAt))) throw new LedgerError('invalid_command', 'expiresAt must be a date');
      if (Date.parse(expiresAt) <= Date.parse(hold.expiresAt)) return []; // never earlier; a retry changes nothing
      return [{ type: 'HoldExtended', data: { holdId, expiresAt } }];
    }
    case 'VoidHold': {
      // Voiding a hold that expired: its credit is back already, nothing is left to do.
      if (!state.holds.has(command.data.holdId) && state.expired.has(command.data.holdId)) return [];
      const hold = openHold(state, command.data.holdId);
      return [{ type: 'HoldVoided', data: { holdId: command.data.holdId, amount: hold.amount, reason: command.data.reason } }];
    }
    case 'ExpireHold': {
      const hold = openHold(state, command.data.holdId);
      if (Date.parse(hold.expiresAt) > ctx.now.getTime()) {
        throw new LedgerError('hold_not_expired', `hold ${command.data.holdId} expires at ${hold.expiresAt}`);
      }
      return [{ type: 'HoldExpired', data: { holdId: command.data.holdId, amount: hold.amount } }];
    }
    case 'RefundCredits':
      return decideRefund(command.data, state);
    case 'FreezeCredits': {
      const { freezeId, paymentId, amount, reason } = command.data;
      positive(amount);
      requireReason(reason);
      const open = state.freezes.get(freezeId);
      if (open) {
        if (open.amount === amount && open.paymentId === paymentId) return []; // a retry
        throw new LedgerError('idempotency_conflict', `freeze ${freezeId} is already placed for another amount or payment`);
      }
      if (state.resolvedFreezes.has(freezeId)) return []; // placed and resolved already: a late retry
      const unspent = state.funds.unspentOf(paymentId);
      if (amount > unspent) {
        throw new LedgerError('refund_exceeds_unspent', `only ${formatCredits(unspent)} credits of payment ${paymentId} are unspent`, {
          paymentId,
          unspent,
          needed: amount,
        });
      }
      if (amount > state.available) {
        throw new LedgerError('insufficient_credits', 'cannot set aside more than the available balance', { available: state.available, needed: amount });
      }
      return [{ type: 'CreditsFrozen', data: { freezeId, paymentId, amount, reason } }];
    }
    case 'ReleaseFreeze': {
      const { freezeId, reason } = command.data;
      requireReason(reason);
      const open = state.freezes.get(freezeId);
      if (!open) {
        if (state.resolvedFreezes.get(freezeId) === 'released') return []; // a retry
        throw freezeNotOpen(freezeId, state);
      }
      return [{ type: 'FreezeReleased', data: { freezeId, paymentId: open.paymentId, amount: open.amount, reason } }];
    }
    case 'OpenDispute': {
      const { disputeId, paymentId, amount } = command.data;
      positive(amount);
      const open = state.disputes.get(disputeId);
      if (open || state.closedDisputes.has(disputeId)) {
        if (open && (open.amount !== amount || open.paymentId !== paymentId)) {
          throw new LedgerError('idempotency_conflict', `dispute ${disputeId} is already open for another amount or payment`);
        }
        return []; // a retry, or a late copy of a dispute already closed
      }
      const frozen = amount < state.available ? amount : state.available;
      return [{ type: 'DisputeOpened', data: { disputeId, paymentId, amount, frozen } }];
    }
    case 'CloseDispute': {
      const { disputeId, outcome } = command.data;
      if (outcome !== 'won' && outcome !== 'lost') throw new LedgerError('invalid_command', "a dispute closes 'won' or 'lost'");
      const d = state.disputes.get(disputeId);
      if (!d) {
        const closed = state.closedDisputes.get(disputeId);
        if (closed === outcome) return []; // a retry
        throw new LedgerError('dispute_not_open', closed ? `dispute ${disputeId} was already ${closed}` : `dispute ${disputeId} is not open`, { disputeId });
      }
      if (outcome === 'won') return [{ type: 'DisputeWon', data: { disputeId, paymentId: d.paymentId, released: d.frozen } }];
      return [{ type: 'DisputeLost', data: { disputeId, paymentId: d.paymentId, amount: d.amount, fromFrozen: d.frozen, owed: d.amount - d.frozen } }];
    }
    case 'Adjust':
      if (command.data.amount === 0n) throw new LedgerError('invalid_amount', 'an adjustment cannot be zero');
      requireReason(command.data.reason);
      if (state.available + command.data.amount < 0n) {
        throw new LedgerError('insufficient_credits', 'the adjustment would take the balance below zero', {
          available: state.available,
          needed: -command.data.amount,
        });
      }
      return [{ type: 'Adjusted', data: command.data }];
    case 'RestrictAccount': {
      const { restrictionId, reason } = command.data;
      requireId(restrictionId, 'restrictionId');
      requireReason(reason);
      if (state.restrictions.has(restrictionId)) return []; // applied twice: one restriction
      if (state.liftedRestrictions.has(restrictionId)) {
        throw new LedgerError('idempotency_conflict', `restriction ${restrictionId} was lifted already; a new restriction takes a new id`, { restrictionId });
      }
      return [{ type: 'AccountRestricted', data: { restrictionId, reason } }];
    }
    case 'LiftRestriction': {
      const { restrictionId, reason } = command.data;
      requireId(restrictionId, 'restrictionId');
      requireReason(reason);
      if (state.restrictions.has(restrictionId)) return [{ type: 'AccountRestrictionLifted', data: { restrictionId, reason } }];
      if (state.liftedRestrictions.has(restrictionId)) return []; // a retry
      throw new LedgerError('restriction_not_active', `restriction ${restrictionId} is not in force on this account`, { restrictionId });
    }
    case 'ForfeitCredits':
      positive(command.data.amount);
      requireReason(command.data.reason);
      if (command.data.amount > state.available) {
        throw new LedgerError('insufficient_credits', 'cannot forfeit more than the available balance', { available: state.available, needed: command.data.amount });
      }
      return [{ type: 'CreditsForfeited', data: { ...command.data } }];
    default:
      return assertNever(command);
  }
}

export function evolve(state: AccountState, event: LedgerEvent): AccountState {
  return evolveWith(state, event, null);
}

/**
 * A state folded event by event, for a caller that keeps only the latest (the ledger service's
 * round, its forecast of what is queued, a replay): evolve() copies the map of open holds on
 * every hold event, O(open holds) each, which on a busy account was most of what deciding and
 * folding cost (a profile of the proxy: evolve and withoutHold 2.7% of the gateway's time). Here
 * the holds are forked once, on the first hold event, and changed in place afterwards; a fork
 * shares the holds' base and copies only their recent changes (OpenHolds), so a fold that
 * starts and changes a hold costs O(√holds) at most, not O(holds) (with 2,000 streams open on
 * one account the copy per fold was 4% of the gateway's time).
 *
 * So a state read from `state` stays valid only until the next apply(): its holds may change
 * then. The state the fold started from is never changed (its holds are forked before any change),
 * which is what lets a caller drop the fold and keep that state (an append that conflicted).
 */
export class AccountFold {
  /** The holds this fold forked, and only it may change; null until the first hold event. */
  private ownHolds: OpenHolds | null = null;

  constructor(private current: AccountState) {}

  get state(): AccountState {
    return this.current;
  }

  apply(event: LedgerEvent): void {
    this.current = evolveWith(this.current, event, this);
  }

  /** The holds of `state` to change: in place when they are this fold's own, else a fork that becomes its own. */
  holdsOf(state: AccountState): OpenHolds {
    if (this.ownHolds !== null && state.holds === this.ownHolds) return this.ownHolds;
    this.ownHolds = state.holds.fork();
    return this.ownHolds;
  }
}

/** The holds of `state` to change: a fork, unless the fold owns them (see AccountFold). */
const changeableHolds = (state: AccountState, fold: AccountFold | null): OpenHolds => (fold ? fold.holdsOf(state) : state.holds.fork());

function evolveWith(state: AccountState, event: LedgerEvent, fold: AccountFold | null): AccountState {
  switch (event.type) {
    case 'AccountOpened':
      return { ...state, opened: true };
    case 'CreditsPurchased':
    case 'CryptoPaymentCredited':
      return {
        ...state,
        available: state.available + event.data.amount,
        lifetimePurchased: state.lifetimePurchased + event.data.amount,
        funds: state.funds.purchased(event.data.paymentId, event.data.amount),
      };
    case 'CreditsGranted':
      return { ...state, available: state.available + event.data.amount, funds: state.funds.promotional(event.data.amount) };
    case 'FreeRequestsGranted':
      return { ...state, freeRequests: state.freeRequests + event.data.count };
    case 'FreeRequestUsed':
      return { ...state, freeRequests: state.freeRequests - 1 };
    case 'HoldPlaced': {
      const holds = changeableHolds(state, fold);
      holds.set(event.data.holdId, { amount: event.data.amount, expiresAt: event.data.expiresAt });
      return { ...state, available: state.available - event.data.amount, held: state.held + event.data.amount, holds };
    }
    case 'HoldExtended': {
      const open = state.holds.get(event.data.holdId);
      if (!open) return state;
      const holds = changeableHolds(state, fold);
      holds.set(event.data.holdId, { ...open, expiresAt: event.data.expiresAt });
      return { ...state, holds };
    }
    case 'HoldSettled': {
      const { amount, released } = event.data;
      return {
        ...withoutHold(state, event.data.holdId, amount + released, fold),
        available: state.available + released,
        lifetimeSpent: state.lifetimeSpent + amount,
        funds: state.funds.spent(amount),
      };
    }
    case 'HoldVoided':
      return { ...withoutHold(state, event.data.holdId, event.data.amount, fold), available: state.available + event.data.amount };
    case 'HoldExpired': {
      const open = state.holds.get(event.data.holdId);
      return {
        ...withoutHold(state, event.data.holdId, event.data.amount, fold),
        available: state.available + event.data.amount,
        expired: open ? state.expired.with(event.data.holdId, { amount: event.data.amount, expiresAt: open.expiresAt }) : state.expired,
      };
    }
    case 'HoldSettledLate': {
      return {
        ...state,
        expired: state.expired.without(event.data.holdId),
        available: state.available - event.data.paid,
        receivable: state.receivable + event.data.owed,
        lifetimeSpent: state.lifetimeSpent + event.data.amount,
        funds: state.funds.spent(event.data.paid),
      };
    }
    case 'ReceivableRepaid': {
      // A repayment clears what a lost dispute left owing first, so the suspension lifts soonest.
      const amount = event.data.amount;
      return {
        ...state,
        available: state.available - amount,
        receivable: state.receivable - amount,
        disputeOwed: state.disputeOwed > amount ? state.disputeOwed - amount : 0n,
        funds: state.funds.spent(amount),
      };
    }
    case 'CreditsRefunded': {
      const { amount, paymentId, freezeId, refundId } = event.data;
      if (freezeId !== undefined) {
        const open = state.freezes.get(freezeId);
        const freezes = new Map(state.freezes);
        freezes.delete(freezeId);
        return {
          ...state,
          frozen: state.frozen - amount,
          freezes,
          resolvedFreezes: new Map(state.resolvedFreezes).set(freezeId, `refunded:${refundId}`),
          funds: state.funds.consumeReserved(open?.paymentId ?? paymentId ?? '', amount),
        };
      }
      const owed = event.data.owed ?? 0n;
      const paid = amount - owed;
      return {
        ...state,
        available: state.available - paid,
        receivable: state.receivable + owed,
        funds: paymentId !== undefined ? state.funds.takenFrom(paymentId, paid) : state.funds.spent(paid),
      };
    }
    case 'Adjusted': {
      const amount = event.data.amount;
      return { ...state, available: state.available + amount, funds: amount > 0n ? state.funds.promotional(amount) : state.funds.spent(-amount) };
    }
    case 'CreditsFrozen': {
      const { freezeId, paymentId, amount } = event.data;
      return {
        ...state,
        available: state.available - amount,
        frozen: state.frozen + amount,
        freezes: new Map(state.freezes).set(freezeId, { paymentId, amount }),
        funds: state.funds.reserve(paymentId, amount).funds,
      };
    }
    case 'FreezeReleased': {
      const { freezeId, paymentId, amount } = event.data;
      const freezes = new Map(state.freezes);
      freezes.delete(freezeId);
      return {
        ...state,
        available: state.available + amount,
        frozen: state.frozen - amount,
        freezes,
        resolvedFreezes: new Map(state.resolvedFreezes).set(freezeId, 'released'),
        funds: state.funds.unreserve(paymentId, amount),
      };
    }
    case 'DisputeOpened': {
      const { disputeId, paymentId, amount, frozen } = event.data;
      const { funds, reserved } = state.funds.reserve(paymentId, frozen);
      return {
        ...state,
        available: state.available - frozen,
        frozen: state.frozen + frozen,
        disputes: new Map(state.disputes).set(disputeId, { paymentId, amount, frozen, reserved }),
        funds,
      };
    }
    case 'DisputeWon': {
      const d = state.disputes.get(event.data.disputeId);
      const disputes = new Map(state.disputes);
      disputes.delete(event.data.disputeId);
      return {
        ...state,
        available: state.available + event.data.released,
        frozen: state.frozen - event.data.released,
        disputes,
        closedDisputes: new Map(state.closedDisputes).set(event.data.disputeId, 'won'),
        funds: d ? state.funds.unreserve(d.paymentId, d.reserved) : state.funds,
      };
    }
    case 'DisputeLost': {
      const { disputeId, fromFrozen, owed } = event.data;
      const d = state.disputes.get(disputeId);
      const disputes = new Map(state.disputes);
      disputes.delete(disputeId);
      const reserved = d?.reserved ?? 0n;
      return {
        ...state,
        frozen: state.frozen - fromFrozen,
        receivable: state.receivable + owed,
        disputeOwed: state.disputeOwed + owed,
        disputes,
        closedDisputes: new Map(state.closedDisputes).set(disputeId, 'lost'),
        // The purchase's own reserved part is gone; the rest of the freeze came from other credit.
        funds: (d ? state.funds.consumeReserved(d.paymentId, reserved) : state.funds).spent(fromFrozen - reserved),
      };
    }
    case 'AccountRestricted':
      return { ...state, restrictions: new Set(state.restrictions).add(event.data.restrictionId) };
    case 'AccountRestrictionLifted': {
      const restrictions = new Set(state.restrictions);
      restrictions.delete(event.data.restrictionId);
      return { ...state, restrictions, liftedRestrictions: new Set(state.liftedRestrictions).add(event.data.restrictionId) };
    }
    case 'CreditsForfeited':
      return { ...state, available: state.available - event.data.amount, funds: state.funds.spent(event.data.amount) };
    default:
      return assertNever(event);
  }
}

export const evolveAll = (events: LedgerEvent[], state = initialState()) => events.reduce(evolve, state);

function withoutHold(state: AccountState, holdId: string, amount: Micros, fold: AccountFold | null): AccountState {
  const holds = changeableHolds(state, fold);
  holds.delete(holdId);
  return { ...state, held: state.held - amount, holds };
}

/** What a repayment came from: the id the credit (or the released hold) goes by. */
function referenceOf(e: LedgerEvent): string {
  switch (e.type) {
    case 'CreditsPurchased':
    case 'CryptoPaymentCredited':
      return e.data.paymentId;
    case 'CreditsGranted':
      return e.data.grantId;
    case 'Adjusted':
      return e.data.adjustmentId;
    case 'HoldSettled':
    case 'HoldVoided':
    case 'HoldExpired':
    case 'HoldSettledLate':
    case 'HoldPlaced':
    case 'HoldExtended':
      return e.data.holdId;
    case 'CreditsRefunded':
      return e.data.refundId;
    case 'CreditsFrozen':
    case 'FreezeReleased':
      return e.data.freezeId;
    case 'DisputeOpened':
    case 'DisputeWon':
    case 'DisputeLost':
      return e.data.disputeId;
    case 'AccountOpened':
      return e.data.accountId;
    case 'FreeRequestsGranted':
      return e.data.grantId;
    case 'FreeRequestUsed':
      return e.data.requestId;
    case 'ReceivableRepaid':
      return e.data.reference;
    case 'AccountRestricted':
    case 'AccountRestrictionLifted':
      return e.data.restrictionId;
    case 'CreditsForfeited':
      return e.data.forfeitId;
    default:
      return assertNever(e);
  }
}

/** A settle's cost against what was held: the same checks whether the hold is open or expired. */
function checkSettle(amount: Micros, upstreamCost: Micros, held: Micros): void {
  if (amount < 0n) throw new LedgerError('invalid_amount', 'a cost cannot be negative');
  if (amount > held) throw new LedgerError('settle_exceeds_hold', `cost ${amount} exceeds the ${held} held`);
  if (upstreamCost < 0n || upstreamCost > amount) {
    throw new LedgerError('invalid_amount', 'the upstream cost must be between 0 and the cost');
  }
}

/**
 * The settle of a hold that expired before its settle could be written: the answer was
 * delivered, so it is charged once, late. Its credit went back to available at the expiry; the
 * cost is taken from available as far as it goes, and the rest is owed.
 */
function settleLate(
  data: Extract<AccountCommand, { type: 'SettleHold' }>['data'],
  hold: ExpiredHold,
  state: AccountState,
  ctx: DecideContext,
): LedgerEvent[] {
  const { holdId, amount, upstreamCost = 0n, usage = null, sealedUsage } = data;
  if (ctx.now.getTime() - Date.parse(hold.expiresAt) > LATE_SETTLE_WINDOW_MS) {
    throw lateSettleRefused(holdId, `it expired at ${hold.expiresAt}`);
  }
  checkSettle(amount, upstreamCost, hold.amount);
  checkSealed('sealedUsage', sealedUsage, usage !== null);
  const paid = amount < state.available ? amount : state.available;
  return [{ type: 'HoldSettledLate', data: { holdId, amount, paid, owed: amount - paid, upstreamCost, usage, ...sealedField(sealedUsage) } }];
}

export function lateSettleRefused(holdId: string, why: string): LedgerError {
  return new LedgerError(
    'late_settle_window_passed',
    `hold ${holdId} cannot be settled late: ${why}, and expired holds take a late settle for ${LATE_SETTLE_WINDOW_MS / 86_400_000} days at most`,
    { holdId },
  );
}

function openHold(state: AccountState, holdId: string): OpenHold {
  const hold = state.holds.get(holdId);
  if (!hold) throw new LedgerError('hold_not_open', `hold ${holdId} is not open (never placed, or already resolved)`);
  return hold;
}

function refuseWhenSuspended(state: AccountState): void {
  const short = suspension(state);
  if (short > 0n) {
    throw new LedgerError(
      'account_suspended',
      `the account is suspended: a disputed payment leaves ${formatCredits(short)} credits uncovered; it lifts when the dispute is won or the amount is paid`,
      { owed: short },
    );
  }
}

/** Restricted processing (a data-subject request): the person's data is stored, not used. */
function refuseWhenRestricted(state: AccountState): void {
  if (state.restrictions.size > 0) {
    throw new LedgerError(
      'account_restricted',
      'processing of this account is restricted at its holder\'s request: the API cannot be used until the restriction is lifted',
      { restrictions: state.restrictions.size },
    );
  }
}

function freezeNotOpen(freezeId: string, state: AccountState): LedgerError {
  const how = state.resolvedFreezes.get(freezeId);
  return new LedgerError('freeze_not_open', how ? `freeze ${freezeId} was already ${how.split(':')[0]}` : `freeze ${freezeId} is not open`, { freezeId });
}

function decideRefund(data: Extract<AccountCommand, { type: 'RefundCredits' }>['data'], state: AccountState): LedgerEvent[] {
  const { refundId, amount, reason, paymentId, freezeId, allowOwed } = data;
  positive(amount);
  requireReason(reason);
  if (freezeId !== undefined) {
    const open = state.freezes.get(freezeId);
    if (!open) {
      if (state.resolvedFreezes.get(freezeId) === `refunded:${refundId}`) return []; // a retry
      throw freezeNotOpen(freezeId, state);
    }
    if (open.amount !== amount) throw new LedgerError('invalid_amount', `freeze ${freezeId} holds ${formatCredits(open.amount)} credits; a refund from it takes all of it`);
    return [{ type: 'CreditsRefunded', data: { refundId, amount, reason, paymentId: open.paymentId, freezeId } }];
  }
  if (allowOwed) {
    // Already refunded by the payment provider: booked whatever is left, the rest owed.
    const paid = amount < state.available ? amount : state.available;
    const owed = amount - paid;
    const base = paymentId === undefined ? { refundId, amount, reason } : { refundId, amount, reason, paymentId };
    return [{ type: 'CreditsRefunded', data: owed > 0n ? { ...base, owed } : base }];
  }
  if (paymentId !== undefined) {
    const unspent = state.funds.unspentOf(paymentId);
    if (amount > unspent) {
      throw new LedgerError('refund_exceeds_unspent', `only ${formatCredits(unspent)} credits of payment ${paymentId} are unspent`, { paymentId, unspent, needed: amount });
    }
  }
  if (amount > state.available) {
    throw new LedgerError('insufficient_credits', 'cannot refund more than the available balance', { available: state.available, needed: amount });
  }
  return [{ type: 'CreditsRefunded', data: paymentId === undefined ? { refundId, amount, reason } : { refundId, amount, reason, paymentId } }];
}

function positive(amount: Micros): void {
  if (typeof amount !== 'bigint' || amount <= 0n) throw new LedgerError('invalid_amount', 'the amount must be positive');
}

function nonNegativeInt(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new LedgerError('invalid_command', `${name} must be a whole number >= 0`);
}

function requireId(id: string, name: string): void {
  if (typeof id !== 'string' || id.trim() === '' || id.length > 200) throw new LedgerError('invalid_command', `${name} must be a non-empty id of at most 200 characters`);
}

function requireReason(reason: string): void {
  if (typeof reason !== 'string' || reason.trim() === '') throw new LedgerError('invalid_command', 'a reason is required');
}

export function cryptoPaymentId(p: { chainId: number; txHash: string; logIndex: number }): string {
  return `chain-${p.chainId}-${p.txHash.toLowerCase()}-${p.logIndex}`;
}

// A sealed value (compliance/retention/usage-seal.ts): `<YYYY-MM-DD>:v1:<iv>:<tag>:<ciphertext>`.
const SEALED_USAGE_VALUE = /^\d{4}-\d{2}-\d{2}:v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*$/;
const SEALED_USAGE_MAX_CHARS = 4096;

/** A sealed field has the sealed shape and stands in for its plaintext one, never beside it. */
function checkSealed(field: string, value: string | undefined, plaintextToo: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value.length > SEALED_USAGE_MAX_CHARS || !SEALED_USAGE_VALUE.test(value)) {
    throw new LedgerError('invalid_command', `${field} must be a sealed usage value`);
  }
  if (plaintextToo) throw new LedgerError('invalid_command', `${field} stands in for its plaintext field: not both`);
}

/** No sealedUsage field at all when there is none: such a settle encodes (and hashes) as before. */
const sealedField = (sealedUsage: string | undefined): { sealedUsage?: string } => (sealedUsage === undefined ? {} : { sealedUsage });
