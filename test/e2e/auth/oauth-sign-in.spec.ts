/**
 * OAuth / OIDC sign-in end to end: the real API app against a real OpenID provider
 * (oidc-provider in a child process, as an OIDC_PROVIDERS entry and as "Google") and the local
 * GitHub. A "browser" here is fetch with the cookies it was given, following redirects by hand.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { UsersService } from '../../../src/accounts/application/users.service';
import { signedIn } from '../../support/account-client';
import { searchPostgres, searchRedis } from '../../support/canary-search';
import { FakeGitHub, startFakeGitHub } from '../../support/fake-github';
import { Gateway, startGateway } from '../../support/gateway';
import { OidcIssuer, startOidcIssuer } from '../../support/oidc-issuer';
import { TEST_REDIS_URL } from '../../support/test-env';
import { freePort } from '../../support/wait';

/** The Cookie header value a browser sends back for a Set-Cookie. */
const pair = (setCookie: string) => setCookie.split(';')[0];
const setCookieNamed = (res: Response, name: string) => res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
const unique = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;

describe('OAuth sign-in (e2e)', () => {
  let gw: Gateway;
  let sso: OidcIssuer;
  let google: OidcIssuer;
  let github: FakeGitHub;
  let users: UsersService;
  let downPort: number;

  beforeAll(async () => {
    const port = await freePort();
    downPort = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    [sso, google, github] = await Promise.all([
      startOidcIssuer({ redirectUris: [`${publicUrl}/auth/oauth/sso/callback`] }),
      startOidcIssuer({ redirectUris: [`${publicUrl}/auth/oauth/google/callback`], claimsInIdToken: true }),
      startFakeGitHub(),
    ]);
    gw = await startGateway({
      env: {
        PORT: String(port),
        PUBLIC_URL: publicUrl,
        GOOGLE_CLIENT_ID: google.clientId,
        GOOGLE_CLIENT_SECRET: google.clientSecret,
        GOOGLE_ISSUER: google.url,
        GITHUB_CLIENT_ID: github.clientId,
        GITHUB_CLIENT_SECRET: github.clientSecret,
        GITHUB_OAUTH_URL: github.url,
        GITHUB_API_URL: github.url,
        OIDC_PROVIDERS: JSON.stringify([
          { name: 'sso', issuer: sso.url, clientId: sso.clientId, clientSecret: sso.clientSecret },
          { name: 'down', issuer: `http://127.0.0.1:${downPort}`, clientId: 'x', clientSecret: 'y' },
        ]),
      },
    });
    users = gw.app.get(UsersService);
  }, 120_000);

  afterAll(async () => {
    await gw?.close();
    await Promise.all([sso?.close(), google?.close(), github?.close()]);
  });

  /** /start in a fresh browser: the provider URL and the state cookie it was given. */
  async function start(provider: string): Promise<{ authorizationUrl: URL; stateCookie: string }> {
    const res = await fetch(`${gw.url}/auth/oauth/${provider}/start`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const stateCookie = setCookieNamed(res, 'tg_oauth');
    expect(stateCookie).toBeDefined();
    return { authorizationUrl: new URL(res.headers.get('location')!), stateCookie: pair(stateCookie!) };
  }

  /** The provider's redirect back, opened by the browser holding `stateCookie`. */
  function callback(back: URL, stateCookie: string | null): Promise<Response> {
    expect(back.origin).toBe(gw.url);
    return fetch(back, { redirect: 'manual', headers: stateCookie ? { cookie: stateCookie } : {} });
  }

  /** A whole sign-in; the session cookie and who /api/me says is signed in. */
  async function signIn(provider: string, atProvider: (url: URL) => Promise<URL>) {
    const { authorizationUrl, stateCookie } = await start(provider);
    const res = await callback(await atProvider(authorizationUrl), stateCookie);
    const body = res.status === 303 ? '' : await res.text();
    expect([res.status, body]).toEqual([303, '']);
    expect(res.headers.get('location')).toBe('/');
    const session = setCookieNamed(res, 'tg_session');
    expect(session).toBeDefined();
    const me = await fetch(`${gw.url}/api/me`, { headers: { cookie: pair(session!) } });
    expect(me.status).toBe(200);
    return { res, session: session!, me: (await me.json()) as { id: string; email: string | null; accountId: string } };
  }

  const userCount = async () => Number((await gw.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0].n);

  it('signs up with an OIDC provider, then signs the same person in again', async () => {
    const sub = unique('sub');
    const email = `${unique('ada')}@corp.test`;
    await sso.setAccount(sub, { email, email_verified: true, name: 'Ada' });
    const before = await userCount();

    const begun = await fetch(`${gw.url}/auth/oauth/sso/start`, { redirect: 'manual' });
    expect(setCookieNamed(begun, 'tg_oauth')).toMatch(/^tg_oauth=[^;]+; Max-Age=600; Path=\/auth\/oauth; HttpOnly; SameSite=Lax$/);
    expect(begun.headers.get('cache-control')).toBe('no-store');

    const first = await signIn('sso', (url) => sso.signIn(url, sub));
    expect(first.me.email).toBe(email);
    expect(await userCount()).toBe(before + 1);
    expect(first.session).toMatch(/; HttpOnly/i);
    expect(first.session).toMatch(/; SameSite=Lax/i);
    expect(first.session).toMatch(/; Path=\//i);
    // The state cookie is spent: cleared on the same answer.
    expect(setCookieNamed(first.res, 'tg_oauth')).toMatch(/Max-Age=0/);

    const second = await signIn('sso', (url) => sso.signIn(url, sub));
    expect(second.me.id).toBe(first.me.id);
    expect(second.me.accountId).toBe(first.me.accountId);
    expect(second.session).not.toBe(first.session);
    expect(await userCount()).toBe(before + 1);
  });

  it('signs up with GitHub, keyed by the numeric id: a renamed login is the same person', async () => {
    const id = randomInt(1_000_000_000, 2_000_000_000);
    const email = `${unique('octo')}@gh.test`;
    const gh = github.addUser({ id, login: unique('octo'), name: 'Octo Cat', email: null, emails: [{ email, primary: true, verified: true }] });
    const first = await signIn('github', (url) => github.signIn(url, id));
    expect(first.me.email).toBe(email);
    gh.login = unique('renamed');
    const second = await signIn('github', (url) => github.signIn(url, id));
    expect(second.me.id).toBe(first.me.id);
  });

  it('links to the existing user holding the email only when the provider says it is verified', async () => {
    const email = `${unique('linda')}@corp.test`;
    const existing = await signedIn(gw, email);

    const unverified = unique('sub');
    await sso.setAccount(unverified, { email, email_verified: false });
    const stranger = await signIn('sso', (url) => sso.signIn(url, unverified));
    expect(stranger.me.id).not.toBe(existing.userId);
    expect(stranger.me.email).toBeNull(); // an address it could not prove is not given to the new user
    expect((await users.findByEmail(email))?.userId).toBe(existing.userId);

    const verified = unique('sub');
    await google.setAccount(verified, { email: email.toUpperCase(), email_verified: true });
    const linked = await signIn('google', (url) => google.signIn(url, verified));
    expect(linked.me.id).toBe(existing.userId);

    const ghId = randomInt(2_000_000_000, 2_100_000_000);
    github.addUser({ id: ghId, login: unique('l'), name: null, email: null, emails: [{ email, primary: true, verified: true }] });
    expect((await signIn('github', (url) => github.signIn(url, ghId))).me.id).toBe(existing.userId);

    const ghUnverified = randomInt(2_100_000_000, 2_200_000_000);
    github.addUser({ id: ghUnverified, login: unique('u'), name: null, email: null, emails: [{ email, primary: true, verified: false }] });
    expect((await signIn('github', (url) => github.signIn(url, ghUnverified))).me.id).not.toBe(existing.userId);
  });

  it('refuses a missing, forged, mismatched or replayed state with 400 invalid_state, creating nobody', async () => {
    const sub = unique('sub');
    await sso.setAccount(sub, { email: `${unique('x')}@corp.test`, email_verified: true });
    const before = await userCount();
    const expectInvalidState = async (res: Response, what: string) => {
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect([what, res.status, body.error.code]).toEqual([what, 400, 'invalid_state']);
      expect(res.headers.getSetCookie().some((c) => c.startsWith('tg_session='))).toBe(false);
    };

    const a = await start('sso');
    const backA = await sso.signIn(a.authorizationUrl, sub);
    await expectInvalidState(await callback(backA, null), 'no state cookie');
    await expectInvalidState(
      await callback(backA, `tg_oauth=${encodeURIComponent(JSON.stringify({ provider: 'sso', state: backA.searchParams.get('state') }))}`),
      'a forged cookie',
    );
    const b = await start('sso');
    await expectInvalidState(await callback(backA, b.stateCookie), "another sign-in's cookie");
    const c = await start('google');
    await expectInvalidState(await callback(backA, c.stateCookie), "another provider's cookie");
    expect(await userCount()).toBe(before);

    // The genuine callback still works once (the refusals above used nothing up)...
    const ok = await callback(backA, a.stateCookie);
    expect(ok.status).toBe(303);
    // ...and not twice: the same URL with the same cookie is a replay.
    await expectInvalidState(await callback(backA, a.stateCookie), 'a replayed callback');
    expect(await userCount()).toBe(before + 1);
  });

  it('lets exactly one of many concurrent callbacks with the same state through', async () => {
    const sub = unique('sub');
    await sso.setAccount(sub, { email: `${unique('c')}@corp.test`, email_verified: true });
    const before = await userCount();
    const { authorizationUrl, stateCookie } = await start('sso');
    const back = await sso.signIn(authorizationUrl, sub);
    const answers = await Promise.all(Array.from({ length: 8 }, () => callback(back, stateCookie)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([303, 400, 400, 400, 400, 400, 400, 400]);
    for (const r of answers.filter((a) => a.status === 400)) {
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid_state');
    }
    expect(await userCount()).toBe(before + 1);
  });

  it('refuses a code replayed in another browser (its own state is fine; PKCE and single use are not)', async () => {
    const sub = unique('sub');
    await sso.setAccount(sub, { email: `${unique('v')}@corp.test`, email_verified: true });
    const victim = await start('sso');
    const back = await sso.signIn(victim.authorizationUrl, sub);
    expect((await callback(back, victim.stateCookie)).status).toBe(303);
    const before = await userCount();

    const attacker = await start('sso');
    const injected = new URL(back);
    injected.searchParams.set('state', attacker.authorizationUrl.searchParams.get('state')!);
    const res = await callback(injected, attacker.stateCookie);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('oauth_failed');
    expect(await userCount()).toBe(before);

    // GitHub's codes too: the local GitHub refuses a second exchange like the real one.
    const id = randomInt(3_000_000_000, 3_100_000_000);
    github.addUser({ id, login: unique('g'), name: null, email: null, emails: [] });
    const g = await start('github');
    const gBack = await github.signIn(g.authorizationUrl, id);
    expect((await callback(gBack, g.stateCookie)).status).toBe(303);
    const g2 = await start('github');
    const gInjected = new URL(gBack);
    gInjected.searchParams.set('state', g2.authorizationUrl.searchParams.get('state')!);
    const refused = github.tokenRequests.refused;
    const gRes = await callback(gInjected, g2.stateCookie);
    expect([gRes.status, ((await gRes.json()) as { error: { code: string } }).error.code]).toEqual([400, 'oauth_failed']);
    expect(github.tokenRequests.refused).toBe(refused + 1);
  });

  it('sends a person who declines at the provider home with signin_error, creating nobody', async () => {
    const id = randomInt(3_100_000_000, 3_200_000_000);
    github.addUser({ id, login: unique('d'), name: null, email: null, emails: [] });
    const before = await userCount();
    const { authorizationUrl, stateCookie } = await start('github');
    const res = await callback(await github.signIn(authorizationUrl, id, { deny: true }), stateCookie);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/?signin_error=access_denied');
    expect(setCookieNamed(res, 'tg_session')).toBeUndefined();
    expect(setCookieNamed(res, 'tg_oauth')).toMatch(/Max-Age=0/);
    expect(await userCount()).toBe(before);
  });

  it('answers 404 provider_not_found for a provider that is not configured, and 503 unavailable for one that cannot be reached', async () => {
    for (const path of ['/auth/oauth/gitlab/start', '/auth/oauth/gitlab/callback?code=x&state=y', '/auth/oauth/__proto__/start']) {
      const res = await fetch(`${gw.url}${path}`, { redirect: 'manual' });
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect([path, res.status, body.error.code]).toEqual([path, 404, 'provider_not_found']);
    }
    const down = await fetch(`${gw.url}/auth/oauth/down/start`, { redirect: 'manual' });
    const body = (await down.json()) as { error: { code: string; message: string } };
    expect([down.status, body.error.code, down.headers.get('retry-after')]).toEqual([503, 'unavailable', '30']);
    expect(body.error.message).toContain(`127.0.0.1:${downPort}`);
  });

  it('documents both routes and their error codes in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> };
    const startDoc = doc.paths['/auth/oauth/{provider}/start']?.get;
    const callbackDoc = doc.paths['/auth/oauth/{provider}/callback']?.get;
    expect(Object.keys(startDoc?.responses ?? {}).sort()).toEqual(['302', '404', '503']);
    expect(Object.keys(callbackDoc?.responses ?? {}).sort()).toEqual(['303', '400', '404', '503']);
    expect(callbackDoc?.responses['400'].description).toMatch(/invalid_state, oauth_failed/);
  });

  it('keeps no email or provider subject in clear in Postgres, Redis or the logs', async () => {
    const sub = unique('subject');
    const email = `${unique('private')}@corp.test`;
    await sso.setAccount(sub, { email, email_verified: true, name: unique('Name') });
    const { me } = await signIn('sso', (url) => sso.signIn(url, sub));
    const ghId = String(randomInt(4_000_000_000, 4_100_000_000));
    const ghEmail = `${unique('ghprivate')}@gh.test`;
    github.addUser({ id: Number(ghId), login: unique('login'), name: null, email: null, emails: [{ email: ghEmail, primary: true, verified: true }] });
    await signIn('github', (url) => github.signIn(url, Number(ghId)));

    // Positive control: the search does see what is there.
    expect((await searchPostgres(gw.db.pool, me.id)).hits.length).toBeGreaterThan(0);
    for (const secret of [sub, email, ghId, ghEmail]) {
      const pg = await searchPostgres(gw.db.pool, secret);
      expect(pg.tablesSearched).toBeGreaterThan(5);
      expect([secret, pg.hits]).toEqual([secret, []]);
      const redis = await searchRedis(TEST_REDIS_URL, secret);
      expect([secret, redis.hits]).toEqual([secret, []]);
      expect([secret, gw.logs.filter((l) => l.includes(secret))]).toEqual([secret, []]);
    }
  });
});
