/**
 * The data-export benchmark: an account with 1,000,000 request-log rows over the last 60 days
 * (one INSERT … SELECT generate_series per 100,000, bench:account-api's fill) exported by the built
 * `tollgate compliance export --user ID --output FILE`, as compliance staff run it. Measured:
 * the wall time of the command and its peak resident set (VmHWM, read from /proc while it
 * runs), its CPU time, and the usage rows the zip's manifest says it holds. Targets: under 60 s,
 * under 200 MiB. The machines are shared: the CPU time says what the wall time would be alone.
 *
 * Settings: BENCH_EXPORT_ROWS (1000000), BENCH_DATABASE_URL (a database of its own, dropped and
 * migrated first). Run: `npm run build && node dist/bench/compliance/export.js`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { fillRequestLog } from '../account-api/request-log-fill';
import { freshDatabase, tollgate } from '../proxy/bench-account';
import { baseEnv } from '../proxy/bench-servers';
import { cpuSeconds, peakRssMiB } from '../proxy/processes';

const CLI = join(__dirname, '..', '..', 'src', 'cli.js');

export interface ExportBenchOptions {
  rows?: number;
  databaseUrl?: string;
}

export interface ExportBenchResult {
  export_seconds: number;
  export_peak_rss_mib: number;
  usage_rows: number;
  zip_mib: number;
  /** CPU time (user + system) of the export command: what the wall time would be alone on a core, less Postgres's and zlib's threads. */
  export_cpu_seconds: number;
}

const log = (m: string) => process.stderr.write(`[bench:export] ${m}\n`);

export async function benchExport(opts: ExportBenchOptions = {}): Promise<ExportBenchResult> {
  const rows = opts.rows ?? Number(process.env.BENCH_EXPORT_ROWS ?? 1_000_000);
  const databaseUrl = opts.databaseUrl ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_export';
  const env = baseEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', NODE_ENV: 'production', ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') });
  log(`fresh database ${new URL(databaseUrl).pathname.slice(1)}`);
  await freshDatabase(databaseUrl, env);
  const { accountId, userId } = JSON.parse(await tollgate(env, 'accounts', 'create', '--email', 'export-bench@example.com', '--json')) as { accountId: string; userId: string };
  const { secret: _secret, keyId } = JSON.parse(await tollgate(env, 'keys', 'create', '--account', accountId, '--name', 'bench', '--json')) as { secret: string; keyId: string };
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  try {
    const t0 = Date.now();
    // bench:account-api's fill spreads rows over 90 days; an export holds usage of the last
    // USAGE_RETENTION_DAYS − 1 days (the zip is kept a day), so the rows go back 60 days here.
    await fillRequestLog(pool, accountId, [keyId], rows, new Date(), 60);
    log(`${rows} request-log rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await pool.end();
  }

  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-export-'));
  const output = join(dir, 'export.zip');
  try {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [CLI, 'compliance', 'export', '--user', userId, '--output', output, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += String(c)));
    child.stderr.on('data', (c) => (stderr += String(c)));
    let peak = 0;
    let cpu = 0;
    const watch = setInterval(() => {
      if (!child.pid) return;
      peak = Math.max(peak, peakRssMiB(child.pid) ?? 0);
      cpu = Math.max(cpu, cpuSeconds(child.pid) ?? 0);
    }, 50);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearInterval(watch);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (code !== 0) throw new Error(`tollgate compliance export exited ${code}: ${stderr.trim()}`);
    const summary = JSON.parse(stdout) as { rows: number };
    const usage = await usageRows(output);
    log(`exported ${summary.rows} rows (${usage} usage) in ${seconds.toFixed(1)} s (${cpu.toFixed(1)} s of CPU), peak RSS ${peak.toFixed(0)} MiB`);
    return {
      export_seconds: round(seconds),
      export_peak_rss_mib: round(peak),
      usage_rows: usage,
      zip_mib: round(statSync(output).size / 1024 / 1024),
      export_cpu_seconds: round(cpu),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

/** The usage rows the zip's manifest counts (yauzl reads only manifest.json). */
async function usageRows(file: string): Promise<number> {
  const yauzl = await import('yauzl');
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      zip.on('entry', (e: import('yauzl').Entry) => {
        if (e.fileName !== 'manifest.json') return zip.readEntry();
        zip.openReadStream(e, (err2, s) => {
          if (err2) return reject(err2);
          let text = '';
          s.on('data', (c) => (text += String(c)));
          s.on('end', () => {
            zip.close();
            const m = JSON.parse(text) as { files: { name: string; rows: number }[] };
            resolve(m.files.find((f) => f.name === 'usage.json')?.rows ?? 0);
          });
        });
      });
      zip.on('end', () => resolve(0));
      zip.readEntry();
    });
  });
}

if (require.main === module) {
  benchExport()
    .then((r) => {
      console.log(JSON.stringify({ ...r, targets: { export_seconds: 60, export_peak_rss_mib: 200 }, target_met: r.export_seconds < 60 && r.export_peak_rss_mib < 200 }));
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
