import {
  AccountCommand,
  AccountState,
  DEFAULT_FREE_REQUESTS,
  decide,
  evolve,
  evolveAll,
  initialState,
} from '../../../src/ledger/domain/account.decider';
import { LedgerEvent, UsageFigures, encodeLedgerEvent } from '../../../src/ledger/domain/events';
import { canonicalJson } from '../../../src/platform/event-store/canonical';
import {
  ACCOUNT_ID,
  IN_AN_HOUR,
  NOW,
  given,
  holdExpired,
  holdPlaced,
  holdSettled,
  holdVoided,
  opened,
  purchased,
} from './decider-spec';

const credits = (n: number) => BigInt(n) * 1_000_000n;

describe('account decider', () => {
  describe('OpenAccount', () => {
    it('opens the account with the 20 welcome free requests', () => {
      expect(DEFAULT_FREE_REQUESTS).toBe(20);
      given([])
        .when({ type: 'OpenAccount', data: { accountId: ACCOUNT_ID } })
        .then([
          { type: 'AccountOpened', data: { accountId: ACCOUNT_ID, ownerId: null } },
          { type: 'FreeRequestsGranted', data: { grantId: 'welcome', count: 20 } },
        ]);
    });

    it('keeps the owner and a custom number of free requests', () => {
      given([])
        .when({ type: 'OpenAccount', data: { accountId: ACCOUNT_ID, ownerId: 'user-7', freeRequests: 3 } })
        .then([
          { type: 'AccountOpened', data: { accountId: ACCOUNT_ID, ownerId: 'user-7' } },
          { type: 'FreeRequestsGranted', data: { grantId: 'welcome', count: 3 } },
        ]);
    });

    it('grants no free requests when asked for zero', () => {
      given([])
        .when({ type: 'OpenAccount', data: { accountId: ACCOUNT_ID, freeRequests: 0 } })
        .then([{ type: 'AccountOpened', data: { accountId: ACCOUNT_ID, ownerId: null } }]);
    });

    it('rejects a negative or fractional number of free requests', () => {
      given([]).when({ type: 'OpenAccount', data: { accountId: ACCOUNT_ID, freeRequests: -1 } }).thenThrows('invalid_command');
      given([]).when({ type: 'OpenAccount', data: { accountId: ACCOUNT_ID, freeRequests: 1.5 } }).thenThrows('invalid_command');
    });

    it('opening again is a retry: no events, welcome requests not granted twice', () => {
      given([...opened(), purchased(credits(5))])
        .when({ type: 'OpenAccount', data: { accountId: ACCOUNT_ID, freeRequests: 50 } })
        .then([]);
    });

    it('the opened state has 20 free requests and no money', () => {
      const s = given(opened()).state;
      expect(s.opened).toBe(true);
      expect(s.freeRequests).toBe(20);
      expect(s.available).toBe(0n);
      expect(s.held).toBe(0n);
    });
  });

  describe('commands on an account that was never opened', () => {
    const commands: AccountCommand[] = [
      { type: 'PurchaseCredits', data: { paymentId: 'pi_1', amount: credits(1) } },
      { type: 'CreditCryptoPayment', data: { amount: credits(1), chainId: 1, txHash: '0xab', logIndex: 0, token: 'USDC' } },
      { type: 'GrantCredits', data: { grantId: 'g1', amount: credits(1), reason: 'promo' } },
      { type: 'GrantFreeRequests', data: { grantId: 'g1', count: 1 } },
      { type: 'UseFreeRequest', data: { requestId: 'r1' } },
      { type: 'PlaceHold', data: { holdId: 'h1', amount: 1n, expiresAt: IN_AN_HOUR } },
      { type: 'SettleHold', data: { holdId: 'h1', amount: 1n } },
      { type: 'VoidHold', data: { holdId: 'h1', reason: 'x' } },
      { type: 'ExpireHold', data: { holdId: 'h1' } },
      { type: 'RefundCredits', data: { refundId: 'r1', amount: 1n, reason: 'x' } },
      { type: 'Adjust', data: { adjustmentId: 'a1', amount: 1n, reason: 'x' } },
    ];
    it.each(commands.map((c) => [c.type, c] as const))('%s → account_not_found', (_type, command) => {
      given([]).when(command).thenThrows('account_not_found');
    });
  });

  describe('PurchaseCredits', () => {
    it('credits a stripe purchase', () => {
      given(opened())
        .when({ type: 'PurchaseCredits', data: { paymentId: 'pi_123', amount: credits(10) } })
        .then([{ type: 'CreditsPurchased', data: { paymentId: 'pi_123', amount: credits(10), provider: 'stripe' } }]);
    });

    it('rejects a zero or negative amount', () => {
      given(opened()).when({ type: 'PurchaseCredits', data: { paymentId: 'pi_1', amount: 0n } }).thenThrows('invalid_amount');
      given(opened()).when({ type: 'PurchaseCredits', data: { paymentId: 'pi_1', amount: -5n } }).thenThrows('invalid_amount');
    });
  });

  describe('CreditCryptoPayment', () => {
    it('credits the payment with id chain-<chainId>-<lowercase tx hash>-<log index>', () => {
      given(opened())
        .when({
          type: 'CreditCryptoPayment',
          data: { amount: 2_500_000n, chainId: 8453, txHash: '0xABCdef01', logIndex: 7, token: '0xToken' },
        })
        .then([
          {
            type: 'CryptoPaymentCredited',
            data: {
              paymentId: 'chain-8453-0xabcdef01-7',
              amount: 2_500_000n,
              chainId: 8453,
              txHash: '0xabcdef01',
              logIndex: 7,
              token: '0xToken',
            },
          },
        ]);
    });

    it('rejects a zero amount', () => {
      given(opened())
        .when({ type: 'CreditCryptoPayment', data: { amount: 0n, chainId: 1, txHash: '0x1', logIndex: 0, token: 't' } })
        .thenThrows('invalid_amount');
    });
  });

  describe('GrantCredits', () => {
    it('grants promotional credits with a reason', () => {
      given(opened())
        .when({ type: 'GrantCredits', data: { grantId: 'launch', amount: credits(3), reason: 'launch promo' } })
        .then([{ type: 'CreditsGranted', data: { grantId: 'launch', amount: credits(3), reason: 'launch promo' } }]);
    });

    it('requires a reason', () => {
      given(opened())
        .when({ type: 'GrantCredits', data: { grantId: 'g', amount: credits(3), reason: '' } })
        .thenThrows('invalid_command');
      given(opened())
        .when({ type: 'GrantCredits', data: { grantId: 'g', amount: credits(3), reason: '   ' } })
        .thenThrows('invalid_command');
    });

    it('requires a positive amount', () => {
      given(opened()).when({ type: 'GrantCredits', data: { grantId: 'g', amount: 0n, reason: 'r' } }).thenThrows('invalid_amount');
    });
  });

  describe('GrantFreeRequests', () => {
    it('grants free requests', () => {
      given(opened())
        .when({ type: 'GrantFreeRequests', data: { grantId: 'support-1', count: 5 } })
        .then([{ type: 'FreeRequestsGranted', data: { grantId: 'support-1', count: 5 } }]);
    });

    it('rejects a negative or fractional count', () => {
      given(opened()).when({ type: 'GrantFreeRequests', data: { grantId: 'g', count: -1 } }).thenThrows('invalid_command');
      given(opened()).when({ type: 'GrantFreeRequests', data: { grantId: 'g', count: 0.5 } }).thenThrows('invalid_command');
    });

    it('adds to the free requests left', () => {
      const s = evolveAll([...opened(2), { type: 'FreeRequestsGranted', data: { grantId: 'g', count: 5 } }]);
      expect(s.freeRequests).toBe(7);
    });
  });

  describe('UseFreeRequest', () => {
    it('uses one free request', () => {
      given(opened(1))
        .when({ type: 'UseFreeRequest', data: { requestId: 'req-1' } })
        .then([{ type: 'FreeRequestUsed', data: { requestId: 'req-1' } }]);
    });

    it('refuses when none are left', () => {
      given([...opened(1), { type: 'FreeRequestUsed', data: { requestId: 'req-1' } }])
        .when({ type: 'UseFreeRequest', data: { requestId: 'req-2' } })
        .thenThrows('no_free_requests');
      given(opened(0)).when({ type: 'UseFreeRequest', data: { requestId: 'req-1' } }).thenThrows('no_free_requests');
    });

    it('counts down', () => {
      const s = evolveAll([
        ...opened(),
        { type: 'FreeRequestUsed', data: { requestId: 'a' } },
        { type: 'FreeRequestUsed', data: { requestId: 'b' } },
      ]);
      expect(s.freeRequests).toBe(18);
    });
  });

  describe('PlaceHold', () => {
    const funded = [...opened(), purchased(10_000_000n)]; // available: 10 credits

    it('holds exactly the available balance', () => {
      given(funded)
        .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 10_000_000n, expiresAt: IN_AN_HOUR } })
        .then([holdPlaced('h1', 10_000_000n)]);
    });

    it('refuses one µcr more than available, saying how much is there', () => {
      const err = given(funded)
        .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 10_000_001n, expiresAt: IN_AN_HOUR } })
        .thenThrows('insufficient_credits');
      expect(err.details).toEqual({ available: 10_000_000n, needed: 10_000_001n });
    });

    it('counts money already held as unavailable', () => {
      given([...funded, holdPlaced('h1', 6_000_000n)])
        .when({ type: 'PlaceHold', data: { holdId: 'h2', amount: 4_000_001n, expiresAt: IN_AN_HOUR } })
        .thenThrows('insufficient_credits');
      given([...funded, holdPlaced('h1', 6_000_000n)])
        .when({ type: 'PlaceHold', data: { holdId: 'h2', amount: 4_000_000n, expiresAt: IN_AN_HOUR } })
        .then([holdPlaced('h2', 4_000_000n)]);
    });

    it('records the API key the hold is for', () => {
      given(funded)
        .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1n, expiresAt: IN_AN_HOUR, keyId: 'key-1' } })
        .then([{ type: 'HoldPlaced', data: { holdId: 'h1', amount: 1n, expiresAt: IN_AN_HOUR, keyId: 'key-1' } }]);
      given(funded).when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1n, expiresAt: IN_AN_HOUR, keyId: '' } }).thenThrows('invalid_command');
    });

    it('a hold without a key has no keyId field: it encodes, and so hashes, as holds did before keys were recorded', () => {
      const [e] = decide({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1n, expiresAt: IN_AN_HOUR } }, evolveAll(funded), { now: NOW });
      expect(Object.keys(e.data).sort()).toEqual(['amount', 'expiresAt', 'holdId']);
      expect(canonicalJson(encodeLedgerEvent(e).data)).toBe(`{"amount":"1","expiresAt":"${IN_AN_HOUR}","holdId":"h1"}`);
    });

    it('refuses any hold on an empty account', () => {
      given(opened()).when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1n, expiresAt: IN_AN_HOUR } }).thenThrows('insufficient_credits');
    });

    it('the same hold placed again for the same amount is a retry: no events', () => {
      // Even though the remaining balance could no longer cover it a second time.
      given([...funded, holdPlaced('h1', 7_000_000n)])
        .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 7_000_000n, expiresAt: IN_AN_HOUR } })
        .then([]);
    });

    it('the same hold id for another amount is an idempotency conflict', () => {
      given([...funded, holdPlaced('h1', 7_000_000n)])
        .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1_000_000n, expiresAt: IN_AN_HOUR } })
        .thenThrows('idempotency_conflict');
    });

    it('rejects an expiry that is not a date', () => {
      given(funded)
        .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1n, expiresAt: 'soon' } })
        .thenThrows('invalid_command');
    });

    it('rejects a zero or negative amount', () => {
      given(funded).when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 0n, expiresAt: IN_AN_HOUR } }).thenThrows('invalid_amount');
      given(funded).when({ type: 'PlaceHold', data: { holdId: 'h1', amount: -1n, expiresAt: IN_AN_HOUR } }).thenThrows('invalid_amount');
    });
  });

  describe('SettleHold', () => {
    const withHold = [...opened(), purchased(10_000_000n), holdPlaced('h1', 4_000_000n)];
    const usage: UsageFigures = { model: 'gpt-x', inputTokens: 120, outputTokens: 30, cachedTokens: 0, estimated: false };

    it('settles for less than held and releases the rest', () => {
      given(withHold)
        .when({ type: 'SettleHold', data: { holdId: 'h1', amount: 1_234_567n, upstreamCost: 1_000_000n, usage } })
        .then([
          {
            type: 'HoldSettled',
            data: { holdId: 'h1', amount: 1_234_567n, released: 2_765_433n, upstreamCost: 1_000_000n, usage },
          },
        ]);
    });

    it('settles for exactly the amount held, releasing nothing', () => {
      given(withHold)
        .when({ type: 'SettleHold', data: { holdId: 'h1', amount: 4_000_000n } })
        .then([holdSettled('h1', 4_000_000n, 0n, 0n)]);
    });

    it('settles for zero (the request cost nothing), releasing everything', () => {
      given(withHold).when({ type: 'SettleHold', data: { holdId: 'h1', amount: 0n } }).then([holdSettled('h1', 0n, 4_000_000n)]);
    });

    it('refuses to settle for more than held', () => {
      given(withHold).when({ type: 'SettleHold', data: { holdId: 'h1', amount: 4_000_001n } }).thenThrows('settle_exceeds_hold');
    });

    it('refuses a negative cost', () => {
      given(withHold).when({ type: 'SettleHold', data: { holdId: 'h1', amount: -1n } }).thenThrows('invalid_amount');
    });

    it('keeps the upstream cost between 0 and the cost', () => {
      given(withHold)
        .when({ type: 'SettleHold', data: { holdId: 'h1', amount: 1_000_000n, upstreamCost: 1_000_001n } })
        .thenThrows('invalid_amount');
      given(withHold)
        .when({ type: 'SettleHold', data: { holdId: 'h1', amount: 1_000_000n, upstreamCost: -1n } })
        .thenThrows('invalid_amount');
      given(withHold)
        .when({ type: 'SettleHold', data: { holdId: 'h1', amount: 1_000_000n, upstreamCost: 1_000_000n } })
        .then([holdSettled('h1', 1_000_000n, 3_000_000n, 1_000_000n)]);
    });

    it('a hold that expired is settled once more, late; its void and expiry find nothing open', () => {
      // (The late debit itself, and what a shortfall does: test/unit/ledger/late-settle.spec.ts.)
      const expired = [...withHold, holdExpired('h1', 4_000_000n)];
      expect(decide({ type: 'SettleHold', data: { holdId: 'h1', amount: 1_000_000n } }, given(expired).state, { now: NOW })[0].type).toBe('HoldSettledLate');
      given(expired).when({ type: 'VoidHold', data: { holdId: 'h1', reason: 'x' } }).then([]);
      given(expired).when({ type: 'ExpireHold', data: { holdId: 'h1' } }, new Date('2100-01-01')).thenThrows('hold_not_open');
    });

    it('refuses a hold that was never placed', () => {
      given(withHold).when({ type: 'SettleHold', data: { holdId: 'nope', amount: 1n } }).thenThrows('hold_not_open');
    });

    it.each<[string, LedgerEvent]>([
      ['settled', holdSettled('h1', 1_000_000n, 3_000_000n)],
      ['voided', holdVoided('h1', 4_000_000n)],
    ])('refuses a hold already %s: a hold resolves once', (_how, resolution) => {
      given([...withHold, resolution]).when({ type: 'SettleHold', data: { holdId: 'h1', amount: 1_000_000n } }).thenThrows('hold_not_open');
      given([...withHold, resolution]).when({ type: 'VoidHold', data: { holdId: 'h1', reason: 'x' } }).thenThrows('hold_not_open');
      given([...withHold, resolution]).when({ type: 'ExpireHold', data: { holdId: 'h1' } }, new Date('2100-01-01')).thenThrows('hold_not_open');
    });
  });

  describe('VoidHold', () => {
    it('returns the whole hold', () => {
      given([...opened(), purchased(credits(10)), holdPlaced('h1', credits(4))])
        .when({ type: 'VoidHold', data: { holdId: 'h1', reason: 'upstream 503 before first byte' } })
        .then([holdVoided('h1', credits(4), 'upstream 503 before first byte')]);
    });

    it('refuses a hold that is not open', () => {
      given([...opened(), purchased(credits(10))]).when({ type: 'VoidHold', data: { holdId: 'h1', reason: 'x' } }).thenThrows('hold_not_open');
    });
  });

  describe('ExpireHold', () => {
    const expiresAt = '2025-06-01T12:05:00.000Z';
    const withHold = [...opened(), purchased(credits(10)), holdPlaced('h1', credits(4), expiresAt)];

    it('refuses before expiresAt, even by one millisecond', () => {
      given(withHold)
        .when({ type: 'ExpireHold', data: { holdId: 'h1' } }, new Date('2025-06-01T12:04:59.999Z'))
        .thenThrows('hold_not_expired');
    });

    it('expires at expiresAt', () => {
      given(withHold).when({ type: 'ExpireHold', data: { holdId: 'h1' } }, new Date(expiresAt)).then([holdExpired('h1', credits(4))]);
    });

    it('expires after expiresAt', () => {
      given(withHold)
        .when({ type: 'ExpireHold', data: { holdId: 'h1' } }, new Date('2025-06-02T00:00:00.000Z'))
        .then([holdExpired('h1', credits(4))]);
    });

    it('refuses a hold that is not open', () => {
      given(withHold).when({ type: 'ExpireHold', data: { holdId: 'h2' } }, new Date('2030-01-01')).thenThrows('hold_not_open');
    });
  });

  describe('ExtendHold', () => {
    const expiresAt = '2025-06-01T12:05:00.000Z';
    const later = '2025-06-01T12:15:00.000Z';
    const withHold = [...opened(), purchased(credits(10)), holdPlaced('h1', credits(4), expiresAt)];
    const extended: LedgerEvent = { type: 'HoldExtended', data: { holdId: 'h1', expiresAt: later } };

    it('moves an open hold\'s expiry later, and no money', () => {
      given(withHold).when({ type: 'ExtendHold', data: { holdId: 'h1', expiresAt: later } }).then([extended]);
    });

    it('a hold extended does not expire at its first expiry, and does at the new one', () => {
      given([...withHold, extended])
        .when({ type: 'ExpireHold', data: { holdId: 'h1' } }, new Date('2025-06-01T12:10:00.000Z'))
        .thenThrows('hold_not_expired');
      given([...withHold, extended]).when({ type: 'ExpireHold', data: { holdId: 'h1' } }, new Date(later)).then([holdExpired('h1', credits(4))]);
    });

    it('never moves an expiry earlier: an earlier or equal time changes nothing', () => {
      given(withHold).when({ type: 'ExtendHold', data: { holdId: 'h1', expiresAt } }).then([]);
      given([...withHold, extended]).when({ type: 'ExtendHold', data: { holdId: 'h1', expiresAt: '2025-06-01T12:10:00.000Z' } }).then([]);
    });

    it('refuses a hold that is not open, and a time that is not a date', () => {
      given([...withHold, holdExpired('h1', credits(4))])
        .when({ type: 'ExtendHold', data: { holdId: 'h1', expiresAt: later } })
        .thenThrows('hold_not_open');
      given(withHold).when({ type: 'ExtendHold', data: { holdId: 'h1', expiresAt: 'soon' } }).thenThrows('invalid_command');
    });
  });

  describe('RefundCredits', () => {
    const funded = [...opened(), purchased(credits(10)), holdPlaced('h1', credits(4))]; // available 6

    it('refunds up to the available balance', () => {
      given(funded)
        .when({ type: 'RefundCredits', data: { refundId: 'rf1', amount: credits(6), reason: 'customer asked' } })
        .then([{ type: 'CreditsRefunded', data: { refundId: 'rf1', amount: credits(6), reason: 'customer asked' } }]);
    });

    it('cannot refund more than available (held money is not refundable)', () => {
      given(funded)
        .when({ type: 'RefundCredits', data: { refundId: 'rf1', amount: credits(6) + 1n, reason: 'customer asked' } })
        .thenThrows('insufficient_credits');
    });

    it('requires a positive amount and a reason', () => {
      given(funded).when({ type: 'RefundCredits', data: { refundId: 'rf1', amount: 0n, reason: 'r' } }).thenThrows('invalid_amount');
      given(funded).when({ type: 'RefundCredits', data: { refundId: 'rf1', amount: 1n, reason: ' ' } }).thenThrows('invalid_command');
    });
  });

  describe('Adjust', () => {
    const funded = [...opened(), purchased(credits(10))];

    it('adds credit with a positive amount', () => {
      given(funded)
        .when({ type: 'Adjust', data: { adjustmentId: 'adj1', amount: 500_000n, reason: 'overcharged' } })
        .then([{ type: 'Adjusted', data: { adjustmentId: 'adj1', amount: 500_000n, reason: 'overcharged' } }]);
    });

    it('takes credit with a negative amount, down to exactly zero', () => {
      given(funded)
        .when({ type: 'Adjust', data: { adjustmentId: 'adj1', amount: -credits(10), reason: 'chargeback' } })
        .then([{ type: 'Adjusted', data: { adjustmentId: 'adj1', amount: -credits(10), reason: 'chargeback' } }]);
    });

    it('cannot take available below zero', () => {
      const err = given(funded)
        .when({ type: 'Adjust', data: { adjustmentId: 'adj1', amount: -credits(10) - 1n, reason: 'chargeback' } })
        .thenThrows('insufficient_credits');
      expect(err.details).toEqual({ available: credits(10), needed: credits(10) + 1n });
    });

    it('rejects zero and requires a reason', () => {
      given(funded).when({ type: 'Adjust', data: { adjustmentId: 'adj1', amount: 0n, reason: 'r' } }).thenThrows('invalid_amount');
      given(funded).when({ type: 'Adjust', data: { adjustmentId: 'adj1', amount: 1n, reason: '' } }).thenThrows('invalid_command');
    });
  });

  describe('evolve', () => {
    const sumOfHolds = (s: AccountState) => [...s.holds.values()].reduce((t, h) => t + h.amount, 0n);

    it('held is the sum of open holds through place, settle, void and expire', () => {
      const history: LedgerEvent[] = [
        ...opened(),
        purchased(credits(20)),
        holdPlaced('h1', credits(3)),
        holdPlaced('h2', credits(5)),
        holdPlaced('h3', credits(7)),
        holdSettled('h1', credits(2), credits(1), 500_000n),
        holdVoided('h2', credits(5)),
        holdPlaced('h4', credits(1)),
        holdExpired('h3', credits(7)),
      ];
      let s = initialState();
      const helds: bigint[] = [];
      for (const e of history) {
        s = evolve(s, e);
        expect(s.held).toBe(sumOfHolds(s));
        helds.push(s.held);
      }
      expect(helds).toEqual([0n, 0n, 0n, credits(3), credits(8), credits(15), credits(12), credits(7), credits(8), credits(1)]);
      expect([...s.holds.keys()]).toEqual(['h4']);
      expect(s.available).toBe(credits(20) - credits(2) - credits(1));
    });

    it('a hold moves money from available to held, and back on release', () => {
      let s = evolveAll([...opened(), purchased(credits(10))]);
      s = evolve(s, holdPlaced('h1', credits(4), '2025-06-01T13:00:00.000Z'));
      expect([s.available, s.held]).toEqual([credits(6), credits(4)]);
      expect(s.holds.get('h1')).toEqual({ amount: credits(4), expiresAt: '2025-06-01T13:00:00.000Z' });
      s = evolve(s, holdSettled('h1', credits(1), credits(3)));
      expect([s.available, s.held]).toEqual([credits(9), 0n]);
      expect(s.holds.has('h1')).toBe(false);
    });

    it('does not change the state it is given', () => {
      const before = evolveAll([...opened(), purchased(credits(10))]);
      const after = evolve(before, holdPlaced('h1', credits(4)));
      expect(before.holds.size).toBe(0);
      expect(before.available).toBe(credits(10));
      expect(after.holds.size).toBe(1);
    });

    it('lifetimePurchased counts stripe and crypto payments, not grants, refunds or adjustments', () => {
      const s = evolveAll([
        ...opened(),
        purchased(credits(10)),
        {
          type: 'CryptoPaymentCredited',
          data: { paymentId: 'chain-1-0xa-0', amount: credits(5), chainId: 1, txHash: '0xa', logIndex: 0, token: 't' },
        },
        { type: 'CreditsGranted', data: { grantId: 'g', amount: credits(100), reason: 'promo' } },
        { type: 'CreditsRefunded', data: { refundId: 'r', amount: credits(1), reason: 'asked' } },
        { type: 'Adjusted', data: { adjustmentId: 'a', amount: credits(2), reason: 'fix' } },
      ]);
      expect(s.lifetimePurchased).toBe(credits(15));
      expect(s.available).toBe(credits(10 + 5 + 100 - 1 + 2));
      expect(s.lifetimeSpent).toBe(0n);
    });

    it('lifetimeSpent counts settled costs only, not voided or expired holds', () => {
      const s = evolveAll([
        ...opened(),
        purchased(credits(10)),
        holdPlaced('h1', credits(3)),
        holdSettled('h1', 1_500_000n, 1_500_000n, 1_000_000n),
        holdPlaced('h2', credits(2)),
        holdSettled('h2', 250_000n, 1_750_000n),
        holdPlaced('h3', credits(2)),
        holdVoided('h3', credits(2)),
        holdPlaced('h4', credits(2)),
        holdExpired('h4', credits(2)),
      ]);
      expect(s.lifetimeSpent).toBe(1_750_000n);
      expect(s.available).toBe(credits(10) - 1_750_000n);
      expect(s.held).toBe(0n);
    });
  });
});
