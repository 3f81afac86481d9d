/**
 * The account API's reads on the real Postgres: the usage rollups kept by migration 013's trigger
 * always equal the request log they came from (whatever batches, replays and concurrency
 * wrote it), each group_by sums to the log's totals, and the request-log keyset walk sees every row
 * exactly once, ties on the same instant included, while new rows arrive.
 */
import { AccountNames } from '../../../src/compliance/account-names';
import { ErasureHooks } from '../../../src/compliance/erasure/erasure-hooks';
import { PersonalDataVault } from '../../../src/compliance/personal-data-vault';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { AccountReadsRepository, Keyset } from '../../../src/usage-api/application/account-reads.repository';
import { RequestLogRow, insertRequestLogRows } from '../../../src/proxy/usage/request-log.repository';
import { PostgresEventStore } from '../../../src/platform/event-store/postgres/postgres-event-store';
import { ProjectionRunner } from '../../../projections/runner';
import { allProjections } from '../../../projections';
import { FreshDb, freshDb } from '../../support/fresh-db';

function row(over: Partial<RequestLogRow> & { accountId: string; keyId: string }): RequestLogRow {
  return {
    requestId: randomUUID(),
    startedAt: new Date(),
    endpoint: 'openai.chat',
    model: 'gpt-4o',
    provider: 'openai',
    channelId: null,
    stream: false,
    status: 200,
    errorCode: null,
    inputTokens: 10,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 5,
    estimated: false,
    freeRequest: false,
    heldMicros: 100n,
    costMicros: 42n,
    billing: 'settled',
    priceVersion: 1,
    unitPrices: null,
    latencyMs: 12,
    ttfbMs: 3,
    attempts: 1,
    ...over,
  };
}

interface Sums {
  requests: bigint;
  input: bigint;
  output: bigint;
  cost: bigint;
}

/** What request_log itself says, grouped like the rollup. */
async function logSums(db: FreshDb, accountId: string, from: string, to: string, by: string): Promise<Map<string, Sums>> {
  const { rows } = await db.pool.query<{ g: string; requests: bigint; input: bigint; output: bigint; cost: bigint }>(
    `SELECT ${by} AS g, count(*)::bigint AS requests, sum(input_tokens + cached_tokens + cache_write_tokens)::bigint AS input,
            sum(output_tokens)::bigint AS output, sum(cost_micros)::bigint AS cost
       FROM request_log WHERE account_id = $1 AND (started_at AT TIME ZONE 'UTC')::date BETWEEN $2::date AND $3::date GROUP BY 1`,
    [accountId, from, to],
  );
  return new Map(rows.map((r) => [r.g, { requests: r.requests, input: r.input, output: r.output, cost: r.cost }]));
}

/** Each rollup holds exactly what a GROUP BY over the whole request log says. */
async function rollupsMatchLog(db: FreshDb): Promise<void> {
  for (const [table, column] of [
    ['usage_by_model', 'model'],
    ['usage_by_key', 'key_id'],
  ]) {
    const { rows } = await db.pool.query<{ n: number }>(
      `WITH log AS (
         SELECT account_id, (started_at AT TIME ZONE 'UTC')::date AS day, ${column} AS g, count(*)::bigint AS requests,
                sum(input_tokens + cached_tokens + cache_write_tokens)::bigint AS i, sum(output_tokens)::bigint AS o, sum(cost_micros)::bigint AS cost
           FROM request_log GROUP BY 1, 2, 3),
       roll AS (SELECT account_id, day, ${column} AS g, requests, input_tokens AS i, output_tokens AS o, cost_micros AS cost FROM ${table})
       SELECT count(*)::int AS n FROM ((TABLE log EXCEPT ALL TABLE roll) UNION ALL (TABLE roll EXCEPT ALL TABLE log)) d`,
    );
    expect({ table, differences: rows[0].n }).toEqual({ table, differences: 0 });
  }
}

describe('account reads (real Postgres)', () => {
  let db: FreshDb;
  let reads: AccountReadsRepository;
  beforeAll(async () => {
    db = await freshDb();
    reads = new AccountReadsRepository(db.pool, new AccountNames(db.pool, new PersonalDataVault(db.pool), new ErasureHooks()));
    // The read models' schemas (balances, transactions), as a worker's start makes them.
    await new ProjectionRunner(db.pool, new PostgresEventStore(db.pool), allProjections()).prepare();
  });
  afterAll(() => db.drop());

  it('keeps the rollups equal to the request log through random batches, replays and UTC day edges', async () => {
    const accounts = [randomUUID(), randomUUID()];
    const keys = [randomUUID(), randomUUID(), randomUUID()];
    const base = Date.parse('2026-01-10T00:00:00.000Z');
    const rowArb = fc.record({
      account: fc.integer({ min: 0, max: 1 }),
      key: fc.integer({ min: 0, max: 2 }),
      model: fc.constantFrom('gpt-4o', 'claude-x', '=cmd', 'a,b'),
      // Within a few days, often right at a UTC midnight.
      at: fc.oneof(fc.integer({ min: -3 * 86_400_000, max: 3 * 86_400_000 }), fc.constantFrom(-1, 0, 86_399_999, 86_400_000)),
      input: fc.integer({ min: 0, max: 100_000 }),
      cached: fc.integer({ min: 0, max: 1000 }),
      output: fc.integer({ min: 0, max: 100_000 }),
      cost: fc.bigInt({ min: 0n, max: 10n ** 12n }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(rowArb, { minLength: 1, maxLength: 30 }), { minLength: 1, maxLength: 6 }), fc.boolean(), async (batches, replay) => {
        const written: RequestLogRow[] = [];
        for (const batch of batches) {
          const rows = batch.map((r) =>
            row({
              accountId: accounts[r.account],
              keyId: keys[r.key],
              model: r.model,
              startedAt: new Date(base + r.at),
              inputTokens: r.input,
              cachedTokens: r.cached,
              outputTokens: r.output,
              costMicros: r.cost,
            }),
          );
          await insertRequestLogRows(db.pool, rows);
          written.push(...rows);
        }
        // A replayed batch (the settle journal after an outage) is skipped row by row: counted once.
        if (replay) await insertRequestLogRows(db.pool, [...written.slice(0, 10), row({ accountId: accounts[0], keyId: keys[0] })]);
        await rollupsMatchLog(db);
      }),
      { numRuns: 25 },
    );
    // And the report over those days, each way, equals the log's own sums, account by account.
    for (const accountId of accounts) {
      const w = { from: '2026-01-06', to: '2026-01-14' };
      for (const [by, sql] of [
        ['day', `to_char((started_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')`],
        ['model', 'model'],
        ['key', 'key_id::text'],
      ] as const) {
        const got = await reads.usage(accountId, w, by);
        const want = await logSums(db, accountId, w.from, w.to, sql);
        expect(new Map(got.map((u) => [u.group, { requests: u.requests, input: u.inputTokens, output: u.outputTokens, cost: u.cost }]))).toEqual(want);
      }
    }
  });

  it('sums by day and model (or key) as the log does, naming the top N over the whole range and folding the rest per day', async () => {
    const accountId = randomUUID();
    const keys = [randomUUID(), randomUUID(), randomUUID()];
    const base = Date.parse('2026-06-10T00:00:00.000Z');
    const rowArb = fc.record({
      key: fc.integer({ min: 0, max: 2 }),
      model: fc.constantFrom('gpt-4o', 'claude-x', '=cmd', 'a,b', 'tie-1', 'tie-2'),
      at: fc.oneof(fc.integer({ min: 0, max: 4 * 86_400_000 - 1 }), fc.constantFrom(0, 86_399_999, 86_400_000)),
      cost: fc.bigInt({ min: 0n, max: 10n ** 9n }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 7 }), async (spec, top) => {
        await db.pool.query('DELETE FROM request_log WHERE account_id = $1', [accountId]);
        await db.pool.query('DELETE FROM usage_by_model WHERE account_id = $1', [accountId]);
        await db.pool.query('DELETE FROM usage_by_key WHERE account_id = $1', [accountId]);
        const rows = spec.map((r) => row({ accountId, keyId: keys[r.key], model: r.model, startedAt: new Date(base + r.at), costMicros: r.cost }));
        await insertRequestLogRows(db.pool, rows);
        const w = { from: '2026-06-10', to: '2026-06-12' }; // a day of the rows falls outside
        for (const [by, sub] of [
          ['day,model', (r: RequestLogRow) => r.model],
          ['day,key', (r: RequestLogRow) => r.keyId],
        ] as const) {
          // The reference: the log's rows in the window, ranked by cost over the window (then by name), the rest folded per day.
          const inWindow = rows.filter((r) => r.startedAt.toISOString().slice(0, 10) >= w.from && r.startedAt.toISOString().slice(0, 10) <= w.to);
          const totals = new Map<string, bigint>();
          for (const r of inWindow) totals.set(sub(r), (totals.get(sub(r)) ?? 0n) + r.costMicros);
          const ranked = [...totals].sort(([a, x], [b, y]) => (x === y ? (a < b ? -1 : 1) : x > y ? -1 : 1)).map(([name]) => name);
          const named = new Set(ranked.slice(0, top));
          const want = new Map<string, { requests: bigint; cost: bigint }>();
          for (const r of inWindow) {
            const k = `${r.startedAt.toISOString().slice(0, 10)}|${named.has(sub(r)) ? sub(r) : '(rest)'}`;
            const o = want.get(k) ?? { requests: 0n, cost: 0n };
            want.set(k, { requests: o.requests + 1n, cost: o.cost + r.costMicros });
          }
          const got = await reads.usage(accountId, w, by, top);
          expect(new Map(got.map((u) => [`${u.group}|${u.subgroup ?? '(rest)'}`, { requests: u.requests, cost: u.cost }]))).toEqual(want);
          // One line per day and subgroup; days in order, in a day the named lines by cost, the rest last.
          expect(new Set(got.map((u) => `${u.group}|${u.subgroup}`)).size).toBe(got.length);
          for (let i = 1; i < got.length; i++) {
            const [a, b] = [got[i - 1], got[i]];
            expect(a.group <= b.group).toBe(true);
            if (a.group === b.group) {
              expect(a.subgroup).not.toBeNull();
              if (b.subgroup !== null) expect(a.cost >= b.cost).toBe(true);
            }
          }
          // Without top, every subgroup is named.
          const all = await reads.usage(accountId, w, by);
          expect(all.every((u) => u.subgroup !== null)).toBe(true);
          expect(all.reduce((n, u) => n + u.requests, 0n)).toBe(BigInt(inWindow.length));
        }
      }),
      { numRuns: 30 },
    );
  });

  it('counts every row of concurrent batches over the same groups once, without deadlocks', async () => {
    const accountId = randomUUID();
    const keys = [randomUUID(), randomUUID()];
    const models = ['m1', 'm2', 'm3'];
    const at = new Date('2026-02-01T12:00:00Z');
    // Each writer touches every group, in its own order: the trigger must lock them in one order.
    const writers = Array.from({ length: 8 }, (_, w) =>
      (async () => {
        for (let b = 0; b < 10; b++) {
          const rows = Array.from({ length: 24 }, (_, i) => row({ accountId, keyId: keys[(i + w) % 2], model: models[(i * (w + 1)) % 3], startedAt: at, costMicros: 7n }));
          await insertRequestLogRows(db.pool, w % 2 ? rows.reverse() : rows);
        }
      })(),
    );
    await Promise.all(writers);
    const [total] = await reads.usage(accountId, { from: '2026-02-01', to: '2026-02-01' }, 'day');
    expect(total).toEqual({ group: '2026-02-01', requests: 1920n, inputTokens: 19_200n, outputTokens: 9600n, cost: 13_440n });
    await rollupsMatchLog(db);
  });

  it('never shows another account’s usage or requests', async () => {
    const mine = randomUUID();
    const theirs = randomUUID();
    const key = randomUUID();
    await insertRequestLogRows(db.pool, [row({ accountId: theirs, keyId: key, startedAt: new Date('2026-03-01T00:00:00Z') })]);
    expect(await reads.usage(mine, { from: '2026-01-01', to: '2026-03-31' }, 'day')).toEqual([]);
    expect(await reads.usage(mine, { from: '2026-01-01', to: '2026-03-31' }, 'key')).toEqual([]);
    expect(await reads.requests(mine, {}, 50, null)).toEqual([]);
    expect(await reads.requests(mine, { keyId: key }, 50, null)).toEqual([]);
    expect(await reads.balance(mine)).toBeNull();
    expect(await reads.transactions(mine, 50, null)).toEqual([]);
  });

  it('walks the request log newest first, every row exactly once, ties and new arrivals included', async () => {
    const accountId = randomUUID();
    const key = randomUUID();
    const other = randomUUID();
    // 300 rows on 40 distinct instants (many share one), two keys.
    const start = Date.parse('2026-04-01T10:00:00Z');
    const rows = Array.from({ length: 300 }, (_, i) => row({ accountId, keyId: i % 3 ? key : other, startedAt: new Date(start + (i % 40)), status: i % 5 ? 200 : 429 }));
    await insertRequestLogRows(db.pool, rows);

    const walk = async (filters: Parameters<AccountReadsRepository['requests']>[1], limit: number, during?: () => Promise<void>) => {
      const seen: string[] = [];
      let after: Keyset | null = null;
      let prev: { at: string; id: string } | null = null;
      for (;;) {
        const page = await reads.requests(accountId, filters, limit, after);
        for (const r of page) {
          // Strictly descending by (started_at, id).
          if (prev) expect(r.keyset.at < prev.at || (r.keyset.at === prev.at && r.id < prev.id)).toBe(true);
          prev = r.keyset;
          seen.push(r.id);
        }
        if (page.length < limit) return seen;
        after = page[page.length - 1].keyset;
        if (during) await during();
      }
    };

    const all = await walk({}, 7, async () => {
      // New requests arrive during the walk: newer than the cursor, so never seen twice nor shifting the pages.
      await insertRequestLogRows(db.pool, [row({ accountId, keyId: key, startedAt: new Date() })]);
    });
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(all)).toEqual(new Set(rows.map((r) => r.requestId)));

    const byKey = await walk({ keyId: other }, 13);
    expect(new Set(byKey)).toEqual(new Set(rows.filter((r) => r.keyId === other).map((r) => r.requestId)));
    const refused = await walk({ status: 429 }, 50);
    expect(new Set(refused)).toEqual(new Set(rows.filter((r) => r.status === 429).map((r) => r.requestId)));
    expect(await walk({ model: 'no-such-model' }, 50)).toEqual([]);
  });

  it('walks the log with every filter combined (outcome, UTC days, key, model): each matching row once, in order, none other', async () => {
    const accountId = randomUUID();
    const keys = [randomUUID(), randomUUID()];
    // 240 rows over four UTC days, many right at midnight, statuses ok and not, two keys, two models.
    const start = Date.parse('2026-07-01T00:00:00Z');
    const at = (i: number) => new Date(start + Math.floor(i / 60) * 86_400_000 + [0, -1, 1, 43_200_000, 86_399_999][i % 5]);
    const rows = Array.from({ length: 240 }, (_, i) =>
      row({ accountId, keyId: keys[i % 2], model: i % 3 ? 'gpt-4o' : 'claude-x', startedAt: at(i), status: [200, 429, 500, 399, 400][i % 5] }),
    );
    await insertRequestLogRows(db.pool, rows);
    const day = (r: RequestLogRow) => r.startedAt.toISOString().slice(0, 10);
    const cases: Array<Parameters<AccountReadsRepository['requests']>[1]> = [
      { outcome: 'ok' },
      { outcome: 'error' },
      { from: '2026-07-02' },
      { to: '2026-07-02' },
      { from: '2026-07-02', to: '2026-07-02' },
      { from: '2026-06-30', to: '2026-06-30' },
      { outcome: 'error', keyId: keys[1], from: '2026-07-01', to: '2026-07-03', model: 'gpt-4o' },
      { outcome: 'ok', status: 429 },
    ];
    for (const filters of cases) {
      const want = rows
        .filter((r) => (filters.outcome === undefined || (filters.outcome === 'error') === r.status >= 400) && (!filters.from || day(r) >= filters.from) && (!filters.to || day(r) <= filters.to))
        .filter((r) => (!filters.keyId || r.keyId === filters.keyId) && (!filters.model || r.model === filters.model) && (filters.status === undefined || r.status === filters.status));
      const seen: string[] = [];
      let after: Keyset | null = null;
      let prev: Keyset | null = null;
      for (;;) {
        const page = await reads.requests(accountId, filters, 7, after);
        for (const r of page) {
          if (prev) expect(r.keyset.at < prev.at || (r.keyset.at === prev.at && r.id < prev.id)).toBe(true);
          prev = r.keyset;
          seen.push(r.id);
        }
        if (page.length < 7) break;
        after = page[page.length - 1].keyset;
      }
      expect({ filters, count: seen.length, distinct: new Set(seen).size }).toEqual({ filters, count: want.length, distinct: want.length });
      expect(new Set(seen)).toEqual(new Set(want.map((r) => r.requestId)));
    }
  });

  it('keeps microseconds in the keyset, so rows a microsecond apart are neither skipped nor repeated', async () => {
    const accountId = randomUUID();
    const key = randomUUID();
    await insertRequestLogRows(db.pool, [row({ accountId, keyId: key })]);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    await db.pool.query(
      `INSERT INTO request_log (request_id, account_id, key_id, started_at, endpoint, model, stream, status, billing, latency_ms)
       SELECT id, $2, $3, '2026-05-01T00:00:00.000001Z'::timestamptz + (n || ' microseconds')::interval, 'openai.chat', 'm', false, 200, 'settled', 1
         FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n)`,
      [ids, accountId, key],
    );
    const seen: string[] = [];
    let after: Keyset | null = null;
    for (;;) {
      const page = await reads.requests(accountId, {}, 1, after);
      if (!page.length) break;
      seen.push(page[0].id);
      after = page[0].keyset;
    }
    expect(seen).toHaveLength(4);
    expect(seen.slice(1)).toEqual([...ids].reverse());
  });
});
