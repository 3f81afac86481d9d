/**
 * `tollgate compliance retention status|run` as an operator runs them: the built CLI over a
 * fresh database holding a request log row and a day key past retention, and today's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CLI, expectOneErrorLine, run } from '../../../support/cli-runner';
import { FreshDb, freshDb } from '../../../support/fresh-db';

const DAY_MS = 86_400_000;
const dayOf = (d: Date) => d.toISOString().slice(0, 10);

describe('tollgate compliance retention (built CLI, real Postgres)', () => {
  let db: FreshDb;
  const tollgate = (...args: string[]) => run(process.execPath, [CLI, 'compliance', 'retention', ...args], { DATABASE_URL: db.url });
  const json = async (...args: string[]) => {
    const r = await tollgate(...args, '--json');
    if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as Record<string, any>;
  };
  const old = new Date(Date.now() - 100 * DAY_MS);
  const recent = new Date(Date.now() - 60_000);

  beforeAll(async () => {
    db = await freshDb(2);
    for (const [id, at] of [
      ['old-request', old],
      ['recent-request', recent],
    ] as const) {
      await db.pool.query(
        `INSERT INTO request_log (request_id, account_id, key_id, started_at, endpoint, model, stream, status, billing, latency_ms)
         VALUES ($1, $2, $3, $4, 'openai.chat', 'gpt-4o-mini', false, 200, 'settled', 12)`,
        [id, randomUUID(), randomUUID(), at],
      );
    }
    await db.pool.query('INSERT INTO usage_day_keys (day, key) VALUES ($1, $2), ($3, $4)', [dayOf(old), randomBytes(32), dayOf(new Date()), randomBytes(32)]);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('status shows the oldest readable record, the keys held and that a pass is due; run forgets what is past retention', async () => {
    const before = await json('status');
    expect(before).toMatchObject({ retentionDays: 90, oldestRequestLog: old.toISOString(), oldestReadableDay: dayOf(old), dayKeysHeld: 2, lastRunAt: null, overdue: true });

    const done = await json('run');
    expect(done).toMatchObject({ requestLogRows: 1, dayKeysDestroyed: [dayOf(old)], daysClosed: [], closeBlocked: null, retentionDays: 90 });

    const after = await json('status');
    expect(after).toMatchObject({ oldestRequestLog: recent.toISOString(), oldestReadableDay: dayOf(new Date()), dayKeysHeld: 1, overdue: false });
    expect(after.lastRunAt).toBe(done.at);
    expect(Date.parse(after.nextRunAt) - Date.parse(done.at)).toBe(3_600_000);
    const rows = await db.pool.query('SELECT request_id FROM request_log');
    expect(rows.rows.map((r) => r.request_id)).toEqual(['recent-request']);

    // Again: nothing to do. Human output names what it did.
    const again = await tollgate('run');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/deleted 0 request log row\(s\).*destroyed 0 day key\(s\)/);
    const human = await tollgate('status');
    expect(human.stdout).toMatch(/oldest readable day: +\d{4}-\d{2}-\d{2}/);
    expect(human.stdout).toMatch(/day keys held: +1/);
  });

  it('bad usage exits 2 with one error line', async () => {
    const unknown = await tollgate('purge-everything');
    expect(unknown.code).toBe(2);
    const badOption = await tollgate('status', '--days', '3');
    expect(badOption.code).toBe(2);
    expectOneErrorLine(badOption, /unknown option/);
  });
});
