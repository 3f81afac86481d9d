import { AccountCommand, decide, evolveAll } from '../../../src/ledger/domain/account.decider';
import { commandKey, eventIdFor } from '../../../src/ledger/domain/event-ids';
import { encodeLedgerEvent } from '../../../src/ledger/domain/events';
import { deterministicId } from '../../../src/shared/ids';
import { NOW, opened } from './decider-spec';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('deterministicId', () => {
  it('is a valid RFC 4122 version 5 uuid', () => {
    for (const name of ['', 'a', 'payment:stripe:pi_1#0', 'hold:ü:resolved#0', 'x'.repeat(10_000)]) {
      expect(deterministicId(name)).toMatch(UUID_V5);
    }
  });

  it('never changes: ids already in the log must be produced again by retries after an upgrade', () => {
    // The same values as Python's uuid.uuid5(UUID('6f1c3a52-a7e8-4c4d-9d0b-2a61f0c8e4b7'), name),
    // an independent implementation of RFC 4122 v5.
    expect(deterministicId('payment:stripe:pi_123#0')).toBe('58be9f81-8980-5994-8f4a-2aea58017347');
    expect(deterministicId('')).toBe('ccfcd732-bfd0-5df6-8a1f-3f585b2b1eb7');
  });

  it('is the same for the same name and different for different names', () => {
    expect(deterministicId('hold:h1:placed#0')).toBe(deterministicId('hold:h1:placed#0'));
    const ids = new Set(Array.from({ length: 1000 }, (_, i) => deterministicId(`n${i}`)));
    expect(ids.size).toBe(1000);
    expect(deterministicId('hold:h1:placed#0')).not.toBe(deterministicId('hold:h1:placed#1'));
  });
});

describe('eventIdFor', () => {
  const expiresAt = '2025-06-01T13:00:00.000Z';
  const crypto = (txHash: string, logIndex = 2): AccountCommand => ({
    type: 'CreditCryptoPayment',
    data: { amount: 5_000_000n, chainId: 8453, txHash, logIndex, token: '0xToken' },
  });

  it('a stripe payment aimed at two accounts has one event id, so it credits once', () => {
    const c: AccountCommand = { type: 'PurchaseCredits', data: { paymentId: 'pi_42', amount: 1_000_000n } };
    expect(eventIdFor('acc-a', c, 0)).toBe(eventIdFor('acc-b', c, 0));
    expect(eventIdFor('acc-a', c, 0)).toMatch(UUID_V5);
  });

  it('a crypto payment aimed at two accounts has one event id, so it credits once', () => {
    expect(eventIdFor('acc-a', crypto('0xabc'), 0)).toBe(eventIdFor('acc-b', crypto('0xabc'), 0));
    expect(eventIdFor('acc-a', crypto('0xabc'), 0)).not.toBe(eventIdFor('acc-a', crypto('0xabc', 3), 0));
  });

  it('a crypto payment reported with a differently cased tx hash is the same event, id and payload', () => {
    // The store treats an existing id with a different payload as a conflict, so a retry that
    // spells the hash differently must produce the very same event to be answered "exists".
    expect(eventIdFor('acc-a', crypto('0xABCDEF'), 0)).toBe(eventIdFor('acc-a', crypto('0xabcdef'), 0));
    const state = evolveAll(opened());
    const upper = decide(crypto('0xABCDEF'), state, { now: NOW }).map(encodeLedgerEvent);
    const lower = decide(crypto('0xabcdef'), state, { now: NOW }).map(encodeLedgerEvent);
    expect(upper).toEqual(lower);
  });

  it('a stripe and a crypto payment never share an id', () => {
    const stripe: AccountCommand = { type: 'PurchaseCredits', data: { paymentId: 'chain-8453-0xabc-2', amount: 1n } };
    expect(eventIdFor('acc-a', stripe, 0)).not.toBe(eventIdFor('acc-a', crypto('0xabc'), 0));
  });

  it('settle, void and expire of one hold share one id, so only one of them can be appended', () => {
    const settle = eventIdFor('acc-a', { type: 'SettleHold', data: { holdId: 'h1', amount: 3n } }, 0);
    const settleOther = eventIdFor('acc-a', { type: 'SettleHold', data: { holdId: 'h1', amount: 4n } }, 0);
    const voided = eventIdFor('acc-a', { type: 'VoidHold', data: { holdId: 'h1', reason: 'x' } }, 0);
    const expired = eventIdFor('acc-a', { type: 'ExpireHold', data: { holdId: 'h1' } }, 0);
    expect(new Set([settle, settleOther, voided, expired]).size).toBe(1);
    expect(commandKey('acc-a', { type: 'ExpireHold', data: { holdId: 'h1' } })).toBe('hold:h1:resolved');
  });

  it('placing a hold and resolving it have different ids, and different holds differ', () => {
    const placed = eventIdFor('acc-a', { type: 'PlaceHold', data: { holdId: 'h1', amount: 3n, expiresAt } }, 0);
    const resolved = eventIdFor('acc-a', { type: 'VoidHold', data: { holdId: 'h1', reason: 'x' } }, 0);
    const otherHold = eventIdFor('acc-a', { type: 'PlaceHold', data: { holdId: 'h2', amount: 3n, expiresAt } }, 0);
    expect(new Set([placed, resolved, otherHold]).size).toBe(3);
  });

  it('a retried command gets the same ids, event by event', () => {
    const commands: AccountCommand[] = [
      { type: 'OpenAccount', data: { accountId: 'acc-a' } },
      { type: 'PurchaseCredits', data: { paymentId: 'pi_1', amount: 10n } },
      crypto('0xabc'),
      { type: 'GrantCredits', data: { grantId: 'g1', amount: 1n, reason: 'r' } },
      { type: 'GrantFreeRequests', data: { grantId: 'g1', count: 1 } },
      { type: 'UseFreeRequest', data: { requestId: 'req-1' } },
      { type: 'PlaceHold', data: { holdId: 'h1', amount: 3n, expiresAt } },
      { type: 'SettleHold', data: { holdId: 'h1', amount: 2n } },
      { type: 'RefundCredits', data: { refundId: 'rf1', amount: 1n, reason: 'r' } },
      { type: 'Adjust', data: { adjustmentId: 'adj1', amount: 1n, reason: 'r' } },
    ];
    const first = commands.map((c) => [0, 1].map((i) => eventIdFor('acc-a', c, i)));
    // A retry is a new object with equal content, made later.
    const retry = commands.map((c) => [0, 1].map((i) => eventIdFor('acc-a', structuredClone(c), i)));
    expect(retry).toEqual(first);
    // The events of one command get distinct ids (OpenAccount emits two).
    for (const [a, b] of first) expect(a).not.toBe(b);
    // And distinct commands never collide, even when their own ids are spelled alike.
    expect(new Set(first.map(([a]) => a)).size).toBe(commands.length);
  });

  it('account-scoped keys (grants, refunds, adjustments, free requests) differ between accounts', () => {
    const scoped: AccountCommand[] = [
      { type: 'OpenAccount', data: { accountId: 'x' } },
      { type: 'GrantCredits', data: { grantId: 'g1', amount: 1n, reason: 'r' } },
      { type: 'GrantFreeRequests', data: { grantId: 'g1', count: 1 } },
      { type: 'UseFreeRequest', data: { requestId: 'req-1' } },
      { type: 'RefundCredits', data: { refundId: 'rf1', amount: 1n, reason: 'r' } },
      { type: 'Adjust', data: { adjustmentId: 'adj1', amount: 1n, reason: 'r' } },
    ];
    for (const c of scoped) expect(eventIdFor('acc-a', c, 0)).not.toBe(eventIdFor('acc-b', c, 0));
  });

  it('the same id string used by different kinds of command gives different keys', () => {
    const keys = [
      commandKey('acc', { type: 'GrantCredits', data: { grantId: 'k', amount: 1n, reason: 'r' } }),
      commandKey('acc', { type: 'GrantFreeRequests', data: { grantId: 'k', count: 1 } }),
      commandKey('acc', { type: 'UseFreeRequest', data: { requestId: 'k' } }),
      commandKey('acc', { type: 'RefundCredits', data: { refundId: 'k', amount: 1n, reason: 'r' } }),
      commandKey('acc', { type: 'Adjust', data: { adjustmentId: 'k', amount: 1n, reason: 'r' } }),
      commandKey('acc', { type: 'PurchaseCredits', data: { paymentId: 'k', amount: 1n } }),
      commandKey('acc', { type: 'PlaceHold', data: { holdId: 'k', amount: 1n, expiresAt } }),
      commandKey('acc', { type: 'VoidHold', data: { holdId: 'k', reason: 'r' } }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});
