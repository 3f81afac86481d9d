/**
 * Passkeys through the booted gateway (real Postgres and Redis), with software authenticators
 * answering in WebAuthn's wire format: add two, sign in with each, rename, remove one (it no
 * longer signs in), and the ways a ceremony is abused: a challenge used twice or expired, an
 * assertion for another origin or RP, a forged signature, a copied authenticator, someone
 * else's credential, the same authenticator registered twice, no session, huge bodies.
 */
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { Gateway, startGateway } from '../../support/gateway';
import { signedIn } from '../../support/account-client';
import { TEST_REDIS_URL } from '../../support/test-env';
import { freePort } from '../../support/wait';
import { SoftwareAuthenticator, forgeSignature, rebind, withUserHandle } from '../../support/webauthn-authenticator';
import { PasskeyChallenges } from '../../../src/auth/passkeys/passkey-challenges';

type Person = Awaited<ReturnType<typeof signedIn>>;

/** A signed-out browser on the gateway's own pages: keeps its cookies, sends its Origin. */
class Browser {
  readonly cookies = new Map<string, string>();
  constructor(
    private readonly gateway: Gateway,
    private readonly origin = gateway.config.PUBLIC_URL,
  ) {}

  async post(path: string, body?: unknown): Promise<{ status: number; body: any; setCookies: string[] }> {
    const res = await fetch(`${this.gateway.url}${path}`, {
      method: 'POST',
      headers: {
        origin: new URL(this.origin).origin,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair, ...attrs] = c.split(';');
      const [name, value] = [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1).trim()];
      const gone = value === '' || attrs.some((a) => /^\s*max-age=0$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, setCookies };
  }
}

describe('passkeys (booted app, real Postgres and Redis, software authenticators)', () => {
  let gateway: Gateway;
  let redis: Redis;
  let challenges: PasskeyChallenges;
  let origin: string;

  beforeAll(async () => {
    // People reach this gateway at http://localhost:<port>: a host name, since an IP address
    // cannot be a WebAuthn relying party (browsers, and the emulator, refuse it).
    const port = await freePort();
    gateway = await startGateway({ env: { PORT: String(port), PUBLIC_URL: `http://localhost:${port}` } });
    origin = gateway.config.WEBAUTHN_ORIGIN;
    redis = new Redis(TEST_REDIS_URL);
    challenges = gateway.app.get(PasskeyChallenges);
  }, 120_000);
  afterAll(async () => {
    redis?.disconnect();
    await gateway?.close();
  });

  const json = async (res: Response): Promise<{ status: number; body: any }> => ({ status: res.status, body: res.status === 204 ? null : await res.json() });
  const post = (who: Person, path: string, body?: unknown) =>
    who.fetch(path, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) }).then(json);
  const list = async (who: Person) => (await json(await who.fetch('/api/passkeys'))).body.data as any[];

  /** Adds a passkey on `authenticator` for the person; the answer of the verify. */
  async function register(who: Person, authenticator: SoftwareAuthenticator, name?: string) {
    const options = await post(who, '/auth/passkeys/register/options');
    expect(options.status).toBe(200);
    return post(who, '/auth/passkeys/register/verify', { response: authenticator.create(options.body), ...(name ? { name } : {}) });
  }

  /** A sign-in on a fresh browser: the options' cookie, the authenticator's assertion, the verify. */
  async function signInWith(authenticator: SoftwareAuthenticator, tamper: (a: any) => any = (a) => a) {
    const browser = new Browser(gateway);
    const options = await browser.post('/auth/passkeys/login/options');
    expect(options.status).toBe(200);
    const result = await browser.post('/auth/passkeys/login/verify', { response: tamper(authenticator.get(options.body)) });
    return { ...result, browser };
  }

  const me = async (cookie: string) => json(await fetch(`${gateway.url}/api/me`, { headers: { cookie: `tg_session=${cookie}` } }));

  it('registers two passkeys, signs in with each, lists, renames and removes them; a removed one no longer signs in', async () => {
    const ada = await signedIn(gateway, `ada-${randomUUID()}@example.com`);
    const laptop = new SoftwareAuthenticator(origin);
    const phone = new SoftwareAuthenticator(origin);

    const first = await register(ada, laptop, 'Laptop');
    expect(first).toEqual({ status: 201, body: { id: laptop.credentialIds()[0], name: 'Laptop', createdAt: expect.any(String) } });
    const second = await register(ada, phone); // no name: a default one
    expect(second.status).toBe(201);
    expect(second.body.name).toBe('Passkey 2');

    for (const authenticator of [laptop, phone]) {
      const r = await signInWith(authenticator);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ userId: ada.userId });
      const session = r.setCookies.find((c) => c.startsWith('tg_session='));
      expect(session).toMatch(/HttpOnly/i);
      expect(session).toMatch(/SameSite=Lax/i);
      expect(r.browser.cookies.has('tg_passkey')).toBe(false); // the ceremony cookie is spent
      const who = await me(r.browser.cookies.get('tg_session')!);
      expect(who.status).toBe(200);
      expect(who.body.id).toBe(ada.userId);
    }
    // The sign-ins are events on the person's stream, naming the credential and its counter.
    const signIns = await gateway.db.pool.query(`SELECT data FROM events WHERE stream_id = $1 AND type = 'SignedIn' AND data->>'method' = 'passkey'`, [`user-${ada.userId}`]);
    expect(signIns.rows.map((r) => r.data.credentialId).sort()).toEqual([laptop.credentialIds()[0], phone.credentialIds()[0]].sort());

    let keys = await list(ada);
    expect(keys).toEqual([
      { id: first.body.id, name: 'Laptop', createdAt: first.body.createdAt, lastUsedAt: expect.any(String), deviceType: expect.any(String), backedUp: expect.any(Boolean) },
      { id: second.body.id, name: 'Passkey 2', createdAt: second.body.createdAt, lastUsedAt: expect.any(String), deviceType: expect.any(String), backedUp: expect.any(Boolean) },
    ]);

    const renamed = await json(await ada.fetch(`/api/passkeys/${second.body.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '  Phone  ' }) }));
    expect(renamed).toMatchObject({ status: 200, body: { id: second.body.id, name: 'Phone' } });
    keys = await list(ada);
    expect(keys.map((k) => k.name)).toEqual(['Laptop', 'Phone']);

    const removed = await ada.fetch(`/api/passkeys/${first.body.id}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect((await list(ada)).map((k) => k.id)).toEqual([second.body.id]);
    const refused = await signInWith(laptop);
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'passkey_unknown' } } });
    expect(refused.browser.cookies.has('tg_session')).toBe(false);
    expect((await signInWith(phone)).status).toBe(200); // the other one still does

    // Removing or renaming what is not (or no longer) there.
    expect(await json(await ada.fetch(`/api/passkeys/${first.body.id}`, { method: 'DELETE' }))).toMatchObject({ status: 404, body: { error: { code: 'passkey_not_found' } } });
    const renameGone = await ada.fetch(`/api/passkeys/${first.body.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x' }) });
    expect(await json(renameGone)).toMatchObject({ status: 404, body: { error: { code: 'passkey_not_found' } } });
  });

  it('keeps passkey names sealed: no name in clear in any event or row', async () => {
    const bob = await signedIn(gateway, `bob-${randomUUID()}@example.com`);
    const name = `Bob's YubiKey ${randomUUID()}`;
    expect((await register(bob, new SoftwareAuthenticator(origin), name)).status).toBe(201);
    expect((await list(bob))[0].name).toBe(name);
    const renamedTo = `renamed ${randomUUID()}`;
    const [id] = (await list(bob)).map((k) => k.id);
    await bob.fetch(`/api/passkeys/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: renamedTo }) });
    const events = await gateway.db.pool.query(`SELECT type, data FROM events WHERE stream_id = $1 AND type LIKE 'Passkey%' ORDER BY stream_version`, [`user-${bob.userId}`]);
    expect(events.rows.map((r) => r.type)).toEqual(['PasskeyRegistered', 'PasskeyRenamed']);
    for (const row of events.rows) expect(row.data.name).toMatch(/^v1:/);
    // The text of every row of every table, in every schema (read models included).
    const { rows: tables } = await gateway.db.pool.query(
      `SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['events', 'users', 'sessions']));
    for (const needle of [name, renamedTo, 'YubiKey']) {
      for (const { table_schema, table_name } of tables) {
        const hit = await gateway.db.pool.query(`SELECT 1 FROM "${table_schema}"."${table_name}" t WHERE t::text ILIKE '%' || $1 || '%' LIMIT 1`, [needle]);
        expect({ table: `${table_schema}.${table_name}`, found: hit.rowCount }).toEqual({ table: `${table_schema}.${table_name}`, found: 0 });
      }
    }
    // Nor in Redis under this deployment's prefix, nor in a log line.
    for (const key of await redis.keys(`${gateway.config.REDIS_KEY_PREFIX}*`)) {
      const type = await redis.type(key);
      if (type === 'string') expect(await redis.get(key)).not.toContain('YubiKey');
    }
    expect(gateway.logs.join('').includes(name)).toBe(false);
  });

  it('lists the person’s passkeys in the registration options, so the same authenticator is not registered twice (409 when a client insists)', async () => {
    const cy = await signedIn(gateway, `cy-${randomUUID()}@example.com`);
    const key = new SoftwareAuthenticator(origin);
    const firstOptions = await post(cy, '/auth/passkeys/register/options');
    const firstResponse = key.create(firstOptions.body);
    expect((await post(cy, '/auth/passkeys/register/verify', { response: firstResponse })).status).toBe(201);

    const again = await post(cy, '/auth/passkeys/register/options');
    expect(again.body.excludeCredentials).toEqual([expect.objectContaining({ id: key.credentialIds()[0], type: 'public-key' })]);
    expect(again.body.user.id).toBe(Buffer.from(cy.userId.replace(/-/g, ''), 'hex').toString('base64url'));
    expect(again.body).toMatchObject({ rp: { id: gateway.config.WEBAUTHN_RP_ID, name: gateway.config.WEBAUTHN_RP_NAME }, authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' } });
    expect(() => key.create(again.body)).toThrow(/EXCLUDED/); // the authenticator itself declines
    // A client that sends the same credential again anyway (with this ceremony's challenge).
    const replayed = await post(cy, '/auth/passkeys/register/verify', { response: rebind(firstResponse, again.body.challenge, origin) });
    expect(replayed).toMatchObject({ status: 409, body: { error: { code: 'duplicate_passkey' } } });
    expect(await list(cy)).toHaveLength(1);
  });

  it('refuses to register without a session, without the CSRF token, and another session’s ceremony', async () => {
    const anon = await json(await fetch(`${gateway.url}/auth/passkeys/register/options`, { method: 'POST' }));
    expect(anon).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
    const anonVerify = await fetch(`${gateway.url}/auth/passkeys/register/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonVerify.status).toBe(401);

    const dee = await signedIn(gateway, `dee-${randomUUID()}@example.com`);
    const noToken = await json(await fetch(`${gateway.url}/auth/passkeys/register/options`, { method: 'POST', headers: { cookie: dee.cookie, origin: gateway.config.PUBLIC_URL } }));
    expect(noToken).toMatchObject({ status: 403, body: { error: { code: 'csrf' } } });
    expect(await json(await fetch(`${gateway.url}/api/passkeys`))).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });

    // Eve completes, in her own session, a ceremony that Dee started: the challenge is Dee's.
    const eve = await signedIn(gateway, `eve-${randomUUID()}@example.com`);
    const deeOptions = await post(dee, '/auth/passkeys/register/options');
    const response = new SoftwareAuthenticator(origin).create(deeOptions.body);
    expect(await post(eve, '/auth/passkeys/register/verify', { response })).toMatchObject({ status: 400, body: { error: { code: 'passkey_challenge' } } });
    expect(await list(eve)).toHaveLength(0);
    // Dee's own ceremony is untouched by Eve's attempt.
    expect((await post(dee, '/auth/passkeys/register/verify', { response })).status).toBe(201);
  });

  it('uses a challenge once: a replayed registration or sign-in is refused, and of two racing sign-ins one wins', async () => {
    const fay = await signedIn(gateway, `fay-${randomUUID()}@example.com`);
    const key = new SoftwareAuthenticator(origin);
    const options = await post(fay, '/auth/passkeys/register/options');
    const response = key.create(options.body);
    expect((await post(fay, '/auth/passkeys/register/verify', { response })).status).toBe(201);
    expect(await post(fay, '/auth/passkeys/register/verify', { response })).toMatchObject({ status: 400, body: { error: { code: 'passkey_challenge' } } });

    // The same assertion posted twice with the same ceremony cookie.
    const browser = new Browser(gateway);
    const login = await browser.post('/auth/passkeys/login/options');
    const assertion = key.get(login.body);
    const cookie = browser.cookies.get('tg_passkey')!;
    expect((await browser.post('/auth/passkeys/login/verify', { response: assertion })).status).toBe(200);
    browser.cookies.set('tg_passkey', cookie);
    expect(await browser.post('/auth/passkeys/login/verify', { response: assertion })).toMatchObject({ status: 400, body: { error: { code: 'passkey_challenge' } } });

    // An old assertion presented to a new ceremony names the wrong challenge.
    const fresh = new Browser(gateway);
    await fresh.post('/auth/passkeys/login/options');
    expect(await fresh.post('/auth/passkeys/login/verify', { response: assertion })).toMatchObject({ status: 400, body: { error: { code: 'passkey_invalid' } } });

    // Without the ceremony cookie (another browser, or a made-up one).
    const stranger = new Browser(gateway);
    expect(await stranger.post('/auth/passkeys/login/verify', { response: assertion })).toMatchObject({ status: 400, body: { error: { code: 'passkey_challenge' } } });
    stranger.cookies.set('tg_passkey', 'made-up');
    expect(await stranger.post('/auth/passkeys/login/verify', { response: assertion })).toMatchObject({ status: 400, body: { error: { code: 'passkey_challenge' } } });

    // Five concurrent verifies of one ceremony: exactly one signs in.
    const racing = new Browser(gateway);
    const raceOptions = await racing.post('/auth/passkeys/login/options');
    const raceAssertion = key.get(raceOptions.body);
    const results = await Promise.all(Array.from({ length: 5 }, () => racing.post('/auth/passkeys/login/verify', { response: raceAssertion })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400]);
  });

  it('refuses an expired challenge, and issues each for five minutes', async () => {
    const gus = await signedIn(gateway, `gus-${randomUUID()}@example.com`);
    const key = new SoftwareAuthenticator(origin);
    const options = await post(gus, '/auth/passkeys/register/options');
    const regKey = challenges.registrationKey(gus.userId, options.body.challenge);
    const ttl = await redis.ttl(regKey);
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
    await redis.pexpire(regKey, 1); // five minutes pass
    await new Promise((r) => setTimeout(r, 20));
    expect(await post(gus, '/auth/passkeys/register/verify', { response: key.create(options.body) })).toMatchObject({ status: 400, body: { error: { code: 'passkey_challenge' } } });
    expect(await list(gus)).toHaveLength(0);

    expect((await register(gus, key)).status).toBe(201);
    const browser = new Browser(gateway);
    const login = await browser.post('/auth/passkeys/login/options');
    expect(login.setCookies.find((c) => c.startsWith('tg_passkey='))).toMatch(/HttpOnly/i);
    const loginKey = challenges.loginKey(browser.cookies.get('tg_passkey')!);
    expect(await redis.ttl(loginKey)).toBeGreaterThan(290);
    await redis.pexpire(loginKey, 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(await browser.post('/auth/passkeys/login/verify', { response: key.get(login.body) })).toMatchObject({ status: 400, body: { error: { code: 'passkey_challenge' } } });
  });

  it('refuses an assertion made for another origin or another RP, a forged signature, and a copied authenticator', async () => {
    const hal = await signedIn(gateway, `hal-${randomUUID()}@example.com`);
    const key = new SoftwareAuthenticator(origin);
    expect((await register(hal, key)).status).toBe(201);
    const rpId = gateway.config.WEBAUTHN_RP_ID;

    // A page on another origin of the same registrable domain (a subdomain) asks the same RP.
    const subdomain = new URL(origin);
    subdomain.hostname = `evil.${rpId}`;
    const sibling = new SoftwareAuthenticator(subdomain.origin, key.clone().store);
    const viaSibling = await signInWith(sibling);
    expect(viaSibling).toMatchObject({ status: 400, body: { error: { code: 'passkey_invalid', message: expect.stringMatching(/origin/) } } });

    // A look-alike site relays our challenge under its own RP id; the authenticator (holding
    // these keys for that RP) signs with that site's origin and RP id hash.
    const phished = key.phishedBy('https://tollgate.example.net');
    const relayedTo = async (edit: (assertion: any) => any) => {
      const browser = new Browser(gateway);
      const options = await browser.post('/auth/passkeys/login/options');
      const assertion = phished.get({ ...options.body, rpId: 'tollgate.example.net' });
      return browser.post('/auth/passkeys/login/verify', { response: edit(assertion) });
    };
    expect(await relayedTo((a) => a)).toMatchObject({ status: 400, body: { error: { code: 'passkey_invalid', message: expect.stringMatching(/origin/) } } });
    // The same with its client data rewritten to name our origin: the signed RP id hash still tells.
    const ourOrigin = (a: any) => {
      const clientData = JSON.parse(Buffer.from(a.response.clientDataJSON, 'base64url').toString());
      expect(clientData.origin).toBe('https://tollgate.example.net');
      return { ...a, response: { ...a.response, clientDataJSON: Buffer.from(JSON.stringify({ ...clientData, origin })).toString('base64url') } };
    };
    expect(await relayedTo(ourOrigin)).toMatchObject({ status: 400, body: { error: { code: 'passkey_invalid', message: expect.stringMatching(/RP ID/i) } } });

    // One flipped bit of the signature.
    expect(await signInWith(key, forgeSignature)).toMatchObject({ status: 400, body: { error: { code: 'passkey_invalid', message: expect.stringMatching(/signature/) } } });

    // The genuine authenticator still signs in (nothing above moved its counter)...
    const copy = key.clone();
    expect((await signInWith(key)).status).toBe(200);
    // ...and a copy of it made before, signing with the same counter, is a clone.
    const cloned = await signInWith(copy);
    expect(cloned).toMatchObject({ status: 400, body: { error: { code: 'passkey_counter' } } });
    expect(cloned.browser.cookies.has('tg_session')).toBe(false);
  });

  it('lets only one of an authenticator and its copy sign in when both race with the same counter', async () => {
    const max = await signedIn(gateway, `max-${randomUUID()}@example.com`);
    const key = new SoftwareAuthenticator(origin);
    expect((await register(max, key)).status).toBe(201);
    const copy = key.clone();
    const [a, b] = [new Browser(gateway), new Browser(gateway)];
    const [optionsA, optionsB] = await Promise.all([a.post('/auth/passkeys/login/options'), b.post('/auth/passkeys/login/options')]);
    const [assertionA, assertionB] = [key.get(optionsA.body), copy.get(optionsB.body)]; // both sign counter 1
    const results = await Promise.all([
      a.post('/auth/passkeys/login/verify', { response: assertionA }),
      b.post('/auth/passkeys/login/verify', { response: assertionB }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(results.find((r) => r.status === 400)?.body.error.code).toBe('passkey_counter');
    const signIns = await gateway.db.pool.query(`SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = 'SignedIn' AND data->>'method' = 'passkey'`, [`user-${max.userId}`]);
    expect(signIns.rows[0].n).toBe(1);
  });

  it('refuses someone else’s credential: the user handle must name the credential’s owner', async () => {
    const ivy = await signedIn(gateway, `ivy-${randomUUID()}@example.com`);
    const jon = await signedIn(gateway, `jon-${randomUUID()}@example.com`);
    const ivyKey = new SoftwareAuthenticator(origin);
    const jonKey = new SoftwareAuthenticator(origin);
    expect((await register(ivy, ivyKey)).status).toBe(201);
    expect((await register(jon, jonKey)).status).toBe(201);
    const handle = (userId: string) => Buffer.from(userId.replace(/-/g, ''), 'hex').toString('base64url');

    // Ivy's genuine assertion claiming to be Jon.
    const asJon = await signInWith(ivyKey, (a) => withUserHandle(a, handle(jon.userId)));
    expect(asJon).toMatchObject({ status: 400, body: { error: { code: 'passkey_unknown' } } });
    // A user who does not exist, a handle that is no user id, none at all.
    for (const userHandle of [handle(randomUUID()), Buffer.from(ivy.userId).toString('base64url'), '']) {
      const r = await signInWith(ivyKey, (a) => withUserHandle(a, userHandle));
      expect(r).toMatchObject({ status: 400, body: { error: { code: userHandle === '' ? 'validation_failed' : 'passkey_unknown' } } });
    }
    const noHandle = await signInWith(ivyKey, (a) => ({ ...a, response: { ...a.response, userHandle: undefined } }));
    expect(noHandle).toMatchObject({ status: 400, body: { error: { code: 'passkey_unknown' } } });
    // Jon's credential id on Ivy's handle: not one of hers.
    const swapped = await signInWith(ivyKey, (a) => ({ ...a, id: jonKey.credentialIds()[0], rawId: jonKey.credentialIds()[0] }));
    expect(swapped).toMatchObject({ status: 400, body: { error: { code: 'passkey_unknown' } } });
    // Jon cannot rename or remove Ivy's passkey through his session.
    const [ivys] = await list(ivy);
    expect(await json(await jon.fetch(`/api/passkeys/${ivys.id}`, { method: 'DELETE' }))).toMatchObject({ status: 404 });
    expect((await list(ivy)).map((k) => k.id)).toEqual([ivys.id]);
    expect((await signInWith(ivyKey)).body).toEqual({ userId: ivy.userId });
  });

  it('holds at most 20 passkeys per person: the 21st is refused and nothing is added', async () => {
    const lea = await signedIn(gateway, `lea-${randomUUID()}@example.com`);
    for (let i = 0; i < 20; i++) expect((await register(lea, new SoftwareAuthenticator(origin))).status).toBe(201);
    expect(await register(lea, new SoftwareAuthenticator(origin))).toMatchObject({ status: 409, body: { error: { code: 'too_many_passkeys' } } });
    expect(await list(lea)).toHaveLength(20);
  });

  it('refuses huge and malformed bodies and bad names before verifying anything', async () => {
    const kim = await signedIn(gateway, `kim-${randomUUID()}@example.com`);
    const options = await post(kim, '/auth/passkeys/register/options');
    const response = new SoftwareAuthenticator(origin).create(options.body);
    const bad = [
      { response, name: 'x'.repeat(65) },
      { response, name: '   ' },
      { response, name: 'tab\there' },
      { response: { ...response, response: { ...response.response, attestationObject: 'A'.repeat(200_000) } } },
      { response: { ...response, type: 'password' } },
      { response: { ...response, id: 'not base64url!' } },
      {},
    ];
    for (const body of bad) {
      const r = await post(kim, '/auth/passkeys/register/verify', body);
      expect([400, 413]).toContain(r.status);
      expect(['validation_failed', 'payload_too_large']).toContain(r.body.error.code);
    }
    // None of those spent the ceremony: the genuine response still registers.
    expect((await post(kim, '/auth/passkeys/register/verify', { response, name: 'Kim' })).status).toBe(201);

    const browser = new Browser(gateway);
    await browser.post('/auth/passkeys/login/options');
    const junk = await browser.post('/auth/passkeys/login/verify', { response: { id: 'x', rawId: 'x', type: 'public-key', response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' } } });
    expect(junk).toMatchObject({ status: 400 });
    expect(['passkey_unknown', 'passkey_invalid']).toContain(junk.body.error.code);
  });

  it('refuses a sign-in started or finished from another site', async () => {
    const other = new Browser(gateway, 'https://elsewhere.example');
    expect(await other.post('/auth/passkeys/login/options')).toMatchObject({ status: 403, body: { error: { code: 'csrf' } } });
    expect(await other.post('/auth/passkeys/login/verify', {})).toMatchObject({ status: 403, body: { error: { code: 'csrf' } } });
  });

  it('warns at start when the relying party is an IP address (browsers refuse one), and only then', async () => {
    expect(gateway.logs.join('')).not.toContain('passkeys cannot work');
    const byIp = await startGateway(); // PUBLIC_URL http://127.0.0.1:<port>
    try {
      expect(byIp.config.WEBAUTHN_RP_ID).toBe('127.0.0.1');
      expect(byIp.logs.join('')).toContain('passkeys cannot work with the relying party 127.0.0.1');
    } finally {
      await byIp.close();
    }
  });

  it('documents every passkey route in the OpenAPI document', async () => {
    const doc = (await json(await fetch(`${gateway.url}/openapi.json`))).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/auth/passkeys/register/options',
        '/auth/passkeys/register/verify',
        '/auth/passkeys/login/options',
        '/auth/passkeys/login/verify',
        '/api/passkeys',
        '/api/passkeys/{id}',
      ]),
    );
    expect(Object.keys(doc.paths['/api/passkeys/{id}'])).toEqual(expect.arrayContaining(['patch', 'delete']));
    expect(JSON.stringify(doc.paths['/auth/passkeys/login/verify'])).toContain('passkey_counter');
  });
});
