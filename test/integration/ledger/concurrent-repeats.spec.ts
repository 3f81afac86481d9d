/**
 * The same command several times at once, after it was carried out (a payment's webhook
 * redelivered concurrently): the lane groups them, the append finds every event in the log, and
 * every copy is answered as a retry. (The copies beyond the first once waited forever.)
 */
import { LedgerHarness, ledgerHarness, newAccountId } from '../../support/ledger-harness';

describe('concurrent copies of a command already carried out', () => {
  let h: LedgerHarness;
  beforeAll(async () => {
    h = await ledgerHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers every copy, idempotently, and credits once', async () => {
    const accountId = newAccountId();
    await h.ledger.execute(accountId, { type: 'OpenAccount', data: { accountId } });
    const purchase = { type: 'PurchaseCredits' as const, data: { paymentId: 'pi_repeat', amount: 5_000_000n } };
    await h.ledger.execute(accountId, purchase);
    // Another instance (a fresh lane) receives five copies at once.
    const other = h.other();
    const outcomes = await Promise.race([
      Promise.all(Array.from({ length: 5 }, () => other.execute(accountId, purchase))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('copies of the command were never answered')), 5_000)),
    ]);
    expect(outcomes.map((o) => o.idempotent)).toEqual([true, true, true, true, true]);
    expect((await h.ledger.load(accountId)).state.available).toBe(5_000_000n);
  });
});
