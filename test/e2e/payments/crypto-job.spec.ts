/**
 * The chain scan as the worker runs it (issue 20): the app with its workers (API_RUNS_WORKERS),
 * the BullMQ job every 200 ms, finality by confirmations (CRYPTO_FINALITY=2), anvil chain 8453.
 * A payment goes seen → credited by the job alone.
 */
import { Wallet } from 'ethers';
import { Anvil, TestToken, anvilMissing, startAnvil } from '../../support/anvil';
import { SignedIn, signedIn } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';
import { waitFor } from '../../support/wait';

const missing = anvilMissing();
if (missing) console.warn(`SKIPPED crypto-job.spec.ts: ${missing}`);
const maybe = missing ? describe.skip : describe;

const units = (credits: string) => BigInt(credits.replace('.', ''));

maybe('the chain scan job (app with workers, anvil, real Postgres and Redis)', () => {
  let chain: Anvil;
  let usdc: TestToken;
  let gw: Gateway;
  let person: SignedIn;
  const RECEIVE = Wallet.createRandom().address.toLowerCase();
  const PAYER = 1;

  const status = async (who: SignedIn, id: string) => (await (await who.fetch(`/api/billing/crypto-intents/${id}`)).json()) as { status: string; confirmations: number | null };

  beforeAll(async () => {
    chain = await startAnvil(8453);
    usdc = await chain.deployToken('USDC');
    await usdc.mint(chain.accounts[PAYER], 1_000_000_000n);
    gw = await startGateway({
      env: {
        API_RUNS_WORKERS: 'true',
        CRYPTO_SCAN_INTERVAL_MS: '200',
        CRYPTO_FINALITY: '2',
        CHAIN_BASE_RPC_URL: chain.url,
        CRYPTO_RECEIVE_ADDRESS_BASE: RECEIVE,
        CRYPTO_TOKENS_BASE: `USDC:${usdc.address}`,
      },
    });
    person = await signedIn(gw);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await chain?.close();
  });

  it('takes a payment from seen (1 confirmation) to credited (2) on its own', async () => {
    const res = await person.fetch('/api/billing/crypto-intents', { method: 'POST', body: { chain: 'base', token: 'USDC', amount: '15' } });
    const i = (await res.json()) as { id: string; amount: string; address: string };
    expect(i.address).toBe(RECEIVE);
    const before = await gw.available(person.accountId);
    await usdc.transfer(PAYER, RECEIVE, units(i.amount));
    await waitFor(async () => (await status(person, i.id)).status === 'seen', 10_000, 'the intent seen');
    expect(await gw.available(person.accountId)).toBe(before);
    await chain.mine(1);
    await waitFor(async () => (await status(person, i.id)).status === 'credited', 10_000, 'the intent credited');
    expect(await gw.available(person.accountId)).toBe(before + units(i.amount));
  }, 30_000);
});
