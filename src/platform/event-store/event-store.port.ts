/**
 * The event store port. Two adapters implement it (Postgres, the default; EventStoreDB when
 * EVENTSTORE_URL is set) and one contract suite (test/integration/event-store.contract.ts)
 * holds both to the same behaviour.
 *
 * - Event ids are chosen by the caller. Appending an id that already exists with the same
 *   stream, type and data is a no-op success; with anything different it is a conflict
 *   (TigerBeetle's `exists` / `exists_with_different`). Metadata (timestamps, actor) is not
 *   compared, so a retry made later by the same command still counts as the same event.
 * - A stream's version is the number of events in it; the first event has version 1.
 */
import { DomainError } from '../../shared/domain-error';

export type JsonObject = { [key: string]: unknown };

export interface NewEvent {
  id: string; // uuid
  type: string;
  data: JsonObject;
  metadata?: JsonObject;
}

/** Where an event sits in the whole log. Postgres: (transaction id, global position). ESDB: (commit, prepare). */
export interface LogPosition {
  tx: bigint;
  seq: bigint;
}
export const LOG_START: LogPosition = Object.freeze({ tx: 0n, seq: 0n });

export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.tx !== b.tx) return a.tx < b.tx ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

export interface RecordedEvent {
  id: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  streamId: string;
  streamVersion: bigint;
  position: LogPosition;
  hash: string; // hex sha256(prev_hash || canonical(event))
  recordedAt: Date;
}

/** bigint: the stream must have exactly that many events (0n: none yet). */
export type ExpectedVersion = bigint | 'any' | 'no_stream' | 'stream_exists';

export interface AppendOptions {
  expectedVersion: ExpectedVersion;
  /**
   * Rows of plain tables to insert in the append's own transaction: committed if and only if
   * the events are (a request's log row with its settle). An adapter that cannot (EventStoreDB)
   * leaves them out and says so (`alongsideWritten` false): the caller writes them itself. Rows
   * whose insert Postgres refuses for their data never cost the events: the append is written
   * without them, and says so.
   */
  alongside?: SideRows[];
}

/**
 * Rows for one table, written beside an append. `writer` is the table owner's (a repository
 * class): its SQL, not the event store's, says how a row becomes a tuple.
 */
export interface SideRows {
  writer: SideWriter;
  rows: JsonObject[];
}

export interface SideWriter {
  /** Stable and unique per table: names the prepared statement the writer's SQL is part of. */
  name: string;
  /**
   * An INSERT taking its rows, one JSON object each, from `source`: a subquery (SQL text)
   * yielding one json column `j`. It must skip rows already there (a replay).
   */
  insert(source: string): string;
}

export interface AppendResult {
  /** The stream's version after the append (or, for an idempotent replay, after the original). */
  nextVersion: bigint;
  /** True when every event already existed with the same payload and nothing was written. */
  idempotent: boolean;
  /** True when the `alongside` rows were committed in the same transaction as the events. */
  alongsideWritten?: boolean;
}

export interface ReadStreamOptions {
  /** Only events with a version greater than this (default 0n: from the start). */
  afterVersion?: bigint;
  limit?: number;
}

export interface ReadAllOptions {
  after?: LogPosition;
  limit?: number;
  /** Only streams whose id starts with one of these. */
  streamPrefixes?: string[];
}

export interface SubscribeOptions extends ReadAllOptions {
  /** Receives events in log order, at most `limit` at a time; the next batch waits for it. */
  onEvents: (events: RecordedEvent[]) => Promise<void>;
  onError?: (err: Error) => void;
}

export interface Subscription {
  /** Resolves once the subscription has delivered everything in the log when called. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

export interface EventStore {
  append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** Catch-up subscription: reads history from `after`, then follows new events. */
  subscribe(options: SubscribeOptions): Subscription;
  getEvent(id: string): Promise<RecordedEvent | null>;
  /**
   * The position of the last committed event (optionally of streams with these prefixes),
   * whether or not readers of the whole log may see it yet; LOG_START for an empty log.
   */
  headPosition(streamPrefixes?: string[]): Promise<LogPosition>;
  /** The current version of a stream (0n when it has no events). */
  streamVersion(streamId: string): Promise<bigint>;
  /**
   * How many events the streams whose id starts with `streamPrefix` hold, for progress bars:
   * exact on Postgres, an estimate on EventStoreDB (see that adapter), never a reason to stop.
   */
  countEvents(streamPrefix: string): Promise<number>;
  close(): Promise<void>;
}

export const EVENT_STORE = Symbol('EVENT_STORE');

export class VersionConflictError extends DomainError<'version_conflict', { streamId: string; expected: ExpectedVersion; actual: bigint }> {
  override readonly name = 'VersionConflictError';
  override readonly showsCode = false;

  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: bigint,
  ) {
    super('version_conflict', `stream ${streamId} is at version ${actual}, expected ${String(expected)}`, { streamId, expected, actual });
  }
}

/** Code as TigerBeetle names the case: the id exists, with a different stream, type or payload. */
export class EventIdConflictError extends DomainError<'event_exists_with_different', { eventId: string }> {
  override readonly name = 'EventIdConflictError';
  override readonly showsCode = false;

  constructor(readonly eventId: string) {
    super('event_exists_with_different', `event ${eventId} already exists with a different stream, type or payload`, { eventId });
  }
}
