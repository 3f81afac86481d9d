/**
 * Late settles and receivables (issue 17): a settle that arrives after its hold expired is one
 * late debit; what available credit cannot cover is owed, and repaid first from the next credit.
 */
import {
  AccountCommand,
  LATE_SETTLE_WINDOW_MS,
  ExpiredHolds,
  MAX_REMEMBERED_EXPIRED_HOLDS,
  decide,
  evolve,
  evolveAll,
} from '../../../src/ledger/domain/account.decider';
import { commandKey, eventIdFor, lateSettleEventId } from '../../../src/ledger/domain/event-ids';
import { LedgerEvent, UsageFigures, decodeLedgerEvent, encodeLedgerEvent } from '../../../src/ledger/domain/events';
import { MAX_MICROS } from '../../../src/shared/money';
import { IN_AN_HOUR, NOW, given, holdExpired, holdPlaced, holdSettled, holdVoided, opened, purchased } from './decider-spec';

const usage: UsageFigures = { model: 'gpt-4o-mini', inputTokens: 12, outputTokens: 5, cachedTokens: 0, estimated: false };
const settle = (holdId: string, amount: bigint, upstreamCost = 0n): AccountCommand => ({
  type: 'SettleHold',
  data: { holdId, amount, upstreamCost, usage },
});
const late = (holdId: string, amount: bigint, paid: bigint, upstreamCost = 0n): LedgerEvent => ({
  type: 'HoldSettledLate',
  data: { holdId, amount, paid, owed: amount - paid, upstreamCost, usage },
});
const repaid = (amount: bigint, reference: string): LedgerEvent => ({ type: 'ReceivableRepaid', data: { amount, reference } });

// h1 (31 µcr) expired; h2 then took all but `left` of the 100 purchased.
const expiredThenSpent = (left: bigint): LedgerEvent[] => [
  ...opened(),
  purchased(100n),
  holdPlaced('h1', 31n),
  holdExpired('h1', 31n),
  holdPlaced('h2', 100n - left),
];
// The account owes 15: h1's late settle of 17 found 2 available.
const owing15 = (): LedgerEvent[] => [...expiredThenSpent(2n), late('h1', 17n, 2n)];

describe('late settle of an expired hold', () => {
  it('is one late debit, wholly paid from available when it covers the cost', () => {
    given([...opened(), purchased(100n), holdPlaced('h1', 31n), holdExpired('h1', 31n)])
      .when(settle('h1', 17n, 5n))
      .then([late('h1', 17n, 17n, 5n)]);
  });

  it('takes what is available and books the rest as owed', () => {
    given(expiredThenSpent(2n)).when(settle('h1', 17n)).then([late('h1', 17n, 2n)]);
    const s = given(owing15()).state;
    expect([s.available, s.receivable, s.held, s.lifetimeSpent]).toEqual([0n, 15n, 98n, 17n]);
  });

  it('is wholly owed when nothing is available', () => {
    given(expiredThenSpent(0n)).when(settle('h1', 17n)).then([late('h1', 17n, 0n)]);
  });

  it('records a free answer (cost 0) too, so its usage is counted', () => {
    given(expiredThenSpent(0n)).when(settle('h1', 0n)).then([late('h1', 0n, 0n)]);
  });

  it('checks the cost against what the hold held', () => {
    given(expiredThenSpent(0n)).when(settle('h1', 32n)).thenThrows('settle_exceeds_hold');
    given(expiredThenSpent(0n)).when(settle('h1', -1n)).thenThrows('invalid_amount');
    given(expiredThenSpent(0n)).when(settle('h1', 10n, 11n)).thenThrows('invalid_amount');
  });

  it('happens once: the same or another settle after it finds no hold to settle', () => {
    given(owing15()).when(settle('h1', 17n)).thenThrows('hold_not_open');
    given(owing15()).when(settle('h1', 3n)).thenThrows('hold_not_open');
  });

  it('a settle of a hold settled normally is still refused (no late debit after a settle)', () => {
    given([...opened(), purchased(100n), holdPlaced('h1', 31n), holdSettled('h1', 17n, 14n)])
      .when(settle('h1', 17n))
      .thenThrows('hold_not_open');
  });

  it('a settle of a hold that was voided is refused (voided holds are not remembered as expired)', () => {
    given([...opened(), purchased(100n), holdPlaced('h1', 31n), holdVoided('h1', 31n)]).when(settle('h1', 17n)).thenThrows('hold_not_open');
  });

  it('is taken until the window after the expiry has passed, and refused after it', () => {
    const expiresAt = Date.parse(IN_AN_HOUR);
    const history = [...opened(), purchased(100n), holdPlaced('h1', 31n), holdExpired('h1', 31n)];
    given(history).when(settle('h1', 17n), new Date(expiresAt + LATE_SETTLE_WINDOW_MS)).then([late('h1', 17n, 17n)]);
    given(history).when(settle('h1', 17n), new Date(expiresAt + LATE_SETTLE_WINDOW_MS + 1)).thenThrows('late_settle_window_passed');
  });

  it('gets its own event id, which neither a settle nor the expiry can take', () => {
    const c = settle('h1', 17n);
    const lateId = eventIdFor('acc-1', c, 0, 'HoldSettledLate');
    expect(lateId).toBe(lateSettleEventId('h1'));
    expect(commandKey('acc-1', c, 'HoldSettledLate')).toBe('hold:h1:settled-late');
    expect(lateId).not.toBe(eventIdFor('acc-1', c, 0, 'HoldSettled'));
    expect(lateId).not.toBe(eventIdFor('acc-1', { type: 'ExpireHold', data: { holdId: 'h1' } }, 0));
    // The same settle retried gets the same id; a late settle of another hold does not.
    expect(eventIdFor('acc-1', structuredClone(c), 0, 'HoldSettledLate')).toBe(lateId);
    expect(lateSettleEventId('h2')).not.toBe(lateId);
  });

  it('round-trips through storage with its amounts exact', () => {
    const e = late('h1', MAX_MICROS, MAX_MICROS - 1n, 7n);
    expect(decodeLedgerEvent(e.type, JSON.parse(JSON.stringify(encodeLedgerEvent(e).data)))).toEqual(e);
  });
});

describe('void and expiry of an expired hold', () => {
  it('a void of an expired hold has nothing left to do', () => {
    given(expiredThenSpent(0n)).when({ type: 'VoidHold', data: { holdId: 'h1', reason: 'client went away' } }).then([]);
  });

  it('a void after the late settle is refused: the answer was charged', () => {
    given(owing15()).when({ type: 'VoidHold', data: { holdId: 'h1', reason: 'x' } }).thenThrows('hold_not_open');
  });

  it('expiring it again finds no open hold, as before', () => {
    given(expiredThenSpent(0n)).when({ type: 'ExpireHold', data: { holdId: 'h1' } }).thenThrows('hold_not_open');
  });
});

describe('receivables', () => {
  it('a purchase repays the debt first, in an event of its own after the credit', () => {
    given(owing15())
      .when({ type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: 50n } })
      .then([{ type: 'CreditsPurchased', data: { paymentId: 'pi_2', amount: 50n, provider: 'stripe' } }, repaid(15n, 'pi_2')]);
  });

  it('a credit smaller than the debt goes wholly to it', () => {
    given(owing15())
      .when({ type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: 4n } })
      .then([{ type: 'CreditsPurchased', data: { paymentId: 'pi_2', amount: 4n, provider: 'stripe' } }, repaid(4n, 'pi_2')]);
    const s = given([...owing15(), purchased(4n, 'pi_2'), repaid(4n, 'pi_2')]).state;
    expect([s.available, s.receivable]).toEqual([0n, 11n]);
  });

  it('every kind of credit repays: crypto, grants, adjustments up', () => {
    const s = given(owing15());
    s.when({ type: 'CreditCryptoPayment', data: { amount: 20n, chainId: 1, txHash: '0xab', logIndex: 0, token: 't' } })
      .then([
        { type: 'CryptoPaymentCredited', data: { paymentId: 'chain-1-0xab-0', amount: 20n, chainId: 1, txHash: '0xab', logIndex: 0, token: 't' } },
        repaid(15n, 'chain-1-0xab-0'),
      ]);
    s.when({ type: 'GrantCredits', data: { grantId: 'g', amount: 5n, reason: 'sorry' } }).then([
      { type: 'CreditsGranted', data: { grantId: 'g', amount: 5n, reason: 'sorry' } },
      repaid(5n, 'g'),
    ]);
    s.when({ type: 'Adjust', data: { adjustmentId: 'a', amount: 30n, reason: 'fix' } }).then([
      { type: 'Adjusted', data: { adjustmentId: 'a', amount: 30n, reason: 'fix' } },
      repaid(15n, 'a'),
    ]);
  });

  it('credit released from another hold repays too (settle, void and expiry)', () => {
    const s = given(owing15()); // h2 holds 98
    s.when({ type: 'SettleHold', data: { holdId: 'h2', amount: 90n } }).then([holdSettled('h2', 90n, 8n), repaid(8n, 'h2')]);
    s.when({ type: 'VoidHold', data: { holdId: 'h2', reason: 'x' } }).then([holdVoided('h2', 98n, 'x'), repaid(15n, 'h2')]);
    s.when({ type: 'ExpireHold', data: { holdId: 'h2' } }, new Date(Date.parse(IN_AN_HOUR) + 1)).then([holdExpired('h2', 98n), repaid(15n, 'h2')]);
  });

  it('the account is not suspended: it places holds on what remains after the repayment', () => {
    const after = [...owing15(), purchased(50n, 'pi_2'), repaid(15n, 'pi_2')];
    const s = given(after);
    expect([s.state.available, s.state.receivable]).toEqual([35n, 0n]);
    s.when({ type: 'PlaceHold', data: { holdId: 'h3', amount: 35n, expiresAt: IN_AN_HOUR } }).then([holdPlaced('h3', 35n)]);
    s.when({ type: 'PlaceHold', data: { holdId: 'h3', amount: 36n, expiresAt: IN_AN_HOUR } }).thenThrows('insufficient_credits');
  });

  it('debits and refunds cannot reach a debt: nothing is available while it is owed', () => {
    given(owing15()).when({ type: 'RefundCredits', data: { refundId: 'r', amount: 1n, reason: 'x' } }).thenThrows('insufficient_credits');
    given(owing15()).when({ type: 'Adjust', data: { adjustmentId: 'a', amount: -1n, reason: 'x' } }).thenThrows('insufficient_credits');
  });

  it('no repayment when nothing is owed', () => {
    given([...opened(), purchased(1n)])
      .when({ type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: 5n } })
      .then([{ type: 'CreditsPurchased', data: { paymentId: 'pi_2', amount: 5n, provider: 'stripe' } }]);
  });

  it('a credit that would pass the bound is refused even while repaying', () => {
    given([...owing15(), purchased(MAX_MICROS - 100n, 'pi_big'), repaid(15n, 'pi_big')])
      .when({ type: 'PurchaseCredits', data: { paymentId: 'pi_3', amount: MAX_MICROS } })
      .thenThrows('amount_out_of_range');
  });
});

describe('remembered expired holds (bounded)', () => {
  it('forgets holds that expired longer than the window before the latest expiry', () => {
    const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
    const s = evolveAll([
      ...opened(),
      purchased(100n),
      holdPlaced('old', 10n, at(0)),
      holdExpired('old', 10n),
      holdPlaced('new', 10n, at(LATE_SETTLE_WINDOW_MS + 1)),
      holdExpired('new', 10n),
    ]);
    // Forgotten when the remembered holds are next folded together (every few dozen changes).
    let t = s;
    for (let i = 0; i < 64; i++) t = evolveAll([holdPlaced(`x${i}`, 1n, at(LATE_SETTLE_WINDOW_MS + 1)), holdExpired(`x${i}`, 1n)], t);
    expect(s.expired.has('old')).toBe(true);
    expect(t.expired.has('old')).toBe(false);
    expect(t.expired.has('new')).toBe(true);
  });

  it('keeps at most MAX_REMEMBERED_EXPIRED_HOLDS, forgetting the earliest', () => {
    let s = evolveAll([...opened(), purchased(MAX_MICROS)]);
    const n = MAX_REMEMBERED_EXPIRED_HOLDS + 64;
    for (let i = 0; i < n; i++) {
      s = evolve(s, holdPlaced(`h${i}`, 1n));
      s = evolve(s, holdExpired(`h${i}`, 1n));
    }
    expect(s.expired.size).toBeLessThanOrEqual(MAX_REMEMBERED_EXPIRED_HOLDS + 64);
    expect(s.expired.size).toBe(s.expired.keys().length);
    expect(s.expired.has('h0')).toBe(false);
    expect(s.expired.keys()[0]).not.toBe('h0');
    expect(s.expired.has(`h${n - 1}`)).toBe(true);
  });

  it('is a value: adding or removing a hold, folds included, leaves the earlier state as it was', () => {
    let s = ExpiredHolds.empty(LATE_SETTLE_WINDOW_MS, 100);
    const states: ExpiredHolds[] = [];
    for (let i = 0; i < 300; i++) {
      states.push(s);
      s = i % 3 === 2 ? s.without(`h${i - 1}`) : s.with(`h${i}`, { amount: BigInt(i), expiresAt: IN_AN_HOUR });
    }
    states.forEach((st, i) => {
      const expected = [...Array(i).keys()].filter((k) => k % 3 === 0 || (k % 3 === 1 && k + 1 >= i));
      const kept = st.keys();
      expect(kept.length).toBe(st.size);
      // Within the bound, exactly the holds added and not removed (the earliest forgotten past it).
      expect(expected.slice(-kept.length).map((k) => `h${k}`)).toEqual(kept);
    });
  });

  it('a forgotten expired hold is not settled late by the decider', () => {
    let s = evolveAll([...opened(), purchased(MAX_MICROS)]);
    for (let i = 0; i <= MAX_REMEMBERED_EXPIRED_HOLDS + 64; i++) {
      s = evolve(s, holdPlaced(`h${i}`, 1n));
      s = evolve(s, holdExpired(`h${i}`, 1n));
    }
    expect(s.expired.has('h0')).toBe(false);
    // (LedgerService turns this into late_settle_window_passed once the log shows the expiry.)
    expect(() => decide(settle('h0', 1n), s, { now: NOW })).toThrow(expect.objectContaining({ code: 'hold_not_open' }));
    const last = `h${MAX_REMEMBERED_EXPIRED_HOLDS + 64}`;
    expect(decide(settle(last, 1n), s, { now: NOW })).toEqual([late(last, 1n, 1n)]);
  });
});
