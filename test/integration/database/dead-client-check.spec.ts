/**
 * A statement whose client died while it waited on a lock must not commit once the lock goes
 * (issue 23: a gateway killed while its hold's append waits, after it asked the upstream, must
 * leave no hold). Postgres notices a closed client only when it answers, unless the session sets
 * client_connection_check_interval, which every connection of createPool does.
 */
import { randomBytes } from 'node:crypto';
import { Pool, PoolClient } from 'pg';
import { TEST_PG_URL } from '../../support/test-env';
import { waitFor } from '../../support/wait';
import { createPool } from '../../../src/platform/database/pg';

describe('a statement of a client that died', () => {
  const table = `dead_client_${randomBytes(4).toString('hex')}`;
  let admin: Pool;
  beforeAll(async () => {
    admin = new Pool({ connectionString: TEST_PG_URL, max: 2 });
    await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v int NOT NULL)`);
  });
  afterAll(async () => {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  });

  const waiting = async (): Promise<number> =>
    (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`UPDATE ${table}%`])).rows[0].n as number;

  /** Runs an UPDATE from `victim` that waits on a row lock, kills its connection, then lets the lock go; returns the row's value then. */
  async function updateFromDeadClient(victim: Pool, id: number, waitForItsEnd: boolean): Promise<number> {
    await admin.query(`INSERT INTO ${table} VALUES ($1, 1)`, [id]);
    const locker = await admin.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM ${table} WHERE id = $1 FOR UPDATE`, [id]);
    const client: PoolClient = await victim.connect();
    client.on('error', () => undefined); // its connection is about to be cut
    try {
      void client.query(`UPDATE ${table} SET v = 2 WHERE id = $1`, [id]).catch(() => undefined);
      await waitFor(async () => (await waiting()) === 1, 10_000, 'the update waiting on the lock');
      // The process dies: its socket closes, nothing more is said to the server.
      (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      if (waitForItsEnd) await waitFor(async () => (await waiting()) === 0, 10_000, 'the dead client’s update ended');
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      client.release(new Error('dead'));
    }
    await waitFor(async () => (await waiting()) === 0, 10_000, 'no update waiting');
    return (await admin.query(`SELECT v FROM ${table} WHERE id = $1`, [id])).rows[0].v as number;
  }

  it('commits after the lock when nothing looks (the plain pg pool: why the setting is needed)', async () => {
    const plain = new Pool({ connectionString: TEST_PG_URL, max: 1 });
    plain.on('error', () => undefined);
    try {
      await updateFromDeadClient(plain, 1, false);
      // Its backend took the lock and committed: the row changes though nobody was there to ask.
      await waitFor(async () => (await admin.query(`SELECT v FROM ${table} WHERE id = 1`)).rows[0].v === 2, 10_000, 'the orphan commit');
    } finally {
      await plain.end();
    }
  });

  it('ends while it waits when the session checks its client (createPool): nothing is written', async () => {
    const pool = createPool(TEST_PG_URL, 1, 'tollgate-test');
    try {
      expect((await pool.query('SHOW client_connection_check_interval')).rows[0]).toEqual({ client_connection_check_interval: '1s' });
      expect(await updateFromDeadClient(pool, 2, true)).toBe(1);
    } finally {
      await pool.end();
    }
  });
});
