import fc from 'fast-check';
import {
  LEDGER_EVENT_TYPES,
  LedgerEvent,
  UnknownEventError,
  decodeLedgerEvent,
  encodeLedgerEvent,
} from '../../../src/ledger/domain/events';
import {
  MAX_MICROS,
  MICROS_PER_CREDIT,
  microsFromDb,
  withinBound,
  MoneyFormatError,
  divCeil,
  formatCredits,
  parseCredits,
} from '../../../src/shared/money';

describe('money', () => {
  it('one credit is a million micro-credits', () => {
    expect(MICROS_PER_CREDIT).toBe(1_000_000n);
  });

  describe('parseCredits', () => {
    it.each<[string, bigint]>([
      ['0', 0n],
      ['1', 1_000_000n],
      ['12.5', 12_500_000n],
      ['0.000001', 1n],
      ['0.1', 100_000n],
      ['1.234567', 1_234_567n],
      ['-3.25', -3_250_000n],
      ['007.010', 7_010_000n],
      ['  4.2  ', 4_200_000n],
    ])('%j → %p µcr', (input, micros) => {
      const parsed = parseCredits(input);
      expect(typeof parsed).toBe('bigint');
      expect(parsed).toBe(micros);
    });

    it('is exact where a float would not be', () => {
      // 0.1 + 0.2 !== 0.3 in floats; in µcr it is.
      expect(parseCredits('0.1') + parseCredits('0.2')).toBe(parseCredits('0.3'));
      // Beyond 2^53 a float loses the last digits; the bigint keeps every one.
      expect(parseCredits('9007199254740993.000001')).toBe(9_007_199_254_740_993_000_001n);
      expect(formatCredits(9_007_199_254_740_993_000_001n)).toBe('9007199254740993.000001');
    });

    it('rejects more than six decimals rather than rounding', () => {
      expect(() => parseCredits('0.0000001')).toThrow(MoneyFormatError);
      expect(() => parseCredits('1.2345678')).toThrow(MoneyFormatError);
    });

    it.each(['', ' ', 'abc', '1.', '.5', '1,5', '1e6', '1.5e2', '+1', '--1', '0x10', 'NaN', 'Infinity', '1 000', '١٢'])(
      'rejects %j',
      (junk) => {
        expect(() => parseCredits(junk)).toThrow(MoneyFormatError);
      },
    );

    it('its error carries the stable code invalid_amount', () => {
      let err: unknown;
      try {
        parseCredits('1.2.3');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(MoneyFormatError);
      expect((err as MoneyFormatError).code).toBe('invalid_amount');
    });
  });

  describe('formatCredits', () => {
    it.each<[bigint, string]>([
      [0n, '0.000000'],
      [1n, '0.000001'],
      [12_500_000n, '12.500000'],
      [-1n, '-0.000001'],
      [-3_250_000n, '-3.250000'],
      [1_000_000_000_000n, '1000000.000000'],
    ])('%p µcr → %j', (micros, text) => {
      expect(formatCredits(micros)).toBe(text);
    });

    it('round-trips through parseCredits for any bigint (property)', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (micros) => {
          const text = formatCredits(micros);
          expect(text).toMatch(/^-?\d+\.\d{6}$/);
          expect(parseCredits(text)).toBe(micros);
        }),
        { numRuns: 1000 },
      );
    });

    it('parse then format gives the six-decimal form of any valid input (property)', () => {
      const decimalText = fc
        .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 6 }))
        .map(([neg, whole, frac]) => `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`);
      fc.assert(
        fc.property(decimalText, (text) => {
          const [whole, frac = ''] = text.replace('-', '').split('.');
          const expected = `${text.startsWith('-') && /[1-9]/.test(text) ? '-' : ''}${BigInt(whole)}.${frac.padEnd(6, '0')}`;
          expect(formatCredits(parseCredits(text))).toBe(expected);
        }),
        { numRuns: 1000 },
      );
    });
  });

  describe('divCeil', () => {
    it.each<[bigint, bigint, bigint]>([
      [0n, 7n, 0n],
      [1n, 7n, 1n],
      [7n, 7n, 1n],
      [8n, 7n, 2n],
      [14n, 7n, 2n],
      [1_500_001n, 1_000_000n, 2n],
      [10n ** 30n + 1n, 10n ** 6n, 10n ** 24n + 1n],
    ])('ceil(%p / %p) = %p', (a, b, q) => {
      expect(divCeil(a, b)).toBe(q);
    });

    it('is the least q with q·b ≥ a (property)', () => {
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: 10n ** 24n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), (a, b) => {
          const q = divCeil(a, b);
          expect(q * b >= a).toBe(true);
          expect((q - 1n) * b < a || q === 0n).toBe(true);
        }),
        { numRuns: 500 },
      );
    });

    it('refuses a negative numerator or a non-positive divisor', () => {
      expect(() => divCeil(-1n, 5n)).toThrow(RangeError);
      expect(() => divCeil(5n, 0n)).toThrow(RangeError);
      expect(() => divCeil(5n, -2n)).toThrow(RangeError);
    });
  });
});

describe('event encoding for storage (bigint ↔ decimal string)', () => {
  const events: LedgerEvent[] = [
    { type: 'AccountOpened', data: { accountId: 'a', ownerId: null } },
    { type: 'CreditsPurchased', data: { paymentId: 'pi', amount: 9_007_199_254_740_993n, provider: 'stripe' } },
    {
      type: 'CryptoPaymentCredited',
      data: { paymentId: 'chain-1-0xa-3', amount: 5n, chainId: 1, txHash: '0xa', logIndex: 3, token: '0xT' },
    },
    { type: 'FreeRequestsGranted', data: { grantId: 'welcome', count: 20 } },
    { type: 'FreeRequestUsed', data: { requestId: 'r' } },
    { type: 'CreditsGranted', data: { grantId: 'g', amount: 1n, reason: 'promo' } },
    { type: 'HoldPlaced', data: { holdId: 'h', amount: 4_000_000n, expiresAt: '2025-06-01T13:00:00.000Z' } },
    {
      type: 'HoldSettled',
      data: {
        holdId: 'h',
        amount: 1_234_567n,
        released: 2_765_433n,
        upstreamCost: 1_000_000n,
        usage: { model: 'm', inputTokens: 10, outputTokens: 2, cachedTokens: 1, estimated: true },
      },
    },
    { type: 'HoldSettled', data: { holdId: 'h', amount: 0n, released: 0n, upstreamCost: 0n, usage: null } },
    { type: 'HoldVoided', data: { holdId: 'h', amount: 4_000_000n, reason: 'x' } },
    { type: 'HoldExpired', data: { holdId: 'h', amount: 4_000_000n } },
    {
      type: 'HoldSettledLate',
      data: { holdId: 'h', amount: 9_007_199_254_740_993n, paid: 9_007_199_254_740_992n, owed: 1n, upstreamCost: 3n, usage: null },
    },
    { type: 'ReceivableRepaid', data: { amount: 9_007_199_254_740_993n, reference: 'pi' } },
    { type: 'HoldExtended', data: { holdId: 'h', expiresAt: '2025-06-01T13:10:00.000Z' } },
    { type: 'CreditsRefunded', data: { refundId: 'rf', amount: 2n, reason: 'r' } },
    { type: 'Adjusted', data: { adjustmentId: 'adj', amount: -123_456_789n, reason: 'r' } },
    { type: 'CreditsRefunded', data: { refundId: 're', amount: 9_007_199_254_740_993n, reason: 'r', paymentId: 'pi', owed: 9_007_199_254_740_991n } },
    { type: 'CreditsFrozen', data: { freezeId: 'z', paymentId: 'pi', amount: 9_007_199_254_740_993n, reason: 'r' } },
    { type: 'FreezeReleased', data: { freezeId: 'z', paymentId: 'pi', amount: 9_007_199_254_740_993n, reason: 'r' } },
    { type: 'DisputeOpened', data: { disputeId: 'd', paymentId: 'pi', amount: 9_007_199_254_740_993n, frozen: 9_007_199_254_740_992n } },
    { type: 'DisputeWon', data: { disputeId: 'd', paymentId: 'pi', released: 9_007_199_254_740_993n } },
    { type: 'DisputeLost', data: { disputeId: 'd', paymentId: 'pi', amount: 9_007_199_254_740_993n, fromFrozen: 9_007_199_254_740_991n, owed: 2n } },
    { type: 'AccountRestricted', data: { restrictionId: 'r', reason: 'data-subject request' } },
    { type: 'AccountRestrictionLifted', data: { restrictionId: 'r', reason: 'lifted' } },
    { type: 'CreditsForfeited', data: { forfeitId: 'erasure-e-forfeit', amount: 9_007_199_254_740_993n, reason: 'r' } },
  ];

  it('covers every event type', () => {
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(LEDGER_EVENT_TYPES));
  });

  it.each(events.map((e) => [e.type, e] as const))('%s survives JSON storage unchanged', (_type, event) => {
    const encoded = encodeLedgerEvent(event);
    const stored = JSON.parse(JSON.stringify(encoded)) as { type: string; data: Record<string, unknown> };
    expect(decodeLedgerEvent(stored.type, stored.data)).toEqual(event);
  });

  it('stores money as decimal strings, and leaves counts and other numbers alone', () => {
    expect(encodeLedgerEvent(events[1]).data.amount).toBe('9007199254740993');
    const settled = encodeLedgerEvent(events[7]).data;
    expect([settled.amount, settled.released, settled.upstreamCost]).toEqual(['1234567', '2765433', '1000000']);
    expect(encodeLedgerEvent(events[3]).data.count).toBe(20);
    expect(encodeLedgerEvent(events[2]).data.logIndex).toBe(3);
    expect(encodeLedgerEvent(events.find((e) => e.type === 'Adjusted')!).data.amount).toBe('-123456789');
  });

  it('does not change the event it encodes', () => {
    const e: LedgerEvent = { type: 'HoldPlaced', data: { holdId: 'h', amount: 4n, expiresAt: 'x' } };
    encodeLedgerEvent(e);
    expect(e.data.amount).toBe(4n);
  });

  it('refuses an unknown event type instead of skipping it', () => {
    expect(() => decodeLedgerEvent('CreditsStolen', { amount: '1' })).toThrow(UnknownEventError);
  });
});

describe("the ledger's bound", () => {
  it('is 1,000,000,000 credits (10^15 µcr), below 2^53 so a double on the way stays exact', () => {
    expect(MAX_MICROS).toBe(10n ** 15n);
    expect(MAX_MICROS).toBe(parseCredits('1000000000'));
    expect(MAX_MICROS < 2n ** 53n).toBe(true);
    expect(BigInt(Number(MAX_MICROS - 1n))).toBe(MAX_MICROS - 1n);
  });

  it('withinBound holds up to the bound either way, and not one µcr past it', () => {
    expect([MAX_MICROS, -MAX_MICROS, 0n].every(withinBound)).toBe(true);
    expect([MAX_MICROS + 1n, -MAX_MICROS - 1n, 2n ** 63n].some(withinBound)).toBe(false);
  });

  it('microsFromDb reads numeric text and int8 exactly, past 2^63 too, and refuses anything else', () => {
    expect(microsFromDb('-9300000000000000000000')).toBe(-9_300_000_000_000_000_000_000n);
    expect(microsFromDb(12n)).toBe(12n);
    for (const bad of ['1.5', '', 'NaN', '1e3']) expect(() => microsFromDb(bad)).toThrow(RangeError);
  });
});
