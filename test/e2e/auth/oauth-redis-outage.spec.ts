/**
 * Redis is where a callback's state is marked used (single use). With Redis stopped (a private
 * redis-server this file owns), a callback is refused with a fast 503 `unavailable` and creates
 * nobody, rather than skipping the replay check; once Redis is back, the same sign-in can be
 * started again and completes without a restart.
 */
import { Gateway, startGateway } from '../../support/gateway';
import { OidcIssuer, startOidcIssuer } from '../../support/oidc-issuer';
import { PrivateRedis, startPrivateRedis, whyNoRedisServer } from '../../support/private-redis';
import { freePort } from '../../support/wait';

const skipReason = whyNoRedisServer();

if (skipReason) {
  console.warn(`SKIPPED oauth redis outage: ${skipReason}`);
  it.skip(`OAuth with Redis down — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('OAuth sign-in while Redis is down (private redis-server, booted app, oidc-provider)', () => {
    let redis: PrivateRedis;
    let issuer: OidcIssuer;
    let gw: Gateway;

    beforeAll(async () => {
      const port = await freePort();
      redis = await startPrivateRedis();
      issuer = await startOidcIssuer({ redirectUris: [`http://127.0.0.1:${port}/auth/oauth/sso/callback`] });
      gw = await startGateway({
        env: {
          PORT: String(port),
          PUBLIC_URL: `http://127.0.0.1:${port}`,
          REDIS_URL: redis.url,
          REDIS_COMMAND_TIMEOUT_MS: '300',
          OIDC_PROVIDERS: JSON.stringify([{ name: 'sso', issuer: issuer.url, clientId: issuer.clientId, clientSecret: issuer.clientSecret }]),
        },
      });
      await issuer.setAccount('sub-outage', { email: 'outage@corp.test', email_verified: true });
    }, 120_000);
    afterAll(async () => {
      await redis?.start(); // so the gateway's connections close cleanly
      await gw?.close();
      await issuer?.close();
      await redis?.close();
    });

    const userCount = async () => Number((await gw.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0].n);

    async function attempt(): Promise<Response> {
      const start = await fetch(`${gw.url}/auth/oauth/sso/start`, { redirect: 'manual' });
      expect(start.status).toBe(302);
      const cookie = start.headers.getSetCookie().find((c) => c.startsWith('tg_oauth='))!.split(';')[0];
      const back = await issuer.signIn(start.headers.get('location')!, 'sub-outage');
      return fetch(back, { redirect: 'manual', headers: { cookie } });
    }

    it('refuses the callback with 503 while Redis is down, creating nobody, and signs in once it is back', async () => {
      const before = await userCount();
      await redis.stop();
      // Start and the provider's leg need no Redis; the callback's single-use check does.
      const startedAt = Date.now();
      const refused = await attempt();
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unavailable');
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect(refused.headers.getSetCookie().some((c) => c.startsWith('tg_session='))).toBe(false);
      expect(await userCount()).toBe(before);

      await redis.start();
      let res: Response | null = null;
      for (let i = 0; i < 40; i++) {
        res = await attempt();
        if (res.status !== 503) break;
        await new Promise((r) => setTimeout(r, 250)); // the gateway reconnects on its own
      }
      expect(res?.status).toBe(303);
      expect(await userCount()).toBe(before + 1);
    });
  });
}
