/**
 * How far each read model is behind the event log, in seconds: the age of the oldest event it
 * reads that it has not applied (0 when it has applied everything). Read from its checkpoint row
 * and the log (one event per model), so any process can ask, with or without a runner of its
 * own. A halted model (halted.ts) is reported as halted, not as a lag: it stopped on purpose,
 * and /health already names it.
 */
import { Pool } from 'pg';
import { EventStore, LOG_START, LogPosition } from '../src/platform/event-store/event-store.port';
import { quoteIdent } from '../src/platform/database/pg';
import { Projection, schemaOf } from './projection';

export interface ReadModelLag {
  name: string;
  /** Seconds behind; null for a halted model. One whose schema does not exist yet (no runner has started) is behind from the first event. */
  seconds: number | null;
  halted: boolean;
}

const UNDEFINED_TABLE = '42P01';

export async function readModelLags(pool: Pool, store: EventStore, projections: Projection[], now: Date): Promise<ReadModelLag[]> {
  return Promise.all(
    projections.map(async (p): Promise<ReadModelLag> => {
      let at: LogPosition = LOG_START;
      try {
        const { rows } = await pool.query<{ log_tx: bigint; log_seq: bigint; halted: boolean }>(
          `SELECT log_tx, log_seq, halted_at IS NOT NULL AS halted FROM ${quoteIdent(schemaOf(p))}.checkpoint`,
        );
        if (rows[0]?.halted) return { name: p.name, seconds: null, halted: true };
        if (rows[0]) at = { tx: rows[0].log_tx, seq: rows[0].log_seq };
      } catch (err) {
        if ((err as { code?: string }).code !== UNDEFINED_TABLE) throw err;
      }
      const [next] = await store.readAll({ after: at, limit: 1, streamPrefixes: p.streamPrefixes });
      const seconds = next ? Math.max(0, (now.getTime() - next.recordedAt.getTime()) / 1000) : 0;
      return { name: p.name, seconds, halted: false };
    }),
  );
}
