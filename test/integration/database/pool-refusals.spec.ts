/**
 * The process pool keeps a connection after a statement Postgres refused (a unique violation is
 * how racing writers learn they lost): one backend answers before and after. A connection the
 * refusal left inside a failed transaction, or whose backend was terminated, is dropped, and the
 * next query gets a clean one.
 */
import { TEST_PG_URL } from '../../support/test-env';
import { createPool } from '../../../src/platform/database/pg';
import { Pool } from 'pg';

describe('createPool after a refused statement', () => {
  let pool: Pool;
  const pid = async (): Promise<number> => (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;

  beforeEach(() => {
    pool = createPool(TEST_PG_URL, 1, 'tollgate-test');
  });
  afterEach(async () => {
    await pool.end();
  });

  it('keeps the connection: the same session answers before and after a unique violation', async () => {
    const before = await pid();
    // A temporary table lives as long as its session: still there afterwards means the same connection.
    await pool.query('CREATE TEMPORARY TABLE seen (id int PRIMARY KEY)');
    await pool.query('INSERT INTO seen VALUES (1)');
    const err = await pool.query('INSERT INTO seen VALUES (1)').catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('23505');
    await expect(pool.query('SELECT 1 / 0')).rejects.toThrow(/division by zero/);
    expect(await pid()).toBe(before);
    expect((await pool.query('SELECT count(*)::int AS n FROM seen')).rows).toEqual([{ n: 1 }]);
    expect(pool.totalCount).toBe(1);
  });

  it('drops a connection left in a failed transaction: the next query is not "current transaction is aborted"', async () => {
    const before = await pid();
    await expect(pool.query(`BEGIN; SELECT 1 / 0; COMMIT`)).rejects.toThrow(/division by zero/);
    const after = await pid();
    expect(after).not.toBe(before);
    await expect(pool.query('SELECT 1 AS ok')).resolves.toMatchObject({ rows: [{ ok: 1 }] });
  });

  it('drops a connection whose backend was terminated under a query (57P01, a server error), and answers with a new one', async () => {
    const before = await pid();
    const sleeping = pool.query('SELECT pg_sleep(30)').catch((e: unknown) => e);
    const other = createPool(TEST_PG_URL, 1, 'tollgate-test');
    try {
      // Once the sleep is under way on that backend, terminate it.
      for (let i = 0; i < 100; i++) {
        const { rows } = await other.query<{ active: boolean }>("SELECT state = 'active' AS active FROM pg_stat_activity WHERE pid = $1", [before]);
        if (rows[0]?.active) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await other.query('SELECT pg_terminate_backend($1)', [before]);
    } finally {
      await other.end();
    }
    expect((await sleeping) as { code?: string }).toMatchObject({ code: '57P01' });
    expect(await pid()).not.toBe(before);
    expect(pool.totalCount).toBe(1);
  });

  it('still runs callback-style queries through pg-pool', async () => {
    const rows = await new Promise<unknown[]>((resolve, reject) =>
      pool.query('SELECT 2 AS two', (err: Error | undefined, res: { rows: unknown[] }) => (err ? reject(err) : resolve(res.rows))),
    );
    expect(rows).toEqual([{ two: 2 }]);
  });
});
