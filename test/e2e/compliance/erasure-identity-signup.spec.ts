/**
 * After an erasure (issue 21), a sign-up through one of the erased person's sign-in identities is
 * a new person without the 20 free requests again, even when the provider vouches for no address
 * (an OIDC provider without the email claim, GitHub with no verified email): the keyed hash of
 * each erased identity (provider + subject) is kept in erased_identities, nothing in clear. The
 * real API app against a real OpenID provider (oidc-provider) and the local GitHub.
 */
import { createHash, randomBytes } from 'node:crypto';
import { UsersService } from '../../../src/accounts/application/users.service';
import { ErasureService } from '../../../src/compliance/erasure/application/erasure.service';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { FakeGitHub, startFakeGitHub } from '../../support/fake-github';
import { Gateway, startGateway } from '../../support/gateway';
import { OidcIssuer, startOidcIssuer } from '../../support/oidc-issuer';
import { freePort } from '../../support/wait';

const pair = (setCookie: string) => setCookie.split(';')[0];
const setCookieNamed = (res: Response, name: string) => res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
const unique = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;

describe('sign-ups through an erased identity (real OIDC provider, local GitHub, booted app)', () => {
  let gw: Gateway;
  let sso: OidcIssuer;
  let github: FakeGitHub;
  let users: UsersService;

  beforeAll(async () => {
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    [sso, github] = await Promise.all([startOidcIssuer({ redirectUris: [`${publicUrl}/auth/oauth/sso/callback`] }), startFakeGitHub()]);
    gw = await startGateway({
      env: {
        PORT: String(port),
        PUBLIC_URL: publicUrl,
        GITHUB_CLIENT_ID: github.clientId,
        GITHUB_CLIENT_SECRET: github.clientSecret,
        GITHUB_OAUTH_URL: github.url,
        GITHUB_API_URL: github.url,
        OIDC_PROVIDERS: JSON.stringify([{ name: 'sso', issuer: sso.url, clientId: sso.clientId, clientSecret: sso.clientSecret }]),
      },
    });
    users = gw.app.get(UsersService);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await Promise.all([sso?.close(), github?.close()]);
  });

  /** A whole sign-in in a fresh browser; who /api/me says is signed in. */
  async function signIn(provider: string, atProvider: (url: URL) => Promise<URL>): Promise<{ id: string; email: string | null; accountId: string }> {
    const begun = await fetch(`${gw.url}/auth/oauth/${provider}/start`, { redirect: 'manual' });
    expect(begun.status).toBe(302);
    const state = pair(setCookieNamed(begun, 'tg_oauth')!);
    const back = await atProvider(new URL(begun.headers.get('location')!));
    const res = await fetch(back, { redirect: 'manual', headers: { cookie: state } });
    expect(res.status).toBe(303);
    const me = await fetch(`${gw.url}/api/me`, { headers: { cookie: pair(setCookieNamed(res, 'tg_session')!) } });
    expect(me.status).toBe(200);
    return (await me.json()) as { id: string; email: string | null; accountId: string };
  }
  const freeRequests = async (accountId: string) => (await gw.app.get(LedgerService).load(accountId)).state.freeRequests;
  const erase = (userId: string) => gw.app.get(ErasureService).erase({ userId, actor: 'cli:test', via: 'cli', reason: 'asked to be forgotten' });
  const erasedIdentity = async (hash: string) => (await gw.db.pool.query('SELECT 1 FROM erased_identities WHERE identity_hash = $1', [hash])).rowCount;

  it('OIDC without an email claim: signs up with the free requests; after the erasure the same subject signs up without them; another subject still gets them', async () => {
    const sub = unique('sub');
    await sso.setAccount(sub, { name: 'No Mail' });
    const first = await signIn('sso', (url) => sso.signIn(url, sub));
    expect(first.email).toBeNull();
    expect(await freeRequests(first.accountId)).toBe(20);

    await erase(first.id);
    const hash = users.identityHash('sso', sub);
    expect(await erasedIdentity(hash)).toBe(1);

    const again = await signIn('sso', (url) => sso.signIn(url, sub));
    expect(again.id).not.toBe(first.id);
    expect(await freeRequests(again.accountId)).toBe(0);
    // Signing in again is the same new person, still without them.
    const third = await signIn('sso', (url) => sso.signIn(url, sub));
    expect(third.id).toBe(again.id);
    expect(await freeRequests(third.accountId)).toBe(0);

    const other = unique('sub');
    await sso.setAccount(other, {});
    expect(await freeRequests((await signIn('sso', (url) => sso.signIn(url, other))).accountId)).toBe(20);
  }, 90_000);

  it('GitHub with no verified email: the same, and five sign-ups at once through the erased identity make one person without free requests', async () => {
    const id = 7_000_000 + Math.floor(Math.random() * 1_000_000);
    github.addUser({ id, login: unique('octo'), name: null, email: null, emails: [{ email: `${unique('x')}@example.org`, primary: true, verified: false }] });
    const first = await signIn('github', (url) => github.signIn(url, id));
    expect(first.email).toBeNull();
    expect(await freeRequests(first.accountId)).toBe(20);
    await erase(first.id);

    const all = await Promise.all(Array.from({ length: 5 }, () => signIn('github', (url) => github.signIn(url, id))));
    expect(new Set(all.map((a) => a.id)).size).toBe(1);
    expect(all[0].id).not.toBe(first.id);
    expect(await freeRequests(all[0].accountId)).toBe(0);
    // The person's own GitHub login renamed: the numeric id is the identity, still recognised.
    github.users.get(id)!.login = unique('renamed');
    expect((await signIn('github', (url) => github.signIn(url, id))).id).toBe(all[0].id);
  }, 90_000);

  it('keeps a keyed hash only: not the subject, not an unkeyed hash of it', async () => {
    const sub = unique('sub-clear');
    await sso.setAccount(sub, {});
    const p = await signIn('sso', (url) => sso.signIn(url, sub));
    await erase(p.id);
    const { rows } = await gw.db.pool.query<{ identity_hash: string }>('SELECT identity_hash FROM erased_identities');
    const hashes = rows.map((r) => r.identity_hash);
    expect(hashes).toContain(users.identityHash('sso', sub));
    for (const h of hashes) expect(h).toMatch(/^[0-9a-f]{64}$/);
    const plain = ['sso:' + sub, sub].map((v) => createHash('sha256').update(v).digest('hex'));
    for (const h of plain) expect(hashes).not.toContain(h);
    const clear = await gw.db.pool.query(`SELECT 1 FROM erased_identities WHERE identity_hash LIKE '%' || $1 || '%'`, [sub]);
    expect(clear.rowCount).toBe(0);
  }, 60_000);
});
