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

  it('drops a connection whose backend was terminated, and answers with a new one', async () => {
    const before = await pid();
    const other = createPool(TEST_PG_URL, 1, 'tollgate-test');
    try {
      await other.query('SELECT pg_terminate_backend($1)', [before]);
    } finally {
      await other.end();
    }
    await expect(pool.query('SELECT 1')).rejects.toThrow();
    expect(await pid()).not.toBe(before);
  });

  it('still runs callback-style queries through pg-pool', async () => {
    const rows = await new Promise<unknown[]>((resolve, reject) =>
      pool.query('SELECT 2 AS two', (err: Error | undefined, res: { rows: unknown[] }) => (err ? reject(err) : resolve(res.rows))),
    );
    expect(rows).toEqual([{ two: 2 }]);
  });
});
