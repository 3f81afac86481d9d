/**
 * USDC/USDT on chain end to end (issue 20): two anvils (chain ids 1 and 8453) with 6-decimal test
 * tokens, the booted app pointed at them, the chain scanner run (as its job runs it) and people
 * paying with real transactions. Proves: an exact payment is seen first and credited once after
 * finality; a look-alike token contract, another recipient and an underpayment credit nothing
 * (the underpayment is claimable: a bad signature gets 403, a good one credits once, a second
 * claim 409); the same transfers scanned again credit nothing more; a reorg before finality
 * credits nothing; a payment after the intent expired is not matched; an RPC of the wrong chain
 * is refused; one chain's RPC down does not stop the other; the chain reconciler agrees with
 * the chain and names a credit that is not on it; `ledger verify` passes.
 */
import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { ChainClients } from '../../../src/payments/crypto/application/chain-clients';
import { ChainScanner } from '../../../src/payments/crypto/application/chain-scanner';
import { ChainReconciler } from '../../../src/payments/crypto/reconcile/chain-reconciler';
import { Anvil, TestToken, anvilMissing, startAnvil } from '../../support/anvil';
import { SignedIn, signedIn } from '../../support/account-client';
import { CLI, run } from '../../support/cli-runner';
import { Gateway, startGateway } from '../../support/gateway';

const missing = anvilMissing();
if (missing) console.warn(`SKIPPED crypto-scan.spec.ts: ${missing}`);
const maybe = missing ? describe.skip : describe;

const units = (credits: string) => BigInt(credits.replace('.', ''));

maybe('crypto payments on anvil (booted app, real Postgres and Redis)', () => {
  let eth: Anvil;
  let base: Anvil;
  let usdcEth: TestToken;
  let usdtEth: TestToken;
  let usdcBase: TestToken;
  let fakeBase: TestToken;
  let gw: Gateway;
  let scanner: ChainScanner;
  let person: SignedIn;
  const RECEIVE = Wallet.createRandom().address.toLowerCase();
  const PAYER = 1; // anvil dev account index
  const OTHER = 2;

  const intent = async (who: SignedIn, body: { chain: string; token: string; amount: string }) => {
    const res = await who.fetch('/api/billing/crypto-intents', { method: 'POST', body });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; amount: string; address: string; tokenAddress: string };
  };
  const status = async (who: SignedIn, id: string) => (await (await who.fetch(`/api/billing/crypto-intents/${id}`)).json()) as { status: string; txHash: string | null; confirmations: number | null };
  const deposit = async (paymentId: string) => (await gw.db.pool.query('SELECT * FROM crypto_deposits WHERE payment_id = $1', [paymentId])).rows[0] as Record<string, unknown> | undefined;
  const ledgerCredits = async () => (await gw.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE type = 'CryptoPaymentCredited'")).rows[0].n;
  const scan = async () => {
    const r = await scanner.scanAll();
    expect(r.failed).toEqual([]);
    return r.reports;
  };
  const finalize = async (a: Anvil) => a.mine(3); // --slots-in-an-epoch 1: finalized is head − 2
  const depositOf = async (txHash: string) => (await gw.db.pool.query('SELECT status, reason FROM crypto_deposits WHERE tx_hash = $1', [txHash.toLowerCase()])).rows[0] as { status: string; reason: string | null } | undefined;
  const error = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;

  beforeAll(async () => {
    [eth, base] = await Promise.all([startAnvil(1), startAnvil(8453)]);
    usdcEth = await eth.deployToken('USDC');
    usdtEth = await eth.deployToken('USDT');
    usdcBase = await base.deployToken('USDC');
    fakeBase = await base.deployToken('USDC'); // a look-alike: same name and symbol, another contract
    for (const t of [usdcEth, usdtEth]) await t.mint(eth.accounts[PAYER], 1_000_000_000n);
    for (const t of [usdcBase, fakeBase]) {
      await t.mint(base.accounts[PAYER], 1_000_000_000n);
      await t.mint(base.accounts[OTHER], 1_000_000_000n);
    }
    gw = await startGateway({
      env: {
        CHAIN_ETHEREUM_RPC_URL: eth.url,
        CHAIN_BASE_RPC_URL: base.url,
        CRYPTO_RECEIVE_ADDRESS: RECEIVE,
        CRYPTO_TOKENS_ETHEREUM: `USDC:${usdcEth.address},USDT:${usdtEth.address}`,
        CRYPTO_TOKENS_BASE: `USDC:${usdcBase.address}`,
      },
    });
    scanner = gw.app.get(ChainScanner);
    person = await signedIn(gw);
    await scan(); // the first scans start the checkpoints
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await Promise.all([eth?.close(), base?.close()]);
  });

  it('sees an exact payment before finality (status seen, nothing credited) and credits it once when final, with a receipt', async () => {
    const i = await intent(person, { chain: 'base', token: 'USDC', amount: '10' });
    const before = await gw.available(person.accountId);
    const receipt = await usdcBase.transfer(PAYER, i.address, units(i.amount));
    const paymentId = `chain-8453-${receipt.hash.toLowerCase()}-${receipt.logs[0].index}`;
    await scan();
    const seen = await status(person, i.id);
    expect(seen).toMatchObject({ status: 'seen', txHash: receipt.hash.toLowerCase(), confirmations: 1 });
    expect(await gw.available(person.accountId)).toBe(before);
    await base.mine(1);
    await scan();
    expect(await status(person, i.id)).toMatchObject({ status: 'seen', confirmations: 2 });
    expect(await gw.available(person.accountId)).toBe(before);

    await finalize(base);
    await scan();
    expect(await status(person, i.id)).toMatchObject({ status: 'credited', txHash: receipt.hash.toLowerCase() });
    expect(await gw.available(person.accountId)).toBe(before + units(i.amount));
    const d = await deposit(paymentId);
    expect(d).toMatchObject({ status: 'credited', account_id: person.accountId, block_number: BigInt(receipt.blockNumber), block_hash: receipt.blockHash.toLowerCase() });
    // The paying wallet is kept, sealed with the owner's data key, never in clear.
    expect(String(d?.from_sealed)).not.toContain(base.accounts[PAYER].slice(2));
    const events = await gw.db.pool.query('SELECT type FROM events WHERE stream_id = $1', [paymentId]);
    expect(events.rows).toEqual([{ type: 'CryptoDepositAssigned' }]);
    const mail = await gw.db.pool.query('SELECT method, amount::text, detail FROM payment_receipts WHERE payment_id = $1', [paymentId]);
    expect(mail.rows).toEqual([{ method: 'crypto', amount: units(i.amount).toString(), detail: `USDC on Base, transaction ${receipt.hash.toLowerCase()}` }]);

    // Scanned again from the start (checkpoint lost): nothing more is credited.
    const credits = await ledgerCredits();
    await gw.db.pool.query('UPDATE crypto_scan_checkpoints SET next_block = 0');
    await scan();
    await scan();
    expect(await gw.available(person.accountId)).toBe(before + units(i.amount));
    expect(await ledgerCredits()).toBe(credits);
  }, 60_000);

  it('ignores a look-alike token contract and transfers to another address; credits USDT on Ethereum', async () => {
    const i = await intent(person, { chain: 'base', token: 'USDC', amount: '11' });
    const before = await gw.available(person.accountId);
    const fake = await fakeBase.transfer(PAYER, i.address, units(i.amount));
    const elsewhere = await usdcBase.transfer(PAYER, base.accounts[7], units(i.amount));
    await finalize(base);
    await scan();
    expect((await status(person, i.id)).status).toBe('pending');
    expect(await gw.available(person.accountId)).toBe(before);
    const rows = await gw.db.pool.query('SELECT 1 FROM crypto_deposits WHERE tx_hash = ANY($1::text[])', [[fake.hash.toLowerCase(), elsewhere.hash.toLowerCase()]]);
    expect(rows.rowCount).toBe(0);

    const t = await intent(person, { chain: 'ethereum', token: 'USDT', amount: '5.25' });
    await usdtEth.transfer(PAYER, t.address, units(t.amount));
    await finalize(eth);
    await scan();
    expect((await status(person, t.id)).status).toBe('credited');
    expect(await gw.available(person.accountId)).toBe(before + units(t.amount));
  }, 60_000);

  it('records an underpayment as unclaimed; a claim needs the payer signature (403 otherwise), credits what arrived once, and a second claim gets 409', async () => {
    const claimer = await signedIn(gw);
    const i = await intent(claimer, { chain: 'base', token: 'USDC', amount: '20' });
    const short = units(i.amount) - 1_000_000n; // one USDC short
    const receipt = await usdcBase.transfer(PAYER, i.address, short);
    const tx = receipt.hash;
    await scan(); // seen, not final
    const claim = (body: Record<string, unknown>) => claimer.fetch('/api/billing/crypto-claims', { method: 'POST', body: { chain: 'base', txHash: tx, ...body } });
    const messageRes = await claimer.fetch(`/api/billing/crypto-claims/message?chain=base&txHash=${tx}`);
    expect(messageRes.status).toBe(200);
    const { message } = (await messageRes.json()) as { message: string };
    expect(message).toContain(claimer.accountId);
    expect(message).toContain(tx.toLowerCase());
    const good = await (await base.signer(PAYER)).signMessage(message);
    const notFinal = await claim({ signature: good });
    expect(notFinal.status).toBe(409);
    expect((await error(notFinal)).code).toBe('deposit_not_final');

    await finalize(base);
    await scan();
    expect((await status(claimer, i.id)).status).toBe('pending'); // the underpayment matched nothing
    expect(await deposit(`chain-8453-${tx.toLowerCase()}-${receipt.logs[0].index}`)).toMatchObject({ status: 'unclaimed', account_id: null, from_sealed: null });
    const before = await gw.available(claimer.accountId);

    const byOther = await claim({ signature: await (await base.signer(OTHER)).signMessage(message) });
    expect(byOther.status).toBe(403);
    expect((await error(byOther)).code).toBe('claim_signature_invalid');
    const wrongMessage = await claim({ signature: await (await base.signer(PAYER)).signMessage(`${message}\nand more`) });
    expect(wrongMessage.status).toBe(403);
    const garbage = await claim({ signature: `0x${'ab'.repeat(65)}` });
    expect(garbage.status).toBe(403);
    expect((await claim({ signature: 'nope' })).status).toBe(400);
    expect(await gw.available(claimer.accountId)).toBe(before);

    // Another account cannot use the payer's signature of this account's message.
    const thief = await signedIn(gw);
    const stolen = await thief.fetch('/api/billing/crypto-claims', { method: 'POST', body: { chain: 'base', txHash: tx, signature: good } });
    expect(stolen.status).toBe(403);

    const ok = await claim({ signature: good, txHash: tx.toUpperCase().replace('0X', '0x') });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'credited', amount: '19.' + i.amount.split('.')[1], token: 'USDC' });
    expect(await gw.available(claimer.accountId)).toBe(before + short);
    const again = await claim({ signature: good });
    expect(again.status).toBe(409);
    expect((await error(again)).code).toBe('deposit_already_credited');
    expect(await gw.available(claimer.accountId)).toBe(before + short);
    const kept = await deposit(`chain-8453-${tx.toLowerCase()}-${receipt.logs[0].index}`);
    expect(kept).toMatchObject({ status: 'credited', account_id: claimer.accountId });
    expect(kept?.from_sealed).toEqual(expect.any(String));

    const unknown = await claimer.fetch('/api/billing/crypto-claims', { method: 'POST', body: { chain: 'base', txHash: `0x${'12'.repeat(32)}`, signature: good } });
    expect(unknown.status).toBe(404);
    expect((await claimer.fetch(`/api/billing/crypto-claims/message?chain=base&txHash=0x${'12'.repeat(32)}`)).status).toBe(404);
    expect((await claimer.fetch('/api/billing/crypto-claims/message?chain=base&txHash=0x12')).status).toBe(400);
  }, 60_000);

  it('asks which transfer when a transaction holds several to the receiving address', async () => {
    const claimer = await signedIn(gw);
    const tx = await usdcBase.contract.connect(await base.signer(OTHER)).getFunction('multiTransfer')(RECEIVE, [3_000_001n, 4_000_002n]);
    const receipt = (await tx.wait())!;
    await finalize(base);
    await scan();
    const { message } = (await (await claimer.fetch(`/api/billing/crypto-claims/message?chain=base&txHash=${receipt.hash}`)).json()) as { message: string };
    const signature = await (await base.signer(OTHER)).signMessage(message);
    const ask = await claimer.fetch('/api/billing/crypto-claims', { method: 'POST', body: { chain: 'base', txHash: receipt.hash, signature } });
    expect(ask.status).toBe(400);
    expect((await error(ask)).code).toBe('log_index_required');
    const before = await gw.available(claimer.accountId);
    const second = receipt.logs[1].index;
    const ok = await claimer.fetch('/api/billing/crypto-claims', { method: 'POST', body: { chain: 'base', txHash: receipt.hash, logIndex: second, signature } });
    expect(ok.status).toBe(200);
    expect(await gw.available(claimer.accountId)).toBe(before + 4_000_002n);
  }, 60_000);

  it('rejects a transfer above the ledger bound and goes on with the next', async () => {
    const huge = 10n ** 15n + 1n; // one unit over MAX_MICROS
    await usdcBase.mint(base.accounts[PAYER], huge);
    const big = await usdcBase.transfer(PAYER, RECEIVE, huge);
    const res = await person.fetch('/api/billing/crypto-intents', { method: 'POST', body: { chain: 'base', token: 'USDC', amount: '5' } });
    const i = (await res.json()) as { id: string; amount: string };
    await usdcBase.transfer(PAYER, RECEIVE, units(i.amount));
    await finalize(base);
    await scan();
    expect((await status(person, i.id)).status).toBe('credited');
    expect(await depositOf(big.hash)).toEqual({ status: 'rejected', reason: 'amount above the ledger bound' });
  }, 30_000);

  it('credits a transfer once when many claims of it arrive at once from several accounts', async () => {
    const receipt = await usdcBase.transfer(PAYER, RECEIVE, 7_777_777n); // matches no intent
    await finalize(base);
    await scan();
    expect((await depositOf(receipt.hash))?.status).toBe('unclaimed');
    const claimers = await Promise.all(Array.from({ length: 4 }, () => signedIn(gw)));
    const signer = await base.signer(PAYER);
    const signed = await Promise.all(
      claimers.map(async (c) => {
        const { message } = (await (await c.fetch(`/api/billing/crypto-claims/message?chain=base&txHash=${receipt.hash}`)).json()) as { message: string };
        return { c, signature: await signer.signMessage(message), before: await gw.available(c.accountId) };
      }),
    );
    const answers = await Promise.all(
      signed.flatMap(({ c, signature }) => Array.from({ length: 5 }, () => c.fetch('/api/billing/crypto-claims', { method: 'POST', body: { chain: 'base', txHash: receipt.hash, signature } }))),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const gained = await Promise.all(signed.map(async (s) => (await gw.available(s.c.accountId)) - s.before));
    expect(gained.filter((g) => g === 7_777_777n)).toHaveLength(1);
    expect(gained.filter((g) => g === 0n)).toHaveLength(3);
    const winner = signed[gained.indexOf(7_777_777n)].c.accountId;
    // Only the winner's own retries may also answer 200 (the same claim, idempotent); everyone else 409.
    answers.forEach((r, k) => {
      if (signed[Math.floor(k / 5)].c.accountId !== winner) expect(r.status).toBe(409);
    });
    const credits = await gw.db.pool.query("SELECT count(*)::int AS n FROM events WHERE type = 'CryptoPaymentCredited' AND data->>'txHash' = $1", [receipt.hash.toLowerCase()]);
    expect(credits.rows[0].n).toBe(1);
  }, 30_000);

  it('credits nothing for a payment a reorg removed before finality: the deposit and the intent are rejected', async () => {
    const i = await intent(person, { chain: 'ethereum', token: 'USDC', amount: '30' });
    const before = await gw.available(person.accountId);
    const snap = await eth.snapshot();
    const receipt = await usdcEth.transfer(PAYER, i.address, units(i.amount));
    await scan();
    expect((await status(person, i.id)).status).toBe('seen');
    await eth.revert(snap); // the block with the transfer is gone
    await eth.mine(1);
    await finalize(eth);
    await scan();
    expect((await status(person, i.id)).status).toBe('rejected');
    expect(await deposit(`chain-1-${receipt.hash.toLowerCase()}-${receipt.logs[0].index}`)).toMatchObject({ status: 'rejected', reason: expect.stringContaining('no longer on the chain') });
    expect(await gw.available(person.accountId)).toBe(before);
  }, 60_000);

  it('does not match a payment made after the intent expired (block time): it is claimable instead', async () => {
    const i = await intent(person, { chain: 'ethereum', token: 'USDC', amount: '12' });
    const before = await gw.available(person.accountId);
    const latest = (await eth.provider.getBlock('latest'))!;
    await eth.setNextBlockTimestamp(Math.max(latest.timestamp + 1, Math.ceil(Date.now() / 1000)) + 3_700); // the TTL is 3600 s
    const receipt = await usdcEth.transfer(PAYER, i.address, units(i.amount));
    await finalize(eth);
    await scan();
    expect((await status(person, i.id)).status).toBe('expired');
    expect(await deposit(`chain-1-${receipt.hash.toLowerCase()}-${receipt.logs[0].index}`)).toMatchObject({ status: 'unclaimed' });
    expect(await gw.available(person.accountId)).toBe(before);
  }, 60_000);

  it('refuses an RPC that serves another chain id, by name', async () => {
    const clients = new ChainClients({ ...gw.config, CHAINS: [{ ...gw.config.CHAINS[0], name: 'ethereum', chainId: 1, rpcUrl: base.url }] });
    await expect(clients.verified(clients.chains[0])).rejects.toThrow(/ethereum RPC serves chain id 8453, not 1/);
    clients.onModuleDestroy();
  });

  it('reconciles the credited transfers against the chains, and names a credit that is not on the chain', async () => {
    const clients = new ChainClients(gw.config);
    const reconciler = new ChainReconciler(gw.db.pool, gw.config, clients);
    const window = [new Date(Date.now() - 3_600_000), new Date(Date.now() + 60_000)] as const;
    const clean = await reconciler.reconcile(...window);
    expect(clean.compared).toBe(await ledgerCredits());
    expect(clean.compared).toBeGreaterThanOrEqual(4);
    expect(clean.differences).toEqual([]);
    // A credit booked without a transfer behind it (as a bug or a forged command would).
    const ledger = gw.app.get(LedgerService);
    const bogus = `0x${randomUUID().replace(/-/g, '').repeat(2)}`;
    await ledger.execute(person.accountId, { type: 'CreditCryptoPayment', data: { amount: 1_000_000n, chainId: 8453, txHash: bogus, logIndex: 0, token: 'USDC' } });
    const dirty = await reconciler.reconcile(...window);
    expect(dirty.differences).toEqual([expect.objectContaining({ source: 'base', kind: 'not_on_chain', reference: `chain-8453-${bogus}-0`, ledger: '1.000000' })]);
    clients.onModuleDestroy();
  }, 60_000);

  it('goes on with one chain while the other chain RPC is down, naming it; `ledger verify` passes', async () => {
    const i = await intent(person, { chain: 'base', token: 'USDC', amount: '8' });
    const before = await gw.available(person.accountId);
    await usdcBase.transfer(PAYER, i.address, units(i.amount));
    await finalize(base);
    await eth.close();
    const { reports, failed } = await scanner.scanAll();
    expect(failed).toEqual([{ chain: 'ethereum', error: expect.stringContaining('ethereum RPC does not answer') }]);
    expect(reports.map((r) => r.chain)).toEqual(['base']);
    expect((await status(person, i.id)).status).toBe('credited');
    expect(await gw.available(person.accountId)).toBe(before + units(i.amount));
    expect(gw.logs.join('')).toContain('the ethereum scan failed');

    const verify = await run(process.execPath, [CLI, 'ledger', 'verify'], { DATABASE_URL: gw.db.url });
    expect(verify).toMatchObject({ code: 0 });
    const tb = await run(process.execPath, [CLI, 'ledger', 'trial-balance', '--json'], { DATABASE_URL: gw.db.url });
    expect(tb).toMatchObject({ code: 0 });
    expect(JSON.parse(tb.stdout)).toMatchObject({ total: '0.000000', balanced: true });
  }, 60_000);
});
