/**
 * The billing screen in headless Chromium against the real API on a real database: top up by
 * card through Stripe Checkout (the local fake Stripe makes the session; Stripe's hosted page is
 * stood in for by a route of the browser, since it is Stripe's own origin; the test delivers the
 * signed webhook as Stripe would) and see the balance change; refuse a bad amount with the API's
 * message; redeem a code (once); set and clear the low-balance alert; ask for a refund of the
 * purchase. axe on each state, screenshots to test-results/screens/, and no request from the
 * dashboard to another origin than the gateway and the Stripe page it was sent to.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CodesService } from '../../../src/payments/codes/application/codes.service';
import { SignedIn, signedIn } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, screenshot, signedInPage, watchRequests } from '../../support/browser';
import { FakeStripe, checkoutCompletedEvent, deliverWebhook, startFakeStripe } from '../../support/fake-stripe';
import { Gateway, startGateway } from '../../support/gateway';
import { waitFor } from '../../support/wait';

const STRIPE_PAGE = 'https://checkout.stripe.com/';

describeInBrowser('the billing screen in Chromium (Stripe top-up, codes, alert, refunds)', () => {
  let fake: FakeStripe;
  let gw: Gateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let person: SignedIn;
  let requested: string[];

  beforeAll(async () => {
    const [webDir, stripe] = await Promise.all([buildWeb(), startFakeStripe()]);
    fake = stripe;
    gw = await startGateway({
      env: { WEB_DIR: webDir, API_RUNS_WORKERS: 'true', STRIPE_SECRET_KEY: fake.secretKey, STRIPE_WEBHOOK_SECRET: fake.webhookSecret, STRIPE_API_URL: fake.url, TOPUP_MAX_USD: '500' },
    });
    browser = await launchBrowser();
    person = await signedIn(gw);
    ({ context, page } = await signedInPage(browser, gw, person));
    page.setDefaultTimeout(15_000);
    requested = watchRequests(page);
    // Stripe's hosted checkout page: another origin, answered here so the test stays offline.
    await context.route(`${STRIPE_PAGE}**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Stripe Checkout</title><h1>Pay Tollgate</h1>' }));
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
    await fake?.close();
  });

  const available = () => page.locator('[data-figure="available"]');
  const sessionCalls = () => fake.calls.filter((c) => c.method === 'POST' && c.path === '/v1/checkout/sessions');

  it('refuses an amount below $5 with the API’s message, asking nothing of Stripe', async () => {
    await page.goto('/billing');
    await page.waitForSelector('[data-ready="billing"]');
    expect(await available().innerText()).toBe('$0.00');
    // No chain is configured here: no crypto payment is offered (GET /api/billing/crypto-options answered none).
    await page.locator('[data-crypto-options="none"]').waitFor({ state: 'attached' });
    expect(await page.locator('section[aria-labelledby="crypto-title"]').count()).toBe(0);
    expect(await page.getByLabel('Network').count()).toBe(0);
    await expectAccessible(page, 'billing');
    await screenshot(page, 'billing');

    await page.getByLabel('Amount in dollars').fill('4.99');
    await page.getByRole('button', { name: 'Pay by card' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/amount: must be at least 5\.00.*\(validation_failed\)/s);
    expect(sessionCalls()).toHaveLength(0);
    expect(page.url()).toBe(`${gw.url}/billing`);
  });

  it('tops up by card: Stripe Checkout for the amount, the signed webhook, back to billing, the balance moves once', async () => {
    await page.getByLabel('Amount in dollars').fill('12.50');
    await page.getByRole('button', { name: 'Pay by card' }).click();
    await page.waitForURL(`${STRIPE_PAGE}**`);
    expect(sessionCalls()).toHaveLength(1);
    const call = sessionCalls()[0];
    expect(call.form).toMatchObject({ 'line_items[0][price_data][unit_amount]': '1250', 'metadata[account_id]': person.accountId, success_url: `${gw.config.PUBLIC_URL}/billing?checkout=success` });
    expect(call.idempotencyKey).toMatch(/^tollgate-checkout:/);
    const sessionId = page.url().split('/').pop()!;
    expect(sessionId).toMatch(/^cs_test_/);

    // Stripe tells the gateway; a redelivery of the same event credits nothing more.
    const event = checkoutCompletedEvent({ accountId: person.accountId, cents: 1250, sessionId, paymentIntent: `pi_web_${Date.now()}` });
    expect((await deliverWebhook(gw.url, fake, event)).status).toBe(200);
    expect((await deliverWebhook(gw.url, fake, event)).status).toBe(200);

    await page.goto('/billing?checkout=success');
    await page.getByText('Thank you: your payment is confirmed.').waitFor({ timeout: 30_000 });
    expect(await available().innerText()).toBe('$12.50');
    expect(await gw.available(person.accountId)).toBe(12_500_000n);
    const row = page.locator('table.transactions tbody tr').first();
    await row.getByText('Card purchase').waitFor();
    expect(await row.innerText()).toContain('$12.50');
    await expectAccessible(page, 'billing (after a card payment)');
    await screenshot(page, 'billing-after-card');
  }, 60_000);

  it('a cancelled checkout says nothing was charged', async () => {
    await page.goto('/billing?checkout=cancel');
    await page.getByText('The card payment was cancelled: nothing was charged.').waitFor();
    await page.waitForSelector('[data-ready="billing"]');
    expect(await available().innerText()).toBe('$12.50');
  });

  it('redeems a code once: the credit lands; a retry credits nothing more; a second code of the batch and an unknown code show the API’s refusal', async () => {
    const { codes } = await gw.app.get(CodesService).issue({ amount: 3_000_000n, count: 2, expiresAt: null, prefix: null, reason: 'browser test', actor: 'cli:test' });
    await page.goto('/billing');
    await page.waitForSelector('[data-ready="billing"]');
    await page.getByLabel('Code', { exact: true }).fill(codes[0]);
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByText('Redeemed $3.00: your balance is now $15.50.').waitFor();
    await waitFor(async () => (await available().innerText()) === '$15.50', 10_000, 'the balance figure at $15.50');

    // The same code again is a retry of this account's redemption: the same answer, no second credit.
    await page.getByLabel('Code', { exact: true }).fill(codes[0]);
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByText('Redeemed $3.00: your balance is now $15.50.').waitFor();
    expect(await gw.available(person.accountId)).toBe(15_500_000n);
    // Another code of the same batch: one per account.
    await page.getByLabel('Code', { exact: true }).fill(codes[1]);
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByText('(batch_already_redeemed)').waitFor();
    expect(await page.locator('form[aria-labelledby="redeem-title"]').getByRole('status').innerText()).toBe('');
    await page.getByLabel('Code', { exact: true }).fill('NOT-A-REAL-CODE');
    await page.getByRole('button', { name: 'Redeem' }).click();
    await page.getByText('(code_invalid)').waitFor();
    expect(await gw.available(person.accountId)).toBe(15_500_000n);
  });

  it('sets the low-balance alert, refuses a malformed one with the API’s message, and turns it off', async () => {
    await page.getByLabel('Alert below (credits)').fill('2.50');
    await page.getByRole('button', { name: 'Save alert' }).click();
    await page.getByText('You will get an email when your balance falls below $2.50.').waitFor();
    expect(((await (await person.fetch('/api/me')).json()) as { lowBalanceAlert: string | null }).lowBalanceAlert).toBe('2.500000');

    await page.getByLabel('Alert below (credits)').fill('1.0000001');
    await page.getByRole('button', { name: 'Save alert' }).click();
    const alert = page.locator('form[aria-labelledby="alert-title"]').getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/lowBalanceAlert.*\(validation_failed\)/s);
    expect(((await (await person.fetch('/api/me')).json()) as { lowBalanceAlert: string | null }).lowBalanceAlert).toBe('2.500000');

    await page.getByRole('button', { name: 'Turn off' }).click();
    await page.getByText('The alert is off.').waitFor();
    expect(((await (await person.fetch('/api/me')).json()) as { lowBalanceAlert: string | null }).lowBalanceAlert).toBeNull();
  });

  it('asks for a refund of the card purchase: listed, its credit set aside; a second request is refused', async () => {
    await page.goto('/billing');
    await page.waitForSelector('[data-ready="billing"]');
    await page.getByLabel('Amount (credits; empty for all that is unspent)').fill('2.00');
    await page.getByLabel('Reason').fill('bought too much');
    await page.getByRole('button', { name: 'Request refund' }).click();
    await page.getByText('Refund of $2.00 requested: the credit is set aside until it is decided.').waitFor();
    const row = page.locator('table.refunds tbody tr').first();
    await row.getByText('$2.00').waitFor();
    expect(await row.innerText()).toContain('Card');
    const refunds = (await (await person.fetch('/api/billing/refund-requests')).json()) as { data: Array<{ amount: string; reason: string }> };
    expect(refunds.data).toEqual([expect.objectContaining({ amount: '2.000000', reason: 'bought too much' })]);

    await page.getByLabel('Reason').fill('again');
    await page.getByRole('button', { name: 'Request refund' }).click();
    const alert = page.locator('form[aria-labelledby="refund-title"]').getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/\([a-z_]+\)$/);
    await expectAccessible(page, 'billing (refund requested)');
    await screenshot(page, 'billing-refund');
  });

  it('works at 360 px: nothing wider than the screen, every control reachable', async () => {
    const small = await signedInPage(browser, gw, person, { width: 360, height: 740 });
    try {
      await small.page.goto('/billing');
      await small.page.waitForSelector('[data-ready="billing"]');
      await small.page.locator('table.transactions tbody tr').first().waitFor();
      expect(await small.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
      await small.page.getByRole('button', { name: 'Pay by card' }).focus();
      await small.page.keyboard.press('Tab');
      await expectAccessible(small.page, 'billing (360 px)');
      await screenshot(small.page, 'billing-360');
    } finally {
      await small.context.close();
    }
  });

  it('the dashboard asked no other origin than the gateway and the Stripe page it was sent to', () => {
    const others = requested.filter((u) => !u.startsWith(gw.url) && !u.startsWith(STRIPE_PAGE));
    expect(others).toEqual([]);
  });
});
