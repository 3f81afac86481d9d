/**
 * `GET /auth/methods` on the real app: what the sign-in screen offers. With every kind of
 * provider configured (Google and an OIDC_PROVIDERS entry on a real oidc-provider, GitHub on the
 * local GitHub) each listed start URL really starts a sign-in at that provider; with none, none
 * is listed; passwords only with AUTH_PASSWORDS; the link by mail only when mail can leave. The
 * answer never carries a client secret, id or issuer address.
 */
import { randomBytes } from 'node:crypto';
import { signedIn } from '../../support/account-client';
import { FakeGitHub, startFakeGitHub } from '../../support/fake-github';
import { Gateway, startGateway } from '../../support/gateway';
import { OidcIssuer, startOidcIssuer } from '../../support/oidc-issuer';
import { freePort } from '../../support/wait';

interface Methods {
  magicLink: boolean;
  passkey: boolean;
  password: boolean;
  passwordSignUp: boolean;
  providers: Array<{ id: string; name: string; startUrl: string }>;
}

async function methodsOf(url: string, init: RequestInit = {}): Promise<{ res: Response; text: string; body: Methods }> {
  const res = await fetch(`${url}/auth/methods`, init);
  const text = await res.text();
  expect([res.status, text]).toEqual([200, expect.any(String)]);
  return { res, text, body: JSON.parse(text) as Methods };
}

describe('GET /auth/methods with every kind of provider (e2e)', () => {
  let gw: Gateway;
  let sso: OidcIssuer;
  let google: OidcIssuer;
  let github: FakeGitHub;
  const corpSecret = `corp-secret-${randomBytes(8).toString('hex')}`;
  let downPort: number;

  beforeAll(async () => {
    const port = await freePort();
    downPort = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    [sso, google, github] = await Promise.all([
      startOidcIssuer({ redirectUris: [`${publicUrl}/auth/oauth/sso/callback`], clientSecret: `sso-secret-${randomBytes(8).toString('hex')}` }),
      startOidcIssuer({ redirectUris: [`${publicUrl}/auth/oauth/google/callback`], claimsInIdToken: true }),
      startFakeGitHub({ clientSecret: `gh-secret-${randomBytes(8).toString('hex')}` }),
    ]);
    gw = await startGateway({
      env: {
        PORT: String(port),
        PUBLIC_URL: publicUrl,
        AUTH_PASSWORDS: 'true',
        GOOGLE_CLIENT_ID: google.clientId,
        GOOGLE_CLIENT_SECRET: google.clientSecret,
        GOOGLE_ISSUER: google.url,
        GITHUB_CLIENT_ID: github.clientId,
        GITHUB_CLIENT_SECRET: github.clientSecret,
        GITHUB_OAUTH_URL: github.url,
        GITHUB_API_URL: github.url,
        OIDC_PROVIDERS: JSON.stringify([
          { name: 'sso', displayName: 'Acme SSO', issuer: sso.url, clientId: sso.clientId, clientSecret: sso.clientSecret },
          // Never reached: listed with its name as the button's words.
          { name: 'corp-2', issuer: `http://127.0.0.1:${downPort}`, clientId: 'corp-client-id', clientSecret: corpSecret },
        ]),
      },
    });
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    await Promise.all([sso?.close(), google?.close(), github?.close()]);
  });

  it('lists Google, GitHub and each OIDC_PROVIDERS entry with its start route, and passwords with sign-up', async () => {
    const { res, body } = await methodsOf(gw.url);
    expect(body).toEqual({
      magicLink: true,
      passkey: true,
      password: true,
      passwordSignUp: true,
      providers: [
        { id: 'google', name: 'Google', startUrl: '/auth/oauth/google/start' },
        { id: 'github', name: 'GitHub', startUrl: '/auth/oauth/github/start' },
        { id: 'sso', name: 'Acme SSO', startUrl: '/auth/oauth/sso/start' },
        { id: 'corp-2', name: 'corp-2', startUrl: '/auth/oauth/corp-2/start' },
      ],
    });
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    // Public, and it hands out no cookie.
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it('carries no client secret, client id or provider address', async () => {
    const { text } = await methodsOf(gw.url);
    for (const secret of [sso.clientSecret, google.clientSecret, github.clientSecret, corpSecret]) expect(text).not.toContain(secret);
    for (const id of [sso.clientId, google.clientId, github.clientId, 'corp-client-id']) expect(text).not.toContain(id);
    for (const address of [sso.url, google.url, github.url, `127.0.0.1:${downPort}`]) expect(text).not.toContain(address);
  });

  it('each start URL starts a sign-in at that provider (302 to its authorization endpoint, with the state cookie)', async () => {
    const { body } = await methodsOf(gw.url);
    const expected: Record<string, string> = { google: google.url, github: github.url, sso: sso.url };
    for (const p of body.providers.filter((x) => x.id in expected)) {
      const res = await fetch(new URL(p.startUrl, gw.url), { redirect: 'manual' });
      expect([p.id, res.status]).toEqual([p.id, 302]);
      const location = new URL(res.headers.get('location')!);
      expect([p.id, location.origin]).toEqual([p.id, new URL(expected[p.id]).origin]);
      expect(location.searchParams.get('redirect_uri')).toBe(`${gw.url}/auth/oauth/${p.id}/callback`);
      expect(location.searchParams.get('code_challenge_method')).toBe('S256');
      expect(res.headers.getSetCookie().some((c) => c.startsWith('tg_oauth='))).toBe(true);
    }
    // The unreachable issuer is listed (config says it exists), and starting it says it is down, not a crash.
    const down = await fetch(`${gw.url}/auth/oauth/corp-2/start`, { redirect: 'manual' });
    expect(down.status).toBe(503);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe('unavailable');
  });

  it('answers the same to someone signed in, and to a cookie that is not a session', async () => {
    const anonymous = (await methodsOf(gw.url)).text;
    const person = await signedIn(gw);
    expect((await methodsOf(gw.url, { headers: { cookie: person.cookie } })).text).toBe(anonymous);
    expect((await methodsOf(gw.url, { headers: { cookie: `tg_session=${'x'.repeat(5000)}` } })).text).toBe(anonymous);
    expect((await methodsOf(`${gw.url}`, { headers: { accept: 'text/html' } })).text).toBe(anonymous);
  });

  it('is in the OpenAPI document, with the shape it answers', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const described = JSON.stringify(doc.paths['/auth/methods'].get);
    for (const field of ['magicLink', 'passkey', 'password', 'passwordSignUp', 'providers', 'startUrl']) expect(described).toContain(field);
  });

  it('is a GET only: a write to it is the API’s 404, never the dashboard page', async () => {
    const res = await fetch(`${gw.url}/auth/methods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('GET /auth/methods with nothing configured (e2e)', () => {
  it('in development: the link by mail and passkeys only, no provider, no password', async () => {
    const gw = await startGateway();
    try {
      expect((await methodsOf(gw.url)).body).toEqual({ magicLink: true, passkey: true, password: false, passwordSignUp: false, providers: [] });
      // The routes it does not list are really off.
      const login = await fetch(`${gw.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@example.org', password: 'long enough password' }) });
      expect(login.status).toBe(404);
      const start = await fetch(`${gw.url}/auth/oauth/google/start`, { redirect: 'manual' });
      expect(start.status).toBe(404);
    } finally {
      await gw.close();
    }
  }, 60_000);

  it('in production without SMTP_URL: no link by mail, and passwords without sign-up (it mails a link)', async () => {
    const gw = await startGateway({ env: { NODE_ENV: 'production', ENCRYPTION_KEY: randomBytes(32).toString('base64'), AUTH_PASSWORDS: 'true' } });
    try {
      expect((await methodsOf(gw.url)).body).toEqual({ magicLink: false, passkey: true, password: true, passwordSignUp: false, providers: [] });
      const link = await fetch(`${gw.url}/auth/magic-link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@example.org' }) });
      expect(link.status).toBe(503);
    } finally {
      await gw.close();
    }
  }, 60_000);
});
