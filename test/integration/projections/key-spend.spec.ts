/**
 * The per-key spend read model: what a key's holds settled for, per UTC day, late settles
 * included, whether the hold was placed in the same page as its settle or long before; and a
 * rebuild that leaves exactly the rows following did.
 */
import { Pool } from 'pg';
import { ProjectionRunner } from '../../../projections/runner';
import { allProjections } from '../../../projections';
import { AccountCommand } from '../../../src/ledger/domain/account.decider';
import { KeySpendRepository } from '../../../src/proxy/limits/key-spend.repository';
import { LedgerHarness, inAnHour, ledgerHarness, newAccountId } from '../../support/ledger-harness';

async function tables(pool: Pool): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of ['key_spend', 'key_holds']) {
    const { rows } = await pool.query(`SELECT t::text AS row FROM rm_key_spend.${table} t ORDER BY 1`);
    out[table] = rows.map((r) => r.row as string);
  }
  return out;
}

describe('per-key spend read model (real Postgres)', () => {
  let h: LedgerHarness;
  let runner: ProjectionRunner;
  let spent: KeySpendRepository;

  beforeAll(async () => {
    h = await ledgerHarness();
    runner = new ProjectionRunner(h.db.pool, h.store, allProjections(), { pollMs: 20 });
    await runner.start();
    spent = new KeySpendRepository(h.db.pool);
  });
  afterAll(async () => {
    await runner?.stop();
    await h?.close();
  });

  it('sums what each key settled, late settles included; voids, expiries and keyless holds count for no key', async () => {
    const account = newAccountId();
    const [keyA, keyB] = [`key-a-${account}`, `key-b-${account}`];
    const run = (c: AccountCommand) => h.ledger.execute(account, c);
    const past = () => new Date(Date.now() - 1000).toISOString();
    await run({ type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
    await run({ type: 'PurchaseCredits', data: { paymentId: `pi_${account}`, amount: 10_000_000n } });
    // Placed, then followed before they resolve: their settles find the key in key_holds.
    await run({ type: 'PlaceHold', data: { holdId: `${account}-early`, amount: 1_000_000n, expiresAt: inAnHour(), keyId: keyA } });
    await run({ type: 'PlaceHold', data: { holdId: `${account}-late`, amount: 1_000_000n, expiresAt: past(), keyId: keyA } });
    await run({ type: 'PlaceHold', data: { holdId: `${account}-open`, amount: 1_000_000n, expiresAt: inAnHour(), keyId: keyB } });
    await runner.caughtUp();
    expect((await tables(h.db.pool)).key_holds).toHaveLength(3);
    await run({ type: 'ExpireHold', data: { holdId: `${account}-late` } });
    await runner.caughtUp();
    // Expired: its key stays, for the late settle.
    expect((await tables(h.db.pool)).key_holds).toHaveLength(3);
    await run({ type: 'SettleHold', data: { holdId: `${account}-early`, amount: 100_000n } });
    await run({ type: 'SettleHold', data: { holdId: `${account}-late`, amount: 20_000n } });
    // Placed and resolved between two looks of the runner (likely one page).
    await run({ type: 'PlaceHold', data: { holdId: `${account}-same`, amount: 1_000_000n, expiresAt: inAnHour(), keyId: keyA } });
    await run({ type: 'SettleHold', data: { holdId: `${account}-same`, amount: 3_000n } });
    await run({ type: 'PlaceHold', data: { holdId: `${account}-voided`, amount: 1_000_000n, expiresAt: inAnHour(), keyId: keyB } });
    await run({ type: 'VoidHold', data: { holdId: `${account}-voided`, reason: 'upstream failed' } });
    await run({ type: 'PlaceHold', data: { holdId: `${account}-keyless`, amount: 1_000_000n, expiresAt: inAnHour() } });
    await run({ type: 'SettleHold', data: { holdId: `${account}-keyless`, amount: 400_000n } });
    await runner.caughtUp();

    expect(await spent.totalSpent(keyA)).toBe(123_000n);
    expect(await spent.totalSpent(keyB)).toBe(0n);
    expect(await spent.totalSpent('no-such-key')).toBe(0n);
    const { rows } = await h.db.pool.query('SELECT key_id, account_id, spent::text, requests::int FROM rm_key_spend.key_spend WHERE account_id = $1', [account]);
    expect(rows).toEqual([{ key_id: keyA, account_id: account, spent: '123000', requests: 3 }]);
    // Only the hold still open keeps its key.
    const { rows: holds } = await h.db.pool.query('SELECT hold_id, key_id FROM rm_key_spend.key_holds WHERE account_id = $1', [account]);
    expect(holds).toEqual([{ hold_id: `${account}-open`, key_id: keyB }]);

    const live = await tables(h.db.pool);
    await runner.rebuild();
    await runner.caughtUp();
    expect(await tables(h.db.pool)).toEqual(live);
  });
});
