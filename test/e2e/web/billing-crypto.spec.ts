/**
 * Paying with USDC from the billing screen, in headless Chromium against the app with its
 * workers (the chain scan every 200 ms, finality by 2 confirmations) and a local chain (anvil,
 * chain id 8453 as Base, a test USDC): the screen shows the exact amount and the address, and a
 * QR code whose modules are those of the EIP-681 transfer request for exactly that amount
 * (encoded again here with uqr, the screen's own library, and compared module by module); then
 * the payment's progress: waiting → on chain (seen) → credited, and the balance moves. Only the
 * chain and token configured are offered.
 */
import { Wallet } from 'ethers';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { encode } from 'uqr';
import { SignedIn, signedIn } from '../../support/account-client';
import { Anvil, TestToken, anvilMissing, startAnvil } from '../../support/anvil';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, screenshot, signedInPage } from '../../support/browser';
import { Gateway, startGateway } from '../../support/gateway';
import { waitFor } from '../../support/wait';

const missing = anvilMissing();
if (missing) console.warn(`SKIPPED billing-crypto.spec.ts: ${missing}`);
const maybe = missing ? (name: string, body: () => void) => describe.skip(name, body) : describeInBrowser;

maybe('paying with USDC on the billing screen (Chromium, anvil, app with workers)', () => {
  let chain: Anvil;
  let usdc: TestToken;
  let gw: Gateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let person: SignedIn;
  const RECEIVE = Wallet.createRandom().address.toLowerCase();
  const PAYER = 1;

  beforeAll(async () => {
    chain = await startAnvil(8453);
    usdc = await chain.deployToken('USDC');
    await usdc.mint(chain.accounts[PAYER], 1_000_000_000n);
    gw = await startGateway({
      env: {
        WEB_DIR: await buildWeb(),
        API_RUNS_WORKERS: 'true',
        CRYPTO_SCAN_INTERVAL_MS: '200',
        CRYPTO_FINALITY: '2',
        CHAIN_BASE_RPC_URL: chain.url,
        CRYPTO_RECEIVE_ADDRESS_BASE: RECEIVE,
        CRYPTO_TOKENS_BASE: `USDC:${usdc.address}`,
      },
    });
    browser = await launchBrowser();
    person = await signedIn(gw);
    ({ context, page } = await signedInPage(browser, gw, person));
    page.setDefaultTimeout(20_000);
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
    await chain?.close();
  });

  it('offers only the chain and token configured here (Base, USDC), as GET /api/billing/crypto-options lists them', async () => {
    await page.goto('/billing');
    await page.waitForSelector('[data-ready="billing"]');
    const options = (await (await person.fetch('/api/billing/crypto-options')).json()) as { chains: Array<{ name: string; tokens: Array<{ symbol: string }> }> };
    expect(options.chains.map((c) => [c.name, c.tokens.map((t) => t.symbol)])).toEqual([['base', ['USDC']]]);
    const section = page.locator('section[aria-labelledby="crypto-title"]');
    await section.getByRole('heading', { name: 'Pay with USDC' }).waitFor();
    expect(await section.getByLabel('Network').locator('option').allInnerTexts()).toEqual(['Base']);
    expect(await section.getByLabel('Token').locator('option').allInnerTexts()).toEqual(['USDC']);
    expect(await page.locator('[data-crypto-options="none"]').count()).toBe(0);
  });

  it('shows the exact amount, the address and its QR code, then the payment’s progress to credited', async () => {
    await page.getByLabel('Amount', { exact: true }).fill('15');
    await page.getByRole('button', { name: 'Get the payment address' }).click();
    const panel = page.locator('[data-intent]');
    await panel.waitFor();
    expect(await panel.getAttribute('data-status')).toBe('pending');
    const amountText = (await page.locator('[data-crypto-amount]').innerText()).trim();
    const [amount, token] = amountText.split(' ');
    expect(token).toBe('USDC');
    expect(amount).toMatch(/^15\.\d{1,6}$/); // 15 plus this intent's unique offset
    expect((await page.locator('[data-crypto-address]').innerText()).trim()).toBe(RECEIVE);

    // The QR code: the EIP-681 request for exactly this amount in token units, module by module.
    const [whole, frac] = amount.split('.');
    const units = BigInt(whole) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
    const expected = encode(`ethereum:${usdc.address}@8453/transfer?address=${RECEIVE}&uint256=${units}`, { ecc: 'M', border: 2 }).data;
    const d = await page.locator('svg.qr path').getAttribute('d');
    const drawn = new Set([...d!.matchAll(/M(\d+) (\d+)/g)].map((m) => `${m[1]},${m[2]}`));
    const dark = new Set(expected.flatMap((row, y) => row.flatMap((on, x) => (on ? [`${x},${y}`] : []))));
    expect(drawn).toEqual(dark);
    expect(await page.getByRole('img', { name: new RegExp(`QR code: send ${amount.replace('.', '\\.')} USDC to ${RECEIVE}`) }).count()).toBe(1);
    await expectAccessible(page, 'billing (crypto payment)');
    await screenshot(page, 'billing-crypto-pending');

    await usdc.transfer(PAYER, RECEIVE, units);
    await page.locator('[data-intent][data-status="seen"]').waitFor();
    expect(await page.locator('.steps li[aria-current="step"]').innerText()).toMatch(/^On chain, waiting until final/);
    await screenshot(page, 'billing-crypto-seen');
    await chain.mine(1);
    await page.locator('[data-intent][data-status="credited"]').waitFor();
    await page.getByText(`Credited: ${amount} credits are on your balance.`).waitFor();
    expect(await gw.available(person.accountId)).toBe(units);
    const figure = page.locator('[data-figure="available"]');
    await waitFor(async () => (await figure.innerText()) !== '$0.00', 10_000, 'the balance figure to move');
    expect(await figure.innerText()).toBe(`$${whole}.${frac.replace(/0+$/, '').padEnd(2, '0')}`);
    await screenshot(page, 'billing-crypto-credited');
  }, 90_000);
});
