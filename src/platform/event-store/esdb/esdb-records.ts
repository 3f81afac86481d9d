/**
 * What the EventStoreDB adapter's parts share: how an ESDB record becomes our RecordedEvent,
 * which streams of `$all` are Tollgate's, and stream reads that treat "no stream" as empty.
 */
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  Position,
  StreamNotFoundError,
} from '@eventstore/db-client';
import { JsonObject, LOG_START, LogPosition, RecordedEvent } from '../event-store.port';

/** Metadata key holding the event's chain hash. Taken out again on read, so callers never see it. */
export const HASH_KEY = '$tollgate_hash';

/** Streams holding event-id claims (esdb-id-claims.ts): in `$all`, but never Tollgate events. */
export const CLAIM_STREAM_PREFIX = 'tollgate-eventid-';

/** The parts of an ESDB record we read; the client's own type is a union over JSON and binary. */
export interface EsdbRecord {
  streamId: string;
  id: string;
  revision: bigint;
  type: string;
  isJson: boolean;
  created: Date;
  data: unknown;
  metadata: unknown;
  position?: Position;
}

const isObject = (v: unknown): v is JsonObject =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);

export function fromEsdbPosition(p: Position): LogPosition {
  return { tx: p.commit, seq: p.prepare };
}

export function toEsdbPosition(p: LogPosition): Position {
  return { commit: p.tx, prepare: p.seq };
}

export function isStart(p: LogPosition | undefined): boolean {
  return !p || (p.tx === LOG_START.tx && p.seq === LOG_START.seq);
}

/** Not a system stream ($…), not a claim, not a system event type, and under one of the prefixes. */
export function isTollgateEvent(r: { streamId: string; type: string }, prefixes?: string[]): boolean {
  if (r.streamId.startsWith('$') || r.type.startsWith('$') || r.streamId.startsWith(CLAIM_STREAM_PREFIX)) return false;
  return !prefixes?.length || prefixes.some((p) => r.streamId.startsWith(p));
}

export function toRecorded(r: EsdbRecord): RecordedEvent {
  if (!r.position) {
    // Stream reads carry positions only from server 22.6 on; without them positions would be
    // made up, and checkpoints built on them would be wrong.
    throw new Error(`EventStoreDB returned no position for event ${r.id}: server 22.6 or later is required`);
  }
  const metadata: JsonObject = isObject(r.metadata) ? { ...r.metadata } : {};
  const hash = typeof metadata[HASH_KEY] === 'string' ? metadata[HASH_KEY] : '';
  delete metadata[HASH_KEY];
  return {
    id: r.id,
    type: r.type,
    data: r.isJson && isObject(r.data) ? r.data : {},
    metadata,
    streamId: r.streamId,
    streamVersion: r.revision + 1n,
    position: fromEsdbPosition(r.position),
    hash,
    recordedAt: r.created,
  };
}

/** Reads part of a stream (raw records); a stream that does not exist reads as empty. */
export async function readRecords(
  client: EventStoreDBClient,
  streamId: string,
  from: bigint | 'end',
  maxCount: number | bigint,
  direction: typeof FORWARDS | typeof BACKWARDS = FORWARDS,
): Promise<EsdbRecord[]> {
  const out: EsdbRecord[] = [];
  try {
    for await (const resolved of client.readStream(streamId, {
      fromRevision: from === 'end' ? END : from,
      maxCount,
      direction,
    })) {
      if (resolved.event) out.push(resolved.event);
    }
  } catch (err) {
    if (err instanceof StreamNotFoundError) return [];
    throw err;
  }
  return out;
}

/** The last record of a stream, or null when it has none. */
export async function lastRecord(client: EventStoreDBClient, streamId: string): Promise<EsdbRecord | null> {
  const [last] = await readRecords(client, streamId, 'end', 1, BACKWARDS);
  return last ?? null;
}
