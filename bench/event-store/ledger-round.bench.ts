/**
 * `npm run bench:ledger-round`: what a proxied request's ledger round costs the gateway process
 * in memory and CPU: the hold's append, then the settle's with the request's log row alongside,
 * through the real PostgresEventStore, one request after another on one account (its head
 * remembered, as under load). Figures that do not depend on the machine's load:
 *
 *  - `allocated_bytes_per_round`: JavaScript heap allocated per round (used heap after minus
 *    before, the young generation made big enough that no collection runs inside a sample;
 *    a sample in which one ran anyway is left out and counted);
 *  - `cpu_us_per_round`: this process's CPU time per round (p50 over samples of rounds run
 *    after the allocation's, with no collection forced), and where /proc shows it,
 *    `postgres_cpu_us_per_round`: the CPU of the one backend that served those rounds;
 *  - `pieces`: the two parts of an append that issue 23 changed, each alone, old form against
 *    new, in bytes and CPU microseconds per event (p50 of 20 samples each, alternating): the
 *    hash (canonicalJson; the old form is
 *    test/support/canonical-reference.ts) and the events as query parameters (six arrays that
 *    pg escapes into array literals, against one JSON text).
 *
 * With BENCH_BASELINE_DIST (the dist/ of another build, e.g. main's: `npx tsc -p
 * tsconfig.build.json` in a worktree of it), that build's store and log row are measured in
 * the same process, sample by sample in alternation, each on its own connection and account:
 * read old against new there, not against another run. Run with --expose-gc and
 * --min-semi-space-size=64 --max-semi-space-size=64 (the npm script does).
 * Settings: BENCH_ROUNDS (samples of BENCH_ROUNDS_PER_SAMPLE rounds; 40 of 100), BENCH_DATABASE_URL.
 * Progress on stderr; the last line of stdout is one JSON object.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { chainHash, HashedFields } from '../../src/platform/event-store/canonical';
import { NewEvent, SideRows } from '../../src/platform/event-store/event-store.port';
import { RequestLogRow, requestLogAlongside } from '../../src/proxy/usage/request-log.repository';
import { sealPart } from '../../src/compliance/retention/usage-seal';
import { createPool } from '../../src/platform/database/pg';
import { referenceChainHash } from '../../test/support/canonical-reference';
import { freshDatabase, percentile, round } from '../postgres-baseline';

const SAMPLES = Number(process.env.BENCH_ROUNDS ?? 40);
const PER_SAMPLE = Number(process.env.BENCH_ROUNDS_PER_SAMPLE ?? 100);
const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_ledger_round';
const baselineDist = process.env.BENCH_BASELINE_DIST;

const log = (msg: string) => process.stderr.write(`[bench:ledger-round] ${msg}\n`);
const gc = (globalThis as { gc?: () => void }).gc;
/** Modules loaded by path at run time (another build's, and pg's own parameter conversion). */
const load = createRequire(__filename);

/** What a build gives this bench: its store and its request-log row. */
interface Build {
  name: string;
  Store: typeof PostgresEventStore;
  logRow: typeof requestLogAlongside;
}

function baselineBuild(dist: string): Build {
  const at = (path: string) => load(join(resolve(dist), path)) as Record<string, unknown>;
  return {
    name: 'baseline',
    Store: at('src/platform/event-store/postgres/postgres-event-store.js').PostgresEventStore as typeof PostgresEventStore,
    logRow: at('src/proxy/usage/request-log.repository.js').requestLogAlongside as typeof requestLogAlongside,
  };
}

const dayKey = randomBytes(32);
const DAY = '2026-12-07';

/** The hold's and the settle's events as the ledger writes them (encodeLedgerEvent's data, sealed key and usage, the command's metadata). */
function holdPlaced(requestId: string): NewEvent {
  return {
    id: randomUUID(),
    type: 'HoldPlaced',
    data: { holdId: requestId, amount: '2400', expiresAt: new Date(Date.now() + 600_000).toISOString(), sealedKeyId: sealPart(dayKey, DAY, 'key', requestId, randomUUID()) },
    metadata: { occurredAt: new Date().toISOString(), command: 'PlaceHold', causationId: requestId },
  };
}

function holdSettled(requestId: string): NewEvent {
  const usage = JSON.stringify({ inputTokens: 12, outputTokens: 9, cachedTokens: 0, cacheWriteTokens: 0, estimated: false });
  return {
    id: randomUUID(),
    type: 'HoldSettled',
    data: { holdId: requestId, amount: '1830', upstreamCost: '1525', sealedUsage: sealPart(dayKey, DAY, 'usage', requestId, usage) },
    metadata: { occurredAt: new Date().toISOString(), command: 'SettleHold', causationId: requestId },
  };
}

function logRow(requestId: string, accountId: string): RequestLogRow {
  return {
    requestId,
    accountId,
    keyId: '00000000-0000-4000-8000-000000000001',
    startedAt: new Date(),
    endpoint: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    provider: 'openai',
    channelId: null,
    stream: false,
    status: 200,
    errorCode: null,
    inputTokens: 12,
    cachedTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 9,
    estimated: false,
    freeRequest: false,
    heldMicros: 2400n,
    costMicros: 1830n,
    billing: 'settled',
    priceVersion: 3,
    unitPrices: { input: '0.15', output: '0.6' },
    latencyMs: 3,
    ttfbMs: 2,
    attempts: 1,
  };
}

/** Collections seen by the observer (their start times), to leave out a sample that had one. */
const collections: number[] = [];
new PerformanceObserver((list) => list.getEntries().forEach((e) => collections.push(e.startTime))).observe({ entryTypes: ['gc'] });
const settle = () => new Promise((r) => setImmediate(r));
/** After a forced collection: its sweeping on helper threads would count as the sample's CPU. */
const quiet = () => new Promise((r) => setTimeout(r, 30));

/** The CPU (µs) a process has used, from /proc (user + system ticks), or null where it cannot be read. */
function processCpuUs(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return null;
  }
}

interface Sample {
  bytes: number;
  cpuUs: number;
}

/**
 * Samples of `n` sequential `op` calls: heap allocated and CPU per call. Null for a sample a
 * collection ran in (its heap figure would be short by what was collected).
 */
async function sample(n: number, op: () => unknown): Promise<Sample | null> {
  gc!();
  await quiet();
  const t0 = performance.now();
  const h0 = getHeapStatistics().used_heap_size;
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await op();
  const c = process.cpuUsage(c0);
  const h1 = getHeapStatistics().used_heap_size;
  const t1 = performance.now();
  await settle();
  if (collections.some((t) => t >= t0 && t <= t1)) return null;
  return { bytes: (h1 - h0) / n, cpuUs: (c.user + c.system) / n };
}

/** The same for a synchronous op, without awaiting between calls. */
async function sampleSync(n: number, op: (i: number) => unknown): Promise<Sample | null> {
  gc!();
  await quiet();
  const t0 = performance.now();
  const h0 = getHeapStatistics().used_heap_size;
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) op(i);
  const c = process.cpuUsage(c0);
  const h1 = getHeapStatistics().used_heap_size;
  const t1 = performance.now();
  await settle();
  if (collections.some((t) => t >= t0 && t <= t1)) return null;
  return { bytes: (h1 - h0) / n, cpuUs: (c.user + c.system) / n };
}

const summary = (samples: Sample[]) => ({
  allocated_bytes: Math.round(percentile(samples.map((s) => s.bytes), 50)),
  cpu_us: round(percentile(samples.map((s) => s.cpuUs), 50), 2),
});

/** The pieces: old and new forms of the hash and of the events as parameters, alternating. */
async function pieces(): Promise<Record<string, unknown>> {
  // pg's own conversion of a JS array parameter (what the six-array form went through).
  const { prepareValue } = load('pg/lib/utils') as { prepareValue: (v: unknown) => unknown };
  const events = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? holdPlaced : holdSettled)(randomUUID()));
  const hashed: HashedFields[] = events.map((e, i) => ({ ...e, streamId: `account-${randomUUID()}`, streamVersion: BigInt(i + 40), metadata: e.metadata }));
  const prev = randomBytes(32);
  const planned = hashed.map((e) => ({ s: e.streamId, v: e.streamVersion.toString(), id: e.id, t: e.type, d: e.data, m: e.metadata, h: randomBytes(32).toString('hex') }));
  const kinds: Record<string, (i: number) => unknown> = {
    hash_old: (i) => referenceChainHash(prev, hashed[i]),
    hash_new: (i) => chainHash(prev, hashed[i]),
    params_old: (i) => {
      const ev = [planned[i]];
      return [ev.map((e) => e.v), ev.map((e) => e.id), ev.map((e) => e.t), ev.map((e) => JSON.stringify(e.d)), ev.map((e) => JSON.stringify(e.m)), ev.map((e) => Buffer.from(e.h, 'hex'))].map(prepareValue);
    },
    params_new: (i) => JSON.stringify([planned[i]]),
  };
  const bytes = Object.fromEntries(Object.keys(kinds).map((k) => [k, [] as number[]]));
  const cpu = Object.fromEntries(Object.keys(kinds).map((k) => [k, [] as number[]]));
  for (let r = 0; r < 25; r++) {
    for (const [k, op] of Object.entries(kinds)) {
      const s = await sampleSync(events.length, op);
      if (s && r >= 5) bytes[k].push(s.bytes);
    }
  }
  // The CPU from runs of their own, after the allocation's and with no collection forced between
  // them: right after one, every allocation touches a fresh page of the (big) young generation,
  // which costs the kernel time in proportion to the bytes allocated, and more than the work.
  for (let r = 0; r < 25; r++) {
    for (const [k, op] of Object.entries(kinds)) {
      const c0 = process.cpuUsage();
      for (let j = 0; j < 5 * events.length; j++) op(j % events.length);
      const c = process.cpuUsage(c0);
      if (r >= 5) cpu[k].push((c.user + c.system) / (5 * events.length));
    }
  }
  const got = Object.fromEntries(Object.keys(kinds).map((k) => [k, bytes[k].map((b, i) => ({ bytes: b, cpuUs: cpu[k][i] ?? cpu[k][0] }))]));
  const per = (k: string) => summary(got[k]);
  return {
    hash_per_event: { old: per('hash_old'), new: per('hash_new') },
    params_per_event: { old: per('params_old'), new: per('params_new') },
  };
}

async function main(): Promise<void> {
  if (!gc) throw new Error('run with --expose-gc (npm run bench:ledger-round does)');
  log(`fresh database ${new URL(url).pathname.slice(1)}`);
  await (await freshDatabase(url, 1, 'tollgate-bench-ledger-round')).end();
  const builds: Build[] = [{ name: 'this_build', Store: PostgresEventStore, logRow: requestLogAlongside }];
  if (baselineDist) builds.unshift(baselineBuild(baselineDist));

  // Each build: its own pool of one connection (the prepared statements' texts differ between
  // builds under the same names), its own account, its own backend to read the CPU of.
  const runs = await Promise.all(
    builds.map(async (b) => {
      const pool = createPool(url, 1, `tollgate-bench-ledger-round-${b.name}`);
      const store = new b.Store(pool);
      const backend = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const accountId = randomUUID();
      const stream = `account-${accountId}`;
      let version = (await store.append(stream, [holdPlaced(randomUUID())], { expectedVersion: 'no_stream' })).nextVersion;
      // The events and rows of the next sample, made before it: what the bench makes up (ids,
      // seals, the row) is no part of what the store costs.
      let inputs: Array<{ hold: NewEvent; settle: NewEvent; row: RequestLogRow }> = [];
      const prepare = () => {
        inputs = Array.from({ length: PER_SAMPLE }, () => {
          const requestId = randomUUID();
          return { hold: holdPlaced(requestId), settle: holdSettled(requestId), row: logRow(requestId, accountId) };
        }).reverse();
      };
      const ledgerRound = async () => {
        const { hold, settle, row } = inputs.pop()!;
        version = (await store.append(stream, [hold], { expectedVersion: version })).nextVersion;
        const alongside: SideRows[] = b.logRow(row);
        const settled = await store.append(stream, [settle], { expectedVersion: version, alongside });
        if (!settled.alongsideWritten) throw new Error('the log row was not written with the settle');
        version = settled.nextVersion;
      };
      return { b, pool, store, backend, prepare, ledgerRound, bytes: [] as number[], cpuUs: [] as number[], dropped: 0, serverUs: 0, serverRounds: 0 };
    }),
  );
  try {
    log(`${SAMPLES} samples of ${PER_SAMPLE} ledger rounds per build (${builds.map((b) => b.name).join(', ')}), alternating`);
    // Allocation first: samples with a collection forced before each.
    for (let r = -3; r < SAMPLES; r++) {
      for (const run of r % 2 === 0 ? runs : [...runs].reverse()) {
        run.prepare();
        const s = await sample(PER_SAMPLE, run.ledgerRound);
        if (r < 0) continue; // warming up
        if (s) run.bytes.push(s.bytes);
        else run.dropped++;
      }
      if (r > 0 && r % 10 === 0) log(`allocation: ${r} / ${SAMPLES}`);
    }
    // Then CPU, from rounds with no collection forced before them (see pieces): the collections
    // their allocation causes are counted, as they would be in the gateway.
    for (let r = -3; r < SAMPLES; r++) {
      for (const run of r % 2 === 0 ? runs : [...runs].reverse()) {
        run.prepare();
        const s0 = processCpuUs(run.backend);
        const c0 = process.cpuUsage();
        for (let i = 0; i < PER_SAMPLE; i++) await run.ledgerRound();
        const c = process.cpuUsage(c0);
        const s1 = processCpuUs(run.backend);
        if (r < 0) continue;
        run.cpuUs.push((c.user + c.system) / PER_SAMPLE);
        if (s0 !== null && s1 !== null) {
          run.serverUs += s1 - s0;
          run.serverRounds += PER_SAMPLE;
        }
      }
      if (r > 0 && r % 10 === 0) log(`CPU: ${r} / ${SAMPLES}`);
    }
    const result: Record<string, unknown> = {};
    for (const run of runs) {
      result[run.b.name] = {
        allocated_bytes_per_round: Math.round(percentile(run.bytes, 50)),
        cpu_us_per_round: round(percentile(run.cpuUs, 50), 2),
        postgres_cpu_us_per_round: run.serverRounds > 0 ? round(run.serverUs / run.serverRounds, 1) : null,
        samples: run.bytes.length,
        samples_with_a_collection_left_out: run.dropped,
      };
    }
    result.pieces = await pieces();
    result.rounds_per_sample = PER_SAMPLE;
    result.load_average_1m = round((await import('node:os')).loadavg()[0], 2);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const run of runs) {
      await run.store.close();
      await run.pool.end();
    }
  }
}

main().catch((err) => {
  process.stderr.write(`[bench:ledger-round] failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
