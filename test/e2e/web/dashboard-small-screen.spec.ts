/**
 * The dashboard at 360 px wide and from the keyboard alone: nothing scrolls sideways, every
 * navigation link is on screen, Tab reaches the skip link and the navigation in order, Enter
 * follows a link and lands focus on the new screen's heading, and a form submits with Enter.
 */
import { waitFor } from '../../support/wait';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { signedIn } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, overviewReady, screenshot, signedInPage } from '../../support/browser';
import { Gateway, startGateway } from '../../support/gateway';

describeInBrowser('the dashboard at 360 px, by keyboard', () => {
  let gw: Gateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    gw = await startGateway({ env: { WEB_DIR: await buildWeb() } });
    browser = await launchBrowser();
    ({ context, page } = await signedInPage(browser, gw, await signedIn(gw), { width: 360, height: 740 }));
    page.setDefaultTimeout(15_000);
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
  });

  const focused = () => page.evaluate<{ tag: string; text: string }>(`({ tag: document.activeElement.tagName, text: document.activeElement.textContent.trim() })`);
  const sidewaysScroll = () => page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

  it('shows the overview without sideways scrolling, every navigation link on screen', async () => {
    await page.goto('/');
    await overviewReady(page);
    expect(await sidewaysScroll()).toBeLessThanOrEqual(0);
    const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
    expect(await links.count()).toBeGreaterThanOrEqual(2);
    for (const link of await links.all()) {
      const box = (await link.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(360);
      expect(box.height).toBeGreaterThanOrEqual(24); // a target a thumb can hit
    }
    await expectAccessible(page, 'overview at 360 px');
    await screenshot(page, 'overview-360');
  });

  it('is usable from the keyboard: skip link, navigation in order, Enter follows, focus on the heading', async () => {
    await page.goto('/');
    await overviewReady(page);
    await page.keyboard.press('Tab');
    expect(await focused()).toEqual({ tag: 'A', text: 'Skip to content' });
    await page.keyboard.press('Tab'); // the brand
    await page.keyboard.press('Tab');
    expect(await focused()).toEqual({ tag: 'A', text: 'Overview' });
    await page.keyboard.press('Tab');
    expect(await focused()).toEqual({ tag: 'A', text: 'Projects and keys' });
    await page.keyboard.press('Enter');
    await page.waitForURL(`${gw.url}/projects`);
    await page.getByRole('heading', { name: 'Projects and keys' }).waitFor();
    // Polled from here: the page's CSP (no eval) refuses waitForFunction's in-page polling.
    await waitFor(async () => (await page.evaluate('document.activeElement && document.activeElement.tagName')) === 'H1', 15_000, 'focus on the new heading');

    // The form: Tab to the field, type, Enter submits; the new project's page opens.
    await page.keyboard.press('Tab');
    expect((await focused()).tag).toBe('INPUT');
    await page.keyboard.type('Phone app');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Phone app' }).waitFor();
    expect(await sidewaysScroll()).toBeLessThanOrEqual(0);
    await expectAccessible(page, 'project keys at 360 px');
    await screenshot(page, 'project-keys-360');
  });

  it('answers an unknown dashboard path inside the layout, and the browser’s back button works', async () => {
    await page.goto('/no/such/screen');
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    await page.getByRole('link', { name: 'Overview' }).click();
    await overviewReady(page);
    await page.goBack();
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
  });
});
