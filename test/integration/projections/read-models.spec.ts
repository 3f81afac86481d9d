import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { ProjectionRunner } from '../../../projections/runner';
import { allProjections } from '../../../projections';
import { LedgerReadRepository } from '../../../src/ledger/application/ledger-read.repository';
import { LedgerVerifier } from '../../../src/ledger/application/ledger-verifier';
import { randomWorkload } from '../../../bench/ledger/workload';
import { AccountCommand } from '../../../src/ledger/domain/account.decider';
import { LedgerHarness, inAnHour, ledgerHarness, newAccountId } from '../../support/ledger-harness';
import { within } from '../../support/wait';
import { TEST_PG_URL } from '../../support/test-env';

/** Every read-model table, sorted, as text: two snapshots are equal iff the tables are. */
async function snapshot(pool: Pool): Promise<Record<string, string[]>> {
  const tables = [
    ['rm_balances', 'balances'],
    ['rm_account_entries', 'entries'],
    ['rm_account_entries', 'ledger_accounts'],
    ['rm_transactions', 'transactions'],
    ['rm_daily_usage', 'daily_usage'],
    ['rm_open_holds', 'open_holds'],
    ['rm_key_spend', 'key_spend'],
    ['rm_key_spend', 'key_holds'],
  ];
  const out: Record<string, string[]> = {};
  for (const [schema, table] of tables) {
    const { rows } = await pool.query(`SELECT t::text AS row FROM ${schema}.${table} t ORDER BY 1`);
    out[`${schema}.${table}`] = rows.map((r) => r.row as string);
  }
  return out;
}

/**
 * Outages on some accounts: holds expire before their settles arrive, the credit is spent, the
 * settles come late (some paid, some partly owed), then credits and released holds repay.
 */
async function lateSettles(h: LedgerHarness, accounts: number): Promise<void> {
  const past = () => new Date(Date.now() - 1000).toISOString();
  for (let n = 0; n < accounts; n++) {
    const a = newAccountId();
    const run = (c: AccountCommand) => h.ledger.execute(a, c);
    await run({ type: 'OpenAccount', data: { accountId: a } });
    await run({ type: 'PurchaseCredits', data: { paymentId: `pi_${a}`, amount: 2_000_000n } });
    // Placed for API keys: the late settles count for them (per-key spend).
    for (const i of [1, 2]) await run({ type: 'PlaceHold', data: { holdId: `${a}-${i}`, amount: 500_000n, expiresAt: past(), keyId: `key-${n % 3}` } });
    for (const i of [1, 2]) await run({ type: 'ExpireHold', data: { holdId: `${a}-${i}` } });
    await run({ type: 'PlaceHold', data: { holdId: `${a}-big`, amount: 2_000_000n - 100_000n * BigInt(n), expiresAt: inAnHour(), keyId: `key-${n % 3}` } });
    const usage = { model: 'gpt-4o', inputTokens: 10 + n, outputTokens: n, cachedTokens: 0, estimated: n % 2 === 0 };
    for (const i of [1, 2]) await run({ type: 'SettleHold', data: { holdId: `${a}-${i}`, amount: 150_000n * BigInt(i), upstreamCost: 10_000n, usage } });
    await run({ type: 'GrantCredits', data: { grantId: `g-${a}`, amount: 120_000n, reason: 'promo' } });
    if (n % 2 === 0) await run({ type: 'VoidHold', data: { holdId: `${a}-big`, reason: 'upstream failed' } });
  }
}

describe('read models (real Postgres)', () => {
  let h: LedgerHarness;
  let runner: ProjectionRunner;
  let reads: LedgerReadRepository;

  beforeAll(async () => {
    h = await ledgerHarness();
    runner = new ProjectionRunner(h.db.pool, h.store, allProjections(), { pollMs: 20 });
    await runner.start();
    reads = new LedgerReadRepository(h.db.pool);
  });
  afterAll(async () => {
    await runner.stop();
    await h.close();
  });

  it('follows the log: balances, entries and the trial balance match what happened', async () => {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await h.ledger.execute(account, { type: 'PurchaseCredits', data: { paymentId: `pi_${randomUUID()}`, amount: 10_000_000n } });
    const holdId = randomUUID();
    await h.ledger.execute(account, { type: 'PlaceHold', data: { holdId, amount: 2_000_000n, expiresAt: inAnHour() } });
    await runner.caughtUp();
    expect(await reads.balance(account)).toMatchObject({ available: 8_000_000n, held: 2_000_000n });

    await h.ledger.execute(account, { type: 'SettleHold', data: { holdId, amount: 750_001n, upstreamCost: 500_000n } });
    await runner.caughtUp();
    expect(await reads.balance(account)).toMatchObject({ available: 9_249_999n, held: 0n });
    const tb = await reads.trialBalance();
    expect(tb.total).toBe(0n);
    const line = (a: string) => tb.lines.find((l) => l.ledgerAccount === a)?.balance;
    expect(line(`user:${account}:available`)).toBe(9_249_999n);
    expect(line('upstream:payable')).toBe(500_000n);
  });

  it('answers balances as of any instant in history', async () => {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await h.ledger.execute(account, { type: 'GrantCredits', data: { grantId: 'a', amount: 5_000_000n, reason: 'promo' } });
    await new Promise((r) => setTimeout(r, 30));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 30));
    await h.ledger.execute(account, { type: 'GrantCredits', data: { grantId: 'b', amount: 1_000_000n, reason: 'promo' } });
    await runner.caughtUp();
    expect((await reads.balance(account, between)).available).toBe(5_000_000n);
    expect((await reads.balance(account, new Date())).available).toBe(6_000_000n);
    expect((await reads.balance(account, new Date(0))).available).toBe(0n);
    expect((await reads.trialBalance(between)).total).toBe(0n);
    await expect(reads.balance(newAccountId())).rejects.toMatchObject({ code: 'account_not_found' });
  });

  it('rebuilt read models equal the live ones after a random workload, and verify finds nothing', async () => {
    let flip = false;
    const past = new Date(Date.now() - 1000).toISOString();
    // Each step is timed on its own: a hang (seen once in a full run, never alone) names its step
    // and what the database was doing then, instead of jest's bare 60 s timeout.
    const busy = async () => {
      const { rows } = await h.db.pool.query<{ line: string }>(
        `SELECT format('%s %s for %ss: %s', pid, coalesce(wait_event_type || '/' || wait_event, state),
                       round(extract(epoch FROM now() - query_start)), left(query, 160)) AS line
           FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`,
      );
      return `busy in the database: ${rows.map((r) => r.line).join(' | ') || 'nothing'}`;
    };
    const workload = randomWorkload(h.ledger, {
      seed: 42,
      accounts: 30,
      steps: 1500,
      expiresAt: () => {
        flip = !flip;
        return flip ? past : inAnHour();
      },
    });
    await within(workload, 25_000, 'the random workload', busy);
    await within(lateSettles(h, 6), 20_000, 'the late settles', busy);
    await within(runner.caughtUp(), 20_000, 'catching up after the workload', busy);
    // Some holds were extended and are still open: verify compares their moved expiry too.
    const { rows: extended } = await h.db.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM rm_open_holds.open_holds WHERE expires_at > now() + interval '90 minutes'",
    );
    expect(extended[0].n).toBeGreaterThan(0);
    const live = await snapshot(h.db.pool);
    // The outages left debts, repaid some of them, and were counted as usage.
    const { rows: late } = await h.db.pool.query<{ owing: number; repaid: number }>(
      `SELECT (SELECT count(*)::int FROM rm_balances.balances WHERE receivable > 0) AS owing,
              (SELECT count(*)::int FROM rm_transactions.transactions WHERE kind = 'receivable_repaid') AS repaid`,
    );
    expect(late[0].owing).toBeGreaterThan(0);
    expect(late[0].repaid).toBeGreaterThan(0);
    expect(live['rm_account_entries.entries'].length).toBeGreaterThan(1000);

    const progress = await within(runner.rebuild(), 20_000, 'the rebuild beside the live runner', busy);
    expect(progress.events).toBeGreaterThan(1000);
    await within(runner.caughtUp(), 20_000, 'catching up after the rebuild', busy);
    expect(await snapshot(h.db.pool)).toEqual(live);

    const report = await new LedgerVerifier(h.db.pool, h.store).verify();
    expect(report.problems).toEqual([]);
    expect(report.events).toBe(progress.events);
  });

  it('a rebuild holds what was committed before it began, though a transaction open elsewhere hides it from the log for a while', async () => {
    // Another database's transaction with an xid older than the events below: the log serves only
    // what lies below every snapshot's xmin (cluster-wide), so they stay unserved until it ends.
    const other = new Pool({ connectionString: TEST_PG_URL, max: 1 });
    const hider = await other.connect();
    try {
      await hider.query('BEGIN');
      await hider.query('SELECT pg_current_xact_id()');
      const a = newAccountId();
      await h.ledger.execute(a, { type: 'OpenAccount', data: { accountId: a } });
      await h.ledger.execute(a, { type: 'GrantCredits', data: { grantId: 'g', amount: 7_000_000n, reason: 'hidden for a while' } });
      // What the models hold the moment the rebuild returns (the live runner cannot have added it before the commit).
      const atReturn = runner
        .rebuild()
        .then(() => h.db.pool.query<{ available: string }>('SELECT available::text FROM rm_balances.balances WHERE account_id = $1', [a]));
      await new Promise((r) => setTimeout(r, 1000));
      await hider.query('COMMIT');
      expect((await atReturn).rows).toEqual([{ available: '7000000' }]);
    } finally {
      await hider.query('ROLLBACK').catch(() => undefined);
      hider.release();
      await other.end();
    }
  });

  it('verify reports a read model that drifted and an event whose hash no longer chains', async () => {
    const account = newAccountId();
    await h.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await h.ledger.execute(account, { type: 'GrantCredits', data: { grantId: 'x', amount: 3_000_000n, reason: 'promo' } });
    await runner.caughtUp();
    await runner.stop();
    try {
      await h.db.pool.query('UPDATE rm_balances.balances SET available = available + 1 WHERE account_id = $1', [account]);
      const client = await h.db.pool.connect();
      await client.query('BEGIN');
      await client.query("SET LOCAL tollgate.allow_event_rewrite = 'on'");
      await client.query(`UPDATE events SET data = jsonb_set(data, '{amount}', '"4000000"') WHERE stream_id = $1 AND type = 'CreditsGranted'`, [`account-${account}`]);
      await client.query('COMMIT');
      client.release();
      const report = await new LedgerVerifier(h.db.pool, h.store).verify();
      expect(report.problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`balances: account ${account} available is 3000001, replay says 4000000`)),
          expect.stringMatching(new RegExp(`stream account-${account} v3 .*hash chain broken`)),
        ]),
      );
    } finally {
      await runner.start();
    }
  });
});
