/**
 * Planning a group commit: given the stream heads (version and last hash) a batch is written
 * against, each call's outcome (its version check, or an idempotent repeat of stored events)
 * and the rows to insert, hash-chained per stream. Shared by the one-statement path, which
 * plans against cached heads, and the locking path, which plans against locked rows.
 */
import { AppendOptions, AppendResult, EventIdConflictError, NewEvent, VersionConflictError } from '../event-store.port';
import { chainHash, GENESIS_HASH, samePayload } from '../canonical';

export interface Pending {
  streamId: string;
  events: NewEvent[];
  options: AppendOptions;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
  retried?: boolean;
}

export interface StreamHead {
  version: bigint;
  hash: Buffer;
}

export type Stored = { streamId: string; type: string; data: unknown; version: bigint };

/** One row for `events`, in the shape append_events (migrations/001, as last redefined in 028) reads; so do plannedEventsFrom's readers. */
export interface PlannedEvent {
  s: string;
  v: string;
  id: string;
  t: string;
  d: unknown;
  m: unknown;
  h: string;
}

/**
 * The rows of a jsonb array of PlannedEvents (JSON.stringify of them), as a FROM item `e` with
 * columns s, v, id, t, d, m and h (hex text: decode(e.h, 'hex') is the bytea).
 */
export const plannedEventsFrom = (param: string): string =>
  `jsonb_to_recordset(${param}::jsonb) AS e(s text, v bigint, id uuid, t text, d jsonb, m jsonb, h text)`;

export interface Plan {
  outcomes: Array<AppendResult | Error>;
  events: PlannedEvent[];
  /** Heads after the batch, for every stream in it (moved on or not). */
  heads: Map<string, StreamHead>;
  /** Streams that received events. */
  touched: Set<string>;
}

export const headOf = (version: bigint, lastHash: Buffer | null): StreamHead => ({ version, hash: lastHash ?? GENESIS_HASH });

/** An append some of whose ids are already stored: all the same → done already; else a conflict. */
export function judgeRepeat(p: Pending, prior: Array<Stored | undefined>): AppendResult | Error {
  const differs = p.events.findIndex((e, i) => !prior[i] || !samePayload(prior[i], { streamId: p.streamId, ...e }));
  if (differs !== -1) return new EventIdConflictError(p.events[differs].id);
  return { nextVersion: prior.reduce((m, k) => (k!.version > m ? k!.version : m), 0n), idempotent: true };
}

/** Plans a batch against `start` heads (not modified) and the stored events `known` by id. */
export function planBatch(batch: Pending[], start: Map<string, StreamHead>, known: Map<string, Stored>): Plan {
  const heads = new Map<string, StreamHead>();
  for (const [id, h] of start) heads.set(id, { version: h.version, hash: h.hash });
  const events: PlannedEvent[] = [];
  const touched = new Set<string>();
  const outcomes = batch.map((p): AppendResult | Error => {
    const stream = heads.get(p.streamId)!;
    const prior = p.events.map((e) => known.get(e.id));
    if (prior.some((k) => k !== undefined)) return judgeRepeat(p, prior);
    const expected = p.options.expectedVersion;
    const ok =
      expected === 'any' ||
      (expected === 'no_stream' && stream.version === 0n) ||
      (expected === 'stream_exists' && stream.version > 0n) ||
      (typeof expected === 'bigint' && expected === stream.version);
    if (!ok) return new VersionConflictError(p.streamId, expected, stream.version);
    for (const e of p.events) {
      const version = stream.version + 1n;
      const metadata = e.metadata ?? {};
      const hash = chainHash(stream.hash, { id: e.id, streamId: p.streamId, streamVersion: version, type: e.type, data: e.data, metadata });
      events.push({ s: p.streamId, v: version.toString(), id: e.id, t: e.type, d: e.data, m: metadata, h: hash.toString('hex') });
      stream.version = version;
      stream.hash = hash;
      // A later call of the same batch re-using this id is a repeat of it.
      known.set(e.id, { streamId: p.streamId, type: e.type, data: e.data, version });
    }
    touched.add(p.streamId);
    return { nextVersion: stream.version, idempotent: false };
  });
  return { outcomes, events, heads, touched };
}
