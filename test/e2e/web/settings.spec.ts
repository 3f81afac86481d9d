/**
 * The settings screen in headless Chromium against the real API on a real database (workers
 * on, so exports build): sign out another session from the list and see that session refused;
 * add a passkey with Chromium's virtual authenticator and remove it; make and revoke a
 * management key; export my data and download the zip (read back with yauzl); delete the
 * account: an old session is told to sign in again (reauthentication_required), and after a
 * fresh magic-link sign-in the account goes and the browser lands signed out.
 */
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { SignedIn, signedIn, uniqueEmail } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, overviewReady, screenshot, signedInPage, watchRequests } from '../../support/browser';
import { readZip } from '../../support/export-zip-reader';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

const LINK = /(http:\/\/localhost:\d+\/auth\/magic-link\/verify\?token=[A-Za-z0-9_-]{43})/;

describeInBrowser('the settings screen in Chromium (sessions, passkeys, management keys, export, delete)', () => {
  let gw: Gateway;
  let smtp: SmtpReceiver;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let person: SignedIn;
  let requested: string[];

  beforeAll(async () => {
    const [webDir, mail] = await Promise.all([buildWeb(), startSmtpReceiver()]);
    smtp = mail;
    gw = await startGateway({ publicHost: 'localhost', env: { WEB_DIR: webDir, API_RUNS_WORKERS: 'true', SMTP_URL: smtp.url, MAIL_FROM: 'Tollgate <login@tollgate.test>' } });
    browser = await launchBrowser();
    person = await signedIn(gw, uniqueEmail('settings'));
    ({ context, page } = await signedInPage(browser, gw, person));
    page.setDefaultTimeout(15_000);
    requested = watchRequests(page);
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
    await smtp?.close();
  });

  it('lists the sessions and signs out another one, which the API then refuses', async () => {
    const other = await signedIn(gw, person.email);
    expect(other.userId).toBe(person.userId);
    await page.goto('/settings');
    await page.waitForSelector('[data-ready="sessions"]');
    expect(await page.locator('[data-session-id]').count()).toBe(2);
    expect(await page.locator(`[data-session-id="${person.sessionId}"]`).innerText()).toContain('(this browser)');
    expect(await page.locator(`[data-session-id="${person.sessionId}"] button`).count()).toBe(0);
    await expectAccessible(page, 'settings');
    await screenshot(page, 'settings');

    await page.locator(`[data-session-id="${other.sessionId}"]`).getByRole('button', { name: /^Sign out / }).click();
    await page.locator(`[data-session-id="${other.sessionId}"]`).waitFor({ state: 'detached' });
    expect((await other.fetch('/api/me')).status).toBe(401);
    expect((await person.fetch('/api/me')).status).toBe(200);
  });

  it('adds a passkey through the browser’s WebAuthn and removes it', async () => {
    await page.getByLabel('Name of the new passkey').fill('Work laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    const item = page.locator('[data-passkey-id]');
    await item.waitFor();
    expect(await item.innerText()).toContain('Work laptop');
    const listed = (await (await person.fetch('/api/passkeys')).json()) as { data: Array<{ name: string }> };
    expect(listed.data.map((p) => p.name)).toEqual(['Work laptop']);
    // The same authenticator again: refused (it already holds one of this person's passkeys), shown as an error.
    await page.getByLabel('Name of the new passkey').fill('Again');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.locator('section[aria-labelledby="passkeys-title"]').getByRole('alert').waitFor();
    expect(await page.locator('[data-passkey-id]').count()).toBe(1);

    await page.getByRole('button', { name: 'Remove passkey Work laptop' }).click();
    await item.waitFor({ state: 'detached' });
    expect(((await (await person.fetch('/api/passkeys')).json()) as { data: unknown[] }).data).toEqual([]);
  }, 30_000);

  it('makes a management key, shown once, that works; revoking it makes the API refuse it', async () => {
    await page.getByLabel('Name of the new management key').fill('deploy script');
    await page.getByRole('button', { name: 'Create management key' }).click();
    await page.locator('[data-secret-panel]').waitFor();
    const secret = (await page.locator('[data-secret]').innerText()).trim();
    expect(secret).toMatch(/^tg-mgmt-/);
    const asScript = () => fetch(`${gw.url}/api/projects`, { headers: { authorization: `Bearer ${secret}` } });
    expect((await asScript()).status).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Revoke management key deploy script' }).click();
    await page.locator('[data-management-key-id]').getByText('revoked').waitFor();
    expect((await asScript()).status).toBe(401);
    expect(await page.content()).not.toContain(secret);
  });

  it('exports my data with its progress, and downloads the zip', async () => {
    await page.getByRole('button', { name: 'Export my data' }).click();
    await page.locator('[data-export-status="ready"]').waitFor({ timeout: 60_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the zip' }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.zip$/);
    const files = await readZip(readFileSync(await download.path()));
    const [profile] = JSON.parse(files.get('profile.json')!) as Array<Record<string, unknown>>;
    expect(profile).toMatchObject({ user_id: person.userId, email: person.email });
    await expectAccessible(page, 'settings (export ready)');
    await screenshot(page, 'settings-export');
  }, 90_000);

  it('works at 360 px: nothing wider than the screen, no serious axe finding', async () => {
    const small = await signedInPage(browser, gw, person, { width: 360, height: 740 });
    try {
      await small.page.goto('/settings');
      await small.page.waitForSelector('[data-ready="sessions"]');
      await small.page.locator('[data-management-key-id]').waitFor();
      expect(await small.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
      await expectAccessible(small.page, 'settings (360 px)');
      await screenshot(small.page, 'settings-360');
    } finally {
      await small.context.close();
    }
  });

  it('deleting needs a recent sign-in: an old session is told so; after a fresh sign-in the account goes, signed out', async () => {
    await gw.db.pool.query(`UPDATE sessions SET created_at = now() - interval '11 minutes' WHERE session_id = $1`, [person.sessionId]);
    await page.goto('/settings');
    await page.getByLabel('Type DELETE to confirm').fill('DELETE');
    await page.getByRole('button', { name: 'Delete my account' }).click();
    const reauth = page.locator('[data-reauth]');
    await reauth.waitFor();
    expect(await reauth.innerText()).toContain('(reauthentication_required)');
    expect((await person.fetch('/api/me')).status).toBe(200);
    await expectAccessible(page, 'settings (sign in again)');
    await screenshot(page, 'settings-reauth');

    await page.getByRole('button', { name: 'Sign out and sign in again' }).click();
    await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
    expect((await person.fetch('/api/me')).status).toBe(401);
    await page.getByLabel('Email address').fill(person.email);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    const mail = await smtp.messageTo(person.email);
    await page.goto(LINK.exec(mail.text)![1]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await overviewReady(page);

    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Type DELETE to confirm').fill('DELETE');
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
    expect((await page.request.get('/api/me')).status()).toBe(401);
    const users = await gw.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type ILIKE '%erase%'`, [`user-${person.userId}`]);
    expect(users.rows[0].n).toBeGreaterThan(0);
  }, 60_000);

  it('the dashboard asked no other origin', () => {
    expect(requested.filter((u) => !u.startsWith(gw.url))).toEqual([]);
  });
});
