/**
 * Amounts at the ledger's bound, through every read model: a grant of 10^15 µcr applies, and a
 * house account that sums such grants over history goes past bigint (2^63 - 1 ≈ 9.22 × 10^18)
 * without error, exactly, when followed, read back, rebuilt and verified.
 */
import { ProjectionRunner } from '../../../projections/runner';
import { allProjections } from '../../../projections';
import { LedgerReadRepository } from '../../../src/ledger/application/ledger-read.repository';
import { LedgerVerifier } from '../../../src/ledger/application/ledger-verifier';
import { MAX_MICROS } from '../../../src/shared/money';
import { LedgerHarness, ledgerHarness, newAccountId } from '../../support/ledger-harness';

const INT8_MAX = 2n ** 63n - 1n;
// Grants of 10^15 µcr, each refunded again so the account stays within the bound.
const ROUNDS = 9_300;

describe('house accounts past bigint (real Postgres)', () => {
  let h: LedgerHarness;
  let runner: ProjectionRunner;
  const account = newAccountId();

  beforeAll(async () => {
    h = await ledgerHarness();
    runner = new ProjectionRunner(h.db.pool, h.store, allProjections(), { pollMs: 20 });
    await runner.start();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    // Queued at once, so the ledger decides them in order and appends them in group commits.
    const commands = [];
    for (let i = 0; i < ROUNDS; i++) {
      commands.push(h.ledger.execute(account, { type: 'GrantCredits', data: { grantId: `g${i}`, amount: MAX_MICROS, reason: 'promo' } }));
      commands.push(h.ledger.execute(account, { type: 'RefundCredits', data: { refundId: `r${i}`, amount: MAX_MICROS, reason: 'back' } }));
    }
    await Promise.all(commands);
  }, 240_000);
  afterAll(async () => {
    await runner?.stop();
    await h?.close();
  });

  it('the followed read models hold the sums exactly, the trial balance totals zero', async () => {
    await runner.caughtUp(60_000);
    expect(await runner.halted()).toEqual([]);
    const tb = await new LedgerReadRepository(h.db.pool).trialBalance();
    const line = (a: string) => tb.lines.find((l) => l.ledgerAccount === a)?.balance;
    const total = BigInt(ROUNDS) * MAX_MICROS;
    expect(total > INT8_MAX).toBe(true);
    expect(line('promo')).toBe(-total);
    expect(line('refunds')).toBe(total);
    expect(tb.total).toBe(0n);
    // As of now (the sum over entries) says the same.
    const asOf = await new LedgerReadRepository(h.db.pool).trialBalance(new Date(Date.now() + 60_000));
    expect(asOf.lines.find((l) => l.ledgerAccount === 'promo')?.balance).toBe(-total);
    expect(asOf.total).toBe(0n);
    // The export's running balance of the last promo entry, read back exactly.
    const reads = new LedgerReadRepository(h.db.pool);
    let last: bigint | undefined;
    for await (const page of reads.postings(new Date(0), new Date(Date.now() + 60_000), 20_000)) {
      for (const r of page) if (r.ledgerAccount === 'promo') last = r.balanceAfter;
    }
    expect(last).toBe(-total);
    const { rows } = await h.db.pool.query('SELECT max(amount) AS max FROM rm_transactions.transactions WHERE account_id = $1', [account]);
    expect(rows[0].max).toBe(MAX_MICROS); // one grant at the bound, in a bigint column
  }, 200_000);

  it('a rebuild gives the same figures, and verify finds nothing', async () => {
    await runner.caughtUp(60_000);
    const before = await new LedgerReadRepository(h.db.pool).trialBalance();
    await runner.rebuild();
    await runner.caughtUp(60_000);
    expect(await new LedgerReadRepository(h.db.pool).trialBalance()).toEqual(before);
    const report = await new LedgerVerifier(h.db.pool, h.store).verify();
    expect(report.problems).toEqual([]);
  }, 200_000);
});
