/**
 * A group commit whose calls are all for one stream (every append when the store is not busy,
 * and a hot account's lane): one prepared statement instead of append_events.
 *
 * Why (issue 23, measured by `npm run bench:append`): append_events takes its input as JSON,
 * runs five statements inside PL/pgSQL and sets three planner options per call, and the outer
 * statement is parsed and planned on every call. For one stream that machinery was most of
 * what an append cost beyond its commit. Here the stream's head is moved and its events are
 * inserted by one statement, prepared once per connection, with the same guarantee: the events
 * are written only if the stream's row still holds the head they were planned against (the
 * UPDATE locks the row, waits for a writer that holds it, and checks again after it commits).
 *
 * A stream believed new gets its row by an upsert that moves it only while it is still at
 * version 0, so two writers creating one stream at once cannot both succeed.
 */
import { Pool } from 'pg';
import { PlannedEvent, StreamHead, plannedEventsFrom } from './append-plan';
import { SideGroup, sideCtes } from './append-alongside';

/**
 * The events as one jsonb parameter, the PlannedEvents' JSON (however many events). Not one
 * array per column: pg writes a JS array as an array literal, escaping every element (each
 * event's data and metadata as JSON text, quotes and all) in JavaScript: 5.6 KiB allocated per
 * one-event append, against 1.2 KiB for JSON.stringify of the planned events, one native call
 * (npm run bench:ledger-round, its pieces). jsonb_to_recordset costs Postgres no more than the
 * six array literals did (the same bench's Postgres CPU per round; issue 23).
 */
const EVENTS_FROM_JSON = (param: number) => `INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata, hash)
  SELECT $1, e.v, e.id, e.t, e.d, e.m, decode(e.h, 'hex')
    FROM ${plannedEventsFrom(`$${param}`)}
   WHERE EXISTS (SELECT FROM head)`;

/** A stream with events: moves from the believed head ($2 version, $3 hash) to ($4, $5). */
const MOVE_EXISTING = {
  name: 'tollgate-append-one-stream',
  text: `WITH head AS (
  UPDATE event_streams SET version = $4, last_hash = $5
   WHERE stream_id = $1 AND version = $2 AND last_hash = $3
  RETURNING 1
), appended AS (
  ${EVENTS_FROM_JSON(6)}
)
SELECT count(*)::int AS moved FROM head`,
};

/**
 * A stream believed to have no events: created at ($2, $3), or moved there from a row still at
 * version 0 (a row an earlier failed append left; its hash is not compared: before 028 such a
 * row could hold a zero hash rather than null, and a stream at version 0 has no chain to check).
 */
const MOVE_NEW = {
  name: 'tollgate-append-new-stream',
  text: `WITH head AS (
  INSERT INTO event_streams AS s (stream_id, version, last_hash) VALUES ($1, $2, $3)
  ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, last_hash = excluded.last_hash
   WHERE s.version = 0
  RETURNING 1
), appended AS (
  ${EVENTS_FROM_JSON(4)}
)
SELECT count(*)::int AS moved FROM head`,
};

/**
 * The statement with side rows (append-alongside.ts) inserted by the same statement, only when
 * the head moved: CTEs between the events' and the final SELECT. One prepared statement per set
 * of writers; `first` is its first free parameter.
 */
function withSide(base: { name: string; text: string }, first: number, side: SideGroup[]): { name: string; text: string; sideValues: string[] } {
  if (side.length === 0) return { ...base, sideValues: [] };
  const ctes = sideCtes(side, first, (param) => `SELECT j FROM json_array_elements(${param}) AS t(j) WHERE EXISTS (SELECT FROM head)`);
  const name = base.name + ctes.name;
  let text = withSideTexts.get(name);
  if (text === undefined) {
    const at = base.text.lastIndexOf('\nSELECT count(*)');
    withSideTexts.set(name, (text = base.text.slice(0, at) + ctes.sql + base.text.slice(at)));
  }
  return { name, text, sideValues: ctes.values };
}

const withSideTexts = new Map<string, string>();

/**
 * Writes `events` (all of `streamId`) and moves the stream's head from `was` to `now`, in one
 * statement and one implicit transaction. Resolves false, writing nothing, when the stream's
 * row no longer holds `was` (another writer moved it); throws what Postgres refused (an event
 * id already in the log: the caller's careful path sorts that out).
 */
export async function writeOneStream(pool: Pool, streamId: string, was: StreamHead, now: StreamHead, events: PlannedEvent[], side: SideGroup[] = []): Promise<boolean> {
  const planned = JSON.stringify(events);
  // A stream at version 0 has no last hash (null), whatever the genesis hash its chain starts from.
  const nowHash = now.version === 0n ? null : now.hash;
  const { rows } =
    was.version === 0n
      ? await query(pool, withSide(MOVE_NEW, 5, side), [streamId, now.version.toString(), nowHash, planned])
      : await query(pool, withSide(MOVE_EXISTING, 7, side), [streamId, was.version.toString(), was.hash, now.version.toString(), nowHash, planned]);
  return rows[0].moved === 1;
}

function query(pool: Pool, s: { name: string; text: string; sideValues: string[] }, values: unknown[]) {
  return pool.query<{ moved: number }>({ name: s.name, text: s.text, values: [...values, ...s.sideValues] });
}

/** The stream's head as stored (version 0 and the genesis hash when it has no row). */
export async function readHead(pool: Pool, streamId: string): Promise<{ version: bigint; lastHash: Buffer | null }> {
  const { rows } = await pool.query<{ version: bigint; last_hash: Buffer | null }>('SELECT version, last_hash FROM event_streams WHERE stream_id = $1', [streamId]);
  return { version: rows[0]?.version ?? 0n, lastHash: rows[0]?.last_hash ?? null };
}
