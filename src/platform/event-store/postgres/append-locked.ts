/**
 * The careful path of a group commit, for batches that hit an event id already in the log: one
 * transaction that locks the streams (in id order, so batches never deadlock), looks every event
 * id up first, and so gives each call its own answer (exists / exists with a different payload).
 */
import { Pool, PoolClient } from 'pg';
import { AppendResult, JsonObject, VersionConflictError } from '../event-store.port';
import { Pending, Plan, Stored, headOf, judgeRepeat, planBatch, plannedEventsFrom } from './append-plan';
import { sideGroups } from './append-alongside';

/** Writes a batch in one transaction; returns the plan it carried out. */
export async function writeLocked(pool: Pool, batch: Pending[]): Promise<Plan> {
  const streamIds = [...new Set(batch.map((p) => p.streamId))].sort();
  const eventIds = batch.flatMap((p) => p.events.map((e) => e.id));
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      'INSERT INTO event_streams (stream_id) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT DO NOTHING',
      [streamIds],
    );
    const locked = await client.query<{ stream_id: string; version: bigint; last_hash: Buffer | null }>(
      'SELECT stream_id, version, last_hash FROM event_streams WHERE stream_id = ANY($1::text[]) ORDER BY stream_id FOR UPDATE',
      [streamIds],
    );
    const existing = await client.query<{ event_id: string; stream_id: string; type: string; data: JsonObject; stream_version: bigint }>(
      'SELECT event_id, stream_id, type, data, stream_version FROM events WHERE event_id = ANY($1::uuid[])',
      [eventIds],
    );
    const known = new Map<string, Stored>(
      existing.rows.map((r) => [r.event_id, { streamId: r.stream_id, type: r.type, data: r.data, version: r.stream_version }]),
    );
    const plan = planBatch(batch, new Map(locked.rows.map((r) => [r.stream_id, headOf(r.version, r.last_hash)])), known);

    if (plan.events.length > 0) {
      const ev = plan.events;
      // One jsonb parameter, not an array per column: see append-one-stream.ts.
      await client.query(
        `INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata, hash)
         SELECT e.s, e.v, e.id, e.t, e.d, e.m, decode(e.h, 'hex') FROM ${plannedEventsFrom('$1')}`,
        [JSON.stringify(ev)],
      );
      const ids = [...plan.touched];
      await client.query(
        `UPDATE event_streams s SET version = v.version, last_hash = v.hash
         FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS v(stream_id, version, hash)
         WHERE s.stream_id = v.stream_id`,
        [ids, ids.map((id) => plan.heads.get(id)!.version.toString()), ids.map((id) => plan.heads.get(id)!.hash)],
      );
    }
    // Side rows of the calls written, or found written already (a retry: the rows skip what is there).
    for (const g of sideGroups(batch, plan.outcomes)) {
      await client.query(g.writer.insert('SELECT j FROM json_array_elements($1::json) AS t(j)'), [JSON.stringify(g.rows)]);
    }
    await client.query('COMMIT');
    return plan;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * An append that failed its version check may be a retry whose events are already in the
 * log; without the up-front id lookup, look up just those now and answer them as such.
 */
export async function recheckConflicts(db: Pool | PoolClient, batch: Pending[], outcomes: Array<AppendResult | Error | undefined>): Promise<void> {
  const failed = batch.flatMap((_p, i) => (outcomes[i] instanceof VersionConflictError ? [i] : []));
  if (failed.length === 0) return;
  const ids = failed.flatMap((i) => batch[i].events.map((e) => e.id));
  const { rows } = await db.query<{ event_id: string; stream_id: string; type: string; data: JsonObject; stream_version: bigint }>(
    'SELECT event_id, stream_id, type, data, stream_version FROM events WHERE event_id = ANY($1::uuid[])',
    [ids],
  );
  if (rows.length === 0) return;
  const found = new Map(rows.map((r) => [r.event_id, r]));
  for (const i of failed) {
    const p = batch[i];
    const prior = p.events.map((e) => {
      const r = found.get(e.id);
      return r && { streamId: r.stream_id, type: r.type, data: r.data, version: r.stream_version };
    });
    if (prior.some((r) => r !== undefined)) outcomes[i] = judgeRepeat(p, prior);
  }
}
