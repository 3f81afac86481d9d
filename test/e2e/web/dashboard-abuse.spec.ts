/**
 * The dashboard when people and the world misbehave: a double click on "Create key" makes one
 * key (the button is busy at once and the POST carries an Idempotency-Key); a session ended
 * elsewhere shows the sign-in screen on the next request, not an error on the open screen.
 */
import type { Browser } from 'playwright-core';
import { signedIn } from '../../support/account-client';
import { buildWeb, describeInBrowser, launchBrowser, overviewReady, signedInPage } from '../../support/browser';
import { Gateway, startGateway } from '../../support/gateway';

describeInBrowser('the dashboard under double clicks and ended sessions', () => {
  let gw: Gateway;
  let browser: Browser;

  beforeAll(async () => {
    gw = await startGateway({ env: { WEB_DIR: await buildWeb() } });
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('makes one key of a double click on "Create key", and one project of a double click on "Create project"', async () => {
    const person = await signedIn(gw);
    const { context, page } = await signedInPage(browser, gw, person);
    try {
      page.setDefaultTimeout(15_000);
      await page.goto('/projects');
      await page.getByLabel('New project').fill('Twice');
      await page.getByRole('button', { name: 'Create project' }).dblclick();
      await page.getByRole('heading', { name: 'Twice' }).waitFor();
      await page.getByLabel('Name', { exact: true }).fill('double');
      await page.getByRole('button', { name: 'Create key' }).dblclick();
      await page.locator('[data-secret-panel]').waitFor();
      await page.locator('li[data-key-id]').first().waitFor();
      // Whatever is still under way settles; then count on the API itself.
      await page.waitForLoadState('networkidle');
      const projects = ((await (await person.fetch('/api/projects')).json()) as any).data;
      expect(projects.map((p: { name: string }) => p.name)).toEqual(['Twice']);
      const keys = ((await (await person.fetch(`/api/projects/${projects[0].id}/keys`)).json()) as any).data;
      expect(keys).toHaveLength(1);
      expect(await page.locator('li[data-key-id]').count()).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('shows the sign-in screen when the session was ended elsewhere, on the next request', async () => {
    const person = await signedIn(gw);
    const { context, page } = await signedInPage(browser, gw, person);
    try {
      page.setDefaultTimeout(15_000);
      await page.goto('/');
      await overviewReady(page);
      expect((await person.fetch('/auth/logout-all', { method: 'POST' })).status).toBe(200);
      await page.getByRole('link', { name: 'Projects and keys' }).click();
      await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
