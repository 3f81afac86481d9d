/**
 * Day keys through a Postgres outage (a private cluster this file owns, really stopped): the
 * proxy seals with a cached key without asking Postgres, so requests of a day already started
 * are sealed while it is down; a day's first key cannot be had then (a fast, typed failure that
 * is not remembered: the next request asks again once Postgres is back), and the retention pass
 * fails visibly and runs when Postgres returns.
 */
import { isPgUnavailable } from '../../../../src/platform/database/pg-unavailable';
import { loadConfig } from '../../../../src/config/config';
import { UsageDayKeys } from '../../../../src/compliance/retention/usage-day-keys';
import { UsageRetentionService } from '../../../../src/compliance/retention/usage-retention.service';
import { openUsage, utcDay } from '../../../../src/compliance/retention/usage-seal';
import { PostgresEventStore } from '../../../../src/platform/event-store/postgres/postgres-event-store';
import { Clock } from '../../../../src/platform/clock';
import { FreshDb } from '../../../support/fresh-db';
import { PrivatePostgres, privateDb, startPrivatePostgres, whyNoPrivatePostgres } from '../../../support/private-postgres';

const skipReason = whyNoPrivatePostgres();
const DAY_MS = 86_400_000;
const usage = { model: 'gpt-4o-mini', inputTokens: 3, outputTokens: 4, cachedTokens: 0, estimated: false };

if (skipReason) {
  console.warn(`SKIPPED usage day keys through an outage: ${skipReason}`);
  it.skip(`usage day keys through a Postgres outage — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('usage day keys through a Postgres outage (private cluster)', () => {
    let pg: PrivatePostgres;
    let db: FreshDb;
    let at = new Date('2026-05-01T10:00:00.000Z');
    const clock: Clock = { now: () => at };
    const config = loadConfig({ NODE_ENV: 'test' });

    beforeAll(async () => {
      pg = await startPrivatePostgres();
      db = await privateDb(pg);
    }, 120_000);
    afterAll(async () => {
      await db?.drop();
      pg?.destroy();
    });

    it('seals from the cached key while Postgres is down; a new day waits for it; the pass runs once it is back', async () => {
      const keys = new UsageDayKeys(db.pool, clock, config);
      const store = new PostgresEventStore(db.pool);
      const retention = new UsageRetentionService(db.pool, store, clock, config, keys);
      await keys.sealUsage('before', usage);
      const { rows } = await db.pool.query<{ key: Buffer }>('SELECT key FROM usage_day_keys WHERE day = $1', [utcDay(at)]);

      pg.stop();
      const started = Date.now();
      const sealed = await keys.sealUsage('during', usage);
      expect(Date.now() - started).toBeLessThan(50); // no round trip
      expect(openUsage(rows[0].key, sealed, 'during')).toEqual(usage);

      at = new Date(at.getTime() + DAY_MS); // midnight passed during the outage
      const refused = await keys.sealUsage('new-day', usage).catch((err: unknown) => err);
      expect(isPgUnavailable(refused)).toBe(true);
      await expect(retention.run()).rejects.toThrow();

      await pg.start();
      const after = await keys.sealUsage('new-day', usage); // asked again, not the remembered failure
      expect(after.startsWith(`${utcDay(at)}:`)).toBe(true);
      at = new Date(at.getTime() + 91 * DAY_MS);
      const run = await retention.run();
      expect(run.dayKeysDestroyed).toEqual(['2026-05-01', '2026-05-02']);
      await store.close();
    });
  });
}
