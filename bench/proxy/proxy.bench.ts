/**
 * Proxy benchmark (issue 3): autocannon against the fake upstream's POST /v1/chat/completions,
 * JSON and streaming, three ways — straight to the fake upstream, through the minimal undici
 * pass-through in this folder (the fair baseline), and through the gateway with everything on
 * (key auth, Redis rate limits, a durable hold and its settlement in the ledger, the usage row).
 * Then one connection, for the median latency the gateway adds. Each server runs in a process
 * of its own; the load generator is this process. Afterwards the ledger is checked: every 2xx
 * the gateway gave was billed, and the account was charged exactly what its holds settled for.
 *
 * Progress on stderr; the last line of stdout is one JSON object. Run: npm run bench:proxy
 * (BENCH_SECONDS per path and kind, taken in BENCH_ROUNDS turns; BENCH_WARMUP_SECONDS,
 * BENCH_CONNECTIONS, BENCH_LATENCY_SECONDS; `--quick` for a short run; BENCH_PROFILE=1
 * profiles the gateway during its runs and prints its hot spots).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { AccountAudit, freshDatabase, fundedKey } from './bench-account';
import { Measured, Mode, Servers, TARGETS, Target, baseEnv, combineMeasured, cpuPerRequest, measure, probe, startServers } from './bench-servers';
import { round } from './load';
import { cpuSeconds, peakRssMiB, stopChild } from './processes';
import { formatSummary, summarize } from './profile-summary';

const quick = process.argv.includes('--quick');
const setting = (name: string, full: number, short: number) => Number(process.env[name] ?? (quick ? short : full));
const SECONDS = setting('BENCH_SECONDS', 10, 3);
const WARMUP_SECONDS = setting('BENCH_WARMUP_SECONDS', 2, 1);
const CONNECTIONS = setting('BENCH_CONNECTIONS', 50, 50);
const LATENCY_SECONDS = setting('BENCH_LATENCY_SECONDS', 5, 2);
const ROUNDS = setting('BENCH_ROUNDS', 2, 1);
const PROFILE = process.env.BENCH_PROFILE === '1';
// The production layout (docker-compose): read models and hold expiry in a worker process of
// their own. BENCH_WORKERS_IN_API=1 runs them inside the API process instead (one-process setup).
const WORKERS_IN_API = process.env.BENCH_WORKERS_IN_API === '1';
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
    API_RUNS_WORKERS: WORKERS_IN_API ? 'true' : 'false',
  });
  log(`logs in ${workDir}; ${SECONDS}s per run after ${WARMUP_SECONDS}s warm-up, ${CONNECTIONS} connections`);
  log(`fresh database ${new URL(DATABASE_URL).pathname.slice(1)}; an account funded with ${CREDITS} credits and a key`);
  await freshDatabase(DATABASE_URL, env);
  const { accountId, secret } = await fundedKey(env, CREDITS);
  const audit = new AccountAudit(DATABASE_URL, accountId);
  const before = await audit.state();

  let servers: Servers | null = null;
  try {
    servers = await startServers(workDir, env, secret, { profileDir, workersInApi: WORKERS_IN_API });
    const s = servers;
    log(`fake upstream ${s.urls.direct} (pid ${s.upstream.pid}), minimal proxy ${s.urls.minimal} (pid ${s.minimal.pid}), gateway ${s.urls.gateway} (pid ${s.gateway.pid})`);

    let gateway2xx = 0;
    let inFlightAllowance = 0; // each load run on the gateway may leave up to `connections` requests in flight when it stops
    const load = async (target: Target, mode: Mode, connections: number, seconds: number) => {
      const r = await measure(s, target, mode, connections, seconds);
      if (target === 'gateway') {
        gateway2xx += r.ok;
        inFlightAllowance += connections;
      }
      return r;
    };

    for (const target of TARGETS) {
      for (const mode of ['json', 'stream'] as Mode[]) {
        await probe(s, target, mode);
        if (target === 'gateway') gateway2xx++;
      }
    }
    log('probes: every path answers JSON and SSE correctly');

    const runs: Record<string, Measured> = {};
    const profiles: Record<Mode, string[]> = { json: [], stream: [] };
    let profileCount = 0;
    for (const mode of ['json', 'stream'] as Mode[]) {
      await quiet(s);
      for (const target of TARGETS) await load(target, mode, CONNECTIONS, WARMUP_SECONDS);
      // Short rounds taking turns, so noise from outside (the machine is shared) falls on every
      // path alike rather than on whichever ran when it struck.
      const rounds: Record<Target, Measured[]> = { direct: [], minimal: [], gateway: [] };
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < TARGETS.length; i++) {
          const target = TARGETS[(i + round) % TARGETS.length];
          const profiling = PROFILE && target === 'gateway';
          if (profiling) s.gateway.proc.kill('SIGUSR2');
          rounds[target].push(await load(target, mode, CONNECTIONS, SECONDS / ROUNDS));
          if (profiling) {
            s.gateway.proc.kill('SIGUSR2');
            profiles[mode].push(join(workDir, `profile-${++profileCount}.cpuprofile`));
          }
        }
      }
      for (const target of TARGETS) {
        const r = combineMeasured(rounds[target]);
        runs[`${target}_${mode}`] = r;
        const bad = r.non2xx + r.errors ? `, ${r.non2xx} non-2xx ${JSON.stringify(r.statuses)}, ${r.errors} errors` : '';
        log(`${mode.padEnd(6)} ${target.padEnd(7)} ${String(r.rps).padStart(8)} req/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  ${cpuPerRequest(r)} cpu-ms/req  cores ${JSON.stringify(r.cores)}${bad}`);
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
      log(`1 conn ${target.padEnd(7)} ${String(r.rps).padStart(8)} req/s  p50 ${r.p50_ms} ms  p99 ${r.p99_ms} ms  ${cpuPerRequest(r)} cpu-ms/req  cores ${JSON.stringify(r.cores)}`);
    }

    const rss = { gateway: peakRssMiB(s.gateway.pid), minimal: peakRssMiB(s.minimal.pid), upstream: peakRssMiB(s.upstream.pid) };
    log('checking the ledger: every answered request billed, the account charged what its holds settled for');
    const billing = await audit.check(before.available, gateway2xx, inFlightAllowance);
    log(billing.ok ? `billing ok: ${billing.billed} billed for ${billing.gateway_2xx} answers, ${billing.charged_credits} credits charged` : `billing NOT ok: ${billing.problems.join('; ')}`);

    if (PROFILE) {
      await new Promise((r) => setTimeout(r, 1000)); // the last profile is written after its run
      for (const mode of ['json', 'stream'] as Mode[]) {
        const files = profiles[mode].filter((f) => existsSync(f));
        log(`profile of the gateway, ${mode} (${files.join(' ')}):\n${formatSummary(summarize(files, 30))}`);
      }
    }

    const ratio = (a: number, b: number) => (b > 0 ? round(a / b, 3) : 0);
    const errorsOf = (r: Measured) => r.non2xx + r.errors;
    const totalErrors = Object.values(runs).reduce((n, r) => n + errorsOf(r), 0);
    const result: Record<string, unknown> = {
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
    };
    for (const [name, r] of Object.entries(runs)) {
      result[`p50_ms_${name}`] = r.p50_ms;
      result[`p99_ms_${name}`] = r.p99_ms;
    }
    for (const [name, r] of Object.entries(runs)) {
      result[`errors_${name}`] = errorsOf(r);
      if (errorsOf(r)) result[`error_detail_${name}`] = { non2xx: r.non2xx, statuses: r.statuses, connection_errors: r.errors, timeouts: r.timeouts };
    }
    for (const [name, r] of Object.entries(runs)) result[`cpu_ms_per_request_${name}`] = cpuPerRequest(r);
    for (const [name, r] of Object.entries(runs)) if (!name.endsWith('_c1')) result[`cores_${name}`] = r.cores;
    Object.assign(result, {
      errors_total: totalErrors,
      billing,
      ok: totalErrors === 0 && billing.ok,
      seconds_per_run: SECONDS,
      rounds: ROUNDS,
      warmup_seconds: WARMUP_SECONDS,
      latency_seconds_one_connection: LATENCY_SECONDS,
      connections: CONNECTIONS,
      cpus: cpus().length,
      placement: `own processes, not pinned, all sharing the CPUs: load generator (autocannon) = this process; fake upstream, minimal proxy, gateway = one node process each; ${WORKERS_IN_API ? 'read models and hold expiry inside the gateway process' : 'read models and hold expiry in a worker process (src/worker.ts), as docker-compose runs them'}; Postgres and Redis local`,
      load_average: loadavg().map((n) => round(n, 2)),
      profile_dir: PROFILE ? workDir : null,
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.ok) process.exitCode = 1;
  } finally {
    if (servers) {
      const running = [servers.gateway, servers.worker, servers.minimal, servers.upstream].filter((c) => c !== null);
      await Promise.all(running.map((c) => stopChild(c)));
    }
    await audit.close();
    await dropRedisKeys(prefix);
  }
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
