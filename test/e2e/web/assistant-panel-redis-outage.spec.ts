/**
 * The assistant panel and the sign-in methods with Redis stopped under a running gateway (a
 * private redis-server the test owns): a question gets the proxy's own refusal (its rate limits
 * and spending caps live in Redis) shown in the panel, fast, instead of a spinner that never
 * ends; `GET /auth/methods` needs no store and still answers; once Redis is back the next
 * question is answered, without a restart.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { UsersService } from '../../../src/accounts/application/users.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { signedIn, uniqueEmail } from '../../support/account-client';
import { buildWeb, describeInBrowser, launchBrowser, overviewReady, screenshot, signedInPage } from '../../support/browser';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway } from '../../support/gateway';
import { PrivateRedis, startPrivateRedis, whyNoRedisServer } from '../../support/private-redis';
import { waitFor } from '../../support/wait';

const skipReason = whyNoRedisServer();

if (skipReason) {
  console.warn(`SKIPPED the assistant panel with Redis down: ${skipReason}`);
  it.skip(`the assistant panel with Redis down — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describeInBrowser('the assistant panel with Redis stopped (private redis-server, Chromium)', () => {
    let redis: PrivateRedis;
    let fake: FakeUpstream;
    let gw: Gateway;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      const [webDir, upstream, privateRedis] = await Promise.all([buildWeb(), startFakeUpstream(), startPrivateRedis()]);
      fake = upstream;
      redis = privateRedis;
      gw = await startGateway({ openai: fake, env: { WEB_DIR: webDir, ASSISTANT_MODEL: 'gpt-4o-mini', REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300' } });
      const email = uniqueEmail('outage');
      const user = await gw.app.get(UsersService).registerByOperator(email, 'cli:test', 0);
      await gw.app.get(LedgerService).execute(user.accountId, { type: 'GrantCredits', data: { grantId: 'test-funds', amount: 50_000_000n, reason: 'test funds' } });
      browser = await launchBrowser();
      ({ context, page } = await signedInPage(browser, gw, await signedIn(gw, email)));
      page.setDefaultTimeout(15_000);
    }, 180_000);
    afterAll(async () => {
      await redis?.start(); // so the gateway's connections close cleanly
      await context?.close();
      await browser?.close();
      await gw?.close();
      await fake?.close();
      await redis?.close();
    });

    const panel = () => page.getByRole('dialog', { name: 'Assistant' });
    const answers = () => panel().locator('.turn.answer');

    it('shows the refusal while Redis is away, and answers again once it is back', async () => {
      await page.goto('/');
      await overviewReady(page);
      await page.getByRole('button', { name: 'Assistant' }).click();
      await panel().locator('#assistant-notice').getByText('gpt-4o-mini').waitFor();

      await redis.stop();
      const started = Date.now();
      await panel().getByLabel('Your question').fill('What is my balance?');
      await panel().getByLabel('Your question').press('Enter');
      await waitFor(async () => (await answers().count()) === 1 && (await answers().getAttribute('data-state')) !== 'streaming', 15_000, 'the refusal');
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await answers().getAttribute('data-state')).toBe('failed');
      const alert = panel().getByRole('alert');
      expect(await alert.innerText()).toMatch(/\(unavailable\)$/);
      expect(fake.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
      await screenshot(page, 'assistant-redis-down');

      // The sign-in screen's methods need no store.
      expect((await fetch(`${gw.url}/auth/methods`)).status).toBe(200);

      await redis.start();
      await waitFor(
        async () => {
          const before = await answers().count();
          await panel().getByLabel('Your question').fill('And now?');
          await panel().getByLabel('Your question').press('Enter');
          await waitFor(async () => (await answers().count()) === before + 1 && (await answers().last().getAttribute('data-state')) !== 'streaming', 15_000, 'an answer');
          return (await answers().last().getAttribute('data-state')) === 'done';
        },
        30_000,
        'an answer once Redis is back',
      );
      expect(await answers().last().locator('.text').innerText()).toMatch(/^Hello from fake-openai/);
    });
  });
}
