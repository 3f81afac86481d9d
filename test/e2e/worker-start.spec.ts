/**
 * The worker process started on a database that does not exist yet (it migrates it itself),
 * with a hold-expiry scheduler already in Redis from an earlier run, so a sweep job is due the
 * moment a BullMQ worker listens. No sweep may run before the open-holds read model exists
 * (it failed with `relation "rm_open_holds.open_holds" does not exist`), and sweeps work after.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'pg';
import { Queue } from 'bullmq';
import { createPool } from '../../src/platform/database/pg';
import { PostgresEventStore } from '../../src/platform/event-store/postgres/postgres-event-store';
import { LedgerService } from '../../src/ledger/application/ledger.service';
import { systemClock } from '../../src/platform/clock';
import { QUEUES, makeQueue } from '../../src/platform/queue/queues';
import { ROOT } from '../support/cli-runner';
import { TEST_PG_URL, TEST_REDIS_URL } from '../support/test-env';
import { waitFor } from '../support/wait';

describe('the worker process on an empty database (built, child process, real Postgres and Redis)', () => {
  const name = `tollgate_t_worker_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  const prefix = `tgtest:worker:${randomBytes(4).toString('hex')}:`;
  let worker: ChildProcess | undefined;
  let queue: Queue | undefined;
  let pool: Pool | undefined;
  let store: PostgresEventStore | undefined;
  const output: string[] = [];

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((r) => worker!.once('exit', r));
    }
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await store?.close();
    await pool?.end();
    const admin = new Pool({ connectionString: TEST_PG_URL, max: 1 });
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  it('takes no sweep before the read model exists, then expires an overdue hold', async () => {
    queue = makeQueue(QUEUES.holdExpiry, TEST_REDIS_URL, prefix);
    await queue.upsertJobScheduler('hold-expiry-sweep', { every: 1000 }, { name: 'sweep', data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } });

    worker = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'worker.js')], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: url.toString(),
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        MIGRATE_ON_START: 'true',
        HOLD_TTL_SECONDS: '1', // a sweep every second
        LOG_LEVEL: 'info',
        EVENTSTORE_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (c) => output.push(String(c)));
    worker.stderr!.on('data', (c) => output.push(String(c)));
    await waitFor(() => output.join('').includes('worker started'), 60_000);

    pool = createPool(url.toString(), 2, 'tollgate-test');
    store = new PostgresEventStore(pool);
    const ledger = new LedgerService(store, systemClock);
    const account = randomUUID();
    const holdId = randomUUID();
    await ledger.execute(account, { type: 'OpenAccount', data: { accountId: account, freeRequests: 0 } });
    await ledger.execute(account, { type: 'GrantCredits', data: { grantId: 'g', amount: 5_000_000n, reason: 'test' } });
    await ledger.execute(account, { type: 'PlaceHold', data: { holdId, amount: 1_000_000n, expiresAt: new Date(Date.now() - 5_000).toISOString() } });

    await waitFor(async () => (await ledger.load(account)).state.held === 0n, 30_000);
    const { rows } = await pool.query('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version', [`account-${account}`]);
    expect(rows.map((r) => r.type)).toEqual(['AccountOpened', 'CreditsGranted', 'HoldPlaced', 'HoldExpired']);

    const failed = await queue.getFailed();
    expect(failed.map((j) => j.failedReason)).toEqual([]);
    const logs = output.join('');
    expect(logs).not.toMatch(/rm_open_holds\.open_holds" does not exist/);
    expect(logs).not.toMatch(/"level":50/); // no error line at all
  }, 120_000);
});

