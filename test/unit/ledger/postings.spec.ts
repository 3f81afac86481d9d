import fc from 'fast-check';
import { LEDGER_EVENT_TYPES, LedgerEvent, LedgerEventType } from '../../../src/ledger/domain/events';
import { HOUSE_ACCOUNTS, Posting, availableOf, heldOf, postingsOf } from '../../../src/ledger/domain/postings';

const ACC = 'acc-9';
const AVAILABLE = 'user:acc-9:available';
const HELD = 'user:acc-9:held';
const FROZEN = 'user:acc-9:frozen';

const total = (ps: Posting[]) => ps.reduce((t, p) => t + p.amount, 0n);
/** Postings as a map account → amount, so the order of the list does not matter. */
const byAccount = (ps: Posting[]) => Object.fromEntries(ps.map((p) => [p.account, p.amount]));

// One example of every event type, with non-trivial amounts.
const examples: Record<LedgerEventType, LedgerEvent> = {
  AccountOpened: { type: 'AccountOpened', data: { accountId: ACC, ownerId: 'u' } },
  CreditsPurchased: { type: 'CreditsPurchased', data: { paymentId: 'pi', amount: 10_000_000n, provider: 'stripe' } },
  CryptoPaymentCredited: {
    type: 'CryptoPaymentCredited',
    data: { paymentId: 'chain-1-0xa-0', amount: 7_000_000n, chainId: 1, txHash: '0xa', logIndex: 0, token: 't' },
  },
  FreeRequestsGranted: { type: 'FreeRequestsGranted', data: { grantId: 'welcome', count: 20 } },
  FreeRequestUsed: { type: 'FreeRequestUsed', data: { requestId: 'r' } },
  CreditsGranted: { type: 'CreditsGranted', data: { grantId: 'g', amount: 3_000_000n, reason: 'promo' } },
  HoldPlaced: { type: 'HoldPlaced', data: { holdId: 'h', amount: 4_000_000n, expiresAt: '2025-01-01T00:00:00Z' } },
  HoldSettled: {
    type: 'HoldSettled',
    data: { holdId: 'h', amount: 1_500_000n, released: 2_500_000n, upstreamCost: 900_000n, usage: null },
  },
  HoldExtended: { type: 'HoldExtended', data: { holdId: 'h', expiresAt: '2025-01-01T00:10:00Z' } },
  HoldVoided: { type: 'HoldVoided', data: { holdId: 'h', amount: 4_000_000n, reason: 'x' } },
  HoldExpired: { type: 'HoldExpired', data: { holdId: 'h', amount: 4_000_000n } },
  HoldSettledLate: {
    type: 'HoldSettledLate',
    data: { holdId: 'h', amount: 1_700_000n, paid: 200_000n, owed: 1_500_000n, upstreamCost: 900_000n, usage: null },
  },
  ReceivableRepaid: { type: 'ReceivableRepaid', data: { amount: 1_500_000n, reference: 'pi' } },
  CreditsRefunded: { type: 'CreditsRefunded', data: { refundId: 'rf', amount: 2_000_000n, reason: 'asked' } },
  Adjusted: { type: 'Adjusted', data: { adjustmentId: 'adj', amount: -1_250_000n, reason: 'chargeback' } },
  CreditsFrozen: { type: 'CreditsFrozen', data: { freezeId: 'rr', paymentId: 'pi', amount: 2_000_000n, reason: 'refund request' } },
  FreezeReleased: { type: 'FreezeReleased', data: { freezeId: 'rr', paymentId: 'pi', amount: 2_000_000n, reason: 'declined' } },
  DisputeOpened: { type: 'DisputeOpened', data: { disputeId: 'dp', paymentId: 'pi', amount: 10_000_000n, frozen: 6_000_000n } },
  DisputeWon: { type: 'DisputeWon', data: { disputeId: 'dp', paymentId: 'pi', released: 6_000_000n } },
  DisputeLost: { type: 'DisputeLost', data: { disputeId: 'dp', paymentId: 'pi', amount: 10_000_000n, fromFrozen: 6_000_000n, owed: 4_000_000n } },
  AccountRestricted: { type: 'AccountRestricted', data: { restrictionId: 'r', reason: 'data-subject request' } },
  AccountRestrictionLifted: { type: 'AccountRestrictionLifted', data: { restrictionId: 'r', reason: 'lifted' } },
  CreditsForfeited: { type: 'CreditsForfeited', data: { forfeitId: 'erasure-e-forfeit', amount: 1_100_000n, reason: 'erased' } },
};

const expected: Record<LedgerEventType, Record<string, bigint>> = {
  AccountOpened: {},
  FreeRequestsGranted: {},
  FreeRequestUsed: {},
  CreditsPurchased: { [AVAILABLE]: 10_000_000n, 'stripe:clearing': -10_000_000n },
  CryptoPaymentCredited: { [AVAILABLE]: 7_000_000n, 'crypto:clearing': -7_000_000n },
  CreditsGranted: { [AVAILABLE]: 3_000_000n, promo: -3_000_000n },
  HoldPlaced: { [AVAILABLE]: -4_000_000n, [HELD]: 4_000_000n },
  HoldSettled: { [HELD]: -4_000_000n, [AVAILABLE]: 2_500_000n, revenue: 600_000n, 'upstream:payable': 900_000n },
  HoldExtended: {},
  HoldVoided: { [HELD]: -4_000_000n, [AVAILABLE]: 4_000_000n },
  HoldExpired: { [HELD]: -4_000_000n, [AVAILABLE]: 4_000_000n },
  // Late: what was available pays, the rest is owed (receivables), revenue and provider as for a settle.
  HoldSettledLate: { [AVAILABLE]: -200_000n, receivables: -1_500_000n, revenue: 800_000n, 'upstream:payable': 900_000n },
  ReceivableRepaid: { [AVAILABLE]: -1_500_000n, receivables: 1_500_000n },
  CreditsRefunded: { [AVAILABLE]: -2_000_000n, refunds: 2_000_000n },
  Adjusted: { [AVAILABLE]: -1_250_000n, revenue: 1_250_000n },
  CreditsFrozen: { [AVAILABLE]: -2_000_000n, [FROZEN]: 2_000_000n },
  FreezeReleased: { [AVAILABLE]: 2_000_000n, [FROZEN]: -2_000_000n },
  DisputeOpened: { [AVAILABLE]: -6_000_000n, [FROZEN]: 6_000_000n },
  DisputeWon: { [AVAILABLE]: 6_000_000n, [FROZEN]: -6_000_000n },
  // Lost: all that was disputed leaves (chargebacks), from the freeze, the rest owed.
  DisputeLost: { chargebacks: 10_000_000n, [FROZEN]: -6_000_000n, receivables: -4_000_000n },
  // Restriction of processing: no money moves.
  AccountRestricted: {},
  AccountRestrictionLifted: {},
  // Unused credit given up on erasure: out of available, into the house account `forfeited`.
  CreditsForfeited: { [AVAILABLE]: -1_100_000n, forfeited: 1_100_000n },
};

describe('refund postings', () => {
  it('from a freeze: the freeze pays all of it', () => {
    const e: LedgerEvent = { type: 'CreditsRefunded', data: { refundId: 'rf', amount: 2_000_000n, reason: 'r', paymentId: 'pi', freezeId: 'rr' } };
    expect(byAccount(postingsOf(ACC, e))).toEqual({ [FROZEN]: -2_000_000n, refunds: 2_000_000n });
  });
  it('already refunded by Stripe: available pays what it can, the rest is owed', () => {
    const e: LedgerEvent = { type: 'CreditsRefunded', data: { refundId: 're', amount: 5_000_000n, reason: 'r', paymentId: 'pi', owed: 3_000_000n } };
    const ps = postingsOf(ACC, e);
    expect(byAccount(ps)).toEqual({ [AVAILABLE]: -2_000_000n, receivables: -3_000_000n, refunds: 5_000_000n });
    expect(total(ps)).toBe(0n);
  });
});

describe('postings', () => {
  it('names the user accounts user:<id>:available and user:<id>:held', () => {
    expect(availableOf(ACC)).toBe(AVAILABLE);
    expect(heldOf(ACC)).toBe(HELD);
  });

  it('has an example for every event type', () => {
    expect(Object.keys(examples).sort()).toEqual([...LEDGER_EVENT_TYPES].sort());
  });

  describe.each(LEDGER_EVENT_TYPES.map((t) => [t]))('%s', (type) => {
    const postings = postingsOf(ACC, examples[type]);

    it('posts the amounts in the table', () => {
      expect(byAccount(postings)).toEqual(expected[type]);
      expect(postings).toHaveLength(Object.keys(expected[type]).length); // one posting per account
    });

    it('sums to zero', () => {
      expect(total(postings)).toBe(0n);
    });

    it('touches only this user and house accounts', () => {
      const allowed = new Set<string>([AVAILABLE, HELD, FROZEN, ...HOUSE_ACCOUNTS]);
      for (const p of postings) expect(allowed.has(p.account)).toBe(true);
    });
  });

  it('a positive adjustment credits the user from revenue', () => {
    const ps = postingsOf(ACC, { type: 'Adjusted', data: { adjustmentId: 'a', amount: 5n, reason: 'r' } });
    expect(byAccount(ps)).toEqual({ [AVAILABLE]: 5n, revenue: -5n });
  });

  describe('zero amounts are omitted', () => {
    it('a settle for the full hold posts no release', () => {
      const ps = postingsOf(ACC, {
        type: 'HoldSettled',
        data: { holdId: 'h', amount: 4n, released: 0n, upstreamCost: 1n, usage: null },
      });
      expect(byAccount(ps)).toEqual({ [HELD]: -4n, revenue: 3n, 'upstream:payable': 1n });
    });

    it('a settle with no upstream cost posts nothing to upstream:payable', () => {
      const ps = postingsOf(ACC, {
        type: 'HoldSettled',
        data: { holdId: 'h', amount: 4n, released: 6n, upstreamCost: 0n, usage: null },
      });
      expect(byAccount(ps)).toEqual({ [HELD]: -10n, [AVAILABLE]: 6n, revenue: 4n });
    });

    it('a settle where the provider takes the whole cost posts no revenue', () => {
      const ps = postingsOf(ACC, {
        type: 'HoldSettled',
        data: { holdId: 'h', amount: 4n, released: 1n, upstreamCost: 4n, usage: null },
      });
      expect(byAccount(ps)).toEqual({ [HELD]: -5n, [AVAILABLE]: 1n, 'upstream:payable': 4n });
    });

    it('a free settle (cost 0) only moves the hold back to available', () => {
      const ps = postingsOf(ACC, {
        type: 'HoldSettled',
        data: { holdId: 'h', amount: 0n, released: 9n, upstreamCost: 0n, usage: null },
      });
      expect(ps).toEqual([
        { account: HELD, amount: -9n },
        { account: AVAILABLE, amount: 9n },
      ]);
    });

    it('a zero-amount pair posts nothing', () => {
      expect(postingsOf(ACC, { type: 'HoldVoided', data: { holdId: 'h', amount: 0n, reason: 'x' } })).toEqual([]);
    });
  });

  it('a late settle wholly paid posts nothing to receivables; wholly owed, nothing to available', () => {
    const late = (paid: bigint, owed: bigint) =>
      byAccount(postingsOf(ACC, { type: 'HoldSettledLate', data: { holdId: 'h', amount: paid + owed, paid, owed, upstreamCost: 0n, usage: null } }));
    expect(late(5n, 0n)).toEqual({ [AVAILABLE]: -5n, revenue: 5n });
    expect(late(0n, 5n)).toEqual({ receivables: -5n, revenue: 5n });
  });

  it('a late settle balances for any split of its cost (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }).chain((amount) => fc.tuple(fc.constant(amount), fc.bigInt({ min: 0n, max: amount }), fc.bigInt({ min: 0n, max: amount }))),
        ([amount, paid, upstreamCost]) => {
          const ps = postingsOf(ACC, { type: 'HoldSettledLate', data: { holdId: 'h', amount, paid, owed: amount - paid, upstreamCost, usage: null } });
          expect(total(ps)).toBe(0n);
          expect(ps.every((p) => p.amount !== 0n)).toBe(true);
          expect((byAccount(ps)[AVAILABLE] ?? 0n) + (byAccount(ps).receivables ?? 0n)).toBe(-amount);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a settle balances for any cost, release and upstream share (property)', () => {
    fc.assert(
      fc.property(
        fc
          .bigInt({ min: 0n, max: 10n ** 15n })
          .chain((amount) => fc.tuple(fc.constant(amount), fc.bigInt({ min: 0n, max: amount }))),
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        ([amount, upstreamCost], released) => {
          const ps = postingsOf(ACC, {
            type: 'HoldSettled',
            data: { holdId: 'h', amount, released, upstreamCost, usage: null },
          });
          expect(total(ps)).toBe(0n);
          expect(ps.every((p) => p.amount !== 0n)).toBe(true);
          expect(byAccount(ps)[HELD] ?? 0n).toBe(-(amount + released));
        },
      ),
      { numRuns: 300 },
    );
  });
});
