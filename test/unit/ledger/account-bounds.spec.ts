/**
 * The ledger's bound (MAX_MICROS = 10^15 µcr, 1,000,000,000 credits): no command amount, and no
 * balance or lifetime figure an accepted command leads to, ever passes it. Read models, Lua in
 * Redis and JSON doubles all rely on that.
 */
import fc from 'fast-check';
import { AccountCommand, AccountState, MAX_FREE_REQUESTS, decide, evolve, evolveAll, figuresAfter } from '../../../src/ledger/domain/account.decider';
import { LedgerError } from '../../../src/ledger/domain/errors';
import { LedgerEvent } from '../../../src/ledger/domain/events';
import { MAX_MICROS } from '../../../src/shared/money';
import { ACCOUNT_ID, IN_AN_HOUR, NOW, given, holdPlaced, holdSettled, opened, purchased } from './decider-spec';

const AFTER_EXPIRY = new Date(Date.parse(IN_AN_HOUR) + 1);

const MAX = MAX_MICROS;
const granted = (amount: bigint, grantId = 'g1'): LedgerEvent => ({ type: 'CreditsGranted', data: { grantId, amount, reason: 'promo' } });

describe('account decider: the 10^15 µcr bound', () => {
  it.each<[string, AccountCommand]>([
    ['a purchase', { type: 'PurchaseCredits', data: { paymentId: 'pi_x', amount: MAX + 1n } }],
    ['a crypto payment', { type: 'CreditCryptoPayment', data: { amount: MAX + 1n, chainId: 1, txHash: '0xab', logIndex: 0, token: 'USDC' } }],
    ['a grant', { type: 'GrantCredits', data: { grantId: 'g', amount: 10n ** 26n, reason: 'promo' } }],
    ['a hold', { type: 'PlaceHold', data: { holdId: 'h', amount: MAX + 1n, expiresAt: IN_AN_HOUR } }],
    ['a refund', { type: 'RefundCredits', data: { refundId: 'r', amount: MAX + 1n, reason: 'asked' } }],
    ['a positive adjustment', { type: 'Adjust', data: { adjustmentId: 'a', amount: MAX + 1n, reason: 'fix' } }],
    ['a negative adjustment', { type: 'Adjust', data: { adjustmentId: 'a', amount: -(MAX + 1n), reason: 'fix' } }],
  ])('refuses %s of more than 10^15 µcr, naming the bound in credits', (_what, command) => {
    const err = given([...opened(), purchased(10n)]).when(command).thenThrows('amount_out_of_range');
    expect(err.message).toContain('1,000,000,000 credits');
  });

  it('accepts a grant of exactly the bound into an empty account', () => {
    given(opened())
      .when({ type: 'GrantCredits', data: { grantId: 'g', amount: MAX, reason: 'promo' } })
      .then([granted(MAX, 'g')]);
  });

  it('refuses the second of two grants of 5e12 credits: the balance would pass the bound', () => {
    const fiveTrillionCredits = 5n * 10n ** 12n * 1_000_000n; // itself beyond the bound
    given(opened()).when({ type: 'GrantCredits', data: { grantId: 'g', amount: fiveTrillionCredits, reason: 'x' } }).thenThrows('amount_out_of_range');
    // Two halves of the bound fit; a third grant of one µcr does not.
    const half = MAX / 2n;
    const full = given([...opened(), granted(half, 'g1'), granted(half, 'g2')]);
    expect(full.state.available).toBe(MAX);
    full.when({ type: 'GrantCredits', data: { grantId: 'g3', amount: 1n, reason: 'x' } }).thenThrows('amount_out_of_range');
  });

  it('a hold released back into available never passes the bound; a purchase on top of it is refused', () => {
    // available + held = MAX: voiding the hold brings available back to MAX, accepted.
    given([...opened(), granted(MAX), holdPlaced('h1', MAX / 4n)])
      .when({ type: 'VoidHold', data: { holdId: 'h1', reason: 'failed' } })
      .then([{ type: 'HoldVoided', data: { holdId: 'h1', amount: MAX / 4n, reason: 'failed' } }]);
    // Available is 3/4 of the bound: a purchase of more than the last quarter is refused.
    given([...opened(), granted(MAX), holdPlaced('h1', MAX / 4n)])
      .when({ type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: MAX / 4n + 1n } })
      .thenThrows('amount_out_of_range');
  });

  it('refuses lifetime purchases beyond the bound, even when the balance was spent', () => {
    given([...opened(), purchased(MAX, 'pi_1'), holdPlaced('h1', MAX), holdSettled('h1', MAX, 0n)])
      .when({ type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: 1n } })
      .thenThrows('amount_out_of_range');
  });

  it('refuses a hold whose settle could take lifetime spending past the bound, so no settle is ever refused for it', () => {
    const history = [...opened(), granted(MAX / 2n, 'g1'), holdPlaced('h1', MAX / 2n), holdSettled('h1', MAX / 2n, 0n), granted(MAX / 2n, 'g2')];
    const g = given(history);
    expect(g.state.lifetimeSpent).toBe(MAX / 2n);
    g.when({ type: 'PlaceHold', data: { holdId: 'h2', amount: MAX / 2n, expiresAt: IN_AN_HOUR } }).then([holdPlaced('h2', MAX / 2n)]);
    given([...history, granted(1n, 'g3'), holdPlaced('h2', MAX / 2n)])
      .when({ type: 'PlaceHold', data: { holdId: 'h3', amount: 1n, expiresAt: IN_AN_HOUR } })
      .thenThrows('amount_out_of_range');
  });

  it('refuses an upstream cost beyond the bound', () => {
    given([...opened(), purchased(100n), holdPlaced('h1', 100n)])
      .when({ type: 'SettleHold', data: { holdId: 'h1', amount: 10n, upstreamCost: MAX + 1n } })
      .thenThrows('amount_out_of_range');
  });

  it('refuses free requests past what the read model can count', () => {
    given([])
      .when({ type: 'OpenAccount', data: { accountId: ACCOUNT_ID, freeRequests: 2 ** 40 } })
      .thenThrows('amount_out_of_range');
    given(opened(MAX_FREE_REQUESTS))
      .when({ type: 'GrantFreeRequests', data: { grantId: 'more', count: 1 } })
      .thenThrows('amount_out_of_range');
  });

  it('no sequence of accepted commands ever leads past the bound (property)', () => {
    // Amounts cluster around the bound and its halves, so the edges come up in every run.
    const near = fc.oneof(
      fc.constantFrom(MAX, MAX / 2n, MAX - 1n, MAX + 1n, 1n, 2n ** 63n),
      fc.bigInt({ min: 1n, max: MAX + 10n }),
    );
    const command: fc.Arbitrary<AccountCommand> = fc.oneof(
      fc.tuple(near, fc.nat(3)).map(([amount, n]) => ({ type: 'PurchaseCredits' as const, data: { paymentId: `pi_${n}-${amount}`, amount } })),
      near.map((amount) => ({ type: 'PurchaseCredits' as const, data: { paymentId: `pi_${amount}`, amount } })),
      // Freezes, refunds and disputes of those purchases (of pi_<amount>: the same amount picks the same purchase).
      fc.tuple(near, fc.nat(3)).map(([amount, n]) => ({ type: 'FreezeCredits' as const, data: { freezeId: `z${n}`, paymentId: `pi_${amount}`, amount, reason: 'r' } })),
      fc.nat(3).map((n) => ({ type: 'ReleaseFreeze' as const, data: { freezeId: `z${n}`, reason: 'r' } })),
      fc.tuple(near, fc.nat(3)).map(([amount, n]) => ({ type: 'RefundCredits' as const, data: { refundId: `rz${n}`, amount, reason: 'r', freezeId: `z${n}` } })),
      near.map((amount) => ({ type: 'RefundCredits' as const, data: { refundId: `ro${amount}`, amount, reason: 'r', paymentId: `pi_${amount}`, allowOwed: true } })),
      fc.tuple(near, fc.nat(3)).map(([amount, n]) => ({ type: 'OpenDispute' as const, data: { disputeId: `d${n}`, paymentId: `pi_${amount}`, amount } })),
      fc.tuple(fc.nat(3), fc.boolean()).map(([n, won]) => ({ type: 'CloseDispute' as const, data: { disputeId: `d${n}`, outcome: won ? ('won' as const) : ('lost' as const) } })),
      fc.tuple(near, fc.nat(3)).map(([amount, n]) => ({ type: 'GrantCredits' as const, data: { grantId: `g${n}-${amount}`, amount, reason: 'p' } })),
      fc.tuple(near, fc.nat(3)).map(([amount, n]) => ({ type: 'PlaceHold' as const, data: { holdId: `h${n}`, amount, expiresAt: IN_AN_HOUR } })),
      fc.tuple(fc.nat(3), near).map(([n, amount]) => ({ type: 'SettleHold' as const, data: { holdId: `h${n}`, amount } })),
      fc.nat(3).map((n) => ({ type: 'VoidHold' as const, data: { holdId: `h${n}`, reason: 'r' } })),
      // Expired holds, settled late after (a SettleHold of h<n> once it expired), make receivables.
      fc.nat(3).map((n) => ({ type: 'ExpireHold' as const, data: { holdId: `h${n}` } })),
      fc.tuple(near, fc.boolean()).map(([amount, neg]) => ({ type: 'Adjust' as const, data: { adjustmentId: `a${amount}${neg}`, amount: neg ? -amount : amount, reason: 'r' } })),
      near.map((amount) => ({ type: 'RefundCredits' as const, data: { refundId: `r${amount}`, amount, reason: 'r' } })),
      fc.nat(2 ** 31).map((count) => ({ type: 'GrantFreeRequests' as const, data: { grantId: `f${count}`, count } })),
    );
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        let state: AccountState = given(opened()).state;
        for (const c of commands) {
          let events: LedgerEvent[];
          try {
            events = decide(c, state, { now: c.type === 'ExpireHold' ? AFTER_EXPIRY : NOW });
          } catch (err) {
            if (!(err instanceof LedgerError)) throw err;
            continue;
          }
          // The bound is checked on figuresAfter(), which must be exactly what evolve() gives.
          const evolved = evolveAll(events, state);
          expect(figuresAfter(state, events)).toEqual({
            available: evolved.available,
            held: evolved.held,
            receivable: evolved.receivable,
            lifetimePurchased: evolved.lifetimePurchased,
            lifetimeSpent: evolved.lifetimeSpent,
            freeRequests: evolved.freeRequests,
            frozen: evolved.frozen,
          });
          for (const e of events) {
            for (const f of ['amount', 'released', 'upstreamCost', 'paid', 'owed', 'frozen', 'fromFrozen'] as const) {
              const v = (e.data as Record<string, unknown>)[f];
              if (typeof v === 'bigint') expect(v <= MAX && v >= -MAX).toBe(true);
            }
            state = evolve(state, e);
          }
          for (const figure of [state.available, state.held, state.receivable, state.frozen, state.lifetimePurchased, state.lifetimeSpent, state.lifetimeSpent + state.held]) {
            expect(figure <= MAX).toBe(true);
          }
          for (const figure of [state.available, state.held, state.receivable, state.frozen, state.disputeOwed, state.funds.promo]) expect(figure >= 0n).toBe(true);
          for (const lot of state.funds.lots) {
            expect(lot.unspent >= 0n && lot.reserved >= 0n && lot.unspent + lot.reserved <= lot.amount).toBe(true);
          }
          expect(state.freeRequests).toBeLessThanOrEqual(MAX_FREE_REQUESTS);
        }
      }),
      { numRuns: 300 },
    );
  });
});
