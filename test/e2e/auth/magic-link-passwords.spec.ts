/**
 * Optional email + password (AUTH_PASSWORDS=true), end to end on the booted gateway with a real
 * SMTP receiver: sign-up by a mailed link, log-in, one answer for every wrong case, reset by
 * mail, change while signed in, and the limits. Off by default: the routes are 404.
 */
import { randomBytes } from 'node:crypto';
import { UsersService } from '../../../src/accounts/application/users.service';
import { signedIn } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';

const TOKEN = /\/auth\/magic-link\/verify\?token=([A-Za-z0-9_-]{43})/;

describe('email + password sign-in (AUTH_PASSWORDS=true, booted gateway, real SMTP receiver)', () => {
  let gateway: Gateway;
  let smtp: SmtpReceiver;
  let clients = 0;

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    gateway = await startGateway({ env: { SMTP_URL: smtp.url, AUTH_PASSWORDS: 'true', TRUST_PROXY: '127.0.0.1' } });
  }, 120_000);
  afterAll(async () => {
    await gateway?.close();
    await smtp?.close();
  });

  const newEmail = () => `pw-${randomBytes(5).toString('hex')}@example.org`;
  const newClient = () => `10.8.0.${++clients}`;
  const post = (path: string, body: unknown, client = newClient()) =>
    fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': client }, body: JSON.stringify(body) });
  const signUp = async (email: string, password: string) => {
    const before = smtp.messages.filter((m) => m.envelopeTo.includes(email)).length;
    const r = await post('/auth/signup', { email, password });
    expect(r.status).toBe(202);
    const mail = await smtp.messageTo(email, 10_000, before);
    expect(mail.subject).toBe('Confirm your address for Tollgate');
    return TOKEN.exec(mail.text)![1];
  };
  const useLink = (token: string) => post('/auth/magic-link/verify', { token });
  const userCount = async (email: string) =>
    (await gateway.db.pool.query('SELECT count(*)::int AS n FROM users WHERE email_hash = $1', [gateway.app.get(UsersService).emailHash(email)])).rows[0].n;

  it('signs up by a mailed link: nobody exists and log-in fails until the link is used, then the password works', async () => {
    const email = newEmail();
    const token = await signUp(email, 'correct horse battery');
    expect(await userCount(email)).toBe(0);
    expect((await post('/auth/login', { email, password: 'correct horse battery' })).status).toBe(401);
    const used = await useLink(token);
    expect(used.status).toBe(200);
    const { userId, created } = (await used.json()) as any;
    expect(created).toBe(true);
    const login = await post('/auth/login', { email: ` ${email.toUpperCase()}`, password: 'correct horse battery' });
    expect(login.status).toBe(200);
    expect(await login.json()).toMatchObject({ userId });
    const cookie = /tg_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')![0];
    expect((await fetch(`${gateway.url}/api/me`, { headers: { cookie } })).status).toBe(200);
    // The hash is sealed everywhere: no argon2 string in any event or leftover link row.
    const found = await gateway.db.pool.query(`SELECT (SELECT count(*) FROM events e WHERE e::text LIKE '%argon2id%') + (SELECT count(*) FROM magic_link_tokens t WHERE t::text LIKE '%argon2id%') AS n`);
    expect(Number(found.rows[0].n)).toBe(0);
  });

  it('answers a wrong password, an unknown address and an address without a password alike, in similar time', async () => {
    const email = newEmail();
    await useLink(await signUp(email, 'the right password'));
    const linkOnly = newEmail();
    await gateway.app.get(UsersService).signUpOrInByEmail(linkOnly, 'magic_link');
    const attempt = async (e: string) => {
      const started = performance.now();
      const r = await post('/auth/login', { email: e, password: 'a wrong password' });
      return { ms: performance.now() - started, status: r.status, body: await r.text() };
    };
    const wrong = [await attempt(email), await attempt(email)];
    const unknown = [await attempt(newEmail()), await attempt(newEmail())];
    const noPassword = [await attempt(linkOnly), await attempt(linkOnly)];
    for (const a of [...unknown, ...noPassword]) expect([a.status, a.body]).toEqual([wrong[0].status, wrong[0].body]);
    expect(wrong[0].status).toBe(401);
    expect(JSON.parse(wrong[0].body).error.code).toBe('unauthenticated');
    // Each checks an argon2id hash (tens of ms): without the dummy hash an unknown address answers in ~1 ms.
    const fastest = (xs: { ms: number }[]) => Math.min(...xs.map((x) => x.ms));
    expect(fastest(unknown)).toBeGreaterThan(fastest(wrong) * 0.4);
    expect(fastest(noPassword)).toBeGreaterThan(fastest(wrong) * 0.4);
  });

  it('a sign-up for a known address is a reset by mail: the link sets the new password, the old one stops working', async () => {
    const email = newEmail();
    await useLink(await signUp(email, 'first password'));
    const again = await signUp(email, 'second password');
    expect((await post('/auth/login', { email, password: 'first password' })).status).toBe(200); // until the link is used
    const used = await useLink(again);
    expect(((await used.json()) as any).created).toBe(false);
    expect((await post('/auth/login', { email, password: 'first password' })).status).toBe(401);
    expect((await post('/auth/login', { email, password: 'second password' })).status).toBe(200);
    expect(await userCount(email)).toBe(1);
  });

  it('a signed-in person sets a new password (session and CSRF token needed)', async () => {
    const me = await signedIn(gateway, newEmail());
    const noCsrf = await fetch(`${gateway.url}/api/me/password`, {
      method: 'PUT',
      headers: { cookie: me.cookie, 'content-type': 'application/json', origin: new URL(gateway.config.PUBLIC_URL).origin },
      body: JSON.stringify({ password: 'brand new password' }),
    });
    expect(noCsrf.status).toBe(403);
    expect((await post('/auth/login', { email: me.email, password: 'brand new password' })).status).toBe(401);
    const set = await me.fetch('/api/me/password', { method: 'PUT', body: { password: 'brand new password' } });
    expect(set.status).toBe(204);
    expect((await post('/auth/login', { email: me.email, password: 'brand new password' })).status).toBe(200);
  });

  it('refuses short, long and malformed input, and limits attempts per address per hour', async () => {
    for (const body of [{ email: newEmail(), password: 'short' }, { email: newEmail(), password: 'x'.repeat(257) }, { email: 'nope', password: 'long enough password' }, { email: newEmail() }]) {
      const r = await post('/auth/signup', body);
      expect(r.status).toBe(400);
      expect(((await r.json()) as any).error.code).toBe('validation_failed');
    }
    const email = newEmail();
    for (let i = 0; i < 5; i++) expect((await post('/auth/login', { email, password: `guess number ${i}` })).status).toBe(401);
    const limited = await post('/auth/login', { email, password: 'guess number 6' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).not.toBeNull();
  });
});

describe('email + password off (the default)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway();
  }, 120_000);
  afterAll(() => gateway?.close());

  it('answers 404 on every password route', async () => {
    for (const path of ['/auth/signup', '/auth/login']) {
      const r = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@example.org', password: 'long enough password' }) });
      expect(r.status).toBe(404);
      expect(((await r.json()) as any).error.code).toBe('not_found');
    }
    const me = await signedIn(gateway);
    expect((await me.fetch('/api/me/password', { method: 'PUT', body: { password: 'long enough password' } })).status).toBe(404);
  });
});
