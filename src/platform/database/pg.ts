import { DatabaseError, Pool, PoolClient, QueryResult, QueryResultRow, types } from 'pg';
import { isPgUnavailable } from './pg-unavailable';

// int8 (20) and numeric (1700) come back as strings by default; money code wants bigint, and
// a silent Number() would lose precision past 2^53, so parse int8 to bigint once, here.
types.setTypeParser(20, (v) => BigInt(v));

export type Db = Pool;

/** How often a running statement's backend checks that its client is still there (ms). */
const CLIENT_CHECK_MS = 1000;

/** A SQL identifier (schema, table, database name) quoted for use in a statement. */
export const quoteIdent = (ident: string): string => `"${ident.replace(/"/g, '""')}"`;

/**
 * The process's pool. `connectTimeoutMs` bounds getting a client (connecting, or waiting for a
 * free one): without it a Postgres that accepts the TCP connection and never answers holds the
 * caller forever. Queries themselves are not bounded here: a rebuild or an export may run long.
 */
export function createPool(connectionString: string, max = 10, applicationName = 'tollgate', connectTimeoutMs = 0): Pool {
  // 0: no bound (benchmarks and test fixtures); the processes pass DATABASE_CONNECT_TIMEOUT_MS.
  const pool = new Pool({ connectionString, max, application_name: applicationName, connectionTimeoutMillis: connectTimeoutMs });
  // An idle client that errors (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor a checked-out one: a client whose connection dies while it is out (Postgres restarted under
  // a transaction, or under the chain scan's advisory-lock session) fails its queries, which the
  // caller sees, and also emits 'error', which pg-pool listens for only while the client is idle:
  // unheard, that ended the process. The pool drops such a client on release (not queryable).
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    // A statement of a process that died (say, a hold's append waiting on its stream's lock while
    // the proxy had already asked the upstream) must not commit after it: Postgres notices a
    // closed client only when it answers, unless asked to look while the statement runs (PG 14+;
    // an older server refuses the setting, which changes nothing else). Queued before any query.
    client.query(`SET client_connection_check_interval = ${CLIENT_CHECK_MS}`).catch(() => undefined);
  });
  keepConnectionsAfterRefusals(pool);
  return pool;
}

/**
 * pg-pool's `query()` closes the connection after any error, even one the server answered
 * cleanly (a unique violation, a check constraint): the next query then pays a new connection
 * and Postgres a new backend with cold caches. Under racing webhooks (an event id already in
 * the log, by design) that was 35 new connections a second. Here a statement Postgres refused
 * leaves its connection in the pool, ready (the protocol resynchronises after an error, and the
 * connection must be outside any transaction); a lost or shutting-down server, or anything not
 * from the server, still drops it.
 */
function keepConnectionsAfterRefusals(pool: Pool): void {
  const original = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const query = async (...args: unknown[]): Promise<unknown> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await (client.query as (...a: unknown[]) => Promise<unknown>)(...args);
    } catch (err) {
      // Kept only when it is idle again: a multi-statement text that opened a transaction and
      // failed inside it is not. pg rejects on the error message; the status comes after it.
      if (!(err instanceof DatabaseError) || isPgUnavailable(err) || (await statusAfterError(client)) !== 'I') broken = err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  };
  // Callback-style calls and submittables (cursors, streams) keep pg-pool's own handling.
  (pool as { query: unknown }).query = (...args: unknown[]) =>
    typeof args[args.length - 1] === 'function' || typeof (args[0] as { submit?: unknown } | undefined)?.submit === 'function' ? original(...args) : query(...args);
}

/**
 * The transaction status once the server has said it is ready again after an error (pg answers
 * a failed query on the ErrorResponse, before its ReadyForQuery, which a busy machine may deliver
 * in a later packet); null when the connection ends first.
 */
function statusAfterError(client: PoolClient): Promise<string | null> {
  const c = client as unknown as { readyForQuery: boolean; connection: NodeJS.EventEmitter; getTransactionStatus(): string | null };
  if (c.readyForQuery) return Promise.resolve(c.getTransactionStatus());
  return new Promise((resolve) => {
    const done = (status: string | null) => {
      c.connection.off('readyForQuery', ready);
      c.connection.off('end', ended);
      resolve(status);
    };
    const ready = () => done(c.getTransactionStatus());
    const ended = () => done(null);
    c.connection.once('readyForQuery', ready);
    c.connection.once('end', ended);
  });
}

/**
 * Several statements in one round trip (the simple query protocol, no parameters): pg answers
 * with one result per statement, which its types do not say; checked here, once.
 */
export async function queryStatements<R extends QueryResultRow>(client: PoolClient, sql: string): Promise<QueryResult<R>[]> {
  const results: unknown = await client.query(sql);
  if (!Array.isArray(results)) throw new Error('expected one result per statement from a multi-statement query');
  return results as QueryResult<R>[];
}

/** Runs fn in one transaction; rolls back on any throw. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Creates the database named in the URL if it does not exist (a fresh machine has only `postgres`). */
export async function ensureDatabase(connectionString: string): Promise<void> {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return;
  const probe = new Pool({ connectionString, max: 1 });
  try {
    await probe.query('SELECT 1');
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err; // 3D000 = invalid_catalog_name
  } finally {
    await probe.end();
  }
  url.pathname = '/postgres';
  const admin = new Pool({ connectionString: url.toString(), max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (err) {
    // Created meanwhile by another process: 42P04, or 23505 when both inserted the catalog row at once.
    const code = (err as { code?: string }).code;
    if (code !== '42P04' && code !== '23505') throw err;
  } finally {
    await admin.end();
  }
}

/** Injection token of the process's pg Pool (provided by DatabaseModule). */
export const PG_POOL = Symbol('PG_POOL');
