/**
 * A worker killed (SIGKILL) in the middle of building an export: the built worker process is
 * started beside the API, killed once the export reports progress, and a second worker takes
 * the stalled job over (BullMQ's lock, EXPORT_JOB_LOCK_MS). The export ends ready exactly once,
 * with the zip of the attempt that finished and no bytes of the dead one, every row in it.
 */
import { ChildProcess } from 'node:child_process';
import { SignedIn, signedIn } from '../../support/account-client';
import { spawnBuilt } from '../../support/cli-runner';
import { checkAgreement, insertUsage, readZip, untilZip } from '../../support/export-zip-reader';
import { Gateway, startGateway, testRedisPrefix } from '../../support/gateway';
import { TEST_REDIS_URL } from '../../support/test-env';
import { waitFor } from '../../support/wait';

type Json = Record<string, any>;
const ROWS = 150_000;

describe('a data export whose worker is killed mid-build (built worker processes, real Postgres/Redis)', () => {
  let gw: Gateway;
  let person: SignedIn;
  const redisPrefix = testRedisPrefix();
  const children: ChildProcess[] = [];
  const output: string[] = [];

  const startWorker = () => {
    const worker = spawnBuilt(
      'worker',
      {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: gw.db.url,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_KEY_PREFIX: redisPrefix,
        EXPORT_JOB_LOCK_MS: '2000',
        LOG_LEVEL: 'info',
        EVENTSTORE_URL: '',
        MIGRATE_ON_START: 'false',
      },
      output,
    );
    children.push(worker);
    return worker;
  };

  beforeAll(async () => {
    gw = await startGateway({ redisPrefix }); // the API alone: exports are built by the worker processes below
    person = await signedIn(gw);
    const key = await gw.key(person.accountId);
    await insertUsage(gw, person.accountId, key.keyId, ROWS);
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await gw?.close();
  });

  it('is built once, whole, by the worker that takes over; progress is reported while it runs', async () => {
    const first = startWorker();
    const r = await person.fetch('/api/me/export', { method: 'POST' });
    expect(r.status).toBe(202);
    const e = (await r.json()) as Json;
    const row = async () => (await gw.db.pool.query('SELECT status, attempt, rows_done::int AS done, rows_total::int AS total FROM data_exports WHERE export_id = $1', [e.id])).rows[0];
    await waitFor(async () => (await row()).done > 0, 60_000, 'the first worker to report progress');

    // Progress, as the person sees it while it is built.
    const during = await person.fetch(e.download);
    expect(during.status).toBe(202);
    const view = (await during.json()) as Json;
    expect(view).toMatchObject({ status: 'building', progress: { rowsTotal: expect.any(Number) } });
    expect(view.progress.rowsTotal).toBeGreaterThanOrEqual(2 * ROWS);
    expect(view.progress.rowsDone).toBeGreaterThan(0);
    expect(view.progress.percent).toBeLessThan(100);

    const chunks = async (attempt: number) =>
      (await gw.db.pool.query('SELECT count(*)::int AS n FROM data_export_chunks WHERE export_id = $1 AND attempt = $2', [e.id, attempt])).rows[0].n as number;
    await waitFor(async () => (await chunks(1)) > 0, 60_000, 'the first worker to have stored part of the zip');
    first.kill('SIGKILL');
    await new Promise((res) => first.once('exit', res));
    const killedAt = await row();
    expect(killedAt).toMatchObject({ status: 'building', attempt: 1 });
    // The dead attempt left part of a zip behind.
    expect(await chunks(1)).toBeGreaterThan(0);

    startWorker();
    const { zip } = await untilZip(() => person.fetch(e.download), 120_000);
    const done = await row();
    expect(done.status).toBe('ready');
    expect(done.attempt).toBeGreaterThanOrEqual(2);
    const attempts = await gw.db.pool.query('SELECT DISTINCT attempt FROM data_export_chunks WHERE export_id = $1', [e.id]);
    expect(attempts.rows).toEqual([{ attempt: done.attempt }]);
    expect((await gw.db.pool.query("SELECT count(*)::int AS n FROM data_exports WHERE user_id = $1 AND status = 'ready'", [person.userId])).rows[0].n).toBe(1);

    const files = await readZip(zip);
    const manifest = checkAgreement(files);
    expect((manifest.files as Json[]).find((f) => f.name === 'usage.json')!.rows).toBe(ROWS);
  }, 240_000);
});
