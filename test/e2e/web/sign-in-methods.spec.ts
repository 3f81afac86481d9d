/**
 * The sign-in screen offers every method the gateway has on (`GET /auth/methods`), in headless
 * Chromium against the real API: a button per configured provider only, each a plain link to its
 * start route; a whole OpenID Connect sign-in through a real oidc-provider's login form landing
 * on the overview; a GitHub sign-in the person cancels comes back to the screen saying so; email
 * and password: create an account (the mailed link, caught by a real SMTP receiver, confirms
 * it), sign in and land on the overview, a wrong password shows the API's message; axe; 360 px.
 * A gateway with none of these offers only the link by mail (and passkeys).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { uniqueEmail } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, overviewReady, screenshot, watchRequests } from '../../support/browser';
import { FakeGitHub, startFakeGitHub } from '../../support/fake-github';
import { Gateway, startGateway } from '../../support/gateway';
import { OidcIssuer, startOidcIssuer } from '../../support/oidc-issuer';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';
import { freePort } from '../../support/wait';

const LINK = /(http:\/\/127\.0\.0\.1:\d+\/auth\/magic-link\/verify\?token=[A-Za-z0-9_-]{43})/;
const PASSWORD = 'correct horse battery staple';

describeInBrowser('every sign-in method on the sign-in screen (Chromium)', () => {
  let gw: Gateway;
  let sso: OidcIssuer;
  let github: FakeGitHub;
  let smtp: SmtpReceiver;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    let webDir: string;
    [webDir, sso, github, smtp] = await Promise.all([
      buildWeb(),
      startOidcIssuer({ redirectUris: [`${publicUrl}/auth/oauth/sso/callback`] }),
      startFakeGitHub(),
      startSmtpReceiver(),
    ]);
    gw = await startGateway({
      env: {
        PORT: String(port),
        PUBLIC_URL: publicUrl,
        WEB_DIR: webDir,
        SMTP_URL: smtp.url,
        MAIL_FROM: 'Tollgate <login@tollgate.test>',
        AUTH_PASSWORDS: 'true',
        GITHUB_CLIENT_ID: github.clientId,
        GITHUB_CLIENT_SECRET: github.clientSecret,
        GITHUB_OAUTH_URL: github.url,
        GITHUB_API_URL: github.url,
        OIDC_PROVIDERS: JSON.stringify([{ name: 'sso', displayName: 'Acme SSO', issuer: sso.url, clientId: sso.clientId, clientSecret: sso.clientSecret }]),
      },
    });
    browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await gw?.close();
    await Promise.all([sso?.close(), github?.close(), smtp?.close()]);
  });

  /** A fresh browser (no cookie anywhere) on the sign-in screen. */
  async function signInScreen(viewport = { width: 1280, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport, baseURL: gw.url });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
    // The screen as /auth/methods says.
    await page.waitForSelector('[data-ready="sign-in"]');
    return page;
  }

  it('offers a button per configured provider (links to their start routes), the link by mail and the password form', async () => {
    const page = await signInScreen();
    const requested = watchRequests(page);
    const buttons = page.getByRole('list', { name: 'Sign in with a provider' }).getByRole('link');
    expect(await buttons.allInnerTexts()).toEqual(['Sign in with GitHub', 'Sign in with Acme SSO']);
    expect(await Promise.all((await buttons.all()).map((b) => b.getAttribute('href')))).toEqual(['/auth/oauth/github/start', '/auth/oauth/sso/start']);
    // No Google: it is not configured here.
    expect(await page.getByRole('link', { name: /Google/ }).count()).toBe(0);
    await page.getByRole('form', { name: 'Sign in with a link by mail' }).getByLabel('Email address').waitFor();
    const password = page.getByRole('form', { name: 'Sign in with a password' });
    await password.getByLabel('Password').waitFor();
    await password.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(requested.filter((u) => !u.startsWith(gw.url))).toEqual([]);
    await expectAccessible(page, 'sign-in with every method');
    await screenshot(page, 'sign-in-every-method');
  });

  it('goes through a whole OpenID Connect sign-in: the button, the issuer’s login form, back on the overview as that person', async () => {
    const email = uniqueEmail('oidc');
    await sso.setAccount('ada-sub', { email, email_verified: true, name: 'Ada' });
    const page = await signInScreen();
    await page.getByRole('link', { name: 'Sign in with Acme SSO' }).click();
    // A full navigation to the issuer (its own page, its own origin).
    await page.waitForURL((u) => u.origin === sso.url && u.pathname.startsWith('/interaction/'));
    await page.locator('input[name="login"]').fill('ada-sub');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${gw.url}/`);
    await overviewReady(page);
    const me = (await (await page.request.get('/api/me')).json()) as { email: string };
    expect(me.email).toBe(email);
  });

  it('a GitHub sign-in cancelled at GitHub comes back to the sign-in screen saying so, signed out', async () => {
    const user = github.addUser({ id: 4242, login: 'octo', name: 'Octo', email: null, emails: [{ email: uniqueEmail('gh'), primary: true, verified: true }] });
    const page = await signInScreen();
    const [name, value] = github.sessionCookie(user.id, { deny: true }).split('=');
    await page.context().addCookies([{ name, value, url: github.url }]);
    await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
    await page.waitForURL(`${gw.url}/`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/cancelled.*\(access_denied\)$/s);
    // The reason is read once: the address is clean again.
    expect(new URL(page.url()).search).toBe('');
    expect((await page.request.get('/api/me')).status()).toBe(401);
  });

  it('names only the callback’s own reasons: a made-up signin_error in the address shows the generic message, nothing of it', async () => {
    const context = await browser.newContext({ baseURL: gw.url });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`/?signin_error=${encodeURIComponent('<img src=x onerror=alert(1)>you_were_hacked')}`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toBe('the provider could not sign you in; try again, or use another way below (provider_error)');
    expect(await page.locator('main img').count()).toBe(0);
  });

  it('creates an account with a password (confirmed by the mailed link), signs in with it onto the overview; a wrong password shows the API’s message', async () => {
    const email = uniqueEmail('pw');
    const page = await signInScreen();
    await page.getByRole('button', { name: 'No account yet? Create one with a password' }).click();
    const create = page.getByRole('form', { name: 'Create an account with a password' });
    await create.getByLabel('Email address').fill(email);
    await create.getByLabel('Password').fill(PASSWORD);
    await create.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Check your mail' }).waitFor();
    expect(await page.locator('[data-state="sent"]').innerText()).toContain(email);

    // The mailed link confirms the address and sets the password (and signs this browser in).
    const mail = await smtp.messageTo(email);
    await page.goto(LINK.exec(mail.text)![1]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${gw.url}/`);
    await overviewReady(page);

    // A browser that never signed in: the wrong password first, then the right one.
    const fresh = await signInScreen();
    const form = fresh.getByRole('form', { name: 'Sign in with a password' });
    await form.getByLabel('Email address').fill(email);
    await form.getByLabel('Password').fill('not the password at all');
    await form.getByRole('button', { name: 'Sign in' }).click();
    const alert = fresh.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/\(unauthenticated\)$/);
    expect((await fresh.request.get('/api/me')).status()).toBe(401);
    await expectAccessible(fresh, 'sign-in (wrong password)');
    await screenshot(fresh, 'sign-in-wrong-password');

    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await fresh.waitForURL(`${gw.url}/`);
    await overviewReady(fresh);
    expect(((await (await fresh.request.get('/api/me')).json()) as { email: string }).email).toBe(email);
  });

  it('fits a 360 px screen: every button and field on screen, nothing scrolls sideways', async () => {
    const page = await signInScreen({ width: 360, height: 740 });
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(0);
    for (const el of [...(await page.getByRole('link').all()), ...(await page.getByRole('button').all()), ...(await page.getByRole('textbox').all())]) {
      const box = await el.boundingBox();
      if (!box) continue; // not displayed
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(360);
    }
    await expectAccessible(page, 'sign-in at 360 px');
    await screenshot(page, 'sign-in-every-method-360');
  });
});

describeInBrowser('the sign-in screen with no provider and no passwords (Chromium)', () => {
  it('offers only the link by mail (and passkeys): no provider button, no password form', async () => {
    const gw = await startGateway({ env: { WEB_DIR: await buildWeb() } });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ baseURL: gw.url });
      page.setDefaultTimeout(15_000);
      const methods = page.waitForResponse((r) => r.url() === `${gw.url}/auth/methods`);
      await page.goto('/');
      expect((await methods).status()).toBe(200);
      // Drawn with the methods' answer (not before it).
      await page.waitForSelector('[data-ready="sign-in"]');
      await page.getByRole('form', { name: 'Sign in with a link by mail' }).getByLabel('Email address').waitFor();
      await page.getByRole('button', { name: 'Email me a sign-in link' }).waitFor();
      expect(await page.getByRole('list', { name: 'Sign in with a provider' }).count()).toBe(0);
      expect(await page.getByRole('link', { name: /^Sign in with / }).count()).toBe(0);
      expect(await page.getByLabel('Password').count()).toBe(0);
      await expectAccessible(page, 'sign-in (link by mail only)');
    } finally {
      await browser.close();
      await gw.close();
    }
  }, 120_000);
});
