/**
 * Signing in with a passkey from the dashboard's sign-in screen, in Chromium with its virtual
 * authenticator (CDP WebAuthn): a passkey registered through the API's ceremony routes from a
 * signed-in page (what the settings screen will do), then sign out, press "Sign in with a
 * passkey", and land on the overview as that person. A passkey the site does not know shows the
 * API's own refusal. The gateway's public host is `localhost`: WebAuthn refuses IP addresses.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { SignedIn, signedIn } from '../../support/account-client';
import { buildWeb, describeInBrowser, expectAccessible, launchBrowser, overviewReady, screenshot, signedInPage } from '../../support/browser';
import { Gateway, startGateway } from '../../support/gateway';

// What the settings screen will do to add a passkey, run in the page (as a string: the tests'
// TypeScript has no DOM types).
const REGISTER_IN_PAGE = `(async () => {
  const csrf = (await (await fetch('/auth/csrf')).json()).token;
  const post = (path, body) => fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body ?? {}) });
  const options = await (await post('/auth/passkeys/register/options')).json();
  const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
  const res = await post('/auth/passkeys/register/verify', { response: credential.toJSON(), name: 'Chromium' });
  return res.status;
})()`;

describeInBrowser('passkey sign-in on the dashboard (Chromium virtual authenticator)', () => {
  let gw: Gateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  let person: SignedIn;

  beforeAll(async () => {
    gw = await startGateway({ publicHost: 'localhost', env: { WEB_DIR: await buildWeb() } });
    browser = await launchBrowser();
    person = await signedIn(gw);
    ({ context, page } = await signedInPage(browser, gw, person));
    page.setDefaultTimeout(15_000);
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    }));
  }, 180_000);
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.close();
  });

  it('registers a passkey, signs out, and signs back in with it from the sign-in screen', async () => {
    await page.goto('/');
    await overviewReady(page);
    expect(await page.evaluate<number>(REGISTER_IN_PAGE)).toBe(201);
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await overviewReady(page);
    const me = await (await page.request.get('/api/me')).json();
    expect(me).toMatchObject({ id: person.userId, email: person.email });
    const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(after.credentials[0].signCount).toBeGreaterThan(credentials[0].signCount);
    await screenshot(page, 'overview-after-passkey');
  });

  it('shows the API’s refusal for a passkey this site does not know', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Tollgate' }).waitFor();
    // The authenticator now holds only a stranger's passkey for this site.
    await cdp.send('WebAuthn.clearCredentials', { authenticatorId });
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'der' });
    await cdp.send('WebAuthn.addCredential', {
      authenticatorId,
      credential: {
        credentialId: randomBytes(32).toString('base64'),
        isResidentCredential: true,
        rpId: 'localhost',
        privateKey: key.toString('base64'),
        userHandle: randomBytes(16).toString('base64'),
        signCount: 0,
      },
    });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/\(passkey_unknown\)$/);
    expect((await page.request.get('/api/me')).status()).toBe(401);
    await expectAccessible(page, 'sign-in (passkey refused)');
    await screenshot(page, 'sign-in-passkey-refused');
  });
});
