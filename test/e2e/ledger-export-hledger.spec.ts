/**
 * `tollgate ledger export --format hledger` read back by hledger itself (Debian's `hledger`):
 * the journal passes `hledger check`, sums to zero, and its balances equal the trial balance
 * and each account's available and held as of the export's `--to`, with and without opening
 * balances, over an empty window and with a boundary exactly at an event's instant.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { systemClock } from '../../src/platform/clock';
import { parseCredits } from '../../src/shared/money';
import { freshDb, FreshDb } from '../support/fresh-db';
import { CLI, run } from '../support/cli-runner';

const probe = spawnSync('hledger', ['--version'], { encoding: 'utf8' });
const skipReason = probe.error || probe.status !== 0 ? 'hledger is not installed (apt-get install hledger)' : null;
if (skipReason) console.warn(`SKIPPED ledger export --format hledger against hledger: ${skipReason}`);
const describeWithHledger = skipReason ? describe.skip : describe;

const pause = () => new Promise((r) => setTimeout(r, 25));

function hledger(file: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('hledger', ['-f', file, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `hledger bal`, every account flat with zeros kept, as account → µcr. */
function hledgerBalances(file: string): Map<string, bigint> {
  const r = hledger(file, 'bal', '--flat', '--empty', '--no-total', '-O', 'csv');
  expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
  const rows = r.stdout.trim().split('\n').slice(1).filter(Boolean);
  return new Map(
    rows.map((line) => {
      const [account, amount] = JSON.parse(`[${line}]`) as [string, string];
      const n = amount.replace(/\s*CR$/, '');
      return [account, parseCredits(n.startsWith('-') ? n.slice(1) : n) * (n.startsWith('-') ? -1n : 1n)];
    }),
  );
}

describeWithHledger('tollgate ledger export --format hledger (built CLI, real Postgres, hledger)', () => {
  let db: FreshDb;
  let store: PostgresEventStore;
  const alice = randomUUID();
  const bob = randomUUID();
  const carol = `carol; (x) é ${randomUUID()}`; // characters hledger must take as part of the name
  const dave = randomUUID(); // refunds, freezes and a lost dispute (issue 20)
  let gap1: string; // between alice's purchase and the rest
  let gap2: string; // after everything
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-hledger-'));
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'ledger', ...args], { DATABASE_URL: db.url });

  async function journal(name: string, ...args: string[]): Promise<string> {
    const file = join(dir, name);
    const r = await tollgate('export', '--format', 'hledger', '--output', file, ...args);
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    return file;
  }

  async function trialBalance(asOf: string): Promise<Map<string, bigint>> {
    const r = await tollgate('trial-balance', '--as-of', asOf, '--json');
    expect(r).toMatchObject({ code: 0 }); // on failure, shows its stderr
    const tb = JSON.parse(r.stdout) as { lines: { ledgerAccount: string; balance: string }[] };
    return new Map(tb.lines.map((l) => [l.ledgerAccount, BigInt(l.balance.replace('.', ''))]));
  }

  async function expectMatchesLedger(file: string, asOf: string): Promise<void> {
    expect(hledger(file, 'check')).toMatchObject({ code: 0, stderr: '' });
    const fromHledger = hledgerBalances(file);
    expect(fromHledger).toEqual(await trialBalance(asOf));
    for (const account of [alice, bob, carol, dave]) {
      const b = await tollgate('balance', '--account', account, '--as-of', asOf, '--json');
      const { available, held, frozen } = JSON.parse(b.stdout) as { available: string; held: string; frozen: string };
      expect(fromHledger.get(`user:${account}:available`) ?? 0n).toBe(parseCredits(available));
      expect(fromHledger.get(`user:${account}:held`) ?? 0n).toBe(parseCredits(held));
      expect(fromHledger.get(`user:${account}:frozen`) ?? 0n).toBe(parseCredits(frozen));
    }
    // The whole journal sums to zero.
    const total = hledger(file, 'bal', '--no-elide', '-O', 'csv');
    expect(total.stdout.trim().split('\n').at(-1)).toMatch(/^"(Total:|total)",\s*"0"$/i);
  }

  beforeAll(async () => {
    db = await freshDb(4);
    store = new PostgresEventStore(db.pool);
    const ledger = new LedgerService(store, systemClock);
    await ledger.execute(alice, { type: 'OpenAccount', data: { accountId: alice } });
    await ledger.execute(alice, { type: 'PurchaseCredits', data: { paymentId: 'pi_1', amount: 20_000_000n } });
    await pause();
    gap1 = new Date().toISOString();
    await pause();
    await ledger.execute(bob, { type: 'OpenAccount', data: { accountId: bob } });
    await ledger.execute(bob, { type: 'PurchaseCredits', data: { paymentId: 'pi_2', amount: 7_000_001n } });
    const holdId = randomUUID();
    await ledger.execute(alice, { type: 'PlaceHold', data: { holdId, amount: 3_000_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(alice, { type: 'SettleHold', data: { holdId, amount: 1_234_567n, upstreamCost: 1_000_000n } });
    await ledger.execute(bob, { type: 'PlaceHold', data: { holdId: randomUUID(), amount: 500_000n, expiresAt: new Date(Date.now() + 60_000).toISOString() } });
    await ledger.execute(carol, { type: 'OpenAccount', data: { accountId: carol } });
    await ledger.execute(carol, { type: 'PurchaseCredits', data: { paymentId: 'pi_3', amount: 1n } });
    // dave: 10 bought and 1 granted; 2 of the purchase refunded through a freeze; then the
    // purchase disputed for all 10 (9 available to freeze) and lost: 1 owed, repaid by a grant.
    await ledger.execute(dave, { type: 'OpenAccount', data: { accountId: dave, freeRequests: 0 } });
    await ledger.execute(dave, { type: 'PurchaseCredits', data: { paymentId: 'pi_4', amount: 10_000_000n } });
    await ledger.execute(dave, { type: 'GrantCredits', data: { grantId: 'g1', amount: 1_000_000n, reason: 'welcome' } });
    await ledger.execute(dave, { type: 'FreezeCredits', data: { freezeId: 'rr1', paymentId: 'pi_4', amount: 2_000_000n, reason: 'refund request rr1' } });
    await ledger.execute(dave, { type: 'RefundCredits', data: { refundId: 're_1', amount: 2_000_000n, reason: 'refund request rr1', freezeId: 'rr1' } });
    await ledger.execute(dave, { type: 'OpenDispute', data: { disputeId: 'dp_1', paymentId: 'pi_4', amount: 10_000_000n } });
    await ledger.execute(dave, { type: 'CloseDispute', data: { disputeId: 'dp_1', outcome: 'lost' } });
    await ledger.execute(dave, { type: 'GrantCredits', data: { grantId: 'g2', amount: 3_000_000n, reason: 'goodwill' } });
    await pause();
    gap2 = new Date().toISOString();
  }, 180_000);
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('the whole history: one transaction per event, tagged, in one commodity to 6 decimals; hledger agrees with the ledger', async () => {
    const file = await journal('all.journal', '--to', gap2);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/opening balances/);
    const heads = text.split('\n').filter((l) => /^\d{4}-\d{2}-\d{2} /.test(l));
    expect(heads.map((h) => h.split(' ')[1])).toEqual([
      'CreditsPurchased',
      'CreditsPurchased',
      'HoldPlaced',
      'HoldSettled',
      'HoldPlaced',
      'CreditsPurchased',
      ...['CreditsPurchased', 'CreditsGranted', 'CreditsFrozen', 'CreditsRefunded', 'DisputeOpened', 'DisputeLost', 'CreditsGranted', 'ReceivableRepaid'],
    ]);
    for (const h of heads) expect(h).toMatch(/^(\d{4}-\d{2}-\d{2}) \w+ {2}; at:\1T\d{2}:\d{2}:\d{2}\.\d{3}Z, event:[0-9a-f-]{36}$/);
    expect(text).toContain(`    stripe:clearing  -20.000000 CR\n    user:${alice}:available  20.000000 CR\n`);
    expect(text).toMatch(/ {4}upstream:payable {2}1\.000000 CR\n/);
    expect(text).toMatch(/ {4}revenue {2}0\.234567 CR\n/);
    expect(text).toContain(`    user:${carol}:available  0.000001 CR\n`);
    expect(text).toContain(`    chargebacks  10.000000 CR\n    receivables  -1.000000 CR\n    user:${dave}:frozen  -9.000000 CR\n`);
    await expectMatchesLedger(file, gap2);
    // Both bounds default (the first event to now): the same transactions.
    const dflt = await journal('default.journal');
    expect(readFileSync(dflt, 'utf8').split('\n').filter((l) => /^\d{4}/.test(l))).toEqual(heads);
  });

  it('a later --from: the balances before it as one opening transaction, and hledger still agrees as of --to', async () => {
    const file = await journal('later.journal', '--from', gap1, '--to', gap2);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`${gap1.slice(0, 10)} opening balances  ; at:${gap1}, opening:\n    stripe:clearing  -20.000000 CR\n    user:${alice}:available  20.000000 CR\n\n`);
    expect(text.match(/^\d{4}-\d{2}-\d{2} CreditsPurchased/gm)).toHaveLength(3); // bob's, carol's and dave's, not alice's (now an opening balance)
    await expectMatchesLedger(file, gap2);
  });

  it('an empty window: a valid journal with nothing but the opening balances (or nothing at all)', async () => {
    const before = await journal('before.journal', '--from', '2000-01-01T00:00:00Z', '--to', '2000-01-02T00:00:00Z');
    expect(hledger(before, 'check')).toMatchObject({ code: 0 });
    expect(readFileSync(before, 'utf8')).not.toMatch(/^\d{4}-/m);
    expect(hledgerBalances(before).size).toBe(0);
    const after = await journal('after.journal', '--from', gap2);
    expect(readFileSync(after, 'utf8')).not.toMatch(/^\d{4}-\d{2}-\d{2} (?!opening)/m);
    await expectMatchesLedger(after, new Date().toISOString());
  });

  it('a boundary exactly at an event: that event is in the window starting there and not in the one ending there', async () => {
    const csv = await tollgate('export', '--format', 'csv');
    const settled = csv.stdout.split('\n').find((l) => l.includes(',HoldSettled,'));
    if (!settled) throw new Error(`no HoldSettled posting in the export:\n${csv.stdout}`);
    const [at, eventId] = settled.split(',');
    const sameInstant = csv.stdout.split('\n').filter((l) => l.startsWith(`${at},`)).map((l) => l.split(',')[1]);
    const upTo = readFileSync(await journal('upto.journal', '--to', at), 'utf8');
    const from = readFileSync(await journal('from.journal', '--from', at, '--to', gap2), 'utf8');
    for (const id of new Set(sameInstant)) {
      expect(upTo).not.toContain(`event:${id}`);
      expect(from).toContain(`event:${id}`);
    }
    expect(from).toContain(`event:${eventId}`);
    // Journals ending and starting at the boundary both pass hledger's checks and balance.
    expect(hledger(join(dir, 'upto.journal'), 'check')).toMatchObject({ code: 0 });
    await expectMatchesLedger(join(dir, 'from.journal'), gap2);
  });

  it('refuses an existing output file rather than overwriting it', async () => {
    const file = join(dir, 'taken.journal');
    writeFileSync(file, 'keep\n');
    const r = await tollgate('export', '--format', 'hledger', '--output', file);
    expect(r.code).not.toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('keep\n');
  });
});
