/**
 * Writing one read model: its schema (tables, checkpoint row, halt columns) and applying events
 * to it under a savepoint of its own, halting it at an event it cannot apply (halted.ts). Used
 * by the runner's follower and by a rebuild alike.
 */
import { createHash } from 'node:crypto';
import { Pool, PoolClient } from 'pg';
import { LogPosition, RecordedEvent } from '../src/platform/event-store/event-store.port';
import { inTransaction, quoteIdent } from '../src/platform/database/pg';
import { Projection } from './projection';
import { HALT_COLUMNS_DDL, HaltedReadModel, applyUpToFailure, errorText, isTransient, markHalted } from './halted';

export const LOCK_NAMESPACE = 7_300_002;

export const lockKey = (p: Projection) => createHash('sha1').update(p.name).digest().readInt32BE(0);
export const schemaHash = (p: Projection) => createHash('sha256').update(p.schemaSql()).digest('hex').slice(0, 16);

/**
 * Applies `fresh` (events past the model's checkpoint `at`) to one model's schema under a
 * savepoint of its own (declared with the search_path: no extra round trip). When the model
 * cannot apply an event, it applies what precedes it and is marked halted at it; the caller's
 * transaction goes on for the other models. Returns where the model's checkpoint goes.
 */
export async function applyModel(
  client: PoolClient,
  p: Projection,
  schema: string,
  fresh: RecordedEvent[],
  at: LogPosition,
  read?: string[],
): Promise<{ last: LogPosition; halt?: HaltedReadModel }> {
  const mine = eventsOf(p, fresh, read);
  const last = fresh[fresh.length - 1].position;
  if (mine.length === 0) return { last };
  await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}, public; SAVEPOINT apply_model`);
  try {
    await p.apply(client, mine);
    return { last };
  } catch (err) {
    if (isTransient(err)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT apply_model');
    const { failed, error } = await applyUpToFailure(client, p, mine, err);
    await markHalted(client, schema, failed.id, error);
    const before = fresh.indexOf(failed) - 1;
    return {
      last: before >= 0 ? fresh[before].position : at,
      halt: { name: p.name, eventId: failed.id, error: errorText(error), haltedAt: new Date() },
    };
  }
}

/** applyModel, and the model's checkpoint moved, for a rebuild's schema. */
export async function applyBatch(client: PoolClient, p: Projection, schema: string, page: RecordedEvent[], at: LogPosition, read?: string[]) {
  const result = await applyModel(client, p, schema, page, at, read);
  await client.query(`UPDATE ${quoteIdent(schema)}.checkpoint SET log_tx = $1, log_seq = $2, updated_at = now()`, [result.last.tx.toString(), result.last.seq.toString()]);
  return result;
}

export async function ensureSchema(pool: Pool, p: Projection, schema: string): Promise<{ hash: string | null }> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, lockKey(p)]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}, public`);
    await client.query(p.schemaSql());
    await client.query(`CREATE TABLE IF NOT EXISTS checkpoint (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      log_tx bigint NOT NULL, log_seq bigint NOT NULL, schema_hash text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now())`);
    await client.query(HALT_COLUMNS_DDL);
    const { rows } = await client.query<{ schema_hash: string }>(
      `INSERT INTO checkpoint (log_tx, log_seq, schema_hash) VALUES (0, 0, $1)
       ON CONFLICT (only_row) DO UPDATE SET only_row = true RETURNING schema_hash`,
      [schemaHash(p)],
    );
    return { hash: rows[0]?.schema_hash ?? null };
  });
}

/** Every stream prefix a set of models reads. */
export function prefixesOf(projections: Projection[]): string[] {
  return [...new Set(projections.flatMap((p) => p.streamPrefixes))];
}

/**
 * The events of a page that a read model reads. The page was read for `read` (the prefixes of
 * every model it feeds); a model that reads all of those takes the page as it is, and so does
 * one whose prefixes every event of this page has (the usual page: the rare streams only some
 * models read are absent), so the page is decoded once for all of them (projection.ts).
 */
export function eventsOf(p: Projection, page: RecordedEvent[], read?: string[]): RecordedEvent[] {
  if (read && read.every((x) => p.streamPrefixes.includes(x))) return page;
  const mine = (e: RecordedEvent) => p.streamPrefixes.some((prefix) => e.streamId.startsWith(prefix));
  return page.every(mine) ? page : page.filter(mine);
}
