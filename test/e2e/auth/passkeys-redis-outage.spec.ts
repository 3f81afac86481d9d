/**
 * Passkey ceremonies while Redis (where their challenges live) is down: a private redis-server
 * this file owns, killed and started again empty. Starting or finishing a ceremony answers a
 * fast 503 `unavailable` with retry-after (never a hang or a 500); a ceremony begun before the
 * outage cannot be finished after it (its challenge is gone: passkey_challenge); once Redis is
 * back, passkeys sign in again without a restart.
 */
import { signedIn } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';
import { PrivateRedis, startPrivateRedis, whyNoRedisServer } from '../../support/private-redis';
import { freePort, waitFor } from '../../support/wait';
import { SoftwareAuthenticator } from '../../support/webauthn-authenticator';

const skipReason = whyNoRedisServer();

if (skipReason) {
  console.warn(`SKIPPED passkeys with Redis down: ${skipReason}`);
  it.skip(`passkeys with Redis down — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('passkeys with Redis stopped (private redis-server, booted app)', () => {
    let redis: PrivateRedis;
    let gateway: Gateway;

    beforeAll(async () => {
      redis = await startPrivateRedis();
      const port = await freePort();
      gateway = await startGateway({
        env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300', PORT: String(port), PUBLIC_URL: `http://localhost:${port}` },
      });
    }, 120_000);
    afterAll(async () => {
      await redis?.start(); // so the gateway's connections close cleanly
      await gateway?.close();
      await redis?.close();
    });

    const call = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${gateway.url}${path}`, { method: 'POST', ...init, headers: { origin: gateway.config.PUBLIC_URL, ...init.headers } });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, retryAfter: res.headers.get('retry-after'), cookie: res.headers.get('set-cookie') };
    };
    const ceremonyCookie = (setCookie: string | null) => /tg_passkey=([^;]+)/.exec(setCookie ?? '')?.[1];

    it('answers 503 at once while Redis is down, loses the ceremonies under way, and signs in again once it is back', async () => {
      const person = await signedIn(gateway);
      const key = new SoftwareAuthenticator(gateway.config.WEBAUTHN_ORIGIN);
      const regOptions = await person.fetch('/auth/passkeys/register/options', { method: 'POST' });
      expect(regOptions.status).toBe(200);
      const registered = await person.fetch('/auth/passkeys/register/verify', { method: 'POST', body: { response: key.create((await regOptions.json()) as any) } });
      expect(registered.status).toBe(201);

      // A sign-in begun before the outage.
      const before = await call('/auth/passkeys/login/options');
      expect(before.status).toBe(200);
      const beforeAssertion = key.get(before.body);

      await redis.stop();
      const started = Date.now();
      const refused = [
        await call('/auth/passkeys/login/options'),
        await call('/auth/passkeys/login/verify', {
          headers: { 'content-type': 'application/json', cookie: `tg_passkey=${ceremonyCookie(before.cookie)}` },
          body: JSON.stringify({ response: beforeAssertion }),
        }),
        await person.fetch('/auth/passkeys/register/options', { method: 'POST' }).then(async (r) => ({ status: r.status, body: await r.json(), retryAfter: r.headers.get('retry-after') })),
      ];
      expect(Date.now() - started).toBeLessThan(5_000);
      for (const r of refused) {
        expect(r).toMatchObject({ status: 503, body: { error: { code: 'unavailable' } } });
        expect(Number(r.retryAfter)).toBeGreaterThan(0);
      }

      await redis.start(); // empty: the challenge of the sign-in begun before is gone
      let again = await call('/auth/passkeys/login/options');
      await waitFor(async () => (again = await call('/auth/passkeys/login/options')).status === 200, 10_000, 'the gateway to reach Redis again');
      const stale = await call('/auth/passkeys/login/verify', {
        headers: { 'content-type': 'application/json', cookie: `tg_passkey=${ceremonyCookie(before.cookie)}` },
        body: JSON.stringify({ response: beforeAssertion }),
      });
      expect(stale).toMatchObject({ status: 400, body: { error: { code: 'passkey_challenge' } } });

      const signedInAgain = await call('/auth/passkeys/login/verify', {
        headers: { 'content-type': 'application/json', cookie: `tg_passkey=${ceremonyCookie(again.cookie)}` },
        body: JSON.stringify({ response: key.get(again.body) }),
      });
      expect(signedInAgain).toMatchObject({ status: 200, body: { userId: person.userId } });
    });
  });
}
