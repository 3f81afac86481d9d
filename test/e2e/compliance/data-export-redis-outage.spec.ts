/**
 * Asking for an export while Redis (the job queue) is down: a fast 503 export_unavailable, and
 * the export that could not be queued is failed, so it does not block the next request; once
 * Redis is back, asking again queues it. A private redis-server, really stopped.
 */
import { SignedIn, signedIn } from '../../support/account-client';
import { Gateway, startGateway } from '../../support/gateway';
import { PrivateRedis, startPrivateRedis, whyNoRedisServer } from '../../support/private-redis';

type Json = Record<string, any>;
const noRedis = whyNoRedisServer();
if (noRedis) process.stdout.write(`SKIPPED: data-export Redis outage test: ${noRedis}\n`);

(noRedis ? describe.skip : describe)('data export with the job queue down (private Redis, really stopped)', () => {
  let redis: PrivateRedis;
  let gw: Gateway;
  let person: SignedIn;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    gw = await startGateway({ env: { REDIS_URL: redis.url } });
    person = await signedIn(gw);
  }, 120_000);
  afterAll(async () => {
    await gw?.close();
    await redis?.close();
  });

  it('answers 503 export_unavailable fast, fails the export, and queues the next one once Redis is back', async () => {
    await redis.stop();
    const started = Date.now();
    const r = await person.fetch('/api/me/export', { method: 'POST' });
    expect(r.status).toBe(503);
    expect(((await r.json()) as Json).error.code).toBe('export_unavailable');
    expect(Date.now() - started).toBeLessThan(10_000);
    const rows = await gw.db.pool.query('SELECT status FROM data_exports WHERE user_id = $1', [person.userId]);
    expect(rows.rows).toEqual([{ status: 'failed' }]);

    await redis.start();
    const again = await person.fetch('/api/me/export', { method: 'POST' });
    expect(again.status).toBe(202);
    const e = (await again.json()) as Json;
    expect(e.status).toBe('queued');
  }, 60_000);
});
