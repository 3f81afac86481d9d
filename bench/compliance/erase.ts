/**
 * Erasure benchmark (issue 21): how long erasing a person with EVENTS events takes, from the
 * request to the destroyed key. The person is made the way the product makes one (sign-up by
 * address, sign-ins with sealed IPs, API keys) and their account holds the rest of the events
 * as real usage does (holds placed and settled through the ledger), plus a card purchase still
 * within its refund window, so the erasure revokes keys, files a refund request, forfeits the
 * promotional rest and forgets. The API application runs in this process on a fresh database
 * (migrated by the built CLI) and the machine's Postgres and Redis; only erase() is timed.
 *
 * `erase_seconds`: wall time of ErasureService.erase(); `events`: the person's events before it
 * (user, account and key streams). Progress on stderr; with the main guard,
 * `node dist/bench/compliance/erase.js` prints the JSON alone on stdout.
 * Settings: BENCH_ERASE_EVENTS (10000), BENCH_DATABASE_URL, BENCH_REDIS_URL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { UsersService } from '../../src/accounts/application/users.service';
import { SessionsService } from '../../src/auth/sessions/sessions.service';
import { ErasureService } from '../../src/compliance/erasure/application/erasure.service';
import { loadConfig } from '../../src/config/config';
import { createApiApp } from '../../src/create-api-app';
import { KeysService } from '../../src/keys/application/keys.service';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { PG_POOL } from '../../src/platform/database/pg';
import { Pool } from 'pg';
import { freshDatabase } from '../proxy/bench-account';
import { baseEnv } from '../proxy/bench-servers';

export interface EraseBenchOptions {
  events?: number;
  databaseUrl?: string;
  redisUrl?: string;
}

export interface EraseBenchResult {
  erase_seconds: number;
  events: number;
  forfeited_micros: string;
  refund_requests: number;
  keys_revoked: number;
}

const log = (msg: string) => process.stderr.write(`[bench:erase] ${msg}\n`);
const SIGN_INS = 200;
const KEYS = 20;

export async function benchErase(opts: EraseBenchOptions = {}): Promise<EraseBenchResult> {
  const target = opts.events ?? Number(process.env.BENCH_ERASE_EVENTS ?? 10_000);
  const databaseUrl = opts.databaseUrl ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_erase';
  const redisUrl = opts.redisUrl ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const env = baseEnv({
    NODE_ENV: 'production',
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `tgbench:erase:${randomBytes(4).toString('hex')}:`,
    LOG_LEVEL: 'warn',
    MIGRATE_ON_START: 'false',
    API_RUNS_WORKERS: 'false',
    HOST: '127.0.0.1',
    PORT: '0',
    PUBLIC_URL: 'https://tollgate.bench.example',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-bench-erase-')),
  });
  log('migrating a fresh database');
  await freshDatabase(databaseUrl, env);
  const config = loadConfig(env);
  const app = await createApiApp(config, pino({ level: 'warn' }, process.stderr));
  await app.init();
  try {
    const users = app.get(UsersService);
    const sessions = app.get(SessionsService);
    const keys = app.get(KeysService);
    const ledger = app.get(LedgerService);
    const pool = app.get<Pool>(PG_POOL);

    const { user } = await users.signUpOrInByEmail(`bench-${randomBytes(4).toString('hex')}@example.org`, 'magic_link');
    const { userId, accountId } = user;
    log(`person ${userId}: ${SIGN_INS} sign-ins, ${KEYS} keys, holds until ${target} events`);
    for (let i = 0; i < SIGN_INS; i++) await sessions.create(userId, 'magic_link', { ip: `203.0.113.${i % 250}`, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' });
    for (let i = 0; i < KEYS; i++) await keys.create({ accountId, actor: 'bench' });
    await ledger.execute(accountId, { type: 'PurchaseCredits', data: { paymentId: `pi_${randomBytes(12).toString('hex')}`, amount: 500_000_000n } });
    await ledger.execute(accountId, { type: 'GrantCredits', data: { grantId: 'bench', amount: 100_000_000n, reason: 'bench' } });
    const count = async () =>
      Number(
        (await pool.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE stream_id = ANY($1) OR stream_id LIKE 'apikey-%'`, [[`user-${userId}`, `account-${accountId}`]])).rows[0].n,
      );
    let events = await count();
    const holds = Math.max(0, Math.ceil((target - events) / 2));
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const CONCURRENCY = 16;
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < holds) {
          next++;
          const holdId = randomUUID();
          await ledger.execute(accountId, { type: 'PlaceHold', data: { holdId, amount: 2_000n, expiresAt } });
          await ledger.execute(accountId, { type: 'SettleHold', data: { holdId, amount: 1_000n } });
          if (next % 1000 === 0) log(`${next}/${holds} holds`);
        }
      }),
    );
    events = await count();
    log(`${events} events; erasing`);
    const started = process.hrtime.bigint();
    const { erasure } = await app.get(ErasureService).erase({ userId, actor: 'cli:bench', via: 'cli', reason: 'benchmark' });
    const erase_seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return {
      erase_seconds: Math.round(erase_seconds * 1000) / 1000,
      events,
      forfeited_micros: (erasure.credit?.forfeited ?? 0n).toString(),
      refund_requests: erasure.credit?.refundRequests.length ?? 0,
      keys_revoked: erasure.keysRevoked?.apiKeys.length ?? 0,
    };
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  benchErase()
    .then((r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
