/**
 * Sign-in links end to end: the booted gateway on a fresh database and its own Redis prefix,
 * mailing over SMTP to a real smtp-server receiver, used the way a browser uses them (the
 * page's form POST) and the way a script does (JSON). Each test uses its own client address
 * (X-Forwarded-For from a trusted 127.0.0.1) so the per-client limit is its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { UsersService } from '../../../src/accounts/application/users.service';
import { REDIS } from '../../../src/platform/redis/redis.module';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

const TOKEN_LINK = /(http:\/\/127\.0\.0\.1:\d+\/auth\/magic-link\/verify\?token=([A-Za-z0-9_-]{43}))/;

describe('magic link sign-in (booted gateway, real SMTP receiver, Postgres, Redis)', () => {
  let gateway: Gateway;
  let smtp: SmtpReceiver;
  let users: UsersService;
  let clients = 0;

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    gateway = await startGateway({
      env: { SMTP_URL: smtp.url, MAIL_FROM: 'Tollgate <login@tollgate.test>', TRUST_PROXY: '127.0.0.1', MAGIC_LINK_PER_CLIENT_PER_HOUR: '8' },
    });
    users = gateway.app.get(UsersService);
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await smtp?.close();
  });

  const newEmail = (tag = 'p') => `${tag}-${randomBytes(5).toString('hex')}@example.org`;
  const newClient = () => `10.9.${Math.floor(++clients / 250)}.${clients % 250}`;
  const ask = (email: unknown, client: string, init: RequestInit = {}) =>
    fetch(`${gateway.url}/auth/magic-link`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
      body: JSON.stringify({ email }),
      ...init,
    });
  /** Asks for a link and reads it from the mail: [link, token]. */
  const linkFor = async (email: string, client = newClient()) => {
    const before = smtp.messages.filter((m) => m.envelopeTo.includes(email)).length;
    const r = await ask(email, client);
    expect(r.status).toBe(202);
    const mail = await smtp.messageTo(email, 10_000, before);
    const m = TOKEN_LINK.exec(mail.text)!;
    expect(m).not.toBeNull();
    return [m[1], m[2]] as const;
  };
  // As the page's button posts it: a form, from our page (no-referrer: Origin null), same-origin.
  const pressButton = (token: string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/auth/magic-link/verify`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null', 'sec-fetch-site': 'same-origin', ...headers },
      body: new URLSearchParams({ token }).toString(),
    });
  const postJson = (token: unknown) =>
    fetch(`${gateway.url}/auth/magic-link/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  const userRows = async (email: string) =>
    (await gateway.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE email_hash = $1', [users.emailHash(email)])).rows[0].n;
  const eventCount = async () => (await gateway.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0].n;
  const cookieOf = (r: Response) => /tg_session=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];

  it('mails a link to PUBLIC_URL; opening it changes nothing; its button signs in with the right cookie', async () => {
    const email = newEmail('ada');
    const events = await eventCount();
    const [link, token] = await linkFor(email);
    expect(link.startsWith(`${gateway.config.PUBLIC_URL}/auth/magic-link/verify?token=`)).toBe(true);
    // The start-up line names the transport (debug: Nest's `log` level), never the URL's credentials.
    expect(gateway.logs.join('')).toContain(`mail is sent over SMTP through 127.0.0.1:${smtp.port}`);
    const mail = await smtp.messageTo(email);
    expect(mail.headers.from).toBe('Tollgate <login@tollgate.test>');
    expect(mail.html).toContain(`href="${link}"`);
    // Asking for a link made nobody and appended nothing.
    expect(await userRows(email)).toBe(0);
    expect(await eventCount()).toBe(events);

    for (let i = 0; i < 2; i++) {
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      const html = await page.text();
      expect(html).toContain(`<input type="hidden" name="token" value="${token}">`);
      expect(html).toMatch(/<form method="post" action="\/auth\/magic-link\/verify">/);
      expect(html).not.toMatch(/<script|<link|<img|src=|https?:\/\//i); // nothing fetched from anywhere
    }
    expect(await userRows(email)).toBe(0);
    expect(await eventCount()).toBe(events);

    const signed = await pressButton(token);
    expect(signed.status).toBe(303);
    expect(signed.headers.get('location')).toBe('/');
    const setCookie = signed.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^tg_session=[A-Za-z0-9_-]+;/);
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; SameSite=Lax/i);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).toMatch(/; Max-Age=604800/);
    expect(setCookie).not.toMatch(/Secure/i); // PUBLIC_URL is http://
    const me = await fetch(`${gateway.url}/api/me`, { headers: { cookie: `tg_session=${cookieOf(signed)}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email });
    expect(await userRows(email)).toBe(1);
  });

  it('a link works once: the second press gets the "cannot be used" page, JSON gets invalid_token', async () => {
    const [link, token] = await linkFor(newEmail());
    expect((await pressButton(token)).status).toBe(303);
    const again = await pressButton(token);
    expect(again.status).toBe(400);
    expect(again.headers.get('content-type')).toMatch(/^text\/html/);
    expect(again.headers.get('set-cookie')).toBeNull();
    expect(await again.text()).toContain('This link cannot be used');
    const json = await postJson(token);
    expect(json.status).toBe(400);
    expect(await json.json()).toEqual({ error: { code: 'invalid_token', message: expect.any(String) } });
    expect((await fetch(link)).status).toBe(400); // and its page says so
  });

  it('a script signs in with JSON: 200 with the ids, the cookie set; a second sign-in is the same person', async () => {
    const email = newEmail();
    const [, first] = await linkFor(email);
    const r1 = await postJson(first);
    expect(r1.status).toBe(200);
    const body1: any = await r1.json();
    expect(body1).toEqual({ userId: expect.any(String), accountId: expect.any(String), created: true });
    expect(cookieOf(r1)).toBeDefined();
    const [, second] = await linkFor(email);
    const body2: any = await (await postJson(second)).json();
    expect(body2).toEqual({ ...body1, created: false });
    // The account was opened with its free requests.
    const balance = await fetch(`${gateway.url}/api/me`, { headers: { cookie: `tg_session=${cookieOf(r1)}` } });
    expect(balance.status).toBe(200);
  });

  it('refuses an expired link (page and POST) and leaves no user behind', async () => {
    const email = newEmail();
    const [link, token] = await linkFor(email);
    const hash = createHash('sha256').update(token).digest();
    // Fifteen minutes pass: the row's own times move back (the app's clock is the system's).
    await gateway.db.pool.query(
      `UPDATE magic_link_tokens SET created_at = created_at - interval '16 minutes', expires_at = expires_at - interval '16 minutes' WHERE token_hash = $1`,
      [hash],
    );
    expect((await fetch(link)).status).toBe(400);
    expect((await postJson(token)).status).toBe(400);
    expect((await pressButton(token)).status).toBe(400);
    expect(await userRows(email)).toBe(0);
  });

  it('answers a known and an unknown address byte for byte the same, and mails both', async () => {
    const known = newEmail('known');
    await users.signUpOrInByEmail(known, 'magic_link');
    const unknown = newEmail('unknown');
    const client = newClient();
    const a = await ask(known, client);
    const b = await ask(unknown, client);
    const strip = (r: Response) => [...r.headers].filter(([k]) => k !== 'date');
    expect(a.status).toBe(202);
    expect([b.status, strip(b), await b.text()]).toEqual([a.status, strip(a), await a.text()]);
    await smtp.messageTo(known);
    await smtp.messageTo(unknown);
    expect(await userRows(unknown)).toBe(0);
  });

  it('limits links to 5 per address per hour (429 with retry-after), counted alike for any address', async () => {
    const email = newEmail();
    for (let i = 0; i < 5; i++) expect((await ask(email, newClient())).status).toBe(202);
    const refused = await ask(email, newClient());
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
    expect(((await refused.json()) as any).error.code).toBe('rate_limited');
    // The address's case and spaces do not make it another address.
    expect((await ask(`  ${email.toUpperCase()} `, newClient())).status).toBe(429);
  });

  it('limits links per client address per hour (MAGIC_LINK_PER_CLIENT_PER_HOUR), whatever the addresses', async () => {
    const client = newClient();
    for (let i = 0; i < 8; i++) expect((await ask(newEmail(), client)).status).toBe(202);
    expect((await ask(newEmail(), client)).status).toBe(429);
    expect((await ask(newEmail(), newClient())).status).toBe(202);
  });

  it('the same link pressed 10 times at once signs in exactly once', async () => {
    const email = newEmail();
    const [, token] = await linkFor(email);
    const answers = await Promise.all(Array.from({ length: 10 }, () => pressButton(token)));
    expect(answers.map((r) => r.status).sort()).toEqual([303, ...Array(9).fill(400)]);
    const { rows } = await gateway.db.pool.query('SELECT s.* FROM sessions s JOIN users u USING (user_id) WHERE u.email_hash = $1', [users.emailHash(email)]);
    expect(rows).toHaveLength(1);
  });

  it('two links of one new address used at once make one person', async () => {
    const email = newEmail();
    const [, t1] = await linkFor(email);
    const [, t2] = await linkFor(email);
    const [r1, r2] = await Promise.all([postJson(t1), postJson(t2)]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const [b1, b2]: any[] = [await r1.json(), await r2.json()];
    expect(b1.userId).toBe(b2.userId);
    expect(b1.accountId).toBe(b2.accountId);
    expect([b1.created, b2.created].sort()).toEqual([false, true]);
    expect(await userRows(email)).toBe(1);
  });

  it("refuses a link posted from another site's page (login CSRF), and the link stays usable", async () => {
    const [, token] = await linkFor(newEmail());
    const evil = await pressButton(token, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' });
    expect(evil.status).toBe(403);
    expect(evil.headers.get('set-cookie')).toBeNull();
    expect((await pressButton(token, { origin: 'https://evil.example' })).status).toBe(403); // an older browser: Origin only
    expect((await pressButton(token, { origin: 'null', 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await postJson(token)).status).toBe(200); // still unused: a script (no browser headers) signs in with it
  });

  it('refuses bad input: not an address, unknown fields, a huge body, a form where JSON is expected, a forged token', async () => {
    const client = newClient();
    for (const email of ['', 'not-an-address', 'a@b@c.org', `${'a'.repeat(250)}@example.org`, 42, null]) {
      const r = await ask(email, client);
      expect(r.status).toBe(400);
      expect(((await r.json()) as any).error.code).toBe('validation_failed');
    }
    const extra = await ask(undefined, client, { body: JSON.stringify({ email: newEmail(), admin: true }) });
    expect(extra.status).toBe(400);
    const huge = await ask(undefined, client, { body: JSON.stringify({ email: 'x'.repeat(5 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
    const form = await fetch(`${gateway.url}/auth/magic-link`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
      body: `email=${encodeURIComponent(newEmail())}`,
    });
    expect(form.status).toBe(415);
    const hugeForm = await fetch(`${gateway.url}/auth/magic-link/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${'a'.repeat(2 * 1024 * 1024)}`,
    });
    expect(hugeForm.status).toBe(413);
    const [, real] = await linkFor(newEmail());
    const twice = await fetch(`${gateway.url}/auth/magic-link/verify`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${real}&token=${real}`,
    });
    expect(twice.status).toBe(400); // a field sent twice is not a token
    expect((await postJson(real)).status).toBe(200);
    for (const token of [randomBytes(32).toString('base64url'), 'short', '', 'x'.repeat(400)]) {
      const r = await postJson(token);
      expect(r.status).toBe(400);
      expect(((await r.json()) as any).error.code).toBe('invalid_token');
    }
    expect((await postJson(undefined)).status).toBe(400);
    expect((await fetch(`${gateway.url}/auth/magic-link/verify`)).status).toBe(400);
    expect((await fetch(`${gateway.url}/auth/magic-link/verify?token=%3Cscript%3E`)).status).toBe(400);
  });

  it('a mail server refusing: 503 unavailable with retry-after, the link forgotten, the address never logged', async () => {
    const email = newEmail('refused');
    const rowsBefore = (await gateway.db.pool.query('SELECT count(*)::int AS n FROM magic_link_tokens')).rows[0].n;
    smtp.refuseNext(1);
    const r = await ask(email, newClient());
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).not.toBeNull();
    expect(((await r.json()) as any).error.code).toBe('unavailable');
    expect((await gateway.db.pool.query('SELECT count(*)::int AS n FROM magic_link_tokens')).rows[0].n).toBe(rowsBefore);
    expect(gateway.logs.join('')).toMatch(/a sign-in link could not be mailed/);
  });

  it('never writes an address or a token to the logs, Redis or the database in clear', async () => {
    const email = newEmail('canary');
    const [, token] = await linkFor(email);
    expect((await postJson(token)).status).toBe(200);
    const logs = gateway.logs.join('');
    expect(logs).not.toContain(email);
    expect(logs).not.toContain(token);
    const keys: string[] = await gateway.app.get<Redis>(REDIS).keys(`${gateway.config.REDIS_KEY_PREFIX}*`);
    expect(keys.join(' ')).not.toContain(email);
    const { rows } = await gateway.db.pool.query(`SELECT count(*)::int AS n FROM magic_link_tokens t WHERE t::text ILIKE '%' || $1 || '%'`, [email.split('@')[0]]);
    expect(rows[0].n).toBe(0);
    const inEvents = await gateway.db.pool.query(`SELECT count(*)::int AS n FROM events e WHERE e::text ILIKE '%' || $1 || '%'`, [email.split('@')[0]]);
    expect(inEvents.rows[0].n).toBe(0);
  });

  it('is in the OpenAPI document with its error codes', async () => {
    const doc: any = await (await fetch(`${gateway.url}/openapi.json`)).json();
    expect(Object.keys(doc.paths['/auth/magic-link'])).toEqual(['post']);
    expect(Object.keys(doc.paths['/auth/magic-link/verify']).sort()).toEqual(['get', 'post']);
    const post = doc.paths['/auth/magic-link'].post;
    expect(Object.keys(post.responses).sort()).toEqual(['202', '400', '415', '429', '503']);
    expect(doc.paths['/auth/magic-link/verify'].post.responses['400'].description).toContain('invalid_token');
  });
});
