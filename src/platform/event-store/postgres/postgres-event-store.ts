/**
 * Postgres adapter of the event store (the default).
 *
 * Appends are group-committed: calls that arrive while a batch is being written wait for the
 * next batch, and a batch is one transaction for many streams. Each call keeps its own version
 * check, idempotency check and result; one call that conflicts fails alone. Stream rows are
 * locked in stream-id order, so two batches touching the same streams never deadlock.
 */
import { Pool, PoolClient, types } from 'pg';
import {
  AppendOptions,
  AppendResult,
  EventIdConflictError,
  EventStore,
  JsonObject,
  LOG_START,
  LogPosition,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
  VersionConflictError,
} from '../event-store.port';
import { chainHash, GENESIS_HASH, samePayload } from '../canonical';
import { validateAppend } from '../validate';
import { PollingSubscription } from '../polling-subscription';

// xid8 (oid 5069) as bigint, like int8.
types.setTypeParser(5069 as number, (v: string) => BigInt(v));

const NOTIFY_CHANNEL = 'tollgate_events';

interface Pending {
  streamId: string;
  events: NewEvent[];
  options: AppendOptions;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

interface Row {
  global_position: bigint;
  transaction_id: bigint;
  stream_id: string;
  stream_version: bigint;
  event_id: string;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
  hash: Buffer;
  recorded_at: Date;
}

const COLUMNS =
  'global_position, transaction_id, stream_id, stream_version, event_id, type, data, metadata, hash, recorded_at';

function toRecorded(r: Row): RecordedEvent {
  return {
    id: r.event_id,
    type: r.type,
    data: r.data,
    metadata: r.metadata,
    streamId: r.stream_id,
    streamVersion: r.stream_version,
    position: { tx: r.transaction_id, seq: r.global_position },
    hash: r.hash.toString('hex'),
    recordedAt: r.recorded_at,
  };
}

type Stored = { streamId: string; type: string; data: unknown; version: bigint };

/** An append some of whose ids are already stored: all the same → done already; else a conflict. */
function judgeRepeat(p: Pending, prior: Array<Stored | undefined>): AppendResult | Error {
  const differs = p.events.findIndex((e, i) => !prior[i] || !samePayload(prior[i]!, { streamId: p.streamId, ...e }));
  if (differs !== -1) return new EventIdConflictError(p.events[differs].id);
  return { nextVersion: prior.reduce((m, k) => (k!.version > m ? k!.version : m), 0n), idempotent: true };
}

function isEventIdViolation(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === 'events_event_id_unique';
}

/** Stream-id prefixes as LIKE patterns, or null for "every stream". */
function likePatterns(prefixes?: string[]): string[] | null {
  return prefixes?.length ? prefixes.map((p) => p.replace(/[\\%_]/g, (c) => `\\${c}`) + '%') : null;
}

export interface PostgresEventStoreOptions {
  /** Most calls in one batch transaction. */
  maxBatch?: number;
  /** Batches written at the same time (each on its own connection). */
  concurrency?: number;
  /** How often a subscription polls when nothing wakes it. */
  pollMs?: number;
}

export class PostgresEventStore implements EventStore {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly concurrency: number;
  private readonly pollMs: number;
  private readonly subscriptions = new Set<PollingSubscription>();
  private listener: PoolClient | undefined;
  private listenerStarting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.concurrency = options.concurrency ?? 2;
    this.pollMs = options.pollMs ?? 100;
  }

  append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    try {
      validateAppend(streamId, events);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ streamId, events, options, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      void this.commit(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async commit(batch: Pending[], checkIds = false): Promise<void> {
    let outcomes: Array<AppendResult | Error>;
    try {
      outcomes = await this.writeBatch(batch, checkIds);
    } catch (err) {
      if (!checkIds && isEventIdViolation(err)) {
        // Some event id is already in the log: a retry. Write the batch again, this time
        // looking up its ids first, so each call learns exists / exists_with_different.
        await this.commit(batch, true);
        return;
      }
      if (batch.length > 1) {
        // Something failed for the batch as a whole (say another instance inserted one of our
        // event ids a moment ago). Write each call alone so only the culprit fails.
        await Promise.all(batch.map((p) => this.commit([p])));
        return;
      }
      if (isEventIdViolation(err) && !(batch[0] as Pending & { retried?: boolean }).retried) {
        // Another writer inserted one of our ids after we looked: look again, once.
        (batch[0] as Pending & { retried?: boolean }).retried = true;
        await this.commit(batch, true);
        return;
      }
      batch[0].reject(err as Error);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i];
      if (o instanceof Error) p.reject(o);
      else p.resolve(o);
    });
  }

  /**
   * One transaction for the whole batch; returns each call's own outcome. Event ids are looked
   * up only when asked: most appends are new, and the unique index catches the rest.
   */
  private async writeBatch(batch: Pending[], checkIds: boolean): Promise<Array<AppendResult | Error>> {
    const streamIds = [...new Set(batch.map((p) => p.streamId))].sort();
    const eventIds = batch.flatMap((p) => p.events.map((e) => e.id));
    const client = await this.pool.connect();
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
      const streams = new Map(
        locked.rows.map((r) => [r.stream_id, { version: r.version, hash: r.last_hash ?? GENESIS_HASH }]),
      );
      const existing = checkIds
        ? await client.query<{ event_id: string; stream_id: string; type: string; data: JsonObject; stream_version: bigint }>(
            'SELECT event_id, stream_id, type, data, stream_version FROM events WHERE event_id = ANY($1::uuid[])',
            [eventIds],
          )
        : { rows: [] };
      const known = new Map<string, { streamId: string; type: string; data: unknown; version: bigint }>(
        existing.rows.map((r) => [r.event_id, { streamId: r.stream_id, type: r.type, data: r.data, version: r.stream_version }]),
      );

      const ins = { stream: [] as string[], version: [] as string[], id: [] as string[], type: [] as string[], data: [] as string[], meta: [] as string[], hash: [] as Buffer[] };
      const touched = new Set<string>();
      const outcomes = batch.map((p): AppendResult | Error => {
        const stream = streams.get(p.streamId)!;
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
          ins.stream.push(p.streamId);
          ins.version.push(version.toString());
          ins.id.push(e.id);
          ins.type.push(e.type);
          ins.data.push(JSON.stringify(e.data));
          ins.meta.push(JSON.stringify(metadata));
          ins.hash.push(hash);
          stream.version = version;
          stream.hash = hash;
          known.set(e.id, { streamId: p.streamId, type: e.type, data: e.data, version });
        }
        touched.add(p.streamId);
        return { nextVersion: stream.version, idempotent: false };
      });

      if (!checkIds) await this.recheckConflicts(client, batch, outcomes);

      if (ins.id.length > 0) {
        await client.query(
          `INSERT INTO events (stream_id, stream_version, event_id, type, data, metadata, hash)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[], $7::bytea[])`,
          [ins.stream, ins.version, ins.id, ins.type, ins.data, ins.meta, ins.hash],
        );
        const ids = [...touched];
        await client.query(
          `UPDATE event_streams s SET version = v.version, last_hash = v.hash
           FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS v(stream_id, version, hash)
           WHERE s.stream_id = v.stream_id`,
          [ids, ids.map((id) => streams.get(id)!.version.toString()), ids.map((id) => streams.get(id)!.hash)],
        );
        // The notification is delivered only if and when the transaction commits.
        await client.query(`SELECT pg_notify('${NOTIFY_CHANNEL}', ''); COMMIT`);
      } else {
        await client.query('COMMIT');
      }
      return outcomes;
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
  private async recheckConflicts(client: PoolClient, batch: Pending[], outcomes: Array<AppendResult | Error>): Promise<void> {
    const failed = batch.flatMap((p, i) => (outcomes[i] instanceof VersionConflictError ? [i] : []));
    if (failed.length === 0) return;
    const ids = failed.flatMap((i) => batch[i].events.map((e) => e.id));
    const { rows } = await client.query<{ event_id: string; stream_id: string; type: string; data: JsonObject; stream_version: bigint }>(
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

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2
       ORDER BY stream_version LIMIT $3`,
      [streamId, (options.afterVersion ?? 0n).toString(), options.limit ?? 1_000_000_000],
    );
    return rows.map(toRecorded);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? LOG_START;
    const prefixes = likePatterns(options.streamPrefixes);
    // events_after (migrations/001) reads only below pg_snapshot_xmin: a later position may
    // commit before an earlier one, and readers must wait for the earlier one.
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM events_after($1::text::xid8, $2::bigint, $3::integer, $4::text[])`,
      [after.tx.toString(), after.seq.toString(), options.limit ?? 1000, prefixes],
    );
    return rows.map(toRecorded);
  }

  subscribe(options: SubscribeOptions): Subscription {
    const sub = new PollingSubscription(this, options, this.pollMs, () => this.subscriptions.delete(sub));
    this.subscriptions.add(sub);
    void this.ensureListener();
    sub.start();
    return sub;
  }

  /** One LISTEN connection per store wakes every subscription as soon as a batch commits. */
  private ensureListener(): Promise<void> {
    if (this.listener || this.listenerStarting) return this.listenerStarting ?? Promise.resolve();
    this.listenerStarting = (async () => {
      try {
        const client = await this.pool.connect();
        client.on('notification', () => this.subscriptions.forEach((s) => s.wake()));
        client.on('error', () => {
          this.listener = undefined;
        });
        await client.query(`LISTEN ${NOTIFY_CHANNEL}`);
        this.listener = client;
      } catch {
        // Polling still delivers every event; the listener only makes it sooner.
      } finally {
        this.listenerStarting = undefined;
      }
    })();
    return this.listenerStarting;
  }

  async getEvent(id: string): Promise<RecordedEvent | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM events WHERE event_id = $1`, [id]);
    return rows[0] ? toRecorded(rows[0]) : null;
  }

  async headPosition(streamPrefixes?: string[]): Promise<LogPosition> {
    const { rows } = await this.pool.query<{ transaction_id: bigint; global_position: bigint }>(
      `SELECT transaction_id, global_position FROM events
        WHERE ($1::text[] IS NULL OR stream_id LIKE ANY($1::text[]))
        ORDER BY transaction_id DESC, global_position DESC LIMIT 1`,
      [likePatterns(streamPrefixes)],
    );
    return rows[0] ? { tx: rows[0].transaction_id, seq: rows[0].global_position } : LOG_START;
  }

  async streamVersion(streamId: string): Promise<bigint> {
    const { rows } = await this.pool.query<{ version: bigint }>(
      'SELECT version FROM event_streams WHERE stream_id = $1',
      [streamId],
    );
    return rows[0]?.version ?? 0n;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    while (this.inFlight > 0 || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    if (this.listenerStarting) await this.listenerStarting;
    if (this.listener) {
      await this.listener.query(`UNLISTEN ${NOTIFY_CHANNEL}`).catch(() => undefined);
      this.listener.release();
      this.listener = undefined;
    }
  }
}
