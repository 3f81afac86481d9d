/**
 * Chain scan benchmark (issue 20): anvil (chain id 8453) with the 6-decimal test token, at least
 * 10,000 Transfer logs to the receiving address (500 per transaction through the token's
 * multiTransfer, a few transactions per block), a tenth of them paying open intents (so those
 * credit: stream, ledger, records, receipt) and the rest recorded as unclaimed deposits; then the
 * real ChainScanner (in a Nest context like the worker's, on a fresh Postgres database) catches
 * up from block 0 to the final head, timed. Prints progress on stderr and one JSON object on
 * stdout: scan_logs_per_s, logs, credited.
 *
 * Run: npm run build && node dist/bench/payments/scan.js  (BENCH_LOGS to change the count;
 * BENCH_DATABASE_URL, BENCH_REDIS_URL).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Contract } from 'ethers';
import { Pool } from 'pg';
import { AccountsModule } from '../../src/accounts/accounts.module';
import { loadConfig } from '../../src/config/config';
import { ConfigModule } from '../../src/config/config.module';
import { LedgerModule } from '../../src/ledger/ledger.module';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { ChainClients } from '../../src/payments/crypto/application/chain-clients';
import { ChainScanner } from '../../src/payments/crypto/application/chain-scanner';
import { CryptoCreditsService } from '../../src/payments/crypto/application/crypto-credits.service';
import { CryptoRepository } from '../../src/payments/crypto/application/crypto.repository';
import { IntentsService } from '../../src/payments/crypto/application/intents.service';
import { ReceiptsModule } from '../../src/payments/receipts/receipts.module';
import { DatabaseModule } from '../../src/platform/database/database.module';
import { createPool, ensureDatabase } from '../../src/platform/database/pg';
import { migrate } from '../../src/platform/database/migrator';
import { EventStoreModule } from '../../src/platform/event-store/event-store.module';
import { startAnvil } from '../../test/support/anvil';

const log = (msg: string) => process.stderr.write(`[bench:scan] ${msg}\n`);
const PER_TX = 500;
const TX_PER_BLOCK = 4;
const ACCOUNTS = 20;

export interface ScanBenchOptions {
  /** Transfer logs to the receiving address (at least 10,000 by default). */
  logs?: number;
  /** One in this many pays an intent (default 10). */
  intentEvery?: number;
  databaseUrl?: string;
  redisUrl?: string;
}

export async function benchScan(opts: ScanBenchOptions = {}): Promise<{ scan_logs_per_s: number; logs: number; credited: number }> {
  const total = opts.logs ?? Number(process.env.BENCH_LOGS ?? 10_000);
  const every = opts.intentEvery ?? 10;
  const databaseUrl = opts.databaseUrl ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_scan';
  const redisUrl = opts.redisUrl ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

  const anvil = await startAnvil(8453);
  let app: Awaited<ReturnType<typeof NestFactory.createApplicationContext>> | null = null;
  try {
    const token = await anvil.deployToken('USDC');
    const receive = `0x${randomBytes(20).toString('hex')}`;
    await freshDatabase(databaseUrl);
    const config = loadConfig({
      NODE_ENV: 'production',
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_SIZE: '8',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `tgbench:scan:${randomBytes(4).toString('hex')}:`,
      MIGRATE_ON_START: 'false',
      CHAIN_BASE_RPC_URL: anvil.url,
      CRYPTO_RECEIVE_ADDRESS: receive,
      CRYPTO_TOKENS_BASE: `USDC:${token.address}`,
      TOPUP_MAX_USD: '1000000',
    });

    @Module({
      imports: [ConfigModule.forRoot(config), DatabaseModule, EventStoreModule, AccountsModule, LedgerModule, ReceiptsModule],
      providers: [ChainClients, CryptoRepository, CryptoCreditsService, ChainScanner, IntentsService],
    })
    class ScanBenchModule {}
    app = await NestFactory.createApplicationContext(ScanBenchModule, { logger: ['error'] });
    const ledger = app.get(LedgerService);
    const intents = app.get(IntentsService);
    const scanner = app.get(ChainScanner);
    const repo = app.get(CryptoRepository);

    const accounts = Array.from({ length: ACCOUNTS }, () => randomUUID());
    for (const a of accounts) await ledger.execute(a, { type: 'OpenAccount', data: { accountId: a } });
    // The amounts sent: one in `every` is an intent's exact amount, the others amounts no intent holds (6.xxxxxx).
    const amounts: bigint[] = [];
    for (let i = 0; i < total; i++) {
      if (i % every === 0) {
        const made = await intents.create(accounts[i % ACCOUNTS], { chain: 'base', token: 'USDC', amount: String(5 + (i % 50)) });
        amounts.push(made.amount);
      } else amounts.push(6_000_000_000n + BigInt(i)); // 6,000 credits and up: above every intent's range
    }
    log(`${Math.ceil(total / every)} intents; sending ${total} transfers, ${PER_TX} per transaction`);
    const sum = amounts.reduce((a, b) => a + b, 0n);
    await token.mint(anvil.accounts[1], sum);
    await anvil.automine(false);
    const sender = token.contract.connect(await anvil.signer(1)) as Contract;
    let sent = 0;
    for (let i = 0; i < total; i += PER_TX) {
      await sender.getFunction('multiTransfer')(receive, amounts.slice(i, i + PER_TX), { gasLimit: 15_000_000 });
      sent += 1;
      if (sent % TX_PER_BLOCK === 0) await anvil.mine(1);
    }
    await anvil.mine(1);
    await anvil.automine(true);
    await anvil.mine(3); // final (finalized = head − 2)
    const chain = config.CHAINS[0];
    await repo.setCheckpoint(chain.chainId, 0, new Date());
    log(`head ${await anvil.blockNumber()}; scanning from block 0`);

    const t0 = performance.now();
    const report = await scanner.scan(chain);
    const seconds = (performance.now() - t0) / 1000;
    if (report.logs < total) throw new Error(`the scan found ${report.logs} of ${total} transfers`);
    const expected = Math.ceil(total / every);
    if (report.credited !== expected) throw new Error(`credited ${report.credited}, expected ${expected}`);
    log(`${report.logs} transfers in ${seconds.toFixed(2)} s: ${report.credited} credited, ${report.unclaimed} unclaimed`);
    return { scan_logs_per_s: Math.round(report.logs / seconds), logs: report.logs, credited: report.credited };
  } finally {
    await app?.close();
    await anvil.close();
  }
}

async function freshDatabase(url: string): Promise<void> {
  const admin = new Pool({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString(), max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS "${new URL(url).pathname.slice(1)}" WITH (FORCE)`);
  await admin.end();
  await ensureDatabase(url);
  const pool = createPool(url, 2, 'tollgate-bench-scan');
  await migrate(pool);
  await pool.end();
}

if (require.main === module) {
  benchScan()
    .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    .catch((err) => {
      process.stderr.write(`[bench:scan] failed: ${(err as Error).stack}\n`);
      process.exit(1);
    });
}
