/**
 * A read model that cannot apply an event stops loudly instead of retrying it forever: it halts
 * at that event (its checkpoint stays just before it, and the event id and error are stored on
 * its checkpoint row), the runner skips it, the others keep following the log, and anyone who
 * waits for it (the CLI, /health, `ledger verify`) is told at once which model and why. A
 * rebuild (`tollgate ledger replay`) starts the model over in a fresh schema, which clears it.
 */
import { Pool, PoolClient } from 'pg';
import { RecordedEvent } from '../src/platform/event-store/event-store.port';
import { Projection, schemaOf } from './projection';
import { ReadModelHaltedError, type HaltedReadModel } from '../src/ledger/application/read-models';

// Declared by the ledger's port (read-models.ts), which this folder implements.
export { ReadModelHaltedError, type HaltedReadModel };

// Errors stored on the checkpoint row are cut here: enough to name the cause.
const MAX_ERROR_LENGTH = 500;

/** Columns the checkpoint row carries for a halt (the table itself is made in the runner's ensureSchema). */
export const HALT_COLUMNS_DDL = `ALTER TABLE checkpoint
  ADD COLUMN IF NOT EXISTS halted_event_id text,
  ADD COLUMN IF NOT EXISTS halted_error text,
  ADD COLUMN IF NOT EXISTS halted_at timestamptz`;

/**
 * SQLSTATE classes of failures that say nothing about the event (connection lost, serialization
 * or deadlock, out of resources, the server shutting down): retried, never a halt.
 */
const TRANSIENT_CLASSES = ['08', '40', '53', '57', '58'];

export function isTransient(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.length === 5 && TRANSIENT_CLASSES.includes(code.slice(0, 2));
}

export const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, MAX_ERROR_LENGTH);

/**
 * Inside the caller's transaction, with the model's search_path set and its failed attempt at
 * `events` rolled back: finds the first event it cannot apply (a binary search over prefixes,
 * each tried under a savepoint and rolled back), then applies the events before it for real.
 * Returns that event and the error applying it gave.
 */
export async function applyUpToFailure(
  client: PoolClient,
  p: Projection,
  events: RecordedEvent[],
  firstError: unknown,
): Promise<{ failed: RecordedEvent; error: unknown }> {
  let ok = 0; // a prefix of this length applies
  let bad = events.length; // a prefix of this length does not
  let error = firstError;
  while (bad - ok > 1) {
    const mid = (ok + bad) >> 1;
    await client.query('SAVEPOINT probe');
    try {
      await p.apply(client, events.slice(0, mid));
      ok = mid;
    } catch (err) {
      if (isTransient(err)) throw err;
      bad = mid;
      error = err;
    }
    await client.query('ROLLBACK TO SAVEPOINT probe; RELEASE SAVEPOINT probe');
  }
  if (ok > 0) await p.apply(client, events.slice(0, ok));
  return { failed: events[ok], error };
}

/** Marks the model halted at this event, on its checkpoint row (in the caller's transaction). */
export async function markHalted(client: PoolClient, schema: string, eventId: string, error: unknown): Promise<void> {
  await client.query(`UPDATE "${schema}".checkpoint SET halted_event_id = $1, halted_error = $2, halted_at = now()`, [eventId, errorText(error)]);
}

/**
 * The halted read models, read from their checkpoint rows. Models whose schema does not exist
 * yet (no worker has started) are not halted; so this works before, during and after a rebuild.
 */
export async function haltedReadModels(pool: Pool | PoolClient, projections: Projection[]): Promise<HaltedReadModel[]> {
  const schemas = projections.map(schemaOf);
  const { rows: present } = await pool.query<{ schema: string }>(
    `SELECT table_schema AS schema FROM information_schema.columns
      WHERE table_name = 'checkpoint' AND column_name = 'halted_at' AND table_schema = ANY($1::text[])`,
    [schemas],
  );
  if (present.length === 0) return [];
  const byName = new Map(projections.map((p) => [schemaOf(p), p.name]));
  const { rows } = await pool.query<{ schema: string; halted_event_id: string; halted_error: string; halted_at: Date }>(
    present
      .map((r) => `SELECT '${r.schema}' AS schema, halted_event_id, halted_error, halted_at FROM "${r.schema}".checkpoint WHERE halted_at IS NOT NULL`)
      .join(' UNION ALL '),
  );
  return rows
    .map((r) => ({ name: byName.get(r.schema)!, eventId: r.halted_event_id, error: r.halted_error, haltedAt: r.halted_at }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
