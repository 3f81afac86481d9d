/**
 * The accountant's commands, run as the built CLI over a fresh database with a real history:
 * balances now and as of an instant, the trial balance, verify (clean and tampered), replay,
 * export, and bad input.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { systemClock } from '../../src/platform/clock';
import { freshDb, FreshDb } from '../support/fresh-db';
import { CLI, expectOneErrorLine, run } from '../support/cli-runner';

describe('tollgate ledger … (built CLI, real Postgres)', () => {
  let db: FreshDb;
  let store: PostgresEventStore;
  const account = randomUUID();
  let between: string;
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'ledger', ...args], { DATABASE_URL: db.url });

  beforeAll(async () => {
    db = await freshDb(4);
    store = new PostgresEventStore(db.pool);
    const ledger = new LedgerService(store, systemClock);
    await ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await ledger.execute(account, { type: 'PurchaseCredits', data: { paymentId: 'pi_1', amount: 20_000_000n } });
    await new Promise((r) => setTimeout(r, 20));
    between = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 20));
    const holdId = randomUUID();
    await ledger.execute(account, { type: 'PlaceHold', data: { holdId, amount: 3_000_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(account, { type: 'SettleHold', data: { holdId, amount: 1_234_567n } });
    await ledger.execute(account, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 500_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
  }, 180_000);
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('balance: exact decimals now and as of an earlier instant (read models brought up to date first)', async () => {
    const now = await tollgate('balance', '--account', account, '--json');
    expect(now).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(JSON.parse(now.stdout)).toMatchObject({ available: '18.265433', held: '0.500000', total: '18.765433' });
    const then = await tollgate('balance', '--account', account, '--as-of', between, '--json');
    expect(JSON.parse(then.stdout)).toMatchObject({ available: '20.000000', held: '0.000000' });
    const human = await tollgate('balance', '--account', account);
    expect(human.stdout).toMatch(/available\s+18\.265433/);
  });

  it('trial-balance: every ledger account, totalling zero, now and as of an instant', async () => {
    const r = await tollgate('trial-balance', '--json');
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const tb = JSON.parse(r.stdout);
    expect(tb).toMatchObject({ total: '0.000000', balanced: true });
    expect(tb.lines).toEqual(
      expect.arrayContaining([
        { ledgerAccount: 'stripe:clearing', balance: '-20.000000' },
        { ledgerAccount: 'revenue', balance: '1.234567' },
        { ledgerAccount: `user:${account}:held`, balance: '0.500000' },
      ]),
    );
    const then = JSON.parse((await tollgate('trial-balance', '--as-of', between, '--json')).stdout);
    expect(then.total).toBe('0.000000');
    expect(then.lines.find((l: { ledgerAccount: string }) => l.ledgerAccount === 'revenue')).toBeUndefined();
  });

  it('export: every posting in the period, as CSV and as JSON lines, to stdout or a file', async () => {
    const csv = await tollgate('export', '--from', '2020-01-01', '--to', '2100-01-01');
    expect(csv).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const lines = csv.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('occurred_at,event_id,event_type,account_id,ledger_account,amount,balance_after,log_position');
    // purchase 2 + hold 2 + settle 3 (held, available, revenue) + hold 2 postings
    expect(lines).toHaveLength(1 + 9);
    const file = join(mkdtempSync(join(tmpdir(), 'tollgate-')), 'postings.jsonl');
    const jsonl = await tollgate('export', '--from', '2020-01-01', '--to', '2100-01-01', '--format', 'jsonl', '--output', file);
    expect(jsonl).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const rows = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(9);
    expect(rows.reduce((t, r) => t + BigInt(r.amount.replace('.', '')), 0n)).toBe(0n);
    const none = await tollgate('export', '--from', '2000-01-01', '--to', '2000-01-02', '--format', 'jsonl');
    expect(none.stdout).toBe('');
  });

  it('replay: rebuilds every read model and says how fast', async () => {
    const r = await tollgate('replay', '--json');
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(JSON.parse(r.stdout)).toMatchObject({ events: 6 }) // opened, free requests, purchase, hold, settle, hold;
    const after = await tollgate('balance', '--account', account, '--json');
    expect(JSON.parse(after.stdout)).toMatchObject({ available: '18.265433', held: '0.500000' });
  });

  it('verify: exit 0 on a sound ledger; exit 1 listing what differs after tampering', async () => {
    const ok = await tollgate('verify');
    expect(ok).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(ok.stdout).toMatch(/^ok: /);
    await db.pool.query('UPDATE rm_balances.balances SET held = held + 7 WHERE account_id = $1', [account]);
    const bad = await tollgate('verify', '--json');
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout);
    expect(report.ok).toBe(false);
    expect(report.problems).toContain(`balances: account ${account} held is 500007, replay says 500000`);
    await db.pool.query('UPDATE rm_balances.balances SET held = held - 7 WHERE account_id = $1', [account]);
  });

  it('bad input: one error line, non-zero exit', async () => {
    expectOneErrorLine(await tollgate('balance', '--account', account, '--as-of', '31/03/2026'), /--as-of: must be an ISO 8601/);
    expectOneErrorLine(await tollgate('balance', '--account', account, '--as-of', '2026-02-30'), /--as-of/);
    expectOneErrorLine(await tollgate('balance', '--account', randomUUID()), /account_not_found/);
    expectOneErrorLine(await tollgate('export', '--from', '2026-01-02', '--to', '2026-01-01'), /--from must be before --to/);
    expectOneErrorLine(await tollgate('export', '--from', '2026-01-01', '--to', '2026-01-02', '--format', 'xml'), /--format: must be csv, jsonl or hledger/);
    expectOneErrorLine(await tollgate('trial-balance', '--as-of', 'soon'), /--as-of/);
  });
});

describe('tollgate ledger balance and verify with a late settle (built CLI, real Postgres)', () => {
  let db: FreshDb;
  let store: PostgresEventStore;
  const account = randomUUID();
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'ledger', ...args], { DATABASE_URL: db.url });

  beforeAll(async () => {
    db = await freshDb(4);
    store = new PostgresEventStore(db.pool);
    const ledger = new LedgerService(store, systemClock);
    // A hold expires before its settle arrives, the rest of the credit is held: 0.150000 is owed.
    await ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
    await ledger.execute(account, { type: 'PurchaseCredits', data: { paymentId: 'pi_1', amount: 1_000_000n } });
    await ledger.execute(account, { type: 'PlaceHold', data: { holdId: 'h1', amount: 600_000n, expiresAt: new Date(Date.now() - 1000).toISOString() } });
    await ledger.execute(account, { type: 'ExpireHold', data: { holdId: 'h1' } });
    await ledger.execute(account, { type: 'PlaceHold', data: { holdId: 'h2', amount: 900_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(account, { type: 'SettleHold', data: { holdId: 'h1', amount: 250_000n } });
  }, 180_000);
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('balance shows what is owed, and a total net of it; verify shows what accounts owe', async () => {
    const b = await tollgate('balance', '--account', account, '--json');
    expect(b).toMatchObject({ code: 0 }); // on failure, shows its stderr
    expect(JSON.parse(b.stdout)).toMatchObject({ available: '0.000000', held: '0.900000', receivable: '0.150000', total: '0.750000' });
    expect((await tollgate('balance', '--account', account)).stdout).toMatch(/owed\s+0\.150000/);
    const v = await tollgate('verify', '--json');
    expect(v).toMatchObject({ code: 0 });
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, receivable: '0.150000', accountsOwing: 1 });
    expect((await tollgate('verify')).stdout).toMatch(/receivables: 0\.150000 owed by 1 account/);
  });
});
