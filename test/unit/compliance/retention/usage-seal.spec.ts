/**
 * Usage sealed with a day's key (compliance/retention/usage-seal.ts), and the decider carrying
 * sealed values in place of plaintext ones: pure, no I/O.
 */
import { randomBytes } from 'node:crypto';
import { addDays, firstKeptDay, openPart, openUsage, retentionCutoff, sealPart, sealUsage, sealedDay, utcDay } from '../../../../src/compliance/retention/usage-seal';
import { decodeUsageDayClosed, encodeUsageDayClosed, usageDayClosedId, usageDayStream } from '../../../../src/compliance/retention/usage-day-closed';
import { UsageFigures } from '../../../../src/ledger/domain/events';
import { IN_AN_HOUR, given } from '../../ledger/decider-spec';

const usage: UsageFigures = { model: 'gpt-4o-mini', inputTokens: 12, outputTokens: 34, cachedTokens: 5, estimated: false, priceVersion: 3 };
const key = randomBytes(32);
const DAY = '2026-03-01';

describe('sealed usage values', () => {
  it('open with the day key, for the same hold and part only', () => {
    const sealed = sealUsage(key, DAY, 'h1', usage);
    expect(sealedDay(sealed)).toBe(DAY);
    expect(sealed).not.toContain('gpt-4o-mini');
    expect(openUsage(key, sealed, 'h1')).toEqual(usage);
    expect(() => openUsage(key, sealed, 'h2')).toThrow(); // copied into another hold's event
    expect(() => openPart(key, sealed, 'key', 'h1')).toThrow(); // passed off as another field
    expect(() => openUsage(randomBytes(32), sealed, 'h1')).toThrow(); // another day's key
    const otherDay = `2026-03-02${sealed.slice(10)}`; // relabelled as another day
    expect(() => openUsage(key, otherDay, 'h1')).toThrow();
  });

  it('a tampered value does not open', () => {
    const sealed = sealPart(key, DAY, 'key', 'h1', 'a2a7d1f4-0000-4000-8000-000000000001');
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1);
    expect(() => openPart(key, flipped, 'key', 'h1')).toThrow();
    expect(sealedDay('not sealed')).toBeNull();
    expect(sealedDay(undefined)).toBeNull();
    expect(sealedDay('2026-13-xx:v1:a:b:c')).toBeNull();
  });

  it('a day is forgotten once its first instant is past retention (never readable longer)', () => {
    expect(utcDay(new Date('2026-06-01T23:59:59.999Z'))).toBe('2026-06-01');
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    // 90 days before 2026-06-01T12:00 is 2026-03-03T12:00: the 3rd started before it, so the 4th is the first kept.
    expect(firstKeptDay(new Date('2026-06-01T12:00:00.000Z'), 90)).toBe('2026-03-04');
    // exactly at midnight: that day started exactly 90 days ago and is kept
    expect(firstKeptDay(new Date('2026-06-01T00:00:00.000Z'), 90)).toBe('2026-03-03');
    expect(retentionCutoff(new Date('2026-06-01T12:00:00.000Z'), 1).toISOString()).toBe('2026-05-31T12:00:00.000Z');
  });
});

describe('the decider with sealed usage', () => {
  const sealedKey = sealPart(key, DAY, 'key', 'h1', 'key-1');
  const sealedUsage = sealUsage(key, DAY, 'h1', usage);
  const funded = [
    { type: 'AccountOpened' as const, data: { accountId: 'acc-1', ownerId: null } },
    { type: 'CreditsGranted' as const, data: { grantId: 'g', amount: 10_000_000n, reason: 'test' } },
  ];

  it('places a hold with its key sealed, and no plaintext keyId', () => {
    given(funded)
      .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1_000_000n, expiresAt: IN_AN_HOUR, sealedKeyId: sealedKey } })
      .then([{ type: 'HoldPlaced', data: { holdId: 'h1', amount: 1_000_000n, expiresAt: IN_AN_HOUR, sealedKeyId: sealedKey } }]);
  });

  it('settles with its usage sealed and usage null', () => {
    given([...funded, { type: 'HoldPlaced', data: { holdId: 'h1', amount: 1_000_000n, expiresAt: IN_AN_HOUR, sealedKeyId: sealedKey } }])
      .when({ type: 'SettleHold', data: { holdId: 'h1', amount: 400_000n, upstreamCost: 300_000n, sealedUsage } })
      .then([{ type: 'HoldSettled', data: { holdId: 'h1', amount: 400_000n, released: 600_000n, upstreamCost: 300_000n, usage: null, sealedUsage } }]);
  });

  it('refuses a malformed sealed value, or one beside its plaintext', () => {
    given(funded)
      .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1n, expiresAt: IN_AN_HOUR, sealedKeyId: 'key-1' } })
      .thenThrows('invalid_command');
    given(funded)
      .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1n, expiresAt: IN_AN_HOUR, keyId: 'key-1', sealedKeyId: sealedKey } })
      .thenThrows('invalid_command');
    given(funded)
      .when({ type: 'PlaceHold', data: { holdId: 'h1', amount: 1n, expiresAt: IN_AN_HOUR, sealedKeyId: `${sealedKey}${'A'.repeat(5000)}` } })
      .thenThrows('invalid_command');
    const placed = [...funded, { type: 'HoldPlaced' as const, data: { holdId: 'h1', amount: 1_000_000n, expiresAt: IN_AN_HOUR } }];
    given(placed).when({ type: 'SettleHold', data: { holdId: 'h1', amount: 1n, usage, sealedUsage } }).thenThrows('invalid_command');
    given(placed).when({ type: 'SettleHold', data: { holdId: 'h1', amount: 1n, sealedUsage: 'gpt-4o' } }).thenThrows('invalid_command');
  });
});

describe('UsageDayClosed events', () => {
  it('encode the same figures the same way, whatever their order, and decode back', () => {
    const day = {
      accountId: 'acc-1',
      day: DAY,
      byModel: [
        { model: 'b', requests: 2n, inputTokens: 10n, outputTokens: 20n, cachedTokens: 0n, cost: 123_456_789_012n, estimatedRequests: 1n },
        { model: 'a', requests: 1n, inputTokens: 1n, outputTokens: 2n, cachedTokens: 3n, cost: 4n, estimatedRequests: 0n },
      ],
      byKey: [{ keyId: 'k2', spent: 5n, requests: 1n }, { keyId: 'k1', spent: 123_456_789_012n, requests: 2n }],
    };
    const reversed = { ...day, byModel: [...day.byModel].reverse(), byKey: [...day.byKey].reverse() };
    expect(JSON.stringify(encodeUsageDayClosed(day))).toBe(JSON.stringify(encodeUsageDayClosed(reversed)));
    const back = decodeUsageDayClosed(JSON.parse(JSON.stringify(encodeUsageDayClosed(day))));
    expect(back.byModel.map((m) => m.model)).toEqual(['a', 'b']);
    expect(back.byKey.find((k) => k.keyId === 'k1')!.spent).toBe(123_456_789_012n);
    expect(usageDayStream('acc-1', DAY)).toBe('usage-acc-1-2026-03-01');
    expect(usageDayClosedId('acc-1', DAY)).toBe(usageDayClosedId('acc-1', DAY));
    expect(usageDayClosedId('acc-1', DAY)).not.toBe(usageDayClosedId('acc-1', '2026-03-02'));
    expect(() => decodeUsageDayClosed({ accountId: 'a', day: 'yesterday', byModel: [], byKey: [] })).toThrow();
  });
});
