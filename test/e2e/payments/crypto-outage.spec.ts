/**
 * The chain scanner with Postgres really stopped (a private cluster this file owns): stopped
 * before a scan, the scan fails naming the chain and credits nothing; stopped part-way through
 * crediting many final transfers, the scans after it is back credit every transfer exactly once,
 * and the books verify. Every step of a scan is redone from its checkpoint.
 */
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { ChainScanner } from '../../../src/payments/crypto/application/chain-scanner';
import { Anvil, TestToken, anvilMissing, startAnvil } from '../../support/anvil';
import { SignedIn, signedIn } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import { Gateway, startGateway } from '../../support/gateway';
import { PrivatePostgres, privateDb, startPrivatePostgres, whyNoPrivatePostgres } from '../../support/private-postgres';
import { waitFor } from '../../support/wait';

const skipReason = anvilMissing() ?? whyNoPrivatePostgres();
if (skipReason) console.warn(`SKIPPED crypto-outage.spec.ts: ${skipReason}`);
const maybe = skipReason ? describe.skip : describe;

const units = (credits: string) => BigInt(credits.replace('.', ''));
const PAYER = 1;
const RECEIVE = '0x' + 'c0'.repeat(20);

maybe('the chain scanner with Postgres down (private Postgres, anvil)', () => {
  let pg: PrivatePostgres;
  let base: Anvil;
  let usdc: TestToken;
  let gw: Gateway;
  let scanner: ChainScanner;
  let person: SignedIn;
  const credits = async () => (await gw.db.pool.query<{ n: number; d: number }>("SELECT count(*)::int AS n, count(DISTINCT data->>'paymentId')::int AS d FROM events WHERE type = 'CryptoPaymentCredited'")).rows[0];
  const intent = async (amount: string) => {
    const res = await person.fetch('/api/billing/crypto-intents', { method: 'POST', body: { chain: 'base', token: 'USDC', amount } });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; amount: string; address: string };
  };
  /** Scans until one succeeds (the pool may first hand out a connection the stop cut). */
  const scanOk = async () => {
    for (let i = 0; i < 5; i++) {
      const r = await scanner.scanAll();
      if (r.failed.length === 0) return r;
    }
    throw new Error('no scan succeeded after Postgres came back');
  };

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    base = await startAnvil(8453);
    usdc = await base.deployToken('USDC');
    await usdc.mint(base.accounts[PAYER], 10_000_000_000n);
    gw = await startGateway({
      db: await privateDb(pg),
      env: { CHAIN_BASE_RPC_URL: base.url, CRYPTO_RECEIVE_ADDRESS: RECEIVE, CRYPTO_TOKENS_BASE: `USDC:${usdc.address}` },
    });
    scanner = gw.app.get(ChainScanner);
    person = await signedIn(gw);
    await scanOk();
  }, 180_000);
  afterAll(async () => {
    await gw?.close().catch(() => undefined);
    await gw?.db.drop().catch(() => undefined);
    await base?.close();
    pg?.destroy();
  });

  it('stopped before a scan: the scan fails naming the chain, nothing is credited; back, it credits once', async () => {
    const i = await intent('7');
    await usdc.transfer(PAYER, i.address, units(i.amount));
    await base.mine(3); // final (finalized is head − 2 with one slot per epoch)
    const before = await credits();
    pg.stop();
    try {
      const r = await scanner.scanAll();
      expect(r.failed).toEqual([expect.objectContaining({ chain: 'base' })]);
    } finally {
      await pg.start();
    }
    expect(await credits()).toEqual(before);
    await scanOk();
    await scanOk();
    expect((await credits()).n).toBe(before.n + 1);
  }, 90_000);

  it('stopped part-way through crediting 24 final transfers: afterwards each is credited exactly once', async () => {
    const intents: Array<{ id: string; amount: string; address: string }> = [];
    for (let k = 0; k < 24; k++) intents.push(await intent(String(5 + k)));
    await base.automine(false);
    for (const i of intents) await usdc.send(PAYER, i.address, units(i.amount));
    await base.automine(true);
    await base.mine(4);
    const before = (await credits()).n;
    const scanning = scanner.scanAll();
    // Stop as soon as the first of them is credited (or when the scan is over, if it was quicker).
    let over = false;
    void scanning.finally(() => (over = true));
    await waitFor(async () => over || (await credits()).n > before, 30_000, 'the first credit of the batch');
    pg.stop();
    const cut = await scanning;
    await pg.start();
    const partial = (await credits()).n - before;
    console.log(`Postgres stopped after ${partial} of 24 credits; the scan ${cut.failed.length ? 'failed' : 'had finished'}`);
    for (let k = 0; k < 3; k++) await scanOk();
    const after = await credits();
    expect(after.n - before).toBe(24);
    expect(after.n).toBe(after.d); // no payment credited twice
    const ledger = gw.app.get(LedgerService);
    await waitFor(async () => (await ledger.load(person.accountId)).state.available >= intents.reduce((t, i) => t + units(i.amount), 0n), 10_000, 'the credits on the account');
    const statuses = await Promise.all(intents.map(async (i) => ((await (await person.fetch(`/api/billing/crypto-intents/${i.id}`)).json()) as { status: string }).status));
    expect(statuses).toEqual(intents.map(() => 'credited'));
    const verify = await run(process.execPath, [CLI, 'ledger', 'verify'], { DATABASE_URL: gw.db.url });
    expect(verify).toMatchObject({ code: 0 });
  }, 120_000);
});
