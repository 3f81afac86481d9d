/**
 * Proxy benchmark (issue 3): autocannon against the fake upstream's POST /v1/chat/completions,
 * JSON and streaming, three ways — straight to the fake upstream, through the minimal undici
 * pass-through in this folder (the fair baseline), and through the gateway with everything on
 * (key auth, Redis rate limits, a durable hold and its settlement in the ledger, the usage row).
 * Then one connection, for the median latency the gateway adds. Each server runs in a process
 * of its own; the load generator is this process. Afterwards the ledger is checked: every 2xx
 * the gateway gave was billed, and the account was charged exactly what its holds settled for.
 *
 * Two layouts, each measured against the minimal proxy in the same turns: `split` (the API and
 * a worker process, as docker-compose runs them: today's keys) and `one_process` (`npm start` as
 * shipped: the API runs the workers itself; keys ending `_one_process`). On the one-process
 * gateway then, streams at a real model's pace (streams.ts): `realistic` (one connection, first
 * byte after 50 ms, 100 chunks 10 ms apart) and `streams` (2,000 at once, 50 chunks 200 ms apart,
 * direct, through the minimal proxy as the yardstick, then through the gateway).
 *
 * Progress on stderr; the last line of stdout is one JSON object. Run: npm run bench:proxy
 * (BENCH_PARTS, comma-separated, picks parts: split, one_process, realistic, streams (default all);
 * BENCH_SECONDS per path and kind, taken in BENCH_ROUNDS turns; BENCH_WARMUP_SECONDS,
 * BENCH_CONNECTIONS, BENCH_LATENCY_SECONDS; BENCH_REALISTIC_SAMPLES; BENCH_STREAMS (2000) opened
 * over BENCH_STREAMS_RAMP_MS (2000);
 * `--quick` for a short run; BENCH_PROFILE=1 profiles the gateway during its runs and prints its
 * hot spots: the split layout's JSON and streaming load, and the one-process gateway's realistic
 * streams and its 2,000 streams (the gateway's half only); with BENCH_PROFILE_SPLIT_MS=N the 2,000
 * streams' profile is two: their first N ms (the ramp: admissions while the first streams run)
 * and the rest (the steady state)).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { AccountAudit, freshDatabase, fundedKey } from './bench-account';
import { Measured, Mode, Servers, TARGETS, Target, baseEnv, combineMeasured, cpuPerRequest, gatewayEnvFrom, measure, probe, startServers } from './bench-servers';
import { round } from './load';
import { cpuSeconds, peakRssMiB, rssMiB, stopChild } from './processes';
import { formatSummary, summarize } from './profile-summary';
import { Profiled, manyStreams, realistic } from './streams';

const quick = process.argv.includes('--quick');
const setting = (name: string, full: number, short: number) => Number(process.env[name] ?? (quick ? short : full));
const SECONDS = setting('BENCH_SECONDS', 10, 3);
const WARMUP_SECONDS = setting('BENCH_WARMUP_SECONDS', 2, 1);
const CONNECTIONS = setting('BENCH_CONNECTIONS', 50, 50);
const LATENCY_SECONDS = setting('BENCH_LATENCY_SECONDS', 5, 2);
const ROUNDS = setting('BENCH_ROUNDS', 2, 1);
const REALISTIC_SAMPLES = setting('BENCH_REALISTIC_SAMPLES', 20, 6);
const STREAMS = setting('BENCH_STREAMS', 2000, 2000);
const STREAMS_RAMP_MS = setting('BENCH_STREAMS_RAMP_MS', 2000, 2000);
const PROFILE = process.env.BENCH_PROFILE === '1';
/** With BENCH_PROFILE, the 2,000 streams' profile is cut in two this long after they start (0: one profile): the ramp, then the steady state. */
const PROFILE_SPLIT_MS = Number(process.env.BENCH_PROFILE_SPLIT_MS ?? 0);
const ALL_PARTS = ['split', 'one_process', 'realistic', 'streams'] as const;
type Part = (typeof ALL_PARTS)[number];
const PARTS = new Set((process.env.BENCH_PARTS ?? ALL_PARTS.join(',')).split(',').map((x) => x.trim()).filter(Boolean));
for (const part of PARTS) if (!(ALL_PARTS as readonly string[]).includes(part)) throw new Error(`BENCH_PARTS: unknown part ${part} (known: ${ALL_PARTS.join(', ')})`);
const runs_ = (part: Part) => PARTS.has(part);
const GATEWAY_ENV = gatewayEnvFrom(process.env.BENCH_GATEWAY_ENV);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_proxy';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CREDITS = 1_000_000;

const log = (msg: string) => process.stderr.write(`[bench:proxy] ${msg}\n`);

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-proxy-'));
  const profileDir = PROFILE ? workDir : null;
  const prefix = `tgbench:proxy:${randomBytes(4).toString('hex')}:`;
  const env = baseEnv({
    NODE_ENV: 'production',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DATABASE_URL,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    MIGRATE_ON_START: 'false',
    // Far above what two cores can reach: the limiter runs on every request but never refuses.
    ACCOUNT_RPM: '10000000',
    ACCOUNT_TPM: '1000000000',
    // 2,000 streams from one address: nothing per address may stand in the way.
    AUTH_FAILURES_PER_MINUTE: '0',
    // Last, so a compared setting can override the bench's own (the gateway and its worker; the
    // fake upstream and the minimal proxy never see it).
    ...GATEWAY_ENV,
  });
  if (Object.keys(GATEWAY_ENV).length) log(`gateway settings from BENCH_GATEWAY_ENV: ${JSON.stringify(GATEWAY_ENV)}`);
  log(`logs in ${workDir}; parts ${[...PARTS].join(', ')}; ${SECONDS}s per run after ${WARMUP_SECONDS}s warm-up, ${CONNECTIONS} connections`);
  log(`fresh database ${new URL(DATABASE_URL).pathname.slice(1)}; an account funded with ${CREDITS} credits and a key`);
  await freshDatabase(DATABASE_URL, env);
  const { accountId, secret } = await fundedKey(env, CREDITS);
  const audit = new AccountAudit(DATABASE_URL, accountId);
  const before = await audit.state();

  let servers: Servers | null = null;
  const stopServers = async () => {
    if (!servers) return;
    const running = [servers.gateway, servers.worker, servers.minimal, servers.upstream].filter((c) => c !== null);
    servers = null;
    await Promise.all(running.map((c) => stopChild(c)));
  };
  const counts = { gateway2xx: 0, inFlightAllowance: 0 };
  const profiles: Record<ProfiledRun, string[]> = { json: [], stream: [], realistic: [], streams: [], streams_ramp: [], streams_steady: [] };
  // The gateway's profiler numbers its files from 1, per process (profiler-preload.ts).
  const profileCounts = new Map<number, number>();
  const profileFile = (pid: number) => {
    const n = (profileCounts.get(pid) ?? 0) + 1;
    profileCounts.set(pid, n);
    return join(workDir, `profile-${pid}-${n}.cpuprofile`);
  };
  /** Profiles the one-process gateway while `work` runs (BENCH_PROFILE), into profiles[name]. */
  const profiledAs =
    (s: Servers, name: ProfiledRun): Profiled =>
    async (work) => {
      if (!PROFILE) return work();
      s.gateway.proc.kill('SIGUSR2');
      // The streams' profile cut in two (BENCH_PROFILE_SPLIT_MS): stop, then start again a moment
      // later (two signals at once may arrive as one).
      let cut: NodeJS.Timeout | null = null;
      let restart: NodeJS.Timeout | null = null;
      if (name === 'streams' && PROFILE_SPLIT_MS > 0) {
        cut = setTimeout(() => {
          s.gateway.proc.kill('SIGUSR2');
          profiles.streams_ramp.push(profileFile(s.gateway.pid));
          restart = setTimeout(() => s.gateway.proc.kill('SIGUSR2'), 50);
        }, PROFILE_SPLIT_MS);
      }
      try {
        return await work();
      } finally {
        if (cut) clearTimeout(cut);
        if (restart) clearTimeout(restart);
        s.gateway.proc.kill('SIGUSR2');
        profiles[name === 'streams' && PROFILE_SPLIT_MS > 0 ? 'streams_steady' : name].push(profileFile(s.gateway.pid));
      }
    };
  const result: Record<string, unknown> = {};
  let totalErrors = 0;
  try {
    if (runs_('split')) {
      servers = await startServers(workDir, env, secret, { profileDir, workersInApi: false });
      const { runs, rss } = await throughput(servers, 'split', counts, profileDir ? { into: profiles, file: profileFile } : null);
      await stopServers();
      Object.assign(result, figures(runs, rss, ''));
      totalErrors += errorsIn(runs);
    }
    if (runs_('one_process') || runs_('realistic') || runs_('streams')) {
      servers = await startServers(workDir, env, secret, { profileDir, workersInApi: true });
      const s = servers;
      if (runs_('one_process')) {
        const { runs, rss } = await throughput(s, 'one process', counts, null);
        const f = figures(runs, rss, '_one_process');
        Object.assign(result, pick(f, ['ratio_gateway_to_minimal_json_one_process', 'ratio_gateway_to_minimal_stream_one_process', 'added_p50_ms_one_connection_one_process']), f);
        totalErrors += errorsIn(runs);
      }
      if (runs_('realistic')) {
        await quiet(s);
        log(`realistic upstream: one connection, ${REALISTIC_SAMPLES} streams per path (first byte after 50 ms, 100 chunks 10 ms apart)`);
        const r = await realistic(s, REALISTIC_SAMPLES, profiledAs(s, 'realistic'));
        counts.gateway2xx += r.realistic_gateway_answers;
        log(`realistic: TTFB p50 direct ${r.ttfb_p50_ms_realistic_direct} ms, gateway ${r.ttfb_p50_ms_realistic_gateway} ms (+${r.added_ttfb_p50_ms_realistic} ms); whole stream +${r.added_total_p50_ms_realistic} ms`);
        Object.assign(result, r);
        totalErrors += r.realistic_errors;
      }
      if (runs_('streams')) {
        await quiet(s);
        log(`${STREAMS} concurrent streams of 50 chunks 200 ms apart, opened over ${STREAMS_RAMP_MS} ms, direct then through the gateway`);
        const m = await manyStreams(s, STREAMS, STREAMS_RAMP_MS, log, profiledAs(s, 'streams'));
        counts.gateway2xx += STREAMS - m.streams_2000_errors;
        counts.inFlightAllowance += m.streams_2000_errors; // a failed stream may still have been billed for what it delivered
        Object.assign(result, m);
        totalErrors += m.streams_2000_errors;
      }
      await quiet(s);
    }

    // With the last gateway still up: its read models (or the split layout's worker's, caught up
    // before it stopped) are what the audit reads.
    log('checking the ledger: every answered request billed, the account charged what its holds settled for');
    const billing = await audit.check(before.available, counts.gateway2xx, counts.inFlightAllowance);
    await stopServers();
    log(billing.ok ? `billing ok: ${billing.billed} billed for ${billing.gateway_2xx} answers, ${billing.charged_credits} credits charged` : `billing NOT ok: ${billing.problems.join('; ')}`);

    if (PROFILE) {
      await new Promise((r) => setTimeout(r, 1000)); // the last profile is written after its run
      const described: Record<ProfiledRun, string> = {
        json: 'split layout, JSON',
        stream: 'split layout, streaming',
        realistic: 'one process, realistic streams',
        streams: `one process, ${STREAMS} paced streams`,
        streams_ramp: `one process, ${STREAMS} paced streams, the first ${PROFILE_SPLIT_MS} ms`,
        streams_steady: `one process, ${STREAMS} paced streams, after the first ${PROFILE_SPLIT_MS} ms`,
      };
      for (const name of Object.keys(described) as ProfiledRun[]) {
        const files = profiles[name].filter((f) => existsSync(f));
        if (files.length) log(`profile of the gateway (${described[name]}) (${files.join(' ')}):\n${formatSummary(summarize(files, 30))}`);
      }
    }

    Object.assign(result, {
      errors_total: totalErrors,
      billing,
      ok: totalErrors === 0 && billing.ok,
      parts: [...PARTS],
      seconds_per_run: SECONDS,
      rounds: ROUNDS,
      warmup_seconds: WARMUP_SECONDS,
      latency_seconds_one_connection: LATENCY_SECONDS,
      connections: CONNECTIONS,
      cpus: cpus().length,
      placement:
        'own processes, not pinned, all sharing the CPUs: load generator (autocannon, and undici for the paced streams) = this process; fake upstream, minimal proxy, gateway = one node process each; ' +
        'split: read models and hold expiry in a worker process (src/worker.ts), as docker-compose runs them; one_process, realistic, streams: inside the gateway process, as `npm start` runs it; Postgres and Redis local',
      load_average: loadavg().map((n) => round(n, 2)),
      profile_dir: PROFILE ? workDir : null,
      gateway_env: GATEWAY_ENV,
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.ok) process.exitCode = 1;
  } finally {
    await stopServers();
    await audit.close();
    await dropRedisKeys(prefix);
  }
}

type Runs = Record<string, Measured>;
/** The runs the gateway is profiled in (BENCH_PROFILE): the split layout's load by mode, and the one-process paced streams. */
type ProfiledRun = Mode | 'realistic' | 'streams' | 'streams_ramp' | 'streams_steady';
/** Peak RSS of each proxy, and the gateway's RSS after each of its load runs (flat once warm: nothing accumulates). */
type Rss = { gateway: number | null; minimal: number | null; gatewayAfterRuns: number[] };

/**
 * JSON and streaming at CONNECTIONS connections, then JSON at one connection, on every path in
 * alternating short rounds (noise from outside, the machine being shared, falls on every path
 * alike rather than on whichever ran when it struck).
 */
async function throughput(
  s: Servers,
  layout: string,
  counts: { gateway2xx: number; inFlightAllowance: number },
  profile: { into: Record<ProfiledRun, string[]>; file: (pid: number) => string } | null,
): Promise<{ runs: Runs; rss: Rss }> {
  log(`${layout}: fake upstream ${s.urls.direct} (pid ${s.upstream.pid}), minimal proxy ${s.urls.minimal} (pid ${s.minimal.pid}), gateway ${s.urls.gateway} (pid ${s.gateway.pid})${s.worker ? `, worker pid ${s.worker.pid}` : ''}`);
  const gatewayAfterRuns: number[] = [];
  const load = async (target: Target, mode: Mode, connections: number, seconds: number) => {
    const r = await measure(s, target, mode, connections, seconds);
    if (target === 'gateway') {
      const now = rssMiB(s.gateway.pid);
      if (now !== null) gatewayAfterRuns.push(round(now, 1));
      counts.gateway2xx += r.ok;
      counts.inFlightAllowance += connections; // each load run may leave up to `connections` requests in flight when it stops
    }
    return r;
  };
  for (const target of TARGETS) {
    for (const mode of ['json', 'stream'] as Mode[]) {
      await probe(s, target, mode);
      if (target === 'gateway') counts.gateway2xx++;
    }
  }
  log(`${layout}: probes: every path answers JSON and SSE correctly`);
  const runs: Runs = {};
  for (const mode of ['json', 'stream'] as Mode[]) {
    await quiet(s);
    for (const target of TARGETS) await load(target, mode, CONNECTIONS, WARMUP_SECONDS);
    const rounds: Record<Target, Measured[]> = { direct: [], minimal: [], gateway: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < TARGETS.length; i++) {
        const target = TARGETS[(i + round) % TARGETS.length];
        const profiling = profile !== null && target === 'gateway';
        if (profiling) s.gateway.proc.kill('SIGUSR2');
        rounds[target].push(await load(target, mode, CONNECTIONS, SECONDS / ROUNDS));
        if (profiling) {
          s.gateway.proc.kill('SIGUSR2');
          profile.into[mode].push(profile.file(s.gateway.pid));
        }
      }
    }
    for (const target of TARGETS) {
      const r = combineMeasured(rounds[target]);
      runs[`${target}_${mode}`] = r;
      const bad = r.non2xx + r.errors ? `, ${r.non2xx} non-2xx ${JSON.stringify(r.statuses)}, ${r.errors} errors` : '';
      log(`${layout}: ${mode.padEnd(6)} ${target.padEnd(7)} ${String(r.rps).padStart(8)} req/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  ${cpuPerRequest(r)} cpu-ms/req  cores ${JSON.stringify(r.cores)}${bad}`);
    }
  }
  await quiet(s);
  const single: Record<Target, Measured[]> = { direct: [], minimal: [], gateway: [] };
  for (const target of TARGETS) await load(target, 'json', 1, Math.min(WARMUP_SECONDS, 1));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < TARGETS.length; i++) {
      const target = TARGETS[(i + round) % TARGETS.length];
      single[target].push(await load(target, 'json', 1, LATENCY_SECONDS / ROUNDS));
    }
  }
  for (const target of TARGETS) {
    const r = combineMeasured(single[target]);
    runs[`${target}_json_c1`] = r;
    log(`${layout}: 1 conn ${target.padEnd(7)} ${String(r.rps).padStart(8)} req/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  ${cpuPerRequest(r)} cpu-ms/req  cores ${JSON.stringify(r.cores)}`);
  }
  return { runs, rss: { gateway: peakRssMiB(s.gateway.pid), minimal: peakRssMiB(s.minimal.pid), gatewayAfterRuns } };
}

const errorsOf = (r: Measured) => r.non2xx + r.errors;
const errorsIn = (runs: Runs) => Object.values(runs).reduce((n, r) => n + errorsOf(r), 0);

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}

/** One layout's figures; `suffix` '' gives today's keys (the split layout), '_one_process' the single process's. */
function figures(runs: Runs, rss: Rss, suffix: string): Record<string, unknown> {
  const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 3) : 0);
  const out: Record<string, unknown> = {
    rps_direct_json: runs.direct_json.rps,
    rps_minimal_json: runs.minimal_json.rps,
    rps_gateway_json: runs.gateway_json.rps,
    rps_direct_stream: runs.direct_stream.rps,
    rps_minimal_stream: runs.minimal_stream.rps,
    rps_gateway_stream: runs.gateway_stream.rps,
    ratio_gateway_to_minimal_json: ratio(runs.gateway_json.rps, runs.minimal_json.rps),
    ratio_gateway_to_minimal_stream: ratio(runs.gateway_stream.rps, runs.minimal_stream.rps),
    ratio_minimal_to_direct_json: ratio(runs.minimal_json.rps, runs.direct_json.rps),
    ratio_minimal_to_direct_stream: ratio(runs.minimal_stream.rps, runs.direct_stream.rps),
    // The same ratio from CPU time per request (minimal ÷ gateway): what the throughput ratio
    // would be with each proxy CPU-bound on a core of its own; outside load barely moves it.
    ratio_gateway_to_minimal_json_by_cpu: ratio(cpuPerRequest(runs.minimal_json), cpuPerRequest(runs.gateway_json)),
    ratio_gateway_to_minimal_stream_by_cpu: ratio(cpuPerRequest(runs.minimal_stream), cpuPerRequest(runs.gateway_stream)),
    added_p50_ms_one_connection: round(runs.gateway_json_c1.p50_ms - runs.direct_json_c1.p50_ms, 3),
    added_p50_ms_one_connection_minimal: round(runs.minimal_json_c1.p50_ms - runs.direct_json_c1.p50_ms, 3),
    gateway_peak_rss_mib: rss.gateway === null ? null : round(rss.gateway, 1),
    minimal_peak_rss_mib: rss.minimal === null ? null : round(rss.minimal, 1),
    gateway_rss_mib_after_runs: rss.gatewayAfterRuns,
  };
  for (const [name, r] of Object.entries(runs)) {
    out[`p50_ms_${name}`] = r.p50_ms;
    out[`p99_ms_${name}`] = r.p99_ms;
  }
  for (const [name, r] of Object.entries(runs)) {
    out[`errors_${name}`] = errorsOf(r);
    if (errorsOf(r)) out[`error_detail_${name}`] = { non2xx: r.non2xx, statuses: r.statuses, connection_errors: r.errors, timeouts: r.timeouts };
  }
  for (const [name, r] of Object.entries(runs)) out[`cpu_ms_per_request_${name}`] = cpuPerRequest(r);
  for (const [name, r] of Object.entries(runs)) if (!name.endsWith('_c1')) out[`cores_${name}`] = r.cores;
  return suffix ? Object.fromEntries(Object.entries(out).map(([k, v]) => [k + suffix, v])) : out;
}

/**
 * Waits (up to 30 s) until the gateway and its worker are idle: after a heavy run the read
 * models catch up and the request log flushes, and that work would otherwise land in the next.
 */
async function quiet(s: Servers): Promise<void> {
  const pids = [s.gateway.pid, ...(s.worker ? [s.worker.pid] : [])];
  const used = () => pids.reduce((n, pid) => n + (cpuSeconds(pid) ?? 0), 0);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const before = used();
    await new Promise((r) => setTimeout(r, 500));
    if (used() - before < 0.025) return; // under 5% of a core
  }
  log('the gateway and worker were still busy after 30 s; measuring anyway');
}

/** The run's rate-limit counters and hold-expiry jobs, all under its own prefix. */
async function dropRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch (err) {
    log(`could not remove the run's Redis keys (${prefix}*): ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}

main().catch((err) => {
  process.stderr.write(`[bench:proxy] failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
