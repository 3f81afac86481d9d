/**
 * OAuthClients against real servers: oidc-provider (a child process) as OIDC issuer, and the
 * local GitHub. What the e2e spec cannot easily show: the parameters sent, each check of the
 * exchange (PKCE, state, nonce, single-use codes), and discovery retried after a failure.
 */
import { OAuthClients } from '../../../src/auth/oauth/oauth-clients';
import { OAuthSettings } from '../../../src/auth/oauth/oauth-providers';
import { DomainError } from '../../../src/shared/domain-error';
import { FakeGitHub, startFakeGitHub } from '../../support/fake-github';
import { OidcIssuer, startOidcIssuer } from '../../support/oidc-issuer';
import { freePort } from '../../support/wait';

const PUBLIC_URL = 'http://gateway.test:8080';
const callback = (name: string) => `${PUBLIC_URL}/auth/oauth/${name}/callback`;

/** The refusal (OAuthError, or the API's `unavailable`) that `work` ends in. */
async function oauthError(work: Promise<unknown>): Promise<DomainError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('OAuthClients', () => {
  let sso: OidcIssuer;
  let google: OidcIssuer;
  let github: FakeGitHub;
  let settings: OAuthSettings;

  beforeAll(async () => {
    [sso, google, github] = await Promise.all([
      startOidcIssuer({ redirectUris: [callback('sso')] }),
      startOidcIssuer({ redirectUris: [callback('google')], claimsInIdToken: true }),
      startFakeGitHub(),
    ]);
    settings = {
      NODE_ENV: 'test',
      PUBLIC_URL,
      GOOGLE_CLIENT_ID: google.clientId,
      GOOGLE_CLIENT_SECRET: google.clientSecret,
      GOOGLE_ISSUER: google.url,
      GITHUB_CLIENT_ID: github.clientId,
      GITHUB_CLIENT_SECRET: github.clientSecret,
      GITHUB_OAUTH_URL: github.url,
      GITHUB_API_URL: github.url,
      OIDC_PROVIDERS: [{ name: 'sso', issuer: sso.url, clientId: sso.clientId, clientSecret: sso.clientSecret }],
    };
    await sso.setAccount('sso-ada', { email: 'ada@corp.test', email_verified: true, name: 'Ada' });
    await google.setAccount('g-123', { email: 'grace@gmail.test', email_verified: false, name: 'Grace' });
    github.addUser({ id: 4242, login: 'octo', name: null, email: null, emails: [{ email: 'octo@gh.test', primary: true, verified: true }] });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([sso?.close(), google?.close(), github?.close()]);
  });

  it('sends state, PKCE S256, a nonce and the OIDC scope, and reads the person from userinfo when the ID token lacks them', async () => {
    const clients = new OAuthClients(settings);
    const p = clients.provider('sso');
    const { url, pending } = await clients.begin(p, Date.now());
    expect(url.origin).toBe(sso.url);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: sso.clientId,
      response_type: 'code',
      redirect_uri: callback('sso'),
      scope: 'openid email profile',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.get('code_challenge')).not.toBe(pending.codeVerifier);
    const back = await sso.signIn(url, 'sso-ada');
    expect(back.href.startsWith(`${callback('sso')}?`)).toBe(true);
    await expect(clients.complete(p, back.search, pending)).resolves.toEqual({
      provider: 'sso',
      subject: 'sso-ada',
      email: 'ada@corp.test',
      emailVerified: true,
      displayName: 'Ada',
    });
  });

  it('reads the person from the ID token when it carries them (as Google does), unverified stays unverified', async () => {
    const clients = new OAuthClients(settings);
    const p = clients.provider('google');
    const { url, pending } = await clients.begin(p, Date.now());
    const back = await google.signIn(url, 'g-123');
    await expect(clients.complete(p, back.search, pending)).resolves.toEqual({
      provider: 'google',
      subject: 'g-123',
      email: 'grace@gmail.test',
      emailVerified: false,
      displayName: 'Grace',
    });
  });

  it('refuses a replayed code, a code from another sign-in (PKCE), a wrong state and a wrong nonce', async () => {
    const clients = new OAuthClients(settings);
    const p = clients.provider('sso');
    const first = await clients.begin(p, Date.now());
    const back = await sso.signIn(first.url, 'sso-ada');
    const other = await clients.begin(p, Date.now());
    // A stolen code completed with another browser's verifier: PKCE refuses it.
    const injected = await oauthError(clients.complete(p, back.search, { ...other.pending, state: first.pending.state }));
    expect(injected.code).toBe('oauth_failed');
    expect(injected.message).toMatch(/invalid_grant/);

    const fresh = await clients.begin(p, Date.now());
    const freshBack = await sso.signIn(fresh.url, 'sso-ada');
    expect((await oauthError(clients.complete(p, freshBack.search, { ...fresh.pending, nonce: 'another-nonce' }))).code).toBe('oauth_failed');

    const third = await clients.begin(p, Date.now());
    const thirdBack = await sso.signIn(third.url, 'sso-ada');
    expect((await oauthError(clients.complete(p, thirdBack.search, { ...third.pending, state: 'not-the-state' }))).code).toBe('oauth_failed');

    const fourth = await clients.begin(p, Date.now());
    const fourthBack = await sso.signIn(fourth.url, 'sso-ada');
    await expect(clients.complete(p, fourthBack.search, fourth.pending)).resolves.toMatchObject({ subject: 'sso-ada' });
    const replay = await oauthError(clients.complete(p, fourthBack.search, fourth.pending));
    expect(replay.code).toBe('oauth_failed');
    expect(replay.message).toMatch(/invalid_grant/);
  });

  it('GitHub: plain OAuth with PKCE, the numeric id as subject whatever the login, and a replayed code refused', async () => {
    const clients = new OAuthClients(settings);
    const p = clients.provider('github');
    const { url, pending } = await clients.begin(p, Date.now());
    expect(`${url.origin}${url.pathname}`).toBe(`${github.url}/login/oauth/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: github.clientId,
      redirect_uri: callback('github'),
      scope: 'read:user user:email',
      state: pending.state,
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.has('nonce')).toBe(false);
    expect(pending.nonce).toBeNull();
    const back = await github.signIn(url, 4242);
    await expect(clients.complete(p, back.search, pending)).resolves.toEqual({
      provider: 'github',
      subject: '4242',
      email: 'octo@gh.test',
      emailVerified: true,
      displayName: 'octo',
    });
    expect(github.tokenRequests.lastBody).toMatchObject({ client_id: github.clientId, code_verifier: pending.codeVerifier });

    const replay = await oauthError(clients.complete(p, back.search, pending));
    expect(replay.code).toBe('oauth_failed');
    expect(replay.message).toMatch(/bad_verification_code/);

    github.users.get(4242)!.login = 'octo-renamed';
    const again = await clients.begin(p, Date.now());
    const againBack = await github.signIn(again.url, 4242);
    await expect(clients.complete(p, againBack.search, again.pending)).resolves.toMatchObject({ subject: '4242', displayName: 'octo-renamed' });
  });

  it("a wrong client secret is the deployment's fault, named as such (not blamed on the person's code)", async () => {
    const clients = new OAuthClients({
      ...settings,
      GITHUB_CLIENT_SECRET: 'not-the-secret',
      OIDC_PROVIDERS: [{ name: 'sso', issuer: sso.url, clientId: sso.clientId, clientSecret: 'not-the-secret' }],
    });
    const cases: [string, (u: URL) => Promise<URL>, RegExp][] = [
      ['sso', (u) => sso.signIn(u, 'sso-ada'), /refused the code exchange \(invalid_client\)/],
      ['github', (u) => github.signIn(u, 4242), /refused the code exchange \(incorrect_client_credentials\)/],
    ];
    for (const [name, atProvider, message] of cases) {
      const p = clients.provider(name);
      const { url, pending } = await clients.begin(p, Date.now());
      const err = await oauthError(clients.complete(p, (await atProvider(url)).search, pending));
      expect([name, err.code, err.message]).toEqual([name, 'oauth_failed', expect.stringMatching(message)]);
    }
  });

  it('an unknown provider is provider_not_found', () => {
    const clients = new OAuthClients({ ...settings, GOOGLE_CLIENT_ID: undefined });
    for (const name of ['google', 'gitlab', '__proto__', 'constructor']) {
      expect(() => clients.provider(name)).toThrow(expect.objectContaining({ code: 'provider_not_found' }));
    }
  });

  it('a discovery that fails is unavailable, and is tried again on the next request rather than kept', async () => {
    const port = await freePort();
    const clients = new OAuthClients({ ...settings, OIDC_PROVIDERS: [{ name: 'late', issuer: `http://127.0.0.1:${port}`, clientId: 'tollgate-test', clientSecret: 'test-client-secret-0123456789abcdef' }] });
    const p = clients.provider('late');
    const down = await oauthError(clients.begin(p, Date.now()));
    expect(down.code).toBe('unavailable');
    expect(down.message).toContain(`http://127.0.0.1:${port}`);
    expect(down.message).toMatch(/ECONNREFUSED/);
    const late = await startOidcIssuer({ redirectUris: [callback('late')], port });
    try {
      const { url } = await clients.begin(p, Date.now());
      expect(url.origin).toBe(late.url);
    } finally {
      await late.close();
    }
  }, 90_000);

  it('a provider gone away mid-sign-in is unavailable, not a refusal', async () => {
    const gone = await startFakeGitHub({ clientId: github.clientId, clientSecret: github.clientSecret });
    gone.addUser({ id: 1, login: 'one', name: null, email: null, emails: [] });
    const clients = new OAuthClients({ ...settings, GITHUB_OAUTH_URL: gone.url, GITHUB_API_URL: gone.url });
    const p = clients.provider('github');
    const { url, pending } = await clients.begin(p, Date.now());
    const back = await gone.signIn(url, 1);
    await gone.close();
    expect((await oauthError(clients.complete(p, back.search, pending))).code).toBe('unavailable');
  });

  it('refuses http:// endpoints in production', async () => {
    const clients = new OAuthClients({ ...settings, NODE_ENV: 'production' });
    for (const name of ['sso', 'github']) {
      const err = await oauthError(clients.begin(clients.provider(name), Date.now()));
      expect([name, err.code, err.message]).toEqual([name, 'unavailable', expect.stringContaining('not https')]);
    }
  });
});
