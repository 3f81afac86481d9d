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
 *   (at most its hold) is never refused for the bound after the answer was delivered.
 * Idempotency across retries is the event store's job: event ids derive from the command's
 * key (see eventIdFor), so a retried command re-appends the same ids and is answered "exists".
 */
import { LedgerEvent, UsageFigures } from './events';
import { LedgerError } from './errors';
import { MAX_CREDITS_TEXT, MAX_MICROS, Micros, withinBound } from './money';
import { assertNever } from './postings';

export interface OpenHold {
  amount: Micros;
  expiresAt: string;
}

export interface AccountState {
  opened: boolean;
  available: Micros;
  held: Micros;
  holds: ReadonlyMap<string, OpenHold>;
  freeRequests: number;
  lifetimePurchased: Micros;
  lifetimeSpent: Micros;
}

export const initialState = (): AccountState => ({
  opened: false,
  available: 0n,
  held: 0n,
  holds: new Map(),
  freeRequests: 0,
  lifetimePurchased: 0n,
  lifetimeSpent: 0n,
});

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
  | { type: 'PlaceHold'; data: { holdId: string; amount: Micros; expiresAt: string } }
  | {
      type: 'SettleHold';
      data: { holdId: string; amount: Micros; upstreamCost?: Micros; usage?: UsageFigures | null };
    }
  | { type: 'ExtendHold'; data: { holdId: string; expiresAt: string } }
  | { type: 'VoidHold'; data: { holdId: string; reason: string } }
  | { type: 'ExpireHold'; data: { holdId: string } }
  | { type: 'RefundCredits'; data: { refundId: string; amount: Micros; reason: string } }
  | { type: 'Adjust'; data: { adjustmentId: string; amount: Micros; reason: string } };

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
  const next = figuresAfter(state, events);
  const figures: Array<[string, Micros]> = [
    ['the available balance', next.available],
    ['the held balance', next.held],
    ['the lifetime purchases', next.lifetimePurchased],
    ['the lifetime spending', next.lifetimeSpent],
    ['the lifetime spending and open holds', next.lifetimeSpent + next.held],
  ];
  for (const [what, value] of figures) if (value > MAX_MICROS) throw outOfRange(what, value);
  if (next.freeRequests > MAX_FREE_REQUESTS) {
    throw new LedgerError('amount_out_of_range', `an account can have at most ${MAX_FREE_REQUESTS} free requests`, {
      freeRequests: next.freeRequests,
    });
  }
  return events;
}

type Figures = Pick<AccountState, 'available' | 'held' | 'lifetimePurchased' | 'lifetimeSpent' | 'freeRequests'>;

/**
 * The figures evolve() would give after these events, without copying the holds map as it does:
 * decide() runs on every command, and a busy account has many open holds. (The bound property
 * in test/unit/ledger/account-bounds.spec.ts checks the real evolve() never passes the bound.)
 */
export function figuresAfter(state: AccountState, events: LedgerEvent[]): Figures {
  const f: Figures = { available: state.available, held: state.held, lifetimePurchased: state.lifetimePurchased, lifetimeSpent: state.lifetimeSpent, freeRequests: state.freeRequests };
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
        f.available -= e.data.amount;
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
      case 'FreeRequestsGranted':
        f.freeRequests += e.data.count;
        break;
      case 'FreeRequestUsed':
        f.freeRequests -= 1;
        break;
      case 'AccountOpened':
      case 'HoldExtended':
        break;
      default:
        return assertNever(e);
    }
  }
  return f;
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
      if (state.freeRequests <= 0) throw new LedgerError('no_free_requests', 'no free requests left');
      return [{ type: 'FreeRequestUsed', data: command.data }];
    case 'PlaceHold': {
      const { holdId, amount, expiresAt } = command.data;
      positive(amount);
      if (Number.isNaN(Date.parse(expiresAt))) throw new LedgerError('invalid_command', 'expiresAt must be a date');
      const open = state.holds.get(holdId);
      if (open) {
        if (open.amount === amount) return []; // the same hold placed again: a retry
        throw new LedgerError('idempotency_conflict', `hold ${holdId} is already placed for another amount`);
      }
      if (amount > state.available) {
        throw new LedgerError('insufficient_credits', 'not enough credits for this request', {
          available: state.available,
          needed: amount,
        });
      }
      return [{ type: 'HoldPlaced', data: { holdId, amount, expiresAt } }];
    }
    case 'SettleHold': {
      const hold = openHold(state, command.data.holdId);
      const { amount, upstreamCost = 0n, usage = null } = command.data;
      if (amount < 0n) throw new LedgerError('invalid_amount', 'a cost cannot be negative');
      if (amount > hold.amount) {
        throw new LedgerError('settle_exceeds_hold', `cost ${amount} exceeds the ${hold.amount} held`);
      }
      if (upstreamCost < 0n || upstreamCost > amount) {
        throw new LedgerError('invalid_amount', 'the upstream cost must be between 0 and the cost');
      }
      return [
        {
          type: 'HoldSettled',
          data: { holdId: command.data.holdId, amount, released: hold.amount - amount, upstreamCost, usage },
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
      positive(command.data.amount);
      requireReason(command.data.reason);
      if (command.data.amount > state.available) {
        throw new LedgerError('insufficient_credits', 'cannot refund more than the available balance', {
          available: state.available,
          needed: command.data.amount,
        });
      }
      return [{ type: 'CreditsRefunded', data: command.data }];
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
    default:
      return assertNever(command);
  }
}

export function evolve(state: AccountState, event: LedgerEvent): AccountState {
  switch (event.type) {
    case 'AccountOpened':
      return { ...state, opened: true };
    case 'CreditsPurchased':
    case 'CryptoPaymentCredited':
      return {
        ...state,
        available: state.available + event.data.amount,
        lifetimePurchased: state.lifetimePurchased + event.data.amount,
      };
    case 'CreditsGranted':
      return { ...state, available: state.available + event.data.amount };
    case 'FreeRequestsGranted':
      return { ...state, freeRequests: state.freeRequests + event.data.count };
    case 'FreeRequestUsed':
      return { ...state, freeRequests: state.freeRequests - 1 };
    case 'HoldPlaced': {
      const holds = new Map(state.holds);
      holds.set(event.data.holdId, { amount: event.data.amount, expiresAt: event.data.expiresAt });
      return { ...state, available: state.available - event.data.amount, held: state.held + event.data.amount, holds };
    }
    case 'HoldExtended': {
      const open = state.holds.get(event.data.holdId);
      if (!open) return state;
      const holds = new Map(state.holds);
      holds.set(event.data.holdId, { ...open, expiresAt: event.data.expiresAt });
      return { ...state, holds };
    }
    case 'HoldSettled': {
      const { amount, released } = event.data;
      return {
        ...withoutHold(state, event.data.holdId, amount + released),
        available: state.available + released,
        lifetimeSpent: state.lifetimeSpent + amount,
      };
    }
    case 'HoldVoided':
    case 'HoldExpired':
      return { ...withoutHold(state, event.data.holdId, event.data.amount), available: state.available + event.data.amount };
    case 'CreditsRefunded':
      return { ...state, available: state.available - event.data.amount };
    case 'Adjusted':
      return { ...state, available: state.available + event.data.amount };
    default:
      return assertNever(event);
  }
}

export const evolveAll = (events: LedgerEvent[], state = initialState()) => events.reduce(evolve, state);

function withoutHold(state: AccountState, holdId: string, amount: Micros): AccountState {
  const holds = new Map(state.holds);
  holds.delete(holdId);
  return { ...state, held: state.held - amount, holds };
}

function openHold(state: AccountState, holdId: string): OpenHold {
  const hold = state.holds.get(holdId);
  if (!hold) throw new LedgerError('hold_not_open', `hold ${holdId} is not open (never placed, or already resolved)`);
  return hold;
}

function positive(amount: Micros): void {
  if (typeof amount !== 'bigint' || amount <= 0n) throw new LedgerError('invalid_amount', 'the amount must be positive');
}

function nonNegativeInt(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new LedgerError('invalid_command', `${name} must be a whole number >= 0`);
}

function requireReason(reason: string): void {
  if (typeof reason !== 'string' || reason.trim() === '') throw new LedgerError('invalid_command', 'a reason is required');
}

export function cryptoPaymentId(p: { chainId: number; txHash: string; logIndex: number }): string {
  return `chain-${p.chainId}-${p.txHash.toLowerCase()}-${p.logIndex}`;
}
