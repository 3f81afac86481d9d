/**
 * Redis (the links' rate limits) stopped under a running gateway: asking for a link is refused
 * at once (503 `unavailable` with retry-after, nothing stored or mailed: unlimited mail is the
 * harm the limits prevent), a link already mailed still signs in (that path needs Postgres
 * only), and asking works again once Redis is back, without a restart.
 */
import { randomBytes } from 'node:crypto';
import { Gateway, startGateway } from '../../support/gateway';
import { PrivateRedis, startPrivateRedis, whyNoRedisServer } from '../../support/private-redis';
import { SmtpReceiver, startSmtpReceiver } from '../../support/smtp-receiver';
import { waitFor } from '../../support/wait';

const skipReason = whyNoRedisServer();

if (skipReason) {
  console.warn(`SKIPPED magic links with Redis down: ${skipReason}`);
  it.skip(`magic links with Redis down — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('magic links with Redis stopped (private redis-server, booted gateway, real SMTP receiver)', () => {
    let redis: PrivateRedis;
    let smtp: SmtpReceiver;
    let gateway: Gateway;

    beforeAll(async () => {
      redis = await startPrivateRedis();
      smtp = await startSmtpReceiver();
      gateway = await startGateway({ env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '300', SMTP_URL: smtp.url } });
    }, 120_000);
    afterAll(async () => {
      await redis?.start(); // so the gateway's connections close cleanly
      await gateway?.close();
      await smtp?.close();
      await redis?.close();
    });

    const ask = (email: string) =>
      fetch(`${gateway.url}/auth/magic-link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
    const tokenRows = async () => (await gateway.db.pool.query('SELECT count(*)::int AS n FROM magic_link_tokens')).rows[0].n as number;

    it('refuses new links fast while Redis is away, still accepts a link already mailed, and recovers by itself', async () => {
      const email = `outage-${randomBytes(4).toString('hex')}@example.org`;
      expect((await ask(email)).status).toBe(202);
      const token = /token=([A-Za-z0-9_-]{43})/.exec((await smtp.messageTo(email)).text)![1];

      await redis.stop();
      const rows = await tokenRows();
      const mails = smtp.messages.length;
      const started = Date.now();
      const refused = await ask(email);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(refused.status).toBe(503);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as any).error.code).toBe('unavailable');
      expect(await tokenRows()).toBe(rows);
      expect(smtp.messages.length).toBe(mails);
      expect((await ask(`other-${email}`)).status).toBe(503);

      const used = await fetch(`${gateway.url}/auth/magic-link/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
      expect(used.status).toBe(200);

      await redis.start();
      await waitFor(async () => (await ask(email)).status === 202, 15_000, 'links to be mailed again after Redis returned');
      const logs = gateway.logs.join('');
      expect(logs.match(/refused while the rate-limit store is away/g)).toHaveLength(1); // once per outage
      expect(logs).toContain('served again');
      expect(logs).not.toContain(email);
    });
  });
}
