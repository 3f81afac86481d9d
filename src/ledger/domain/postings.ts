/**
 * Double entry. Every ledger event maps to postings that sum to zero. Balances are signed
 * from the user's side: a positive `user:<id>:available` is credit the user may spend, and
 * each house account holds the opposite (e.g. `stripe:clearing` goes negative as users buy).
 *
 * | event                 | postings                                                        |
 * |-----------------------|-----------------------------------------------------------------|
 * | CreditsPurchased      | available +a, stripe:clearing −a                                |
 * | CryptoPaymentCredited | available +a, crypto:clearing −a                                |
 * | CreditsGranted        | available +a, promo −a                                          |
 * | HoldPlaced            | available −a, held +a                                           |
 * | HoldExtended          | none (only the hold's expiry moves)                             |
 * | AccountRestricted / …Lifted | none (processing restricted or allowed again)             |
 * | HoldSettled           | held −(c+r), available +r, revenue +(c−u), upstream:payable +u  |
 * | HoldVoided / Expired  | held −a, available +a                                           |
 * | HoldSettledLate       | available −p, receivables −o, revenue +(c−u), upstream:payable +u |
 * | ReceivableRepaid      | available −a, receivables +a                                    |
 * | CreditsRefunded       | refunds +a; available −(a−o), receivables −o   (money returned to the payer) |
 * |   … from a freeze      | refunds +a, frozen −a                                           |
 * | Adjusted              | available +a, revenue −a   (a correction of what was charged)   |
 * | CreditsFrozen         | frozen +a, available −a                                         |
 * | FreezeReleased        | available +a, frozen −a                                         |
 * | DisputeOpened         | frozen +f, available −f   (f: the part of the amount available) |
 * | DisputeWon            | available +r, frozen −r                                         |
 * | DisputeLost           | chargebacks +a, frozen −f, receivables −o   (a = f + o)         |
 * | CreditsForfeited      | forfeited +a, available −a   (unused credit given up on erasure) |
 *
 * A late settle (c = p + o) charges what was available (p) and books the rest (o) as owed: the
 * house account `receivables` goes negative by what users owe, as stripe:clearing does by what
 * Stripe owes, and a repayment brings it back towards zero.
 */
import { LedgerEvent } from './events';
import { Micros } from '../../shared/money';
import { assertNever } from '../../shared/assert-never';

export interface Posting {
  account: string;
  amount: Micros;
}

export const HOUSE_ACCOUNTS = [
  'revenue',
  'stripe:clearing',
  'crypto:clearing',
  'promo',
  'refunds',
  'upstream:payable',
  'receivables',
  'chargebacks',
  'forfeited',
] as const;

export const availableOf = (accountId: string) => `user:${accountId}:available`;
export const heldOf = (accountId: string) => `user:${accountId}:held`;
export const frozenOf = (accountId: string) => `user:${accountId}:frozen`;

export function postingsOf(accountId: string, event: LedgerEvent): Posting[] {
  const available = availableOf(accountId);
  const held = heldOf(accountId);
  switch (event.type) {
    case 'AccountOpened':
    case 'FreeRequestsGranted':
    case 'FreeRequestUsed':
    case 'HoldExtended':
    case 'AccountRestricted':
    case 'AccountRestrictionLifted':
      return [];
    case 'CreditsPurchased':
      return pair(available, 'stripe:clearing', event.data.amount);
    case 'CryptoPaymentCredited':
      return pair(available, 'crypto:clearing', event.data.amount);
    case 'CreditsGranted':
      return pair(available, 'promo', event.data.amount);
    case 'HoldPlaced':
      return pair(held, available, event.data.amount);
    case 'HoldSettled': {
      const { amount, released, upstreamCost } = event.data;
      return [
        { account: held, amount: -(amount + released) },
        { account: available, amount: released },
        { account: 'revenue', amount: amount - upstreamCost },
        { account: 'upstream:payable', amount: upstreamCost },
      ].filter((p) => p.amount !== 0n);
    }
    case 'HoldVoided':
    case 'HoldExpired':
      return pair(available, held, event.data.amount);
    case 'HoldSettledLate': {
      const { amount, paid, owed, upstreamCost } = event.data;
      return [
        { account: available, amount: -paid },
        { account: 'receivables', amount: -owed },
        { account: 'revenue', amount: amount - upstreamCost },
        { account: 'upstream:payable', amount: upstreamCost },
      ].filter((p) => p.amount !== 0n);
    }
    case 'ReceivableRepaid':
      return pair('receivables', available, event.data.amount);
    case 'CreditsRefunded': {
      const { amount, freezeId, owed = 0n } = event.data;
      if (freezeId !== undefined) return pair('refunds', frozenOf(accountId), amount);
      return [
        { account: 'refunds', amount },
        { account: available, amount: -(amount - owed) },
        { account: 'receivables', amount: -owed },
      ].filter((p) => p.amount !== 0n);
    }
    case 'Adjusted':
      return pair(available, 'revenue', event.data.amount);
    case 'CreditsFrozen':
      return pair(frozenOf(accountId), available, event.data.amount);
    case 'FreezeReleased':
      return pair(available, frozenOf(accountId), event.data.amount);
    case 'DisputeOpened':
      return pair(frozenOf(accountId), available, event.data.frozen);
    case 'DisputeWon':
      return pair(available, frozenOf(accountId), event.data.released);
    case 'DisputeLost': {
      const { amount, fromFrozen, owed } = event.data;
      return [
        { account: 'chargebacks', amount },
        { account: frozenOf(accountId), amount: -fromFrozen },
        { account: 'receivables', amount: -owed },
      ].filter((p) => p.amount !== 0n);
    }
    case 'CreditsForfeited':
      return pair('forfeited', available, event.data.amount);
    default:
      return assertNever(event);
  }
}

/** `to` gains `amount`, `from` loses it. */
function pair(to: string, from: string, amount: Micros): Posting[] {
  if (amount === 0n) return [];
  return [
    { account: to, amount },
    { account: from, amount: -amount },
  ];
}

