/**
 * One consistent view of the database for a whole export: a REPEATABLE READ, READ ONLY
 * transaction on one connection, so the JSON and the CSV of a section (read one after the
 * other) hold the same rows, and every section is of the same instant. A read-only transaction
 * takes no transaction id, so it does not hold back the readers of the event log (they read
 * below pg_snapshot_xmin, which only transactions with an id move).
 *
 * Rows are read through a server-side cursor, a page at a time: memory stays the same whatever
 * the number of rows.
 */
import { Pool, PoolClient, QueryResultRow } from 'pg';

// Small pages: a page's rows are all alive at once, and the fewer survive a young-generation
// collection, the less the heap (and the process's resident set) grows while an export runs.
const PAGE_ROWS = 500;

export class ExportSnapshot {
  private cursors = 0;

  private constructor(private readonly client: PoolClient) {}

  static async open(pool: Pool): Promise<ExportSnapshot> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      return new ExportSnapshot(client);
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
  }

  async query<R extends QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    return (await this.client.query<R>(text, values)).rows;
  }

  async count(text: string, values: unknown[] = []): Promise<number> {
    const [row] = await this.query<{ n: string }>(`SELECT count(*)::text AS n FROM (${text}) q`, values);
    return Number(row.n);
  }

  /** The rows of a query, in its order, a page at a time. */
  async *pages<R extends QueryResultRow>(text: string, values: unknown[] = [], pageRows = PAGE_ROWS): AsyncGenerator<R[]> {
    const name = `export_cursor_${++this.cursors}`;
    await this.client.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${text}`, values);
    try {
      for (;;) {
        const { rows } = await this.client.query<R>(`FETCH FORWARD ${pageRows} FROM ${name}`);
        if (rows.length > 0) yield rows;
        if (rows.length < pageRows) return;
      }
    } finally {
      await this.client.query(`CLOSE ${name}`).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.query('ROLLBACK');
      this.client.release();
    } catch (err) {
      this.client.release(err as Error);
    }
  }
}
