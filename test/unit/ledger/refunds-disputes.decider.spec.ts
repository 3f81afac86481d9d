/**
 * Decider specs of refunds, freezes and disputes (issue 20): the attribution rule as the decider
 * applies it, freezes for approved refund requests, refunds Stripe already made (allowOwed), and
 * disputes with suspension. Each scenario runs the commands through the real decide()/evolve(),
 * and checks at every step that the postings sum to zero, that available never goes negative, and
 * that the same command again is a no-op.
 */
import { AccountCommand, AccountState, decide, evolve, evolveAll, suspension } from '../../../src/ledger/domain/account.decider';
import { LedgerError } from '../../../src/ledger/domain/errors';
import { LedgerEvent } from '../../../src/ledger/domain/events';
import { postingsOf } from '../../../src/ledger/domain/postings';
import { ACCOUNT_ID, IN_AN_HOUR, NOW, given, holdPlaced, holdSettled, opened, purchased } from './decider-spec';

const c = (n: number) => BigInt(Math.round(n * 1_000_000));
const granted = (amount: bigint, grantId = 'g1'): LedgerEvent => ({ type: 'CreditsGranted', data: { grantId, amount, reason: 'promo' } });
/** A request that cost `amount` (placed and settled for exactly that). */
const spent = (holdId: string, amount: bigint): LedgerEvent[] => [holdPlaced(holdId, amount), holdSettled(holdId, amount, 0n)];

const freeze = (freezeId: string, paymentId: string, amount: bigint): AccountCommand => ({
  type: 'FreezeCredits',
  data: { freezeId, paymentId, amount, reason: `refund request ${freezeId}` },
});
const release = (freezeId: string): AccountCommand => ({ type: 'ReleaseFreeze', data: { freezeId, reason: 'declined' } });
const refundFromFreeze = (freezeId: string, refundId: string, amount: bigint): AccountCommand => ({
  type: 'RefundCredits',
  data: { refundId, amount, reason: `refund request ${freezeId}`, freezeId },
});
const openDispute = (disputeId: string, paymentId: string, amount: bigint): AccountCommand => ({
  type: 'OpenDispute',
  data: { disputeId, paymentId, amount },
});
const closeDispute = (disputeId: string, outcome: 'won' | 'lost'): AccountCommand => ({ type: 'CloseDispute', data: { disputeId, outcome } });
const placeHold = (holdId: string, amount: bigint): AccountCommand => ({ type: 'PlaceHold', data: { holdId, amount, expiresAt: IN_AN_HOUR } });
const useFree: AccountCommand = { type: 'UseFreeRequest', data: { requestId: 'fr-1' } };

/** A running account: each step decides, checks the invariants, evolves; retries must be no-ops. */
class Account {
  state: AccountState;
  readonly log: LedgerEvent[] = [];
  constructor(history: LedgerEvent[]) {
    this.state = evolveAll(history);
    this.log.push(...history);
  }

  run(command: AccountCommand, opts: { retryIsNoop?: boolean } = {}): LedgerEvent[] {
    const events = decide(command, this.state, { now: NOW });
    for (const e of events) {
      const sum = postingsOf(ACCOUNT_ID, e).reduce((s, p) => s + p.amount, 0n);
      expect({ type: e.type, sum }).toEqual({ type: e.type, sum: 0n });
      this.state = evolve(this.state, e);
      expect(this.state.available >= 0n).toBe(true);
      expect(this.state.frozen >= 0n).toBe(true);
      this.log.push(e);
    }
    if (opts.retryIsNoop ?? true) expect(decide(command, this.state, { now: NOW })).toEqual([]);
    return events;
  }

  refuses(command: AccountCommand, code: string): LedgerError {
    try {
      decide(command, this.state, { now: NOW });
    } catch (err) {
      expect(err).toBeInstanceOf(LedgerError);
      expect((err as LedgerError).code).toBe(code);
      return err as LedgerError;
    }
    throw new Error(`expected ${code}, but the command was accepted`);
  }

  /** Balances by ledger account over the whole log: every one of them sums to zero overall. */
  balances(): Map<string, bigint> {
    const m = new Map<string, bigint>();
    for (const e of this.log) for (const p of postingsOf(ACCOUNT_ID, e)) m.set(p.account, (m.get(p.account) ?? 0n) + p.amount);
    return m;
  }
}

const AVAILABLE = `user:${ACCOUNT_ID}:available`;
const FROZEN = `user:${ACCOUNT_ID}:frozen`;

function expectTrialBalanceZero(a: Account): void {
  let total = 0n;
  for (const v of a.balances().values()) total += v;
  expect(total).toBe(0n);
  expect(a.balances().get(AVAILABLE) ?? 0n).toBe(a.state.available);
  expect(a.balances().get(FROZEN) ?? 0n).toBe(a.state.frozen);
}

describe('attribution in the decider: what a refund of a purchase may take', () => {
  it('promotional credit is spent first: a purchase stays whole while promo lasts', () => {
    const a = new Account([...opened(), granted(c(5)), purchased(c(10), 'pi_1'), ...spent('h1', c(4))]);
    expect(a.state.funds.unspentOf('pi_1')).toBe(c(10));
    expect(a.state.funds.promo).toBe(c(1));
  });

  it('then purchases oldest first', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), purchased(c(10), 'pi_2'), ...spent('h1', c(13))]);
    expect(a.state.funds.unspentOf('pi_1')).toBe(0n);
    expect(a.state.funds.unspentOf('pi_2')).toBe(c(7));
  });

  it('crypto purchases take their place in the same order', () => {
    const a = new Account([
      ...opened(),
      { type: 'CryptoPaymentCredited', data: { paymentId: 'chain-8453-0xab-0', amount: c(6), chainId: 8453, txHash: '0xab', logIndex: 0, token: 'USDC' } },
      purchased(c(10), 'pi_2'),
      ...spent('h1', c(8)),
    ]);
    expect(a.state.funds.unspentOf('chain-8453-0xab-0')).toBe(0n);
    expect(a.state.funds.unspentOf('pi_2')).toBe(c(8));
  });

  it('a refund of a purchase is never more than its unspent part, even with more available', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), purchased(c(10), 'pi_2'), ...spent('h1', c(4))]);
    const err = a.refuses({ type: 'RefundCredits', data: { refundId: 'r1', amount: c(6.000001), reason: 'asked', paymentId: 'pi_1' } }, 'refund_exceeds_unspent');
    expect(err.details).toMatchObject({ unspent: c(6) });
    a.run({ type: 'RefundCredits', data: { refundId: 'r1', amount: c(6), reason: 'asked', paymentId: 'pi_1' } }, { retryIsNoop: false });
    expect(a.state.funds.unspentOf('pi_1')).toBe(0n);
    expect(a.state.funds.unspentOf('pi_2')).toBe(c(10));
    expect(a.state.available).toBe(c(10));
    expectTrialBalanceZero(a);
  });

  it('a freeze is refused past the unspent part; a purchase fully spent has nothing to freeze', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), purchased(c(10), 'pi_2'), ...spent('h1', c(10))]);
    a.refuses(freeze('f1', 'pi_1', 1n), 'refund_exceeds_unspent');
    a.refuses(freeze('f1', 'pi_2', c(10.000001)), 'refund_exceeds_unspent');
    a.refuses(freeze('f1', 'pi_unknown', 1n), 'refund_exceeds_unspent');
  });

  it('a freeze is refused with a zero or negative amount, or without a reason', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1')]);
    a.refuses(freeze('f1', 'pi_1', 0n), 'invalid_amount');
    a.refuses(freeze('f1', 'pi_1', -1n), 'invalid_amount');
    a.refuses({ type: 'FreezeCredits', data: { freezeId: 'f1', paymentId: 'pi_1', amount: 1n, reason: ' ' } }, 'invalid_command');
  });
});

describe('freezes for an approved refund request', () => {
  const history = () => [...opened(), granted(c(2)), purchased(c(10), 'pi_1'), purchased(c(10), 'pi_2'), ...spent('h1', c(5))];

  it('a freeze takes from the purchase’s unspent part and out of available; it cannot be spent', () => {
    const a = new Account(history()); // promo 2 spent, pi_1 7 unspent, pi_2 10
    expect(a.run(freeze('f1', 'pi_1', c(7)))).toEqual([
      { type: 'CreditsFrozen', data: { freezeId: 'f1', paymentId: 'pi_1', amount: c(7), reason: 'refund request f1' } },
    ]);
    expect(a.state.available).toBe(c(10));
    expect(a.state.frozen).toBe(c(7));
    expect(a.state.funds.unspentOf('pi_1')).toBe(0n);
    a.refuses(placeHold('h2', c(10.000001)), 'insufficient_credits');
    // Spending now comes from pi_2, not the frozen pi_1 credit.
    a.run(placeHold('h2', c(3)));
    a.run({ type: 'SettleHold', data: { holdId: 'h2', amount: c(3) } }, { retryIsNoop: false });
    expect(a.state.funds.unspentOf('pi_2')).toBe(c(7));
    expect(a.state.funds.lot('pi_1')?.reserved).toBe(c(7));
    // A second freeze of the same purchase finds nothing unspent.
    a.refuses(freeze('f2', 'pi_1', 1n), 'refund_exceeds_unspent');
    expectTrialBalanceZero(a);
  });

  it('the same freeze id for another amount is a conflict, not a retry', () => {
    const a = new Account(history());
    a.run(freeze('f1', 'pi_1', c(3)));
    a.refuses(freeze('f1', 'pi_1', c(4)), 'idempotency_conflict');
    a.refuses(freeze('f1', 'pi_2', c(3)), 'idempotency_conflict');
  });

  it('release gives it all back: to available and to the purchase’s unspent part', () => {
    const a = new Account(history());
    a.run(freeze('f1', 'pi_1', c(7)));
    expect(a.run(release('f1'))).toEqual([{ type: 'FreezeReleased', data: { freezeId: 'f1', paymentId: 'pi_1', amount: c(7), reason: 'declined' } }]);
    expect(a.state.available).toBe(c(17));
    expect(a.state.frozen).toBe(0n);
    expect(a.state.funds.unspentOf('pi_1')).toBe(c(7));
    // A released freeze is neither refunded nor frozen again under the same id.
    a.refuses(refundFromFreeze('f1', 're_1', c(7)), 'freeze_not_open');
    expect(decide(freeze('f1', 'pi_1', c(7)), a.state, { now: NOW })).toEqual([]);
    expectTrialBalanceZero(a);
  });

  it('a refund from the freeze takes all of it and nothing from available', () => {
    const a = new Account(history());
    a.run(freeze('f1', 'pi_1', c(7)));
    a.refuses(refundFromFreeze('f1', 're_1', c(6)), 'invalid_amount');
    expect(a.run(refundFromFreeze('f1', 're_1', c(7)))).toEqual([
      { type: 'CreditsRefunded', data: { refundId: 're_1', amount: c(7), reason: 'refund request f1', paymentId: 'pi_1', freezeId: 'f1' } },
    ]);
    expect(a.state.available).toBe(c(10));
    expect(a.state.frozen).toBe(0n);
    expect(a.state.funds.lot('pi_1')).toBeUndefined();
    expect(a.state.funds.unspentOf('pi_2')).toBe(c(10));
    // Refunded: it cannot be released any more, nor refunded under another refund id.
    a.refuses(release('f1'), 'freeze_not_open');
    a.refuses(refundFromFreeze('f1', 're_other', c(7)), 'freeze_not_open');
    expect(a.balances().get('refunds')).toBe(c(7));
    expectTrialBalanceZero(a);
  });

  it('a refund of a freeze that was never placed is refused', () => {
    const a = new Account(history());
    a.refuses(refundFromFreeze('nope', 're_1', c(1)), 'freeze_not_open');
    a.refuses(release('nope'), 'freeze_not_open');
  });

  it('a freeze is refused past what is available (credit held by a running request)', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), holdPlaced('h1', c(8))]);
    a.refuses(freeze('f1', 'pi_1', c(3)), 'insufficient_credits');
    a.run(freeze('f1', 'pi_1', c(2)));
  });
});

describe('a refund Stripe already made (allowOwed)', () => {
  it('takes what is available and books the rest as owed, repaid first from the next credit', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), ...spent('h1', c(9))]);
    const refund: AccountCommand = { type: 'RefundCredits', data: { refundId: 're_dash', amount: c(10), reason: 'refunded in Stripe', paymentId: 'pi_1', allowOwed: true } };
    expect(a.run(refund, { retryIsNoop: false })).toEqual([
      { type: 'CreditsRefunded', data: { refundId: 're_dash', amount: c(10), reason: 'refunded in Stripe', paymentId: 'pi_1', owed: c(9) } },
    ]);
    expect(a.state.available).toBe(0n);
    expect(a.state.receivable).toBe(c(9));
    // Owed from a refund is not a dispute: the account is not suspended.
    expect(suspension(a.state)).toBe(0n);
    a.refuses(placeHold('h2', 1n), 'insufficient_credits');
    const next = a.run({ type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: c(20) } }, { retryIsNoop: false });
    expect(next.map((e) => e.type)).toEqual(['CreditsPurchased', 'ReceivableRepaid']);
    expect(next[1].data).toMatchObject({ amount: c(9), reference: 'pi_2' });
    expect(a.state.receivable).toBe(0n);
    expect(a.state.available).toBe(c(11));
    expect(a.state.funds.unspentOf('pi_2')).toBe(c(11));
    expectTrialBalanceZero(a);
  });

  it('with enough available, no owed field at all', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1')]);
    expect(a.run({ type: 'RefundCredits', data: { refundId: 're_1', amount: c(4), reason: 'r', paymentId: 'pi_1', allowOwed: true } }, { retryIsNoop: false })).toEqual([
      { type: 'CreditsRefunded', data: { refundId: 're_1', amount: c(4), reason: 'r', paymentId: 'pi_1' } },
    ]);
    expect(a.state.funds.unspentOf('pi_1')).toBe(c(6));
  });
});

describe('disputes', () => {
  it('a dispute covered by available freezes it all: not suspended; won → released', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), purchased(c(10), 'pi_2')]);
    expect(a.run(openDispute('dp_1', 'pi_1', c(10)))).toEqual([
      { type: 'DisputeOpened', data: { disputeId: 'dp_1', paymentId: 'pi_1', amount: c(10), frozen: c(10) } },
    ]);
    expect(suspension(a.state)).toBe(0n);
    expect(a.state.funds.unspentOf('pi_1')).toBe(0n);
    a.run(placeHold('h1', c(1)));
    expect(a.run(closeDispute('dp_1', 'won'))).toEqual([{ type: 'DisputeWon', data: { disputeId: 'dp_1', paymentId: 'pi_1', released: c(10) } }]);
    expect(a.state.available).toBe(c(19));
    expect(a.state.frozen).toBe(0n);
    expect(a.state.funds.unspentOf('pi_1')).toBe(c(10));
    a.refuses(closeDispute('dp_1', 'lost'), 'dispute_not_open');
    expectTrialBalanceZero(a);
  });

  it('a partial freeze suspends: PlaceHold and UseFreeRequest refused account_suspended', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), ...spent('h1', c(7))]);
    a.run(openDispute('dp_1', 'pi_1', c(10)));
    expect(a.state.available).toBe(0n);
    expect(a.state.frozen).toBe(c(3));
    expect(suspension(a.state)).toBe(c(7));
    a.refuses(placeHold('h2', 1n), 'account_suspended');
    a.refuses(useFree, 'account_suspended');
    // New credit does not lift it while the dispute is open (the uncovered part is not frozen).
    a.run({ type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: c(50) } }, { retryIsNoop: false });
    a.refuses(placeHold('h2', 1n), 'account_suspended');
    expectTrialBalanceZero(a);
  });

  it('won → released and no longer suspended', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), ...spent('h1', c(7))]);
    a.run(openDispute('dp_1', 'pi_1', c(10)));
    a.run(closeDispute('dp_1', 'won'));
    expect(a.state.available).toBe(c(3));
    expect(suspension(a.state)).toBe(0n);
    a.run(placeHold('h2', c(1)));
    a.run(useFree, { retryIsNoop: false }); // its retry is the event store's (same event id)
    expectTrialBalanceZero(a);
  });

  it('lost → debited from the freeze, the shortfall a receivable, never a negative available; suspended until repaid', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), ...spent('h1', c(7))]);
    a.run(openDispute('dp_1', 'pi_1', c(10)));
    expect(a.run(closeDispute('dp_1', 'lost'))).toEqual([
      { type: 'DisputeLost', data: { disputeId: 'dp_1', paymentId: 'pi_1', amount: c(10), fromFrozen: c(3), owed: c(7) } },
    ]);
    expect(a.state.available).toBe(0n);
    expect(a.state.frozen).toBe(0n);
    expect(a.state.receivable).toBe(c(7));
    expect(a.state.disputeOwed).toBe(c(7));
    expect(a.balances().get('chargebacks')).toBe(c(10));
    a.refuses(placeHold('h2', 1n), 'account_suspended');
    a.refuses(closeDispute('dp_1', 'won'), 'dispute_not_open');
    // Partly repaid: still suspended.
    a.run({ type: 'GrantCredits', data: { grantId: 'g-1', amount: c(5), reason: 'goodwill' } }, { retryIsNoop: false });
    expect(a.state.available).toBe(0n);
    expect(a.state.disputeOwed).toBe(c(2));
    a.refuses(useFree, 'account_suspended');
    // Repaid in full: the rest of the purchase is available and the suspension lifts.
    a.run({ type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: c(5) } }, { retryIsNoop: false });
    expect(a.state.receivable).toBe(0n);
    expect(a.state.disputeOwed).toBe(0n);
    expect(a.state.available).toBe(c(3));
    expect(suspension(a.state)).toBe(0n);
    a.run(placeHold('h2', c(3)));
    expectTrialBalanceZero(a);
  });

  it('a dispute with nothing available freezes nothing and suspends for all of it', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), ...spent('h1', c(10))]);
    expect(a.run(openDispute('dp_1', 'pi_1', c(10)))[0].data).toMatchObject({ frozen: 0n });
    expect(suspension(a.state)).toBe(c(10));
    a.run(closeDispute('dp_1', 'lost'));
    expect(a.state.receivable).toBe(c(10));
    expect(a.state.available).toBe(0n);
    expectTrialBalanceZero(a);
  });

  it('the dispute freezes the disputed purchase’s unspent part first; lost consumes it', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), purchased(c(10), 'pi_2'), ...spent('h1', c(4))]);
    a.run(openDispute('dp_1', 'pi_2', c(10)));
    expect(a.state.funds.unspentOf('pi_2')).toBe(0n);
    expect(a.state.funds.unspentOf('pi_1')).toBe(c(6));
    a.run(closeDispute('dp_1', 'lost'));
    expect(a.state.funds.lot('pi_2')).toBeUndefined();
    expect(a.state.funds.unspentOf('pi_1')).toBe(c(6));
    expect(a.state.available).toBe(c(6));
    expectTrialBalanceZero(a);
  });

  it('the same dispute id for another amount is a conflict; closing with a bad outcome is refused', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1')]);
    a.run(openDispute('dp_1', 'pi_1', c(5)));
    a.refuses(openDispute('dp_1', 'pi_1', c(6)), 'idempotency_conflict');
    a.refuses({ type: 'CloseDispute', data: { disputeId: 'dp_1', outcome: 'drawn' as 'won' } }, 'invalid_command');
    a.refuses(closeDispute('dp_unknown', 'won'), 'dispute_not_open');
  });

  it('a late copy of an opening after the close is a no-op', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1')]);
    a.run(openDispute('dp_1', 'pi_1', c(5)));
    a.run(closeDispute('dp_1', 'won'));
    expect(decide(openDispute('dp_1', 'pi_1', c(5)), a.state, { now: NOW })).toEqual([]);
  });
});

describe('refund request with a dispute on the same purchase', () => {
  it('a dispute after a freeze reserves only what is left of the purchase', () => {
    const a = new Account([...opened(), purchased(c(10), 'pi_1'), purchased(c(10), 'pi_2')]);
    a.run(freeze('f1', 'pi_1', c(4)));
    a.run(openDispute('dp_1', 'pi_1', c(10)));
    expect(a.state.frozen).toBe(c(14));
    expect(a.state.available).toBe(c(6));
    expect(a.state.funds.lot('pi_1')).toMatchObject({ unspent: 0n, reserved: c(10) });
    a.run(release('f1'));
    a.run(closeDispute('dp_1', 'won'));
    expect(a.state.available).toBe(c(20));
    expect(a.state.frozen).toBe(0n);
    expect(a.state.funds.unspentOf('pi_1')).toBe(c(10));
    expectTrialBalanceZero(a);
  });
});

describe('given/when/then style', () => {
  it('FreezeCredits from the account history', () => {
    given([...opened(), purchased(c(10))])
      .when(freeze('req-1', 'pi_1', c(10)))
      .then([{ type: 'CreditsFrozen', data: { freezeId: 'req-1', paymentId: 'pi_1', amount: c(10), reason: 'refund request req-1' } }]);
  });
});
