/**
 * Stripe webhook benchmark (issue 20): the real API app (`dist/src/main.js` in a process of its
 * own, as `npm start` runs it, on a fresh database migrated by the built CLI, the machine's
 * Postgres and Redis) receives signed
 * `checkout.session.completed` deliveries for PAYMENTS payments over ACCOUNTS accounts, each
 * payment delivered 1 to 3 times (a third of them once, a third twice, a third three times;
 * the copies of a payment sent at the same moment, so they race), shuffled, CONCURRENCY at a
 * time. Every delivery must be answered 200. Then the ledger is counted: one CreditsPurchased
 * per payment, and `duplicate_credits` (credits beyond one per payment) must be 0.
 *
 * `webhooks_per_s` is deliveries answered per second of wall time, each answer given only after
 * the payment's stream and the ledger credit are durable. The sender is this process (undici's request, cheaper than fetch): it shares
 * the machine's two cores with the gateway and Postgres, not the gateway's event loop.
 * `gateway_cpu_ms_per_webhook` is the gateway process's CPU per delivery, `postgres_cpu_ms_per_webhook`
 * that of the Postgres backends serving the bench database (the two cores' other big user). Progress on stderr; with the main guard,
 * `node dist/bench/payments/webhooks.js` prints the JSON alone on stdout.
 * Settings: BENCH_WEBHOOK_PAYMENTS (10000), BENCH_WEBHOOK_CONCURRENCY (64), BENCH_DATABASE_URL,
 * BENCH_PROFILE_DIR (a CPU profile of the gateway).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import Stripe from 'stripe';
import { Pool as UndiciPool } from 'undici';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { systemClock } from '../../src/platform/clock';
import { freshDatabase } from '../proxy/bench-account';
import { baseEnv } from '../proxy/bench-servers';
import { cpuBetween, cpuSeconds, startChild, stopChild } from '../proxy/processes';

const DIST = join(__dirname, '..', '..');

export interface WebhookBenchOptions {
  payments?: number;
  accounts?: number;
  concurrency?: number;
  databaseUrl?: string;
  redisUrl?: string;
}

export interface WebhookBenchResult {
  webhooks_per_s: number;
  duplicate_credits: number;
  payments: number;
  deliveries: number;
  /** Payments with no credit at all (must be 0), and deliveries not answered 200 (must be 0). */
  uncredited: number;
  failed_deliveries: number;
  concurrency: number;
  seconds: number;
  /** CPU seconds the gateway process used per delivery, in ms. */
  gateway_cpu_ms_per_webhook: number | null;
  /** CPU this process (the sender, on the same two cores) used per delivery, in ms. */
  sender_cpu_ms_per_webhook: number;
  /** CPU the Postgres backends serving the bench database used per delivery, in ms (null without /proc). */
  postgres_cpu_ms_per_webhook: number | null;
  /** One-minute load average at the end: the machine is shared, and the absolute figures move with it. */
  load_average_1m: number;
}

/** CPU seconds so far of each Postgres backend connected to `database` (other databases' backends are others' work). */
async function backendCpu(pool: Pool, database: string): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    const s = cpuSeconds(pid);
    if (s !== null) out.set(pid, s);
  }
  return out;
}

const log = (msg: string) => process.stderr.write(`[bench:webhooks] ${msg}\n`);
const SECRET = 'whsec_bench_webhooks';

export async function benchWebhooks(opts: WebhookBenchOptions = {}): Promise<WebhookBenchResult> {
  const payments = opts.payments ?? Number(process.env.BENCH_WEBHOOK_PAYMENTS ?? 10_000);
  const accounts = opts.accounts ?? Math.max(1, Math.ceil(payments / 10));
  const concurrency = opts.concurrency ?? Number(process.env.BENCH_WEBHOOK_CONCURRENCY ?? 64);
  const databaseUrl = opts.databaseUrl ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_webhooks';
  const redisUrl = opts.redisUrl ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const env = baseEnv({
    NODE_ENV: 'production',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `tgbench:webhooks:${randomBytes(4).toString('hex')}:`,
    LOG_LEVEL: 'info', // the gateway says where it listens at info
    MIGRATE_ON_START: 'false',
    API_RUNS_WORKERS: 'false',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-bench-webhooks-')),
    // Stripe is "configured" (a key the app never uses here: checkout.session.completed needs no API call).
    STRIPE_SECRET_KEY: 'sk_test_bench',
    STRIPE_API_URL: 'http://127.0.0.1:9',
    STRIPE_WEBHOOK_SECRET: SECRET,
  });
  log(`fresh database ${new URL(databaseUrl).pathname.slice(1)}`);
  await freshDatabase(databaseUrl, env);
  const pool = new Pool({ connectionString: databaseUrl, max: 10 });
  const store = new PostgresEventStore(pool);
  const workDir = env.DATA_DIR!;
  // BENCH_PROFILE_DIR: the gateway writes a V8 CPU profile there when it stops (read it with
  // `node dist/bench/proxy/profile-summary.js FILE`).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const started = await startChild('gateway', [...profile, '--max-semi-space-size=64', join(DIST, 'src/main.js')], {
    env,
    logFile: join(workDir, 'gateway.log'),
    ready: (line) => {
      const l = JSON.parse(line) as Record<string, string>;
      return l.msg === 'tollgate api listening' ? l.url.replace('[::1]', '127.0.0.1').replace('0.0.0.0', '127.0.0.1') : undefined;
    },
  });
  const url = started.ready;
  log(`gateway listening at ${url} (pid ${started.child.pid}; its log: ${started.child.logFile})`);
  try {
    const ledger = new LedgerService(store, systemClock);
    const accountIds: string[] = [];
    for (let i = 0; i < accounts; i += 50) {
      const batch = Array.from({ length: Math.min(50, accounts - i) }, () => randomUUID());
      await Promise.all(batch.map((accountId) => ledger.execute(accountId, { type: 'OpenAccount', data: { accountId, freeRequests: 0 } })));
      accountIds.push(...batch);
    }
    log(`${accounts} accounts; signing deliveries for ${payments} payments`);

    // Groups of copies of one payment's event, sent together; the groups in random order.
    const signer = new Stripe('sk_test_bench').webhooks;
    const groups: Array<{ body: string; signature: string; copies: number }> = [];
    let deliveries = 0;
    const tag = randomBytes(4).toString('hex');
    for (let i = 0; i < payments; i++) {
      const pi = `pi_bench${tag}${i}`;
      const accountId = accountIds[i % accounts];
      const event = {
        id: `evt_bench${tag}${i}`,
        object: 'event',
        type: 'checkout.session.completed',
        created: Math.floor(Date.now() / 1000),
        data: { object: { id: `cs_bench${tag}${i}`, object: 'checkout.session', mode: 'payment', amount_total: 500 + (i % 100) * 100, currency: 'usd', client_reference_id: accountId, metadata: { account_id: accountId }, payment_intent: pi, payment_status: 'paid', status: 'complete' } },
      };
      const body = JSON.stringify(event);
      const copies = 1 + (i % 3);
      groups.push({ body, signature: signer.generateTestHeaderString({ payload: body, secret: SECRET }), copies });
      deliveries += copies;
    }
    for (let i = groups.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [groups[i], groups[j]] = [groups[j], groups[i]];
    }

    log(`${deliveries} deliveries, ${concurrency} at a time`);
    let failed = 0;
    let next = 0;
    let done = 0;
    // undici's own client, not fetch: the sender shares the two cores, and fetch costs it several times more CPU per request.
    const client = new UndiciPool(url, { connections: concurrency, pipelining: 1 });
    const send = async (g: { body: string; signature: string }) => {
      const res = await client.request({ path: '/webhooks/stripe', method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': g.signature }, body: g.body });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) failed++;
      done++;
    };
    const senderBefore = process.cpuUsage();
    const cpuBefore = cpuSeconds(started.child.pid);
    const database = new URL(databaseUrl).pathname.slice(1);
    const pgBefore = await backendCpu(pool, database);
    const t0 = performance.now();
    // Each worker takes a payment and sends all its copies at once (they count towards the concurrency).
    const workers = Array.from({ length: Math.max(1, Math.floor(concurrency / 2)) }, async () => {
      while (next < groups.length) {
        const g = groups[next++];
        await Promise.all(Array.from({ length: g.copies }, () => send(g)));
        if (done % 5000 < g.copies) log(`${done} / ${deliveries}`);
      }
    });
    await Promise.all(workers);
    const seconds = (performance.now() - t0) / 1000;
    const cpuAfter = cpuSeconds(started.child.pid);
    const sender = process.cpuUsage(senderBefore);
    const pgAfter = await backendCpu(pool, database);
    await client.close();

    const { rows } = await pool.query<{ credits: number; credited: number }>(
      `SELECT count(*)::int AS credits, count(DISTINCT data->>'paymentId')::int AS credited FROM events WHERE type = 'CreditsPurchased' AND data->>'paymentId' LIKE $1`,
      [`pi_bench${tag}%`],
    );
    const result: WebhookBenchResult = {
      webhooks_per_s: Math.round(deliveries / seconds),
      duplicate_credits: rows[0].credits - rows[0].credited,
      payments,
      deliveries,
      uncredited: payments - rows[0].credited,
      failed_deliveries: failed,
      concurrency,
      seconds: Math.round(seconds * 100) / 100,
      gateway_cpu_ms_per_webhook: cpuBefore === null || cpuAfter === null ? null : Math.round(((cpuAfter - cpuBefore) * 1000 * 1000) / deliveries) / 1000,
      sender_cpu_ms_per_webhook: Math.round((sender.user + sender.system) / deliveries) / 1000,
      postgres_cpu_ms_per_webhook: pgAfter.size === 0 ? null : Math.round((cpuBetween(pgBefore, pgAfter) * 1000 * 1000) / deliveries) / 1000,
      load_average_1m: Math.round(loadavg()[0] * 100) / 100,
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    await stopChild(started.child);
    await store.close();
    await pool.end().catch(() => undefined);
  }
}

if (require.main === module) {
  benchWebhooks().then(
    (r) => {
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`[bench:webhooks] failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
