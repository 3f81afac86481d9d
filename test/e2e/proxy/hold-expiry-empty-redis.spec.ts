/**
 * Redis restarts empty (no persistence, a failover) under a running worker: the hold-expiry
 * job scheduler it made at start is gone. Before, expiry then stopped for good (the scheduler
 * was made only when a worker started): a request whose API process died afterwards kept its
 * hold as long as anyone watched. The worker must make the scheduler again by itself.
 * Built worker and API as child processes, a private redis-server this file owns.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { LedgerService } from '../../../src/ledger/application/ledger.service';
import { ROOT, spawnBuilt } from '../../support/cli-runner';
import { FakeUpstream, startFakeUpstream } from '../../support/fake-upstream';
import { Gateway, startGateway, testRedisPrefix } from '../../support/gateway';
import { PrivateRedis, startPrivateRedis, whyNoRedisServer } from '../../support/private-redis';
import { freePort, waitFor, untilHealthy } from '../../support/wait';

const FUNDS = 10_000_000n;
const skipReason = whyNoRedisServer();

if (skipReason) {
  console.warn(`SKIPPED hold expiry after an empty Redis: ${skipReason}`);
  it.skip(`hold expiry after an empty Redis — SKIPPED: ${skipReason}`, () => undefined);
} else {
  describe('hold expiry after Redis restarts empty (built worker and API, private redis-server)', () => {
    let redis: PrivateRedis;
    let fake: FakeUpstream;
    let gw: Gateway;
    const children: ChildProcess[] = [];
    const workerOutput: string[] = [];

    beforeAll(async () => {
      redis = await startPrivateRedis();
      fake = await startFakeUpstream();
    });
    afterAll(async () => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await gw?.close();
      await fake?.close();
      await redis?.close();
    });

    it('the worker schedules its sweep again, and a dead request’s hold expires', async () => {
      const redisPrefix = testRedisPrefix();
      gw = await startGateway({ openai: fake, redisPrefix, env: { REDIS_URL: redis.url, HOLD_TTL_SECONDS: '2' } });
      const accountId = await gw.account(FUNDS);
      const { secret } = await gw.key(accountId);
      const env = {
        ...process.env,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        DATABASE_URL: gw.db.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: redisPrefix,
        OPENAI_API_KEY: fake.apiKey,
        OPENAI_BASE_URL: `${fake.url}/v1`,
        HOLD_TTL_SECONDS: '2', // a sweep (and a look for its scheduler) every 2 s
        API_RUNS_WORKERS: 'false',
        MIGRATE_ON_START: 'false',
        LOG_LEVEL: 'info',
        EVENTSTORE_URL: '',
      };
      const worker = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'worker.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(worker);
      worker.stdout.on('data', (c) => workerOutput.push(String(c)));
      worker.stderr.on('data', (c) => workerOutput.push(String(c)));
      await waitFor(async () => workerOutput.join('').includes('worker started'), 30_000);

      await redis.stop();
      await redis.start(); // empty: the scheduler the worker made is gone

      const port = await freePort();
      const api = spawnBuilt('main', { ...env, PORT: String(port) });
      children.push(api);
      await untilHealthy(port);
      fake.script({ kind: 'hang' });
      void fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 100, messages: [{ role: 'user', content: 'never answered' }] }),
      }).catch(() => undefined);
      await fake.waitForRequests(1);
      const ledger = gw.app.get(LedgerService);
      // The upstream is asked while the hold commits (issue 23): wait for the hold, not just the call.
      await waitFor(async () => (await ledger.load(accountId)).state.held > 0n, 10_000, 'the hold');
      api.kill('SIGKILL');
      await new Promise((r) => api.once('exit', r));

      await waitFor(async () => (await ledger.load(accountId)).state.held === 0n, 20_000);
      expect((await ledger.load(accountId)).state.available).toBe(FUNDS);
      const { rows } = await gw.db.pool.query(`SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_version`, [`account-${accountId}`]);
      expect(rows.map((r) => r.type)).toEqual(['AccountOpened', 'CreditsGranted', 'HoldPlaced', 'HoldExpired']);
      expect(workerOutput.join('')).toContain('scheduled it again');
    }, 90_000);
  });
}


