/**
 * Account API benchmark (issue 19): an account with 1,000,000 request-log rows over the last
 * 90 days and 20 keys in 5 projects, read through the real booted API (its own process, as
 * `npm start` runs it) with a real sign-in. autocannon at 10 connections measures p50/p95 of
 * GET /api/usage for each group_by over 90 days, of a page of GET /api/requests, and of
 * GET /api/balance. Before timing, the answers are checked: usage over 90 days counts every
 * request of the log, for each grouping.
 *
 * The account and its keys are made the way an operator makes them (the `tollgate` CLI); the
 * log rows are generated in SQL (request-log-fill.ts). Progress on stderr; the last line of
 * stdout is one JSON object. Run: npm run bench:account-api (BENCH_SECONDS per route, taken
 * in BENCH_ROUNDS turns; BENCH_CONNECTIONS, BENCH_ROWS; `--quick` for a short run).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { freshDatabase, tollgate } from '../proxy/bench-account';
import { baseEnv } from '../proxy/bench-servers';
import { Child, cpuSeconds, startChild, stopChild } from '../proxy/processes';
import { percentile, round } from '../proxy/load';
import { AccountReadsRepository } from '../../src/usage-api/application/account-reads.repository';
import { AccountNames } from '../../src/compliance/account-names';
import { ErasureHooks } from '../../src/compliance/erasure/erasure-hooks';
import { PersonalDataVault } from '../../src/compliance/personal-data-vault';
import { LoadResult, combine, runLoad } from '../proxy/load';
import { fillRequestLog } from './request-log-fill';
import { benchSignIn } from './bench-sign-in';

const quick = process.argv.includes('--quick');
const setting = (name: string, full: number, short: number) => Number(process.env[name] ?? (quick ? short : full));
const SECONDS = setting('BENCH_SECONDS', 6, 2);
const ROUNDS = setting('BENCH_ROUNDS', 3, 1);
const WARMUP_SECONDS = setting('BENCH_WARMUP_SECONDS', 1, 1);
const CONNECTIONS = setting('BENCH_CONNECTIONS', 10, 10);
const ROWS = setting('BENCH_ROWS', 1_000_000, 1_000_000);
const KEYS = 20;
const PROJECTS = 5;
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_account_api';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TARGET_P95_MS = 50;

const log = (msg: string) => process.stderr.write(`[bench:account-api] ${msg}\n`);
const DIST = join(__dirname, '..', '..');

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-account-api-'));
  const prefix = `tgbench:account-api:${randomBytes(4).toString('hex')}:`;
  const env = baseEnv({
    NODE_ENV: 'production',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DATABASE_URL,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'info',
    MIGRATE_ON_START: 'false',
    // One process: the read models (the balance) follow the log inside the API.
    API_RUNS_WORKERS: 'true',
  });
  log(`logs in ${workDir}; fresh database ${new URL(DATABASE_URL).pathname.slice(1)}`);
  await freshDatabase(DATABASE_URL, env);
  const email = 'bench-account-api@example.com';
  const { accountId } = JSON.parse(await tollgate(env, 'accounts', 'create', '--email', email, '--json')) as { accountId: string };
  await tollgate(env, 'credits', 'grant', '--account', accountId, '--amount', '1000', '--reason', 'account API benchmark', '--json');
  log(`account ${accountId}; ${KEYS} keys in ${PROJECTS} projects`);
  const keyIds: string[] = [];
  for (let i = 0; i < KEYS; i += 4) {
    // Four CLI processes at a time: each pays node's start.
    const made = await Promise.all(
      Array.from({ length: Math.min(4, KEYS - i) }, (_, j) =>
        tollgate(env, 'keys', 'create', '--account', accountId, '--project', `project-${((i + j) % PROJECTS) + 1}`, '--name', `key-${i + j + 1}`, '--json'),
      ),
    );
    for (const out of made) keyIds.push((JSON.parse(out) as { keyId: string }).keyId);
  }

  const pool = new Pool({ connectionString: DATABASE_URL, max: 2 });
  let gateway: Child | null = null;
  try {
    const t0 = Date.now();
    await fillRequestLog(pool, accountId, keyIds, ROWS, new Date());
    const rows = Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM request_log WHERE account_id = $1', [accountId])).rows[0].n);
    log(`${rows} request-log rows over 90 days in ${round((Date.now() - t0) / 1000, 1)} s`);

    const started = await startChild('gateway', ['--max-semi-space-size=64', join(DIST, 'src/main.js')], {
      env: { ...env, HOST: '127.0.0.1', PORT: '0' },
      logFile: join(workDir, 'gateway.log'),
      ready: (line) => {
        const l = JSON.parse(line) as Record<string, string>;
        return l.msg === 'tollgate api listening' ? l.url : undefined;
      },
      timeoutMs: 60_000,
    });
    gateway = started.child;
    const url = started.ready;
    const auth = await benchSignIn(env, email);
    log(`gateway ${url} (pid ${gateway.pid}); signed in (${auth.how})`);

    // The answers first: usage over the 90 days counts every request of the log, each way.
    const to = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 91 * 86_400_000).toISOString().slice(0, 10);
    const groups = ['day', 'model', 'key', 'project', 'day,model'] as const;
    const problems: string[] = [];
    for (const g of groups) {
      const res = await fetch(`${url}/api/usage?group_by=${g}&from=${from}&to=${to}`, { headers: auth.headers });
      const body = (await res.json()) as { data?: { group: string; requests: number }[] };
      const total = (body.data ?? []).reduce((n, l) => n + l.requests, 0);
      if (res.status !== 200 || total !== rows) problems.push(`usage by ${g}: HTTP ${res.status}, ${total} requests of ${rows}`);
      if (g === 'project' && body.data && body.data.length !== PROJECTS) problems.push(`usage by project: ${body.data.length} groups, expected ${PROJECTS}`);
    }
    const page = await fetch(`${url}/api/requests?limit=50`, { headers: auth.headers });
    if (page.status !== 200 || ((await page.json()) as { data: unknown[] }).data.length !== 50) problems.push(`GET /api/requests: HTTP ${page.status}`);
    if (problems.length) log(`answers NOT right: ${problems.join('; ')}`);

    const routes: [string, string][] = [
      ...groups.map((g): [string, string] => [`usage_${g}`, `/api/usage?group_by=${g}&from=${from}&to=${to}`]),
      ['requests_page', '/api/requests?limit=50'],
      ['balance', '/api/balance'],
    ];
    for (const [, path] of routes) await runLoad({ url: `${url}${path}`, method: 'GET', headers: auth.headers, connections: CONNECTIONS, seconds: WARMUP_SECONDS });
    // Short rounds taking turns, so noise from outside (the machine is shared) falls on every
    // route alike rather than on whichever ran when it struck.
    const turns = new Map<string, LoadResult[]>(routes.map(([name]) => [name, []]));
    // The API process's own CPU per answer: unlike latency, barely moved by the machine's other load.
    const apiCpu = new Map<string, number>(routes.map(([name]) => [name, 0]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < routes.length; i++) {
        const [name, path] = routes[(i + round) % routes.length];
        const cpuBefore = cpuSeconds(gateway.pid) ?? 0;
        turns.get(name)!.push(await runLoad({ url: `${url}${path}`, method: 'GET', headers: auth.headers, connections: CONNECTIONS, seconds: SECONDS / ROUNDS }));
        apiCpu.set(name, apiCpu.get(name)! + (cpuSeconds(gateway.pid) ?? 0) - cpuBefore);
      }
    }
    const runs: Record<string, LoadResult> = {};
    const cpuMs: Record<string, number> = {};
    for (const [name] of routes) {
      const r = (runs[name] = combine(turns.get(name)!));
      cpuMs[name] = r.ok ? round((apiCpu.get(name)! * 1000) / r.ok, 3) : 0;
      const bad = r.non2xx + r.errors + r.timeouts ? `, ${r.non2xx} non-2xx ${JSON.stringify(r.statuses)}, ${r.errors + r.timeouts} errors` : '';
      log(`${name.padEnd(14)} ${String(r.rps).padStart(8)} req/s  p50 ${r.p50_ms} ms  p95 ${r.p95_ms} ms  p99 ${r.p99_ms} ms  API ${cpuMs[name]} cpu-ms/req${bad}`);
    }
    // The SQL alone, one query at a time from this process (the same repository the API uses).
    const reads = new AccountReadsRepository(pool, new AccountNames(pool, new PersonalDataVault(pool), new ErasureHooks()));
    const sqlMs: Record<string, number> = {};
    const sqlMinMs: Record<string, number> = {};
    const window = { from, to };
    const queries: [string, () => Promise<unknown>][] = [
      ...groups.map((g): [string, () => Promise<unknown>] => [`usage_${g}`, () => reads.usage(accountId, window, g)]),
      ['requests_page', () => reads.requests(accountId, {}, 51, null)],
      ['balance', () => reads.balance(accountId)],
    ];
    for (const [name, query] of queries) {
      const times = new Float64Array(30);
      for (let i = 0; i < times.length; i++) {
        const t = performance.now();
        await query();
        times[i] = performance.now() - t;
      }
      times.sort();
      sqlMs[name] = round(percentile(times, 50), 3);
      // The fastest of the 30: what the query costs when the machine's other load leaves it alone.
      sqlMinMs[name] = round(times[0], 3);
    }
    log(`SQL alone, 30 at one connection, median (ms): ${JSON.stringify(sqlMs)}; fastest (ms): ${JSON.stringify(sqlMinMs)}`);

    const errors = Object.values(runs).reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
    const p95s = Object.values(runs).map((r) => r.p95_ms);
    const result: Record<string, unknown> = {};
    for (const [name, r] of Object.entries(runs)) {
      const key = name.startsWith('usage_') ? `usage_p95_ms_${name.slice(6)}` : `${name}_p95_ms`;
      result[key] = r.p95_ms;
    }
    for (const [name, r] of Object.entries(runs)) {
      const key = name.startsWith('usage_') ? `usage_p50_ms_${name.slice(6)}` : `${name}_p50_ms`;
      result[key] = r.p50_ms;
    }
    for (const [name, r] of Object.entries(runs)) result[`rps_${name}`] = r.rps;
    for (const [name, ms] of Object.entries(cpuMs)) result[`api_cpu_ms_per_request_${name}`] = ms;
    for (const [name, ms] of Object.entries(sqlMs)) result[`sql_p50_ms_${name}`] = ms;
    for (const [name, ms] of Object.entries(sqlMinMs)) result[`sql_min_ms_${name}`] = ms;
    Object.assign(result, {
      request_log_rows: rows,
      keys: KEYS,
      projects: PROJECTS,
      target_p95_ms: TARGET_P95_MS,
      target_met: p95s.every((p) => p < TARGET_P95_MS),
      answers_ok: problems.length === 0,
      problems,
      errors_total: errors,
      ok: errors === 0 && problems.length === 0,
      auth: auth.how,
      connections: CONNECTIONS,
      seconds_per_route: SECONDS,
      rounds: ROUNDS,
      cpus: cpus().length,
      placement: 'load generator (autocannon) = this process; the API (src/main.js, read models inside) = one node process; Postgres and Redis local',
      load_average: loadavg().map((n) => round(n, 2)),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.ok) process.exitCode = 1;
  } finally {
    if (gateway) await stopChild(gateway);
    await pool.end();
    await dropRedisKeys(prefix);
  }
}

/** The run's own Redis keys (its prefix), so runs leave nothing behind. */
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

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
