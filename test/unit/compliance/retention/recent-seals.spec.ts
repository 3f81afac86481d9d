/**
 * A read model in the process that sealed a usage value opens it from memory, not with AES-GCM
 * (usage-seal.ts, "What this process sealed lately"): only the very value sealed here, with a
 * key of the same bytes, for the same part and hold; anything else is opened (and refused) as
 * before. Nothing is remembered until the process has opened a sealed value.
 */
import { randomBytes } from 'node:crypto';
import { openPart, openUsage, recentSeals, sealPart, sealUsage } from '../../../../src/compliance/retention/usage-seal';
import { UsageFigures } from '../../../../src/ledger/domain/events';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeCrypto = require('node:crypto') as typeof import('node:crypto');

const usage: UsageFigures = { model: 'gpt-4o-mini', inputTokens: 12, outputTokens: 34, cachedTokens: 5, estimated: false, priceVersion: 3 };
const DAY = '2026-03-01';
const KEY_ID = 'a2a7d1f4-0000-4000-8000-000000000001';

let opens: jest.SpyInstance;
beforeEach(() => {
  recentSeals.clear();
  // AES-GCM opens, counted where aes-gcm.ts makes them (its calls go through the module object).
  opens = jest.spyOn(nodeCrypto, 'createDecipheriv');
});
afterEach(() => {
  opens.mockRestore();
  jest.useRealTimers();
});

/** The process opens one sealed value of its own (as a read model would): from then on it remembers. */
function aReaderRan(key: Buffer): void {
  openPart(key, sealPart(key, DAY, 'key', 'h0', KEY_ID), 'key', 'h0');
  opens.mockClear();
}

describe('values this process sealed', () => {
  it('are not remembered while nothing in the process has opened one', () => {
    const key = randomBytes(32);
    sealUsage(key, DAY, 'h1', usage);
    sealPart(key, DAY, 'key', 'h1', KEY_ID);
    expect(recentSeals.size()).toBe(0);
  });

  it('open without AES-GCM once a reader ran here, to the same plaintext, with the key read again (same bytes)', () => {
    const key = randomBytes(32);
    aReaderRan(key);
    const sealedUsage = sealUsage(key, DAY, 'h1', usage);
    const sealedKey = sealPart(key, DAY, 'key', 'h1', KEY_ID);
    const keyAsRead = Buffer.from(key); // the read model's copy, loaded from Postgres
    expect(openUsage(keyAsRead, sealedUsage, 'h1')).toEqual(usage);
    expect(openPart(keyAsRead, sealedKey, 'key', 'h1')).toBe(KEY_ID);
    expect(opens).not.toHaveBeenCalled();
  });

  it('anything but the very value, key, part and hold is opened as before, and refused as before', () => {
    const key = randomBytes(32);
    aReaderRan(key);
    const sealed = sealUsage(key, DAY, 'h1', usage);
    expect(() => openUsage(key, sealed, 'h2')).toThrow(); // copied into another hold's event
    expect(() => openPart(key, sealed, 'key', 'h1')).toThrow(); // passed off as another field
    expect(() => openUsage(randomBytes(32), sealed, 'h1')).toThrow(); // another key
    // The ciphertext's first character (its last ones may be only padding bits of base64).
    const at = sealed.lastIndexOf(':') + 1;
    const flipped = sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1);
    expect(() => openUsage(key, flipped, 'h1')).toThrow(); // altered
    expect(() => openUsage(key, `2026-03-02${sealed.slice(10)}`, 'h1')).toThrow(); // relabelled as another day
    expect(opens).toHaveBeenCalledTimes(5);
  });

  it('a value sealed by another process is opened with AES-GCM', () => {
    const key = randomBytes(32);
    const elsewhere = sealUsage(key, DAY, 'h1', usage); // before this process had a reader: not remembered
    aReaderRan(key);
    expect(openUsage(key, elsewhere, 'h1')).toEqual(usage);
    expect(opens).toHaveBeenCalledTimes(1);
  });

  it('are remembered for a bounded count and time', () => {
    jest.useFakeTimers({ now: Date.parse('2026-03-01T12:00:00Z') });
    const key = randomBytes(32);
    aReaderRan(key);
    for (let i = 0; i < 5000; i++) sealPart(key, DAY, 'key', `h${i}`, KEY_ID);
    expect(recentSeals.size()).toBe(4096);
    jest.advanceTimersByTime(61_000);
    const last = sealPart(key, DAY, 'key', 'late', KEY_ID);
    expect(recentSeals.size()).toBe(1); // the older ones aged out
    expect(openPart(key, last, 'key', 'late')).toBe(KEY_ID);
    expect(opens).not.toHaveBeenCalled();
  });
});
