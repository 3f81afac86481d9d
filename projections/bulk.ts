/**
 * The rebuild's fast path. A rebuild fills a schema nobody reads until the swap, so it needs
 * neither per-page transactions nor random-order index maintenance while it loads: append-only
 * tables are streamed in with COPY and their secondary indexes built once at the end, and totals
 * (balances, usage, ledger-account running balances) are folded in memory across many pages and
 * written once. Each read model loads on its own connection, so Postgres ingests while node
 * decodes. (Measured: UNLOGGED tables plus SET LOGGED before the swap were slower than logged
 * COPY, because SET LOGGED rewrites the whole table.)
 */
import { finished } from 'node:stream/promises';
import { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { RecordedEvent } from '../src/platform/event-store/event-store.port';
import { quoteIdent } from '../src/platform/database/pg';

export interface BulkContext {
  pool: Pool;
  /** The schema being filled (`rm_<name>__next`). */
  schema: string;
}

/** A read model's bulk loader: `add` pages in log order, then `finish` once. */
export interface BulkLoad {
  add(events: RecordedEvent[]): Promise<void>;
  /** Writes whatever is folded in memory and makes the tables ready to serve (logged, indexed). */
  finish(): Promise<void>;
  /** Releases connections after a failure (the half-filled schema is dropped by the next rebuild). */
  abort(): Promise<void>;
}


/** A value in COPY's text format (\N is NULL; backslash, tab, newline and CR escaped). */
export function copyValue(v: string | null): string {
  if (v === null) return '\\N';
  return /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : v;
}

/**
 * One table streamed with COPY FROM STDIN for the whole rebuild. Its indexes (and the unique
 * constraints they back) are dropped first, except those named in `keep`, and `end` builds them
 * again side by side, so the finished table is exactly what schema.sql declares; a duplicate
 * still fails the rebuild, just at the end.
 */
interface Deferred {
  name: string;
  /** CREATE [UNIQUE] INDEX ... as pg_get_indexdef gives it. */
  def: string;
  /** The constraint the index backs, if any. */
  constraint: 'PRIMARY KEY' | 'UNIQUE' | null;
}

export class CopyLoader {
  private constructor(
    private readonly ctx: BulkContext,
    private readonly client: PoolClient,
    private readonly stream: NodeJS.WritableStream & { destroy(err?: Error): void },
    private readonly deferred: Deferred[],
    private readonly table: string,
  ) {}

  /** `keep`: indexes kept while loading, those whose key follows the load (log) order. */
  static async open(ctx: BulkContext, table: string, columns: string[], keep: string[] = []): Promise<CopyLoader> {
    const client = await ctx.pool.connect();
    try {
      const qualified = `${quoteIdent(ctx.schema)}.${quoteIdent(table)}`;
      const { rows } = await client.query<{ name: string; def: string; contype: string | null }>(
        `SELECT ic.relname AS name, pg_get_indexdef(i.indexrelid) AS def, c.contype::text AS contype
           FROM pg_index i
           JOIN pg_class ic ON ic.oid = i.indexrelid
           LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
          WHERE i.indrelid = $1::regclass
          ORDER BY ic.relname`,
        [qualified],
      );
      const deferred: Deferred[] = [];
      for (const r of rows) {
        if (r.contype !== null && r.contype !== 'p' && r.contype !== 'u') throw new Error(`cannot defer index ${r.name} of ${qualified}`);
        if (keep.includes(r.name)) continue;
        deferred.push({ name: r.name, def: r.def, constraint: r.contype === 'p' ? 'PRIMARY KEY' : r.contype === 'u' ? 'UNIQUE' : null });
        await client.query(
          r.contype
            ? `ALTER TABLE ${qualified} DROP CONSTRAINT ${quoteIdent(r.name)}`
            : `DROP INDEX ${quoteIdent(ctx.schema)}.${quoteIdent(r.name)}`,
        );
      }
      const stream = client.query(copyFrom(`COPY ${qualified} (${columns.map(quoteIdent).join(', ')}) FROM STDIN`));
      stream.on('error', () => undefined); // surfaced by write/end
      return new CopyLoader(ctx, client, stream, deferred, qualified);
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
  }

  /** Writes rows (each a line ending in \n); waits when Postgres is behind. */
  async write(lines: string): Promise<void> {
    if (lines.length === 0) return;
    if (!this.stream.write(lines)) {
      await new Promise<void>((resolve, reject) => {
        // Whichever comes first removes the other: a listener left behind per wait piled up
        // (Node warned of a leak after ten waits for a slow server).
        const drained = () => {
          this.stream.off('error', failed);
          resolve();
        };
        const failed = (err: Error) => {
          this.stream.off('drain', drained);
          reject(err);
        };
        this.stream.once('drain', drained);
        this.stream.once('error', failed);
      });
    }
  }

  async end(): Promise<void> {
    try {
      this.stream.end();
      await finished(this.stream);
      // Each index built on a connection of its own, side by side (a sort in memory up to
      // 256 MB, where the default spills to disk); constraints then adopt their indexes.
      await Promise.all(
        this.deferred.map((d) =>
          withClient(this.ctx, async (c) => {
            await c.query(`SET maintenance_work_mem = '256MB'`);
            await c.query(d.def);
          }),
        ),
      );
      for (const d of this.deferred.filter((x) => x.constraint)) {
        await this.client.query(`ALTER TABLE ${this.table} ADD CONSTRAINT ${quoteIdent(d.name)} ${d.constraint} USING INDEX ${quoteIdent(d.name)}`);
      }
      this.release();
    } catch (err) {
      this.release(err as Error);
      throw err;
    }
  }

  abort(): Promise<void> {
    if (!this.released) {
      this.stream.destroy(new Error('rebuild aborted'));
      this.release(true);
    }
    return Promise.resolve();
  }

  private released = false;

  private release(err?: Error | boolean): void {
    if (this.released) return;
    this.released = true;
    this.client.release(err);
  }
}

/**
 * Rows into a table with one COPY on the caller's connection (and so in its transaction):
 * `lines` in COPY's text format, each ending in \n. For a follower's page of many rows.
 */
export async function copyRows(client: PoolClient, table: string, columns: string[], lines: string): Promise<void> {
  if (lines.length === 0) return;
  const stream = client.query(copyFrom(`COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN`));
  stream.end(lines);
  await finished(stream);
}

async function withClient<T>(ctx: BulkContext, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await ctx.pool.connect();
  try {
    const out = await fn(client);
    client.release(true); // session settings changed: not back into the pool
    return out;
  } catch (err) {
    client.release(err as Error);
    throw err;
  }
}

/** Runs fn on a connection whose search_path is the schema being filled. */
export async function withSchema<T>(ctx: BulkContext, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await ctx.pool.connect();
  try {
    await client.query(`SET search_path TO ${quoteIdent(ctx.schema)}, public`);
    const out = await fn(client);
    await client.query('RESET search_path');
    client.release();
    return out;
  } catch (err) {
    client.release(err as Error); // not back into the pool with our search_path
    throw err;
  }
}

/** Splits a list into chunks, so one statement never carries an unbounded array. */
export function chunks<T>(xs: T[], size = 20_000): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * The bulk load of a read model whose rows are sums (balances, usage): fold every page into
 * one row per key in memory and write each row once, flushing early past `maxRows` so memory
 * stays bounded (a flushed row is added to, not overwritten, by the next write).
 */
export function foldingBulkLoad<K, V>(
  ctx: BulkContext,
  maxRows: number,
  fold: (rows: Map<K, V>, events: RecordedEvent[]) => void,
  write: (client: PoolClient, rows: Map<K, V>) => Promise<void>,
): BulkLoad {
  let rows = new Map<K, V>();
  const flush = async () => {
    const all = rows;
    rows = new Map();
    await withSchema(ctx, (client) => write(client, all));
  };
  return {
    add: async (events) => {
      fold(rows, events);
      if (rows.size > maxRows) await flush();
    },
    finish: flush,
    abort: () => Promise.resolve(),
  };
}
