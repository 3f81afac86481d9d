/**
 * The purge of expired sign-in links, as the worker side of a booted gateway runs it: scheduled
 * in Redis every 15 minutes, and its first run deletes the expired links (used or not) left by
 * an earlier process while keeping live ones.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { bullConnection, bullPrefix } from '../../../src/platform/queue/queues';
import { freshDb } from '../../support/fresh-db';
import { startGateway } from '../../support/gateway';
import { waitFor } from '../../support/wait';

describe('the sign-in link purge job (booted gateway with its workers)', () => {
  it('is scheduled every 15 minutes and deletes expired links only', async () => {
    const db = await freshDb(4);
    const insert = (expiresInMs: number) =>
      db.pool.query(
        `INSERT INTO magic_link_tokens (token_hash, purpose, email_hash, email, created_at, expires_at)
         VALUES ($1, 'sign_in', $2, 'v1:sealed', $3, $4)`,
        [createHash('sha256').update(randomBytes(32)).digest(), 'a'.repeat(64), new Date(Date.now() - 3_600_000), new Date(Date.now() + expiresInMs)],
      );
    await insert(-60_000);
    await insert(-1);
    await insert(600_000);
    const gw = await startGateway({ db, env: { API_RUNS_WORKERS: 'true' } });
    const queue = new Queue('magic-link-purge', { connection: bullConnection(gw.config.REDIS_URL), prefix: bullPrefix(gw.config.REDIS_KEY_PREFIX) });
    try {
      expect((await queue.getJobScheduler('magic-link-purge-schedule'))?.every).toBe(15 * 60_000);
      const left = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM magic_link_tokens')).rows[0].n;
      await waitFor(async () => (await left()) === 1, 20_000, 'the first purge');
      const { rows } = await db.pool.query('SELECT expires_at FROM magic_link_tokens');
      expect(rows[0].expires_at.getTime()).toBeGreaterThan(Date.now());
    } finally {
      await queue.close();
      await gw.close();
      await db.drop();
    }
  }, 60_000);
});
