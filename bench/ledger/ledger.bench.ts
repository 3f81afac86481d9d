/**
 * Ledger benchmark: hold+settle pairs through the real service and Postgres, over 10,000
 * accounts and on one hot account, with the read models following live; then a full replay
 * over at least 1,000,000 events by `tollgate ledger replay` itself. Beside each, a baseline of
 * this machine's Postgres in the same run (one-row insert-and-commit throughput by as many
 * callers; a bulk COPY), and the figures as ratios to it (`ratio_spread_to_baseline`,
 * `ratio_replay_to_copy`), so a regression can be told from a slow hour. Prints progress to stderr
 * and one JSON object as the last line of stdout. Run: npm run bench:ledger  (BENCH_SECONDS, BENCH_REPLAY_EVENTS, BENCH_BASELINE_SECONDS, BENCH_COPY_ROWS to change).
 */
import { fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { accountStream, encodeLedgerEvent } from '../../src/ledger/domain/events';
import { eventIdFor } from '../../src/ledger/domain/event-ids';
import { AccountCommand, decide, evolve, initialState } from '../../src/ledger/domain/account.decider';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { NewEvent } from '../../src/platform/event-store/event-store.port';
import { systemClock } from '../../src/platform/clock';
import { ProjectionRunner } from '../../projections/runner';
import { allProjections } from '../../projections';
import { copyRate, freshDatabase, insertCommitRate } from '../postgres-baseline';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const REPLAY_EVENTS = Number(process.env.BENCH_REPLAY_EVENTS ?? 1_000_000);
const ACCOUNTS = 10_000;
const CALLERS = Number(process.env.BENCH_CALLERS ?? 512);
const BASELINE_SECONDS = Number(process.env.BENCH_BASELINE_SECONDS ?? 5);
const COPY_ROWS = Number(process.env.BENCH_COPY_ROWS ?? 500_000);
const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench';

const log = (msg: string) => process.stderr.write(`[bench:ledger] ${msg}\n`);
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

interface Phase {
  pairs: number;
  seconds: number;
  latencies: number[];
  lags: number[];
}

/** Callers loop hold → settle on accounts chosen by `pick` for `seconds`; samples read-model lag. */
async function pairs(ledger: LedgerService, pool: Pool, pick: () => string, seconds: number, callers: number): Promise<Phase> {
  const phase: Phase = { pairs: 0, seconds: 0, latencies: [], lags: [] };
  const deadline = performance.now() + seconds * 1000;
  const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
  const timed = async (accountId: string, c: AccountCommand) => {
    const t0 = performance.now();
    const out = await ledger.execute(accountId, c);
    phase.latencies.push(performance.now() - t0);
    return out;
  };
  let sampling = true;
  const sampler = (async () => {
    // Every 50 ms: place one hold and time until the balances read model shows it.
    while (sampling) {
      const accountId = pick();
      const holdId = randomUUID();
      const placed = await ledger.execute(accountId, { type: 'PlaceHold', data: { holdId, amount: 1n, expiresAt } }).catch(() => null);
      if (placed) {
        const t0 = performance.now();
        for (;;) {
          // A prepared statement: the probe runs every 2 ms, and its own cost should not be measured.
          const { rows } = await pool.query<{ version: bigint }>({
            name: 'bench-lag-probe',
            text: 'SELECT version FROM rm_balances.balances WHERE account_id = $1',
            values: [accountId],
          });
          if (rows[0] && rows[0].version >= placed.version) break;
          await new Promise((r) => setTimeout(r, 2));
        }
        phase.lags.push(performance.now() - t0);
        await ledger.execute(accountId, { type: 'VoidHold', data: { holdId, reason: 'bench sample' } });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < deadline) {
        const accountId = pick();
        const holdId = randomUUID();
        await timed(accountId, { type: 'PlaceHold', data: { holdId, amount: 2_000n, expiresAt } });
        await timed(accountId, { type: 'SettleHold', data: { holdId, amount: 1_234n, upstreamCost: 1_000n } });
        phase.pairs++;
      }
    }),
  );
  phase.seconds = (performance.now() - start) / 1000;
  sampling = false;
  await sampler;
  return phase;
}

/**
 * Runs `tollgate ledger replay --json` (the accountant's command, in a process of its own, as
 * it is run) against the bench database and returns what it reports.
 */
async function replayWithCli(): Promise<{ events: number; seconds: number; eventsPerSecond: number }> {
  const cli = join(__dirname, '..', '..', 'src', 'cli.js');
  const child = spawn(process.execPath, ['--max-semi-space-size=64', cli, 'ledger', 'replay', '--json'], {
    env: { ...process.env, DATABASE_URL: baseUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const last = out.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`tollgate ledger replay exited ${code}: ${last}`);
  return JSON.parse(last) as { events: number; seconds: number; eventsPerSecond: number };
}

/** Tops the log up to `target` events with valid account histories, written in large appends. */
async function fill(store: PostgresEventStore, pool: Pool, target: number): Promise<void> {
  const { rows } = await pool.query<{ n: bigint }>('SELECT count(*) AS n FROM events');
  let have = Number(rows[0].n);
  const perAccount = 1002; // opened + free requests + purchase + 333 × (hold, settle, hold→void)
  while (have < target) {
    const batch = Math.min(50, Math.ceil((target - have) / perAccount));
    await Promise.all(
      Array.from({ length: batch }, async () => {
        const id = randomUUID();
        const now = new Date();
        let state = initialState();
        const events: NewEvent[] = [];
        const run = (c: AccountCommand) => {
          decide(c, state, { now }).forEach((e, i) => {
            state = evolve(state, e);
            events.push({ id: eventIdFor(id, c, i), ...encodeLedgerEvent(e), metadata: { occurredAt: now.toISOString() } });
          });
        };
        run({ type: 'OpenAccount', data: { accountId: id } });
        run({ type: 'PurchaseCredits', data: { paymentId: `pi_${randomUUID()}`, amount: 1_000_000_000n } });
        for (let i = 0; events.length < perAccount; i++) {
          const holdId = randomUUID();
          run({ type: 'PlaceHold', data: { holdId, amount: 5_000n, expiresAt: now.toISOString() } });
          if (i % 2) run({ type: 'SettleHold', data: { holdId, amount: 4_321n } });
          else run({ type: 'VoidHold', data: { holdId, reason: 'fill' } });
        }
        for (let i = 0; i < events.length; i += 500) {
          await store.append(accountStream(id), events.slice(i, i + 500), { expectedVersion: BigInt(i) });
        }
        have += events.length;
      }),
    );
    log(`filled ${have.toLocaleString()} / ${target.toLocaleString()} events`);
  }
}

async function main(): Promise<void> {
  const pool = await freshDatabase(baseUrl, 24);
  const store = new PostgresEventStore(pool, { maxBatch: 1000, concurrency: 3 });
  const ledger = new LedgerService(store, systemClock);
  // This process only asks the runner where the read models are (the replay at the end is the CLI's);
  // following the log happens in a child process, as the worker does it in production.
  const runner = new ProjectionRunner(pool, store, allProjections(), { pollMs: 20, batchSize: 5000 });
  await runner.prepare();
  const follower = fork(join(__dirname, 'follower.js'), [baseUrl]);
  await new Promise<void>((resolve, reject) => {
    follower.once('message', () => resolve());
    follower.once('exit', (code) => reject(new Error(`read-model follower exited (${code})`)));
  });

  log(`opening and funding ${ACCOUNTS} accounts`);
  const ids = Array.from({ length: ACCOUNTS }, () => randomUUID());
  await Promise.all(ids.map((id) => ledger.execute(id, { type: 'OpenAccount', data: { accountId: id } })));
  await Promise.all(ids.map((id) => ledger.execute(id, { type: 'PurchaseCredits', data: { paymentId: `pi_${id}`, amount: 1_000_000_000n } })));
  await runner.caughtUp(120_000);

  // The machine's own Postgres, just before the phase it is the yardstick of: one-row
  // insert-and-commit throughput by as many callers over the same pool.
  log(`baseline: ${BASELINE_SECONDS}s of one-row inserts, each committed alone, ${CALLERS} callers`);
  const baselineInserts = await insertCommitRate(pool, CALLERS, BASELINE_SECONDS);
  log(`baseline: ${round(baselineInserts)} inserts/s`);
  log(`spread: ${SECONDS}s of hold+settle over ${ACCOUNTS} accounts, ${CALLERS} callers`);
  const spread = await pairs(ledger, pool, () => ids[Math.floor(Math.random() * ids.length)], SECONDS, CALLERS);
  log(`spread: ${round(spread.pairs / spread.seconds)} pairs/s`);

  const hot = randomUUID();
  await ledger.execute(hot, { type: 'OpenAccount', data: { accountId: hot } });
  await ledger.execute(hot, { type: 'PurchaseCredits', data: { paymentId: `pi_${hot}`, amount: 1_000_000_000_000n } });
  log(`hot: ${SECONDS}s of hold+settle on one account, ${CALLERS} callers`);
  const hotPhase = await pairs(ledger, pool, () => hot, SECONDS, CALLERS);
  log(`hot: ${round(hotPhase.pairs / hotPhase.seconds)} pairs/s`);
  await runner.caughtUp(300_000);
  follower.removeAllListeners('exit');
  const exited = new Promise((resolve) => follower.once('exit', resolve));
  follower.send('stop');
  await exited;

  await fill(store, pool, REPLAY_EVENTS);
  const { rows } = await pool.query<{ n: bigint }>("SELECT count(*) AS n FROM events WHERE stream_id LIKE 'account-%'");
  // The log as production would have it when someone replays it: autovacuum has long since
  // visited it (hint bits set, no dirty pages from the fill still being written out).
  log('vacuuming and checkpointing the log before the replay');
  await pool.query('VACUUM (ANALYZE) events');
  await pool.query('CHECKPOINT');
  // The bulk rate of this Postgres just before the replay: COPY of rows shaped like events.
  log(`baseline: COPY of ${COPY_ROWS.toLocaleString()} rows`);
  const copyRows = await copyRate(pool, COPY_ROWS);
  log(`baseline: ${round(copyRows)} rows/s by COPY`);
  log(`replaying ${rows[0].n.toLocaleString()} events into every read model with \`tollgate ledger replay\``);
  const replay = await replayWithCli();
  const allLat = [...spread.latencies, ...hotPhase.latencies];
  const result = {
    pairs_per_s_spread: round(spread.pairs / spread.seconds),
    pairs_per_s_hot: round(hotPhase.pairs / hotPhase.seconds),
    events_per_s: round(((spread.pairs + hotPhase.pairs) * 2) / (spread.seconds + hotPhase.seconds)),
    append_p50_ms: round(pct(allLat, 50), 2),
    append_p99_ms: round(pct(allLat, 99), 2),
    projection_lag_p50_ms: round(pct([...spread.lags, ...hotPhase.lags], 50), 1),
    projection_lag_p99_ms: round(pct([...spread.lags, ...hotPhase.lags], 99), 1),
    projection_lag_samples: spread.lags.length + hotPhase.lags.length,
    replay_events_per_s: replay.eventsPerSecond,
    replay_events: replay.events,
    replay_seconds: round(replay.seconds, 2),
    // What this machine's Postgres did in the same run, and the figures as ratios to it: a
    // regression moves the ratios, a slow hour moves the absolutes and the baseline together.
    baseline_insert_commits_per_s: round(baselineInserts),
    baseline_copy_rows_per_s: round(copyRows),
    ratio_spread_to_baseline: round(spread.pairs / spread.seconds / baselineInserts, 3),
    ratio_replay_to_copy: round(replay.eventsPerSecond / copyRows, 3),
    seconds_per_phase: SECONDS,
    callers: CALLERS,
    accounts: ACCOUNTS,
  };
  await store.close();
  await pool.end();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => {
  process.stderr.write(`[bench:ledger] failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
