/**
 * A running gateway for end-to-end tests: the real API app (Nest on Fastify) on a fresh
 * database and its own Redis key prefix, with channels seeded from fake upstreams, and every
 * log line it writes kept in memory (the canary test searches them).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import pino from 'pino';
import { AppConfig, loadConfig } from '../../src/config/config';
import { createApiApp } from '../../src/create-api-app';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { KeysService } from '../../src/keys/application/keys.service';
import { KeyLimits } from '../../src/keys/domain/api-key.events';
import { PriceBook } from '../../src/proxy/pricing/price-book.service';
import { costOf } from '../../src/proxy/pricing/cost';
import { TokenUsage } from '../../src/proxy/pricing/cost';
import { FakeUpstream } from './fake-upstream';
import { FreshDb, freshDb } from './fresh-db';
import { TEST_REDIS_URL } from './test-env';
import { freePort } from './wait';

export interface Gateway {
  url: string;
  app: NestFastifyApplication;
  config: AppConfig;
  db: FreshDb;
  logs: string[];
  /** A new ledger account with `credits` µcr and `freeRequests` free requests (default none). */
  account(credits: bigint, freeRequests?: number): Promise<string>;
  key(accountId: string, limits?: Partial<KeyLimits>): Promise<{ keyId: string; secret: string }>;
  available(accountId: string): Promise<bigint>;
  /** Waits until `count` requests of the account are settled and logged; their log rows, oldest first. */
  requests(accountId: string, count: number, timeoutMs?: number): Promise<Record<string, any>[]>;
  /** What the current price table charges for this usage of this model. */
  price(model: string, usage: TokenUsage): bigint;
  close(): Promise<void>;
}

export interface GatewayOptions {
  openai?: FakeUpstream;
  anthropic?: FakeUpstream;
  gemini?: FakeUpstream;
  env?: Record<string, string>;
  /** Share a database with another gateway (two instances of one deployment). */
  db?: FreshDb;
  redisPrefix?: string;
  /**
   * The host name in PUBLIC_URL and `url` (default 127.0.0.1; it still listens on 127.0.0.1).
   * `localhost` for browser tests of passkeys: WebAuthn refuses an IP address as relying party.
   */
  publicHost?: string;
}

/**
 * What a request-log row's own figures say it cost: its usage at its unit prices (µcr per
 * million tokens) and margin, rounded up once, as a receipt reader would compute it.
 */
export function receiptCost(row: Record<string, any>): bigint {
  const u = row.unit_prices as Record<string, string | number>;
  const raw =
    BigInt(row.input_tokens) * BigInt(u.input) +
    BigInt(row.cached_tokens) * BigInt(u.cachedInput) +
    BigInt(row.cache_write_tokens) * BigInt(u.cacheWrite) +
    BigInt(row.output_tokens) * BigInt(u.output);
  const denominator = 1_000_000n * 10_000n;
  return (raw * (10_000n + BigInt(u.marginBps)) + denominator - 1n) / denominator;
}

export const testRedisPrefix = () => `tgt:${randomBytes(4).toString('hex')}:`;

export async function startGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  const db = opts.db ?? (await freshDb(4));
  const ownDataDir = mkdtempSync(join(tmpdir(), 'tollgate-data-'));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  let app!: NestFastifyApplication;
  let config!: AppConfig;
  // A port known before the app starts, so PUBLIC_URL (the origin cookie-authenticated writes
  // must come from, and the passkeys' relying party) is the gateway's own address. Should
  // another process take it before the app listens (EADDRINUSE), the app is closed (a half-made
  // app left open would fail the next test files of this jest worker) and made again on another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      PORT: String(port),
      PUBLIC_URL: `http://${opts.publicHost ?? '127.0.0.1'}:${port}`,
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      DATABASE_POOL_SIZE: '8',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: opts.redisPrefix ?? testRedisPrefix(),
      LOG_LEVEL: 'debug',
      MIGRATE_ON_START: 'false',
      API_RUNS_WORKERS: 'false', // tests that need a worker start one
      // Each gateway keeps its own settle journal (an outage test may hand one to the next gateway).
      DATA_DIR: ownDataDir,
      // No dashboard unless a test gives one (WEB_DIR: buildWeb() of test/support/browser.ts):
      // whether the checkout's dist/web happens to exist must not change what other tests see.
      WEB_DIR: join(ownDataDir, 'no-dashboard'),
    };
    if (opts.openai) Object.assign(env, { OPENAI_API_KEY: opts.openai.apiKey, OPENAI_BASE_URL: `${opts.openai.url}/v1` });
    if (opts.anthropic) Object.assign(env, { ANTHROPIC_API_KEY: opts.anthropic.apiKey, ANTHROPIC_BASE_URL: opts.anthropic.url });
    if (opts.gemini) Object.assign(env, { GEMINI_API_KEY: opts.gemini.apiKey, GEMINI_BASE_URL: opts.gemini.url });
    config = loadConfig({ ...env, ...opts.env });
    const logger = pino({ level: config.LOG_LEVEL, base: { process: 'api' } }, sink);
    app = await createApiApp(config, logger);
    try {
      await app.listen(config.PORT, config.HOST);
      break;
    } catch (err) {
      await app.close().catch(() => undefined);
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 3 || opts.env?.PORT !== undefined) {
        if (!opts.db) await db.drop().catch(() => undefined);
        throw err;
      }
      console.warn(`startGateway: port ${port} was taken before the app listened (attempt ${attempt}); starting again on another`);
    }
  }
  const url = opts.publicHost ? config.PUBLIC_URL : (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const ledger = app.get(LedgerService);
  const keys = app.get(KeysService);
  const prices = app.get(PriceBook);
  return {
    url,
    app,
    config,
    db,
    logs,
    async account(credits, freeRequests = 0) {
      const accountId = randomUUID();
      await ledger.execute(accountId, { type: 'OpenAccount', data: { accountId, freeRequests } });
      if (credits > 0n) {
        await ledger.execute(accountId, { type: 'GrantCredits', data: { grantId: 'test-funds', amount: credits, reason: 'test funds' } });
      }
      return accountId;
    },
    async key(accountId, limits) {
      const issued = await keys.create({ accountId, actor: 'test' });
      if (limits) await keys.changeLimits({ keyId: issued.key.keyId, limits, actor: 'test' });
      return { keyId: issued.key.keyId, secret: issued.secret };
    },
    async available(accountId) {
      return (await ledger.load(accountId)).state.available;
    },
    async requests(accountId, count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await db.pool.query('SELECT * FROM request_log WHERE account_id = $1 ORDER BY started_at, request_id', [accountId]);
        if (rows.length >= count) return rows;
        if (Date.now() > deadline) throw new Error(`only ${rows.length} of ${count} requests logged for account ${accountId}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    price(model, usage) {
      const table = prices.at(new Date());
      const p = table.get(model);
      if (!p) throw new Error(`no price for ${model}`);
      return costOf(p, usage, table.marginBps);
    },
    async close() {
      // A connection a test left open (a stream its client never read to the end) would hold
      // Fastify's close for ever: after 10 s it is cut, as the processes' bounded shutdown cuts
      // what is still under way, and said, so a test that leaks one can be found.
      const server = app.getHttpServer();
      const stuck = setTimeout(() => {
        console.warn(`gateway close: connections still open after 10 s (${server.listening ? 'listening' : 'not listening'}); cutting them`);
        server.closeAllConnections();
      }, 10_000);
      try {
        await app.close();
      } finally {
        clearTimeout(stuck);
      }
      if (!opts.db) await db.drop();
      rmSync(ownDataDir, { recursive: true, force: true });
    },
  };
}
