/**
 * The retention pass on the real Postgres and Redis: day keys made and destroyed, days closed
 * once however many passes run at once, a pass with its read models missing (days stay open,
 * keys still go: the promise wins), hooks of other parts, a missed pass run by a worker that
 * starts late, and the schedule made again when its Redis prefix is flushed.
 */
import Redis from 'ioredis';
import { ProjectionRunner } from '../../../../projections/runner';
import { allProjections } from '../../../../projections';
import { loadConfig } from '../../../../src/config/config';
import { UsageDayKeys } from '../../../../src/compliance/retention/usage-day-keys';
import { UsageRetentionJob } from '../../../../src/compliance/retention/usage-retention.job';
import { UsageRetentionService } from '../../../../src/compliance/retention/usage-retention.service';
import { openUsage, utcDay } from '../../../../src/compliance/retention/usage-seal';
import { USAGE_DAY_CLOSED } from '../../../../src/compliance/retention/usage-day-closed';
import { LedgerService } from '../../../../src/ledger/application/ledger.service';
import { Clock } from '../../../../src/platform/clock';
import { QUEUES, makeQueue } from '../../../../src/platform/queue/queues';
import { testRedisPrefix } from '../../../support/gateway';
import { LedgerHarness, ledgerHarness, newAccountId } from '../../../support/ledger-harness';
import { TEST_REDIS_URL } from '../../../support/test-env';
import { waitFor } from '../../../support/wait';

const DAY_MS = 86_400_000;
const START = new Date('2026-01-10T12:00:00.000Z');
const usage = (model: string) => ({ model, inputTokens: 10, outputTokens: 20, cachedTokens: 0, estimated: false });

describe('the usage retention pass (real Postgres and Redis)', () => {
  let h: LedgerHarness;
  let at = START;
  const clock: Clock = { now: () => at };
  const redisPrefix = testRedisPrefix();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: 'postgres://unused',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    USAGE_RETENTION_EVERY_MS: '1000',
  });
  let keys: UsageDayKeys;
  let ledger: LedgerService;
  const service = () => new UsageRetentionService(h.db.pool, h.store, clock, config, keys);
  const catchUp = async () => {
    const runner = new ProjectionRunner(h.db.pool, h.store, allProjections(), { pollMs: 20 });
    await runner.start();
    try {
      await runner.caughtUp(30_000);
    } finally {
      await runner.stop();
    }
  };

  /** A request of `account` held and settled at the clock's instant, sealed as the billing service seals. */
  async function request(account: string, holdId: string, model: string): Promise<void> {
    await ledger.execute(account, {
      type: 'PlaceHold',
      data: { holdId, amount: 1_000_000n, expiresAt: new Date(at.getTime() + 3_600_000).toISOString(), sealedKeyId: await keys.sealKeyId(holdId, `key-${account}`) },
    });
    await ledger.execute(account, { type: 'SettleHold', data: { holdId, amount: 250_000n, sealedUsage: await keys.sealUsage(holdId, usage(model)) } });
  }

  beforeAll(async () => {
    h = await ledgerHarness(clock);
    ledger = h.ledger;
    keys = new UsageDayKeys(h.db.pool, clock, config);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('closes each day once with passes running at once, then forgets it; a forgotten day gets no key again', async () => {
    const accounts = [newAccountId(), newAccountId(), newAccountId()];
    for (const a of accounts) {
      await ledger.execute(a, { type: 'OpenAccount', data: { accountId: a } });
      await ledger.execute(a, { type: 'GrantCredits', data: { grantId: 'g', amount: 100_000_000n, reason: 'test' } });
    }
    const day1 = utcDay(at);
    for (const [i, a] of accounts.entries()) await request(a, `${a}-1`, `model-${i}`);
    // A hold never settled: the key-spend read model keeps its key until retention deletes it.
    await ledger.execute(accounts[2], {
      type: 'PlaceHold',
      data: { holdId: `${accounts[2]}-open`, amount: 1_000n, expiresAt: new Date(at.getTime() + 3_600_000).toISOString(), sealedKeyId: await keys.sealKeyId(`${accounts[2]}-open`, 'key-open') },
    });
    at = new Date(START.getTime() + DAY_MS);
    const day2 = utcDay(at);
    await request(accounts[0], `${accounts[0]}-2`, 'model-0');
    await catchUp();

    // Day 2 is still open (its grace has not passed); day 1 closes, once, though five passes race.
    at = new Date(START.getTime() + DAY_MS + 60_000);
    const runs = await Promise.all([1, 2, 3, 4, 5].map(() => service().run()));
    expect(runs.flatMap((r) => r.daysClosed).filter((d) => d === day1).length).toBeGreaterThanOrEqual(1);
    expect(runs.flatMap((r) => r.daysClosed)).not.toContain(day2);
    const { rows: closed } = await h.db.pool.query<{ stream_id: string; type: string; n: string }>(
      `SELECT stream_id, type, count(*)::text AS n FROM events WHERE stream_id LIKE 'usage-%' GROUP BY 1, 2 ORDER BY 1`,
    );
    expect(closed.map((r) => [r.stream_id, r.type, r.n])).toEqual(
      accounts.map((a) => [`usage-${a}-${day1}`, USAGE_DAY_CLOSED, '1']).sort((x, y) => (x[0] < y[0] ? -1 : 1)),
    );
    expect(runs.every((r) => r.dayKeysDestroyed.length === 0)).toBe(true);

    // 91 days after day 1 started, day 1 is forgotten, not day 2 (it started less than 90 days ago).
    at = new Date(START.getTime() + 91 * DAY_MS - 12 * 3_600_000);
    const openHold = `SELECT key_id FROM rm_key_spend.key_holds WHERE hold_id = '${accounts[2]}-open'`;
    expect((await h.db.pool.query(openHold)).rows).toEqual([{ key_id: 'key-open' }]);
    const meanwhile = await service().run();
    expect(meanwhile.dayKeysDestroyed).toEqual([day1]);
    expect(meanwhile.keyHoldRows).toBe(1);
    expect((await h.db.pool.query(openHold)).rowCount).toBe(0);
    expect(meanwhile.daysClosed).toEqual([day2]); // closed before its key goes
    // A day later, day 2 too.
    at = new Date(START.getTime() + 92 * DAY_MS);
    const { rows: before } = await h.db.pool.query(`SELECT day::text, key FROM usage_day_keys ORDER BY day`);
    expect(before.map((r) => r.day)).toEqual([day2]);
    const [a, b] = await Promise.all([service().run(), service().run()]);
    expect([...a.dayKeysDestroyed, ...b.dayKeysDestroyed].sort()).toEqual([day2]);
    expect([...a.daysClosed, ...b.daysClosed]).toEqual([]);
    expect((await h.db.pool.query('SELECT 1 FROM usage_day_keys')).rowCount).toBe(0);
    const { rows: settled } = await h.db.pool.query(`SELECT data FROM events WHERE type = 'HoldSettled' AND stream_id = $1`, [`account-${accounts[1]}`]);
    const { rows: settled2 } = await h.db.pool.query(`SELECT data FROM events WHERE type = 'HoldSettled' AND stream_id = $1 ORDER BY stream_version DESC`, [
      `account-${accounts[0]}`,
    ]);
    expect(openUsage(before[0].key as Buffer, settled2[0].data.sealedUsage, settled2[0].data.holdId).model).toBe('model-0'); // the destroyed key did open it
    expect(settled[0].data.sealedUsage).toMatch(new RegExp(`^${day1}:`));
    await expect(keys.sealUsage('late', usage('model-0'))).resolves.toMatch(/^2026-04-12:/); // today is fine
    at = new Date(START.getTime() + DAY_MS); // a writer whose clock is back on a forgotten day
    await expect(keys.sealUsage('late', usage('model-0'))).rejects.toMatchObject({ code: 'usage_day_forgotten' });
    at = new Date(START.getTime() + 92 * DAY_MS);

    // A replay now, with every key gone, still has the days' rows, from the closed days.
    const runner = new ProjectionRunner(h.db.pool, h.store, allProjections(), { pollMs: 20 });
    const rebuilt = await runner.rebuild();
    expect(rebuilt.halted).toEqual([]); // a model halted at some event would leave its rows short of it
    const { rows: usageRows } = await h.db.pool.query(
      `SELECT account_id, day::text, model, requests::text FROM rm_daily_usage.daily_usage WHERE account_id = ANY($1) ORDER BY 1, 2, 3`,
      [accounts],
    );
    const expected = [
      ...accounts.map((a, i) => [a, day1, `model-${i}`, '1']),
      [accounts[0], day2, 'model-0', '1'],
    ].sort((x, y) => (x[0] + x[1] < y[0] + y[1] ? -1 : 1));
    expect(usageRows.map((r) => [r.account_id, r.day, r.model, r.requests])).toEqual(expected);
    const { rows: spend } = await h.db.pool.query(`SELECT key_id, day::text, requests::text FROM rm_key_spend.key_spend WHERE account_id = ANY($1)`, [accounts]);
    expect(spend).toHaveLength(4);
    expect((await h.db.pool.query(openHold)).rowCount).toBe(0); // the replay does not bring it back
  });

  it('instances making the first key of a day at once all seal with the one key stored', async () => {
    at = new Date(START.getTime() + 150 * DAY_MS);
    const instances = [1, 2, 3, 4].map(() => new UsageDayKeys(h.db.pool, clock, config));
    const sealed = await Promise.all(instances.flatMap((k, i) => [1, 2, 3].map((j) => k.sealUsage(`h-${i}-${j}`, usage(`m-${i}-${j}`)))));
    const { rows } = await h.db.pool.query<{ key: Buffer }>('SELECT key FROM usage_day_keys WHERE day = $1', [utcDay(at)]);
    expect(rows).toHaveLength(1);
    sealed.forEach((v, n) => expect(openUsage(rows[0].key, v, `h-${Math.floor(n / 3)}-${(n % 3) + 1}`).model).toBe(`m-${Math.floor(n / 3)}-${(n % 3) + 1}`));
    at = new Date(START.getTime() + 92 * DAY_MS);
  });

  it('runs the hooks of other parts; one failing fails the pass (visibly) after the others ran, and the run is recorded', async () => {
    const retention = service();
    const seen: string[] = [];
    retention.register({ name: 'exports', run: (now) => (seen.push(`exports@${now.toISOString()}`), Promise.resolve(3)) });
    retention.register({ name: 'broken', run: () => Promise.reject(new Error('disk gone')) });
    retention.register({ name: 'exports', run: () => Promise.resolve(99) }); // registered twice: once
    retention.register({ name: 'after', run: () => Promise.resolve(1) });
    await expect(retention.run()).rejects.toThrow(/broken/);
    expect(seen).toEqual([`exports@${at.toISOString()}`]);
    const status = await retention.status();
    expect(status.lastRun?.hooks).toEqual({ exports: 3, broken: -1, after: 1 });
    expect(status.lastRunAt).toBe(at.toISOString());
  });

  it('passes asked of one process at once (the catch-up at start meeting a scheduled run) run one after the other', async () => {
    const retention = service();
    const steps: string[] = [];
    retention.register({
      name: 'slow',
      run: async () => {
        steps.push('in');
        await new Promise((r) => setTimeout(r, 50));
        steps.push('out');
        return 0;
      },
    });
    const [first, second] = await Promise.all([retention.run(), retention.run()]);
    expect(steps).toEqual(['in', 'out', 'in', 'out']);
    expect(first.at).toBe(second.at);
  });

  it('a pass whose read models do not exist leaves the days open but still forgets what is past retention', async () => {
    const other = await ledgerHarness(clock);
    try {
      const otherKeys = new UsageDayKeys(other.db.pool, clock, config);
      const account = newAccountId();
      await other.ledger.execute(account, { type: 'OpenAccount', data: { accountId: account } });
      at = new Date(START.getTime() + 91 * DAY_MS);
      await otherKeys.sealUsage('h', usage('m'));
      at = new Date(START.getTime() + 200 * DAY_MS);
      const run = await new UsageRetentionService(other.db.pool, other.store, clock, config, otherKeys).run();
      expect(run.closeBlocked).toMatch(/does not exist/);
      expect(run.daysClosed).toEqual([]);
      expect(run.dayKeysDestroyed).toEqual([utcDay(new Date(START.getTime() + 91 * DAY_MS))]);
    } finally {
      await other.close();
      at = new Date(START.getTime() + 91 * DAY_MS);
    }
  });

  it('a worker that starts after a missed pass runs it at once; the schedule comes back when its Redis prefix is flushed', async () => {
    at = new Date(START.getTime() + 95 * DAY_MS); // the last run (91 days) is days old: overdue
    const retention = service();
    expect((await retention.status()).overdue).toBe(true);
    const job = new UsageRetentionJob(config, retention);
    const queue = makeQueue(QUEUES.usageRetention, TEST_REDIS_URL, redisPrefix);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      job.onApplicationBootstrap();
      await waitFor(async () => (await retention.status()).lastRunAt === at.toISOString(), 30_000, 'the overdue pass');
      await waitFor(async () => (await queue.getJobScheduler(`${QUEUES.usageRetention}-schedule`)) !== undefined, 30_000, 'the schedule');

      // Redis comes back empty (for this deployment's prefix): the job makes its schedule again.
      const flush = async () => {
        let cursor = '0';
        do {
          const [next, found] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
          cursor = next;
          if (found.length) await redis.del(...found);
        } while (cursor !== '0');
      };
      await flush();
      await waitFor(async () => (await queue.getJobScheduler(`${QUEUES.usageRetention}-schedule`)) !== undefined, 30_000, 'the schedule made again');
      // ... and it runs from it: a pass recorded after the flush.
      at = new Date(at.getTime() + 60_000);
      await waitFor(async () => (await retention.status()).lastRunAt === at.toISOString(), 30_000, 'a scheduled pass after the flush');
    } finally {
      await job.onModuleDestroy();
      await queue.close();
      redis.disconnect();
    }
  });
});
