/**
 * Dashboard benchmark (issue 22): the built dashboard's weight and how fast its overview shows
 * real data in headless Chromium on this machine.
 *
 * - `web_js_gzip_kib`, `web_css_gzip_kib`: every JavaScript and CSS file the browser actually
 *   fetched to render the overview (entry, the overview's chunk and what it imports), each
 *   gzipped (level 9) from dist/web, summed. Target: JS < 150 KiB.
 * - `overview_ready_ms`: navigation start → the overview rendered with its data (the
 *   `tollgate:overview-ready` mark the screen sets once balance and usage are shown), median of
 *   5 loads, each in a fresh browser context (empty cache: a first visit), after one warm-up
 *   load. Target: < 1,000 ms.
 *
 * The API runs as `npm start` runs it (its own process, dist/src/main.js, serving dist/web) on
 * a fresh database with an account, a key and 10,000 request-log rows over 30 days, so the chart
 * and table have data. Progress on stderr; the last line of stdout is one JSON object.
 * Run: npm run bench:web (BENCH_RUNS, BENCH_ROWS to change the defaults).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Pool } from 'pg';
import { chromium } from 'playwright-core';
import { freshDatabase, tollgate } from '../proxy/bench-account';
import { baseEnv } from '../proxy/bench-servers';
import { Child, startChild, stopChild } from '../proxy/processes';
import { percentile, round } from '../proxy/load';
import { fillRequestLog } from '../account-api/request-log-fill';
import { benchSignIn } from '../account-api/bench-sign-in';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_web';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const TARGET_JS_KIB = 150;
const TARGET_READY_MS = 1000;

const log = (msg: string) => process.stderr.write(`[bench:web] ${msg}\n`);
const DIST = join(__dirname, '..', '..');
const WEB = join(DIST, 'web');

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  if (!existsSync(join(WEB, 'index.html'))) throw new Error(`no dashboard build in ${WEB}: run npm run build`);
  const workDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-web-'));
  const env = baseEnv({
    NODE_ENV: 'production',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DATABASE_URL,
    REDIS_URL,
    REDIS_KEY_PREFIX: `tgbench:web:${randomBytes(4).toString('hex')}:`,
    LOG_LEVEL: 'info',
    MIGRATE_ON_START: 'false',
    API_RUNS_WORKERS: 'true',
  });
  log(`logs in ${workDir}; fresh database ${new URL(DATABASE_URL).pathname.slice(1)}`);
  await freshDatabase(DATABASE_URL, env);
  const email = 'bench-web@example.com';
  const { accountId } = JSON.parse(await tollgate(env, 'accounts', 'create', '--email', email, '--json')) as { accountId: string };
  await tollgate(env, 'credits', 'grant', '--account', accountId, '--amount', '100', '--reason', 'dashboard benchmark', '--json');
  const { keyId } = JSON.parse(await tollgate(env, 'keys', 'create', '--account', accountId, '--project', 'web', '--name', 'bench', '--json')) as { keyId: string };
  const pool = new Pool({ connectionString: DATABASE_URL, max: 2 });
  let gateway: Child | null = null;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    await fillRequestLog(pool, accountId, [keyId], ROWS, new Date(), 30);
    const started = await startChild('gateway', ['--max-semi-space-size=64', join(DIST, 'src/main.js')], {
      env: { ...env, HOST: '127.0.0.1', PORT: '0', PUBLIC_URL: 'http://127.0.0.1' },
      logFile: join(workDir, 'gateway.log'),
      ready: (line) => {
        const l = JSON.parse(line) as Record<string, string>;
        return l.msg === 'tollgate api listening' ? l.url : undefined;
      },
      timeoutMs: 60_000,
    });
    gateway = started.child;
    const url = started.ready.replace('[::1]', '127.0.0.1');
    const cookie = (await benchSignIn(env, email)).headers.cookie.split('=');
    log(`gateway ${url} (pid ${gateway.pid}); ${ROWS} request-log rows over 30 days`);

    const load = async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      try {
        await context.addCookies([{ name: cookie[0], value: cookie[1], url, httpOnly: true, sameSite: 'Lax' }]);
        const page = await context.newPage();
        const assets = new Set<string>();
        page.on('response', (r) => {
          const path = new URL(r.url()).pathname;
          if (path.startsWith('/assets/') && /\.(js|css)$/.test(path)) assets.add(path);
        });
        await page.goto(`${url}/`);
        await page.waitForSelector('[data-ready="overview"]', { timeout: 30_000 });
        const ms = await page.evaluate<number>(`performance.getEntriesByName('tollgate:overview-ready')[0].startTime`);
        const rows = await page.locator('tr[data-model]').count();
        if (rows === 0) throw new Error('the overview showed no usage rows: the data did not arrive');
        return { ms, assets: [...assets] };
      } finally {
        await context.close();
      }
    };

    const warm = await load();
    log(`warm-up load: ${round(warm.ms, 1)} ms; fetched ${warm.assets.join(', ')}`);
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await load();
      times.push(r.ms);
      log(`load ${i + 1}/${RUNS}: ${round(r.ms, 1)} ms`);
    }
    const sorted = Float64Array.from(times).sort();
    const kib = (ext: string) =>
      round(
        warm.assets.filter((a) => a.endsWith(ext)).reduce((n, a) => n + gzipSync(readFileSync(join(WEB, a)), { level: 9 }).length, 0) / 1024,
        1,
      );
    const result = {
      web_js_gzip_kib: kib('.js'),
      web_css_gzip_kib: kib('.css'),
      overview_ready_ms: round(percentile(sorted, 50), 1),
      overview_ready_ms_runs: times.map((t) => round(t, 1)),
      overview_files: warm.assets.length,
      target_js_kib: TARGET_JS_KIB,
      target_ready_ms: TARGET_READY_MS,
      load_average_1m: round(loadavg()[0], 2),
    };
    log(`JS ${result.web_js_gzip_kib} KiB gzipped (target < ${TARGET_JS_KIB}), CSS ${result.web_css_gzip_kib} KiB; overview ready ${result.overview_ready_ms} ms median (target < ${TARGET_READY_MS})`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await browser.close();
    if (gateway) await stopChild(gateway);
    await pool.end();
  }
}

main().catch((err: unknown) => {
  log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
