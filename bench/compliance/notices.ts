/**
 * Breach fan-out benchmark (issue 21): NOTICES affected people, one incident, every notice sent
 * through the gateway's Mailer over SMTP to a local `smtp-server` that keeps nothing but counts.
 * The sender is NoticeSender.sendDue, the code the worker's 'incident-notices' job runs, here in
 * this process on a fresh database (the machine's Postgres), so the figure is the sender's own:
 * claim, look up and open the person's address, SMTP, record the row, append the NoticeSent events.
 *
 * `notices_per_s` is notices accepted by the SMTP server per second of wall time, from `notify`
 * until nothing is pending. Target: at least 200/s. Also `duplicates` (must be 0: nothing was
 * killed) and `failed` (must be 0). Progress on stderr; with the main guard,
 * `node dist/bench/compliance/notices.js` prints the JSON alone on stdout.
 * Settings: BENCH_NOTICES (10000), BENCH_DATABASE_URL, BENCH_REDIS_URL.
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Pool } from 'pg';
import { AccountsModule } from '../../src/accounts/accounts.module';
import { UsersService } from '../../src/accounts/application/users.service';
import { AuditModule } from '../../src/audit/audit.module';
import { IncidentsService } from '../../src/compliance/incidents/application/incidents.service';
import { NoticeSender } from '../../src/compliance/incidents/application/notice-sender';
import { INCIDENT_SERVICE_PROVIDERS } from '../../src/compliance/incidents/incidents.providers';
import { AppConfig, loadConfig } from '../../src/config/config';
import { ConfigModule } from '../../src/config/config.module';
import { DatabaseModule } from '../../src/platform/database/database.module';
import { prepareDatabase } from '../../src/platform/database/prepare-database';
import { EventStoreModule } from '../../src/platform/event-store/event-store.module';
import { MailModule } from '../../src/platform/mail/mail.module';

export interface NoticesBenchOptions {
  notices?: number;
  databaseUrl?: string;
  redisUrl?: string;
}

export interface NoticesBenchResult {
  notices_per_s: number;
  notices: number;
  seconds: number;
  duplicates: number;
  failed: number;
  /** CPU this process (the sender; Postgres and the SMTP server are other processes) used per notice. */
  sender_cpu_ms_per_notice: number;
  /** Registering the people first (not part of the figure). */
  setup_seconds: number;
}

const log = (msg: string) => process.stderr.write(`[bench:notices] ${msg}\n`);

@Module({})
class NoticesBenchModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: NoticesBenchModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, EventStoreModule, AccountsModule, AuditModule, MailModule],
      providers: [...INCIDENT_SERVICE_PROVIDERS, NoticeSender],
    };
  }
}

/**
 * The mail server: `smtp-server` in a process of its own (as a real one would be, on the other
 * core), reading each message to its end and counting it and its recipient; asked for its counts
 * over IPC.
 */
const SINK = `
const { SMTPServer } = require('smtp-server');
let received = 0;
const recipients = new Set();
const server = new SMTPServer({
  authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
  disableReverseLookup: true, // a server on this machine: no reverse DNS of 127.0.0.1 per connection
  onData(stream, session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => { received++; for (const r of session.envelope.rcptTo) recipients.add(r.address.toLowerCase()); callback(); });
  },
});
server.on('error', () => undefined);
server.listen(0, '127.0.0.1', () => process.send({ port: server.server.address().port }));
process.on('message', () => process.send({ received, recipients: recipients.size }));
`;

interface Sink {
  url: string;
  counts(): Promise<{ received: number; recipients: number }>;
  close(): Promise<void>;
}

async function smtpSink(): Promise<Sink> {
  const child = spawn(process.execPath, ['-e', SINK], { cwd: join(__dirname, '..', '..', '..'), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`the SMTP sink exited (${code})`)));
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    counts: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as { received: number; recipients: number }));
        child.send('counts');
      }),
    close: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export async function benchNotices(opts: NoticesBenchOptions = {}): Promise<NoticesBenchResult> {
  const notices = opts.notices ?? Number(process.env.BENCH_NOTICES ?? 10_000);
  const databaseUrl = opts.databaseUrl ?? process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tollgate_bench_notices';
  const redisUrl = opts.redisUrl ?? process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const smtp = await smtpSink();
  const admin = new Pool({ connectionString: Object.assign(new URL(databaseUrl), { pathname: '/postgres' }).toString(), max: 1 });
  await admin.query(`DROP DATABASE IF EXISTS "${new URL(databaseUrl).pathname.slice(1)}" WITH (FORCE)`);
  await admin.end();
  await prepareDatabase(databaseUrl);
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '20',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `tgbench:notices:${randomBytes(4).toString('hex')}:`,
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Tollgate <security@tollgate.example>',
    PUBLIC_URL: 'https://tollgate.example',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-bench-notices-')),
    LOG_LEVEL: 'warn',
  });
  const app = await NestFactory.createApplicationContext(NoticesBenchModule.forRoot(config), { logger: ['error'] });
  try {
    const users = app.get(UsersService);
    const incidents = app.get(IncidentsService);
    const sender = app.get(NoticeSender);
    const started = Date.now();
    const ids: string[] = [];
    await eachLimited(Array.from({ length: notices }, (_, i) => i), 16, async (i) => {
      ids.push((await users.registerByOperator(`person-${i}-${randomBytes(3).toString('hex')}@bench.example`, 'cli:bench')).userId);
      if (ids.length % 2000 === 0) log(`${ids.length} people registered`);
    });
    const step = { actor: 'cli:bench', reason: 'benchmark' };
    const incident = await incidents.open(
      {
        title: 'Benchmark incident',
        nature: 'A benchmark of the breach fan-out.',
        dataCategories: ['email'],
        peopleCategories: ['account holders'],
        approxPeople: notices,
        approxRecords: notices,
        consequences: 'None: a benchmark.',
        measures: 'None needed.',
        contact: 'dpo@tollgate.example',
        detectedAt: null,
      },
      step,
    );
    const id = incident.incidentId;
    await incidents.select(id, { by: 'everyone' }, step);
    await incidents.confirm(id, step);
    const setupSeconds = (Date.now() - started) / 1000;
    log(`set up in ${setupSeconds.toFixed(1)} s; sending ${notices} notices`);

    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await incidents.notify(id, step);
    let failed = 0;
    const progress = setInterval(() => void smtp.counts().then((c) => log(`${c.received} sent`)), 2000);
    try {
      for (;;) {
        const r = await sender.sendDue();
        failed += r.failed;
        if ((await incidents.status(id)).counts.pending === 0) break;
      }
    } finally {
      clearInterval(progress);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const { received, recipients } = await smtp.counts();
    const result: NoticesBenchResult = {
      notices_per_s: Math.round((recipients / seconds) * 10) / 10,
      notices: recipients,
      seconds: Math.round(seconds * 100) / 100,
      duplicates: received - recipients,
      failed,
      sender_cpu_ms_per_notice: Math.round(((cpu.user + cpu.system) / 1000 / Math.max(recipients, 1)) * 100) / 100,
      setup_seconds: Math.round(setupSeconds * 10) / 10,
    };
    if (result.notices !== notices) throw new Error(`only ${result.notices} of ${notices} people received the notice`);
    return result;
  } finally {
    await app.close();
    await smtp.close();
  }
}

if (require.main === module) {
  benchNotices()
    .then((r) => {
      console.log(JSON.stringify({ ...r, notices_target_per_s: 200, target_met: r.notices_per_s >= 200 && r.duplicates === 0 && r.failed === 0 }));
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
