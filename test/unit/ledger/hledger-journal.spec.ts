/**
 * The hledger journal writer on its own: an event whose postings straddle two pages is still one
 * transaction, and account ids hledger would misread (whitespace) still give one valid name.
 */
import { HledgerTransactions, hledgerAccount, openingTransaction } from '../../../src/ledger/cli/hledger-journal';
import { PostingRow } from '../../../src/ledger/application/ledger-read.repository';

const at = new Date('2026-12-06T10:00:00.123Z');
const row = (eventId: string, ledgerAccount: string, amount: bigint): PostingRow => ({
  occurredAt: at, eventId, eventType: 'HoldSettled', accountId: 'a', ledgerAccount, amount, balanceAfter: 0n, logTx: 1n, logSeq: 1n,
});

describe('hledger journal', () => {
  it('keeps an event whose postings span two pages in one transaction', () => {
    const t = new HledgerTransactions();
    const first = t.page([row('e1', 'revenue', 1n), row('e1', 'user:a:held', -1n), row('e2', 'revenue', 2n)]);
    expect(first).toBe(
      '2026-12-06 HoldSettled  ; at:2026-12-06T10:00:00.123Z, event:e1\n    revenue  0.000001 CR\n    user:a:held  -0.000001 CR\n\n',
    );
    expect(t.page([row('e2', 'user:a:held', -2n)])).toBe('');
    expect(t.end()).toBe('2026-12-06 HoldSettled  ; at:2026-12-06T10:00:00.123Z, event:e2\n    revenue  0.000002 CR\n    user:a:held  -0.000002 CR\n\n');
    expect(t.end()).toBe('');
  });

  it('writes nothing for no postings, and no opening transaction without earlier events', () => {
    const t = new HledgerTransactions();
    expect(t.page([])).toBe('');
    expect(t.end()).toBe('');
    expect(openingTransaction(at, [])).toBe('');
  });

  it('keeps zero balances in the opening transaction, so it names the same accounts as the trial balance', () => {
    expect(openingTransaction(at, [{ ledgerAccount: 'user:a:held', balance: 0n }, { ledgerAccount: 'revenue', balance: -12_345_678_901_234_567_890n }])).toBe(
      '2026-12-06 opening balances  ; at:2026-12-06T10:00:00.123Z, opening:\n    user:a:held  0.000000 CR\n    revenue  -12345678901234.567890 CR\n\n',
    );
  });

  it('turns whitespace that would end an account name for hledger into _, keeping single spaces', () => {
    expect(hledgerAccount('user:a  b\tc\nd:available')).toBe('user:a__b_c_d:available');
    expect(hledgerAccount('user:a;b (x):held')).toBe('user:a;b (x):held');
  });
});
