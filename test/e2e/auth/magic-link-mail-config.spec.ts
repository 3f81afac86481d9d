/**
 * Sign-in links without a mail server: a development gateway writes them to its outbox (and
 * says so at start); a production one says at start that it cannot send and answers 503
 * mail_not_configured, storing nothing.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Outbox } from '../../../src/platform/mail/outbox';
import { startGateway } from '../../support/gateway';

const ask = (url: string, email: string) =>
  fetch(`${url}/auth/magic-link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });

describe('magic links without SMTP_URL (booted gateway)', () => {
  it('in development: the link is written to the outbox, and the start-up log says where', async () => {
    const gateway = await startGateway();
    try {
      expect(gateway.config.SMTP_URL).toBeUndefined();
      expect(gateway.logs.join('')).toMatch(/mail is not sent: SMTP_URL is unset, so messages are written to [^ ]*outbox/);
      const email = `dev-${randomBytes(4).toString('hex')}@example.org`;
      expect((await ask(gateway.url, email)).status).toBe(202);
      const [entry] = await new Outbox(join(gateway.config.MAIL_OUTBOX_DIR)).list(new Date());
      expect(entry.to).toBe(email);
      expect(entry.links).toHaveLength(1);
      expect(entry.links[0]).toMatch(/\/auth\/magic-link\/verify\?token=[A-Za-z0-9_-]{43}$/);
      const page = await fetch(entry.links[0]);
      expect(page.status).toBe(200);
    } finally {
      await gateway.close();
    }
  }, 60_000);

  it('in production: warns at start, answers 503 mail_not_configured, and stores no link', async () => {
    const gateway = await startGateway({ env: { NODE_ENV: 'production', ENCRYPTION_KEY: randomBytes(32).toString('base64') } });
    try {
      expect(gateway.logs.join('')).toMatch(/mail cannot be sent: SMTP_URL is unset in production/);
      const r = await ask(gateway.url, `prod-${randomBytes(4).toString('hex')}@example.org`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as any).error.code).toBe('mail_not_configured');
      const { rows } = await gateway.db.pool.query('SELECT count(*)::int AS n FROM magic_link_tokens');
      expect(rows[0].n).toBe(0);
    } finally {
      await gateway.close();
    }
  }, 60_000);
});
