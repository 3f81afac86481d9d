/** The pure rules of on-chain payments: amounts asked, finality, topics, the claim message. */
import { MAX_MICROS } from '../../../src/shared/money';
import { addressOfTopic, askedAmount, claimMessage, confirmationsAt, creditable, depositId, finalHeight, intentStatusAt, topicOfAddress } from '../../../src/payments/crypto/domain/crypto';

describe('crypto payments domain', () => {
  it('reads an asked amount of 5..max credits with at most 6 decimals, exactly', () => {
    expect(askedAmount('5', 10_000)).toBe(5_000_000n);
    expect(askedAmount('25.5', 10_000)).toBe(25_500_000n);
    expect(askedAmount('10000', 10_000)).toBe(10_000_000_000n);
    expect(askedAmount('0.000001', 10_000)).toMatch(/at least 5/);
    expect(askedAmount('4.999999', 10_000)).toMatch(/at least 5/);
    expect(askedAmount('10000.000001', 10_000)).toMatch(/at most 10000/);
    for (const bad of ['', ' 5', '5 ', '5.', '.5', '+5', '-5', '5e1', '0x10', '5.1234567', '99999999', '5,00', 'NaN']) {
      expect(typeof askedAmount(bad, 10_000)).toBe('string');
    }
  });

  it('finality: the finalized tag, or N confirmations counting the head', () => {
    expect(finalHeight(100, 'finalized', 90)).toBe(90);
    expect(finalHeight(100, 'finalized', null)).toBe(-1);
    expect(finalHeight(100, 'finalized', 120)).toBe(100); // never past the head
    expect(finalHeight(100, 1, null)).toBe(100);
    expect(finalHeight(100, 12, null)).toBe(89);
    expect(confirmationsAt(100, 100)).toBe(1);
    expect(confirmationsAt(100, 89)).toBe(12);
    expect(confirmationsAt(100, 101)).toBe(0);
  });

  it('credits only positive amounts within the ledger bound', () => {
    expect(creditable(1n)).toBeNull();
    expect(creditable(MAX_MICROS)).toBeNull();
    expect(creditable(0n)).toMatch(/zero/);
    expect(creditable(MAX_MICROS + 1n)).toMatch(/bound/);
    expect(creditable(2n ** 256n - 1n)).toMatch(/bound/);
  });

  it('names a transfer by chain, lower-cased hash and log index; topics round-trip addresses', () => {
    expect(depositId(8453, '0xABCDEF', 3)).toBe('chain-8453-0xabcdef-3');
    const a = '0x00000000000000000000000000000000DeaDBeef';
    expect(topicOfAddress(a)).toBe(`0x${'0'.repeat(24)}${a.slice(2).toLowerCase()}`);
    expect(addressOfTopic(topicOfAddress(a))).toBe(a.toLowerCase());
  });

  it('the claim message is fixed text of its inputs (the hash in any case gives the same message)', () => {
    const p = { accountId: 'acc-1', chain: 'base' as const, chainId: 8453, txHash: '0xAB', receiveAddress: '0xCD' };
    expect(claimMessage(p)).toBe(claimMessage({ ...p, txHash: '0xab', receiveAddress: '0xcd' }));
    expect(claimMessage(p)).toBe(
      ['Tollgate: credit my transfer to this account.', 'Account: acc-1', 'Chain: Base (chain id 8453)', 'Transaction: 0xab', 'Paid to: 0xcd'].join('\n'),
    );
    expect(claimMessage({ ...p, accountId: 'acc-2' })).not.toBe(claimMessage(p));
  });

  it('a pending intent past its expiry reads as expired; other statuses stay', () => {
    const t = new Date('2026-01-01T00:00:00Z');
    expect(intentStatusAt('pending', t, new Date(t.getTime() - 1))).toBe('pending');
    expect(intentStatusAt('pending', t, t)).toBe('expired');
    expect(intentStatusAt('seen', t, new Date(t.getTime() + 1))).toBe('seen');
    expect(intentStatusAt('credited', t, new Date(t.getTime() + 1))).toBe('credited');
  });
});
