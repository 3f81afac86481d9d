/**
 * Retention really forgets (issue 21): requests go through the booted gateway to a fake
 * provider, the clock moves 91 days on, the retention pass runs, and the requests' model,
 * tokens and key are unreadable in Postgres (request log rows gone; inside the ledger events
 * the sealed copy stays but its day's key is gone), in Redis and in receipts; while balances,
 * the trial balance and `ledger verify` are unchanged, the daily aggregates (usage API by model
 * and key, daily_usage, key_spend) still answer, and a replay after the key is gone rebuilds
 * daily_usage and key_spend row for row.
 */
import Redis from 'ioredis';
import { Pool } from 'pg';
import { ProjectionRunner } from '../../../../projections/runner';
import { allProjections } from '../../../../projections';
import { UsageDayKeys } from '../../../../src/compliance/retention/usage-day-keys';
import { UsageRetentionService } from '../../../../src/compliance/retention/usage-retention.service';
import { openPart, openUsage, sealedDay, utcDay } from '../../../../src/compliance/retention/usage-seal';
import { LedgerVerifier } from '../../../../src/ledger/application/ledger-verifier';
import { LedgerReadRepository } from '../../../../src/ledger/application/ledger-read.repository';
import { LedgerService } from '../../../../src/ledger/application/ledger.service';
import { CLOCK, Clock } from '../../../../src/platform/clock';
import { EVENT_STORE, EventStore } from '../../../../src/platform/event-store/event-store.port';
import { SignedIn, signedIn } from '../../../support/account-client';
import { FakeUpstream, startFakeUpstream } from '../../../support/fake-upstream';
import { Gateway, startGateway } from '../../../support/gateway';
import { TEST_REDIS_URL } from '../../../support/test-env';

const DAY_MS = 86_400_000;
const MODEL = 'gpt-4o-mini';

const plain = (o: unknown) => JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
const rowsOf = async (pool: Pool, sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows.map(plain);

describe('usage retention: a 91-day-old request is unreadable everywhere, aggregates and money stay', () => {
  let fake: FakeUpstream;
  let gw: Gateway;
  let me: SignedIn;
  let store: EventStore;
  let clock: Clock;
  let realNow: () => Date;
  let shift = 0;
  let redis: Redis;

  const catchUp = async () => {
    const runner = new ProjectionRunner(gw.db.pool, store, allProjections(), { pollMs: 20 });
    await runner.start();
    try {
      await runner.caughtUp(30_000);
    } finally {
      await runner.stop();
    }
  };

  beforeAll(async () => {
    fake = await startFakeUpstream();
    gw = await startGateway({ openai: fake });
    store = gw.app.get<EventStore>(EVENT_STORE);
    clock = gw.app.get<Clock>(CLOCK);
    realNow = clock.now.bind(clock);
    clock.now = () => new Date(Date.now() + shift);
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    if (clock) clock.now = realNow;
    redis?.disconnect();
    await gw?.close();
    await fake?.close();
  });

  it('forgets the request and keeps the money and the aggregates', async () => {
    me = await signedIn(gw);
    const accountId = me.accountId;
    const ledger = gw.app.get(LedgerReadRepository);
    await gw.app.get(UsageDayKeys).sealKeyId('warm-up', 'warm-up'); // today's key exists before the requests (no race to create it)
    const ledgerService = gw.app.get(LedgerService);
    await ledgerService.execute(accountId, { type: 'GrantCredits', data: { grantId: 'retention-test', amount: 50_000_000n, reason: 'test funds' } });
    // The sign-up's free requests would answer first, with no hold: spend them.
    for (let n = (await ledgerService.load(accountId)).state.freeRequests; n > 0; n--) {
      await ledgerService.execute(accountId, { type: 'UseFreeRequest', data: { requestId: `spent-free-${n}` } });
    }
    const { keyId, secret } = await gw.key(accountId);

    for (const n of [1, 2]) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: `question ${n}` }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
    }
    const logged = await gw.requests(accountId, 2);
    const requestIds = logged.map((r) => r.request_id as string);
    const day = utcDay(new Date());

    // Before: the events carry the usage and the key sealed, never in plaintext.
    const events = async () =>
      (await gw.db.pool.query(`SELECT type, data FROM events WHERE stream_id = $1 ORDER BY stream_version`, [`account-${accountId}`])).rows as {
        type: string;
        data: Record<string, any>;
      }[];
    const before = await events();
    const settles = before.filter((e) => e.type === 'HoldSettled');
    const placed = before.filter((e) => e.type === 'HoldPlaced');
    expect(settles).toHaveLength(2);
    for (const e of [...settles, ...placed]) {
      const text = JSON.stringify(e.data);
      expect(text).not.toContain(MODEL);
      expect(text).not.toContain(keyId);
    }
    expect(settles.every((e) => e.data.usage === null && sealedDay(e.data.sealedUsage) === day)).toBe(true);
    expect(placed.every((e) => e.data.keyId === undefined && sealedDay(e.data.sealedKeyId) === day)).toBe(true);
    const { rows: keyRows } = await gw.db.pool.query(`SELECT key FROM usage_day_keys WHERE day = $1`, [day]);
    const dayKey = keyRows[0].key as Buffer;
    expect(openUsage(dayKey, settles[0].data.sealedUsage, settles[0].data.holdId).model).toBe(MODEL);
    expect(openPart(dayKey, placed[0].data.sealedKeyId, 'key', placed[0].data.holdId)).toBe(keyId);

    await catchUp();
    const dailyUsage = `SELECT account_id, day::text, model, requests, input_tokens, output_tokens, cached_tokens, cost, estimated_requests
                         FROM rm_daily_usage.daily_usage WHERE account_id = $1 ORDER BY day, model`;
    const keySpend = `SELECT key_id, day::text, account_id, spent, requests FROM rm_key_spend.key_spend WHERE account_id = $1 ORDER BY key_id, day`;
    const usageBefore = await rowsOf(gw.db.pool, dailyUsage, [accountId]);
    const spendBefore = await rowsOf(gw.db.pool, keySpend, [accountId]);
    expect(usageBefore).toHaveLength(1);
    expect(JSON.parse(usageBefore[0])).toMatchObject({ model: MODEL, requests: '2' });
    expect(spendBefore).toHaveLength(1);
    expect(JSON.parse(spendBefore[0])).toMatchObject({ key_id: keyId, requests: '2' });
    const usageApi = async () => {
      const out: Record<string, unknown> = {};
      for (const by of ['day', 'model', 'key']) {
        const res = await me.fetch(`/api/usage?group_by=${by}&from=${day}&to=${day}`);
        expect(res.status).toBe(200);
        out[by] = await res.json();
      }
      return out;
    };
    const apiBefore = await usageApi();
    expect(JSON.stringify(apiBefore)).toContain(MODEL);
    expect(JSON.stringify(apiBefore)).toContain(keyId);
    const balanceBefore = plain(await ledger.balance(accountId));
    const trialBefore = plain(await ledger.trialBalance());
    const verifier = new LedgerVerifier(gw.db.pool, store);
    expect((await verifier.verify()).problems).toEqual([]);
    const receipt = await fetch(`${gw.url}/v1/generations/${requestIds[0]}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(receipt.status).toBe(200);
    await receipt.text();

    // 91 days on, the retention pass.
    shift = 91 * DAY_MS;
    const retention = new UsageRetentionService(gw.db.pool, store, clock, gw.config, gw.app.get(UsageDayKeys));
    const run = await retention.run();
    expect(run.daysClosed).toContain(day);
    expect(run.closeBlocked).toBeNull();
    expect(run.dayKeysDestroyed).toContain(day);
    expect(run.requestLogRows).toBeGreaterThanOrEqual(2);
    const status = await retention.status();
    expect(status.forgottenBefore! > day).toBe(true);
    expect(status.oldestReadableDay === null || status.oldestReadableDay > day).toBe(true);
    expect(status.oldestRequestLog).toBeNull();
    expect(status.overdue).toBe(false);

    // Postgres: no request log row; the sealed copies stay in the log but nothing opens them.
    expect((await gw.db.pool.query('SELECT 1 FROM request_log WHERE request_id = ANY($1)', [requestIds])).rowCount).toBe(0);
    expect((await gw.db.pool.query('SELECT 1 FROM usage_day_keys WHERE day <= $1', [day])).rowCount).toBe(0);
    const after = await events();
    expect(after.slice(0, before.length)).toEqual(before); // nothing in the log edited
    const { rows: left } = await gw.db.pool.query<{ key: Buffer }>('SELECT key FROM usage_day_keys');
    for (const { key } of left) {
      for (const e of settles) expect(() => openUsage(key, e.data.sealedUsage, e.data.holdId)).toThrow();
      for (const e of placed) expect(() => openPart(key, e.data.sealedKeyId, 'key', e.data.holdId)).toThrow();
    }
    // A writer cannot bring the day's key back.
    shift = 0;
    await expect(gw.app.get(UsageDayKeys).sealUsage('late', { model: MODEL, inputTokens: 1, outputTokens: 1, cachedTokens: 0, estimated: false })).rejects.toThrow(
      /past retention/,
    );
    shift = 91 * DAY_MS;

    // Redis: nothing names the requests; what names the key is a counter that expires on its own.
    const prefix = gw.config.REDIS_KEY_PREFIX;
    const redisKeys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      redisKeys.push(...found);
    } while (cursor !== '0');
    for (const k of redisKeys) {
      for (const id of requestIds) expect(k).not.toContain(id);
      if ((await redis.type(k)) === 'string') {
        const value = (await redis.get(k)) ?? '';
        expect(value).not.toContain(MODEL);
        for (const id of requestIds) expect(value).not.toContain(id);
      }
      if (k.includes(keyId)) expect(await redis.ttl(k)).toBeGreaterThan(0);
    }

    // Money unchanged, log verifies, aggregates answer.
    await catchUp();
    expect(plain(await ledger.balance(accountId))).toBe(balanceBefore);
    expect(plain(await ledger.trialBalance())).toBe(trialBefore);
    expect((await verifier.verify()).problems).toEqual([]);
    expect(await rowsOf(gw.db.pool, dailyUsage, [accountId])).toEqual(usageBefore);
    expect(await rowsOf(gw.db.pool, keySpend, [accountId])).toEqual(spendBefore);
    shift = 0; // the session is 7 days long: read the API at today's date
    expect(await usageApi()).toEqual(apiBefore);
    const gone = await fetch(`${gw.url}/v1/generations/${requestIds[0]}`, { headers: { authorization: `Bearer ${secret}` } });
    expect(gone.status).toBe(404);
    await gone.text();

    // A replay after the key is gone rebuilds daily_usage and key_spend row for row.
    const runner = new ProjectionRunner(gw.db.pool, store, allProjections(), { pollMs: 20 });
    await runner.rebuild();
    expect(await rowsOf(gw.db.pool, dailyUsage, [accountId])).toEqual(usageBefore);
    expect(await rowsOf(gw.db.pool, keySpend, [accountId])).toEqual(spendBefore);

    // A second pass finds nothing to do and writes the closed day once.
    shift = 91 * DAY_MS;
    const again = await retention.run();
    expect(again).toMatchObject({ daysClosed: [], requestLogRows: 0, dayKeysDestroyed: [] });
    const closed = await gw.db.pool.query('SELECT stream_version FROM events WHERE stream_id = $1', [`usage-${accountId}-${day}`]);
    expect(closed.rows.map((r) => String(r.stream_version))).toEqual(['1']);
  });
});
