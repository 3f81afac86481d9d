/**
 * `npm run bench:append`: what one event's durable append costs alone, against the cheapest
 * durable write there is, in the same run: one connection's worth of sequential calls, each
 * waiting for the last, so every figure is one caller's latency on an otherwise idle store.
 *
 *  - `append_p50_ms`: PostgresEventStore.append of one event to a stream it has written before
 *    (the usual case: the ledger appends to accounts whose head the store remembers);
 *  - `append_new_stream_p50_ms`: the same with "no stream" on a stream never seen;
 *  - `one_row_insert_p50_ms`: INSERT of one row (uuid key, bigint) committed on its own;
 *  - `pieces`: what the difference is made of, each timed on its own: a round trip (SELECT 1),
 *    one row inserted straight into `events` (its indexes, defaults and commit, no stream head),
 *    a pg_notify like the one the store sends after a commit, and the store's own JavaScript
 *    (planning and hashing one append, no I/O) in microseconds.
 *
 * The kinds of call are interleaved round by round (in a shuffled order each round), so a busy
 * moment of the shared machine falls on all of them alike: read the ratio, not the absolutes.
 * Settings: BENCH_APPEND_ROUNDS (3000), BENCH_DATABASE_URL. Progress on stderr; the last line of
 * stdout is one JSON object.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { Pending, headOf, planBatch } from '../../src/platform/event-store/postgres/append-plan';
import { NewEvent } from '../../src/platform/event-store/event-store.port';
import { baselineTable, freshDatabase, insertOneRow, percentile, round } from '../postgres-baseline';

const ROUNDS = Number(process.env.BENCH_APPEND_ROUNDS ?? 3000);
const WARMUP = Math.min(200, Math.ceil(ROUNDS / 10));
const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_append';

const log = (msg: string) => process.stderr.write(`[bench:append] ${msg}\n`);

/** An event shaped like the ledger's most frequent one (a hold placed). */
const holdPlaced = (): NewEvent => ({
  id: randomUUID(),
  type: 'HoldPlaced',
  data: { holdId: randomUUID(), amount: '2000', expiresAt: '2026-12-01T00:00:00.000Z', free: false },
  metadata: { occurredAt: new Date().toISOString(), actor: 'proxy' },
});

/** The store's own work for one append before any I/O: its plan (version check, canonical JSON, hash) and parameters. */
function jsMicroseconds(n: number): number {
  const start = new Map([['account-x', headOf(41n, Buffer.alloc(32, 7))]]);
  const noop = () => undefined;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const p: Pending = { streamId: 'account-x', events: [holdPlaced()], options: { expectedVersion: 41n }, resolve: noop, reject: noop };
    const plan = planBatch([p], start, new Map());
    JSON.stringify(plan.events);
  }
  return ((performance.now() - t0) * 1000) / n;
}

async function main(): Promise<void> {
  log(`fresh database ${new URL(url).pathname.slice(1)}`);
  const pool = await freshDatabase(url, 4, 'tollgate-bench-append');
  const store = new PostgresEventStore(pool);
  try {
    await baselineTable(pool);
    const warm = `account-${randomUUID()}`;
    let version = (await store.append(warm, [holdPlaced()], { expectedVersion: 'no_stream' })).nextVersion;

    const kinds: Record<string, () => Promise<unknown>> = {
      one_row_insert: () => insertOneRow(pool, Number(version)),
      append: async () => {
        version = (await store.append(warm, [holdPlaced()], { expectedVersion: version })).nextVersion;
      },
      append_new_stream: () => store.append(`account-${randomUUID()}`, [holdPlaced()], { expectedVersion: 'no_stream' }),
      round_trip: () => pool.query('SELECT 1'),
      event_row_insert: () => {
        const e = holdPlaced();
        return pool.query(
          `INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata, hash) VALUES ($1, 1, $2, $3, $4, $5, $6)`,
          [`bench-raw-${randomUUID()}`, e.id, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata), Buffer.alloc(32, 1)],
        );
      },
      notify: () => pool.query(`SELECT pg_notify('bench_append', '')`),
    };
    const names = Object.keys(kinds);
    const samples = Object.fromEntries(names.map((k) => [k, [] as number[]]));
    log(`${ROUNDS} rounds (after ${WARMUP} to warm up) of: ${names.join(', ')}`);
    for (let r = -WARMUP; r < ROUNDS; r++) {
      const order = [...names].sort(() => Math.random() - 0.5);
      for (const k of order) {
        const t0 = performance.now();
        await kinds[k]();
        if (r >= 0) samples[k].push(performance.now() - t0);
      }
      if (r > 0 && r % 1000 === 0) log(`${r} / ${ROUNDS}`);
    }
    const p50 = (k: string) => round(percentile(samples[k], 50), 3);
    const p99 = (k: string) => round(percentile(samples[k], 99), 3);
    const result = {
      append_p50_ms: p50('append'),
      one_row_insert_p50_ms: p50('one_row_insert'),
      ratio_append_to_insert: round(p50('append') / p50('one_row_insert'), 2),
      append_added_p50_ms: round(p50('append') - p50('one_row_insert'), 3),
      append_new_stream_p50_ms: p50('append_new_stream'),
      append_p99_ms: p99('append'),
      one_row_insert_p99_ms: p99('one_row_insert'),
      pieces: {
        round_trip_p50_ms: p50('round_trip'),
        event_row_insert_p50_ms: p50('event_row_insert'),
        notify_p50_ms: p50('notify'),
        js_plan_us_per_append: round(jsMicroseconds(20_000), 2),
      },
      rounds: ROUNDS,
      load_average_1m: round((await import('node:os')).loadavg()[0], 2),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await store.close();
    await pool.end();
  }
}

main().catch((err) => {
  process.stderr.write(`[bench:append] failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
