/**
 * Postgres adapter of the event store (the default).
 *
 * Appends are group-committed: calls that arrive while a batch is being written wait for the
 * next batch, and a batch is one transaction for many streams. Each call keeps its own version
 * check, idempotency check and result; one call that conflicts fails alone. Stream rows are
 * locked in stream-id order, so two batches touching the same streams never deadlock.
 *
 * A batch is usually one statement: the store remembers each stream's head (version, last
 * hash), hashes the new events from it, and the statement writes them only if the locked heads
 * are still those; otherwise those calls are planned again from the real heads. A batch for one
 * stream is a prepared statement of its own (append-one-stream.ts); a batch for several is
 * append_events (migrations/001; its current body is 028). A batch that meets an existing event id is written again on the
 * careful path (append-locked.ts).
 *
 * A call may bring rows of plain tables to insert in the same transaction (`alongside`,
 * append-alongside.ts): a request's log row with its settle. Each path writes the rows of the
 * calls it writes, in the same statement or transaction; a batch Postgres refuses because of
 * such a row is written again without any (the events never wait on a side row).
 */
import { Pool, PoolClient, types } from 'pg';
import {
  AppendOptions,
  AppendResult,
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
} from '../event-store.port';
import { Pending, StreamHead, headOf, planBatch } from './append-plan';
import { recheckConflicts, writeLocked } from './append-locked';
import { readHead, writeOneStream } from './append-one-stream';
import { isDataError } from '../../database/pg-unavailable';
import { carriesSideRows, markWritten, sideCtes, sideGroups, withoutSideRows } from './append-alongside';
import { validateAppend } from '../validate';
import { PollingSubscription } from '../polling-subscription';

// xid8 (oid 5069) as bigint, like int8.
types.setTypeParser(5069 as number, (v: string) => BigInt(v));

const NOTIFY_CHANNEL = 'tollgate_events';
const NOTIFY_INTERVAL_MS = 10;

/**
 * The columns of a recorded event, fetched as arrays (no per-row key objects). The hash comes as
 * hex text and the time as epoch milliseconds: parsing bytea and timestamptz text costs more than
 * the rest of the row together. floor() of the epoch is what parsing the text gives (a Date
 * drops the microseconds). date_part's float8 rather than extract's numeric: a fifth of what the
 * server spent per row read (numeric arithmetic), and exact here: its error (under 0.0004 ms for
 * any date of this millennium) is less than the 0.001 ms between a microsecond and the next
 * millisecond (checked equal to the numeric form on two million instants covering every
 * microsecond of a millisecond; test/integration/event-store pins the .999999 case).
 */
const COLUMNS = `global_position, transaction_id, stream_id, stream_version, event_id, type, data, metadata,
  encode(hash, 'hex'), floor(date_part('epoch', recorded_at) * 1000)`;

type Row = [bigint, bigint, string, bigint, string, string, JsonObject, JsonObject, string, number];

function toRecorded(r: Row): RecordedEvent {
  return {
    id: r[4],
    type: r[5],
    data: r[6],
    metadata: r[7],
    streamId: r[2],
    streamVersion: r[3],
    position: { tx: r[1], seq: r[0] },
    hash: r[8],
    recordedAt: new Date(r[9]),
  };
}

function isEventIdViolation(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === 'events_event_id_unique';
}

/** Stream-id prefixes as LIKE patterns, or null for "every stream". */
function likePatterns(prefixes?: string[]): string[] | null {
  return prefixes?.length ? prefixes.map((p) => p.replace(/[\\%_]/g, (c) => `\\${c}`) + '%') : null;
}

/**
 * Streams not worth a read before their append: every call for them expects no stream (a new
 * payment's stream, a new account), so only a new stream lets them succeed. Planned as new;
 * when one was not, the write finds its head moved and the calls are planned again from the
 * head it then knows (a read that the usual case saves).
 */
function assumedNew(batch: Pending[]): Set<string> {
  const ids = new Set<string>();
  const not = new Set<string>();
  for (const p of batch) (p.options.expectedVersion === 'no_stream' ? ids : not).add(p.streamId);
  for (const id of not) ids.delete(id);
  return ids;
}

export interface PostgresEventStoreOptions {
  /** Most calls in one batch transaction. */
  maxBatch?: number;
  /** Batches written at the same time (each on its own connection). */
  concurrency?: number;
  /** How often a subscription polls when nothing wakes it. */
  pollMs?: number;
  /** Stream heads remembered between appends (each saves a read before the stream's next append). */
  maxCachedHeads?: number;
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
  /** Stream heads as this store last wrote or read them; append_events checks them. */
  private readonly heads = new Map<string, StreamHead>();
  private readonly maxCachedHeads: number;
  private notifying: Promise<void> | undefined;
  private notifyAgain = false;

  constructor(
    private readonly pool: Pool,
    options: PostgresEventStoreOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 500;
    this.concurrency = options.concurrency ?? 2;
    this.pollMs = options.pollMs ?? 100;
    this.maxCachedHeads = options.maxCachedHeads ?? 100_000;
  }

  append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('event store is closed'));
    try {
      validateAppend(streamId, events);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
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
    let outcomes: Array<AppendResult | Error | undefined>;
    try {
      outcomes = checkIds ? await this.writeLocked(batch) : await this.writeFast(batch);
    } catch (err) {
      this.forgetHeads(batch);
      if (!isEventIdViolation(err) && isDataError(err) && carriesSideRows(batch)) {
        // A side row Postgres refuses (its data) must not cost the events: write them without
        // the rows, whose callers learn so (alongsideWritten false) and write them their own way.
        withoutSideRows(batch);
        await this.commit(batch, checkIds);
        return;
      }
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
      if (isEventIdViolation(err) && !batch[0].retried) {
        // Another writer inserted one of our ids after we looked: look again, once.
        batch[0].retried = true;
        await this.commit(batch, true);
        return;
      }
      batch[0].reject(err as Error);
      return;
    }
    const again: Pending[] = [];
    batch.forEach((p, i) => {
      const o = outcomes[i];
      if (o === undefined) again.push(p);
      else if (o instanceof Error) p.reject(o);
      else p.resolve(o);
    });
    // Planned against a stale head (another writer moved the stream): plan again, first.
    if (again.length > 0) this.queue.unshift(...again);
  }

  /**
   * The usual path: one statement (append_events, migrations/028) against the stream heads this
   * store last saw, read once for streams it has not seen (but see assumedNew). Returns each call's outcome, or
   * undefined for calls on streams whose head had moved (the heads are refreshed meanwhile).
   */
  private async writeFast(batch: Pending[]): Promise<Array<AppendResult | Error | undefined>> {
    const streamIds = [...new Set(batch.map((p) => p.streamId))].sort();
    if (streamIds.length === 1) return this.writeOne(batch, streamIds[0]);
    const start = new Map<string, StreamHead>();
    const unseen: string[] = [];
    const assumed = assumedNew(batch);
    for (const id of streamIds) {
      const head = this.heads.get(id);
      if (head) start.set(id, head);
      else if (assumed.has(id)) start.set(id, headOf(0n, null)); // append_events says if it was not
      else unseen.push(id);
    }
    if (unseen.length > 0) {
      const { rows } = await this.pool.query<{ stream_id: string; version: bigint; last_hash: Buffer | null }>(
        'SELECT stream_id, version, last_hash FROM event_streams WHERE stream_id = ANY($1::text[])',
        [unseen],
      );
      for (const id of unseen) start.set(id, headOf(0n, null));
      for (const r of rows) start.set(r.stream_id, headOf(r.version, r.last_hash));
    }
    const plan = planBatch(batch, start, new Map());
    const heads = streamIds.map((id) => {
      const [was, now] = [start.get(id)!, plan.heads.get(id)!];
      // A stream left at version 0 (its calls failed) keeps a null hash: see migrations/028.
      return { s: id, v: was.version.toString(), h: was.version === 0n ? null : was.hash.toString('hex'), nv: now.version.toString(), nh: now.version === 0n ? null : now.hash.toString('hex') };
    });
    // Prepared once per connection: parsing and planning even this one call each time was a
    // measurable part of a batch (bench:append's method, on batches of one). Side rows go in
    // the same statement, those of calls on a stream append_events found moved left out.
    const side = sideGroups(batch, plan.outcomes, true);
    const ctes = sideCtes(side, 3, (param) => `SELECT x->'r' AS j FROM json_array_elements(${param}) AS t(x)
   WHERE NOT EXISTS (SELECT FROM a WHERE a.stale_stream = x->>'s')`);
    const { rows } = await this.pool.query<{ stale_stream: string; stale_version: bigint; stale_hash: Buffer | null }>(
      side.length === 0
        ? {
            name: 'tollgate-append-events',
            text: 'SELECT stale_stream, stale_version, stale_hash FROM append_events($1::json, $2::json)',
            values: [JSON.stringify(heads), JSON.stringify(plan.events)],
          }
        : {
            name: `tollgate-append-events${ctes.name}`,
            text: `WITH a AS MATERIALIZED (SELECT stale_stream, stale_version, stale_hash FROM append_events($1::json, $2::json))${ctes.sql}
SELECT stale_stream, stale_version, stale_hash FROM a`,
            values: [JSON.stringify(heads), JSON.stringify(plan.events), ...ctes.values],
          },
    );
    const stale = new Map(rows.map((r) => [r.stale_stream, headOf(r.stale_version, r.stale_hash)]));
    for (const id of streamIds) this.remember(id, stale.get(id) ?? plan.heads.get(id)!);
    if ([...plan.touched].some((id) => !stale.has(id))) this.notify();
    const outcomes = batch.map((p, i) => (stale.has(p.streamId) ? undefined : plan.outcomes[i]));
    markWritten(batch, outcomes);
    await recheckConflicts(this.pool, batch, outcomes);
    return outcomes;
  }

  /**
   * A batch for one stream: one prepared statement (append-one-stream.ts). A stream this store
   * has not seen is read first, unless it is assumed new (assumedNew).
   */
  private async writeOne(batch: Pending[], streamId: string): Promise<Array<AppendResult | Error | undefined>> {
    let was = this.heads.get(streamId);
    if (!was) {
      if (assumedNew(batch).has(streamId)) was = headOf(0n, null);
      else {
        const head = await readHead(this.pool, streamId);
        was = headOf(head.version, head.lastHash);
      }
    }
    const plan = planBatch(batch, new Map([[streamId, was]]), new Map());
    const now = plan.heads.get(streamId)!;
    if (!(await writeOneStream(this.pool, streamId, was, now, plan.events, sideGroups(batch, plan.outcomes)))) {
      // Another writer moved the stream: read where it is now, and plan these calls again from there.
      const head = await readHead(this.pool, streamId);
      this.remember(streamId, headOf(head.version, head.lastHash));
      return batch.map(() => undefined);
    }
    this.remember(streamId, now);
    if (plan.touched.size > 0) this.notify();
    const outcomes: Array<AppendResult | Error | undefined> = plan.outcomes;
    markWritten(batch, outcomes);
    await recheckConflicts(this.pool, batch, outcomes);
    return outcomes;
  }

  private async writeLocked(batch: Pending[]): Promise<Array<AppendResult | Error>> {
    const plan = await writeLocked(this.pool, batch);
    for (const id of plan.touched) this.remember(id, plan.heads.get(id)!);
    if (plan.touched.size > 0) this.notify();
    const outcomes: Array<AppendResult | Error> = plan.outcomes;
    markWritten(batch, outcomes);
    return outcomes;
  }

  /**
   * Wakes subscriptions (in every process) after a commit. Sent on its own, outside the append's
   * transaction: a notifying transaction holds a database-wide lock through its commit's WAL
   * flush, which would serialise group commits. At most one in flight, and at most one per
   * NOTIFY_INTERVAL_MS: requests meanwhile coalesce into one more. Under load that is a
   * statement per interval rather than one per append (a third of the proxy's statements at
   * one connection). Subscriptions poll as well; this only makes them sooner.
   */
  private notify(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = this.pool
      .query(`SELECT pg_notify('${NOTIFY_CHANNEL}', '')`)
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.notifying = undefined;
        if (this.notifyAgain && !this.closed) {
          this.notifyAgain = false;
          this.notifying = new Promise<void>((resolve) => setTimeout(resolve, NOTIFY_INTERVAL_MS).unref()).then(() => {
            this.notifying = undefined;
            if (!this.closed) this.notify();
          });
        }
      });
  }

  private remember(streamId: string, head: StreamHead): void {
    // Updated in place, so the map's order is first-seen rather than least-recently-used: a
    // delete and re-insert on every append made the map rehash again and again. Forgetting a
    // head that is still in use costs one read before that stream's next append, nothing more.
    this.heads.set(streamId, head);
    if (this.heads.size > this.maxCachedHeads) {
      for (const id of this.heads.keys()) {
        this.heads.delete(id);
        if (this.heads.size <= this.maxCachedHeads * 0.9) break;
      }
    }
  }

  /** After a failure the outcome may be unknown (did it commit?): read those heads again. */
  private forgetHeads(batch: Pending[]): void {
    for (const p of batch) this.heads.delete(p.streamId);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<Row>({
      text: `SELECT ${COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2
       ORDER BY stream_version LIMIT $3`,
      values: [streamId, (options.afterVersion ?? 0n).toString(), options.limit ?? 1_000_000_000],
      rowMode: 'array',
    });
    return rows.map(toRecorded);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? LOG_START;
    const prefixes = likePatterns(options.streamPrefixes);
    // events_after (migrations/001) reads only below pg_snapshot_xmin: a later position may
    // commit before an earlier one, and readers must wait for the earlier one.
    const { rows } = await this.pool.query<Row>({
      text: `SELECT ${COLUMNS} FROM events_after($1::text::xid8, $2::bigint, $3::integer, $4::text[])`,
      values: [after.tx.toString(), after.seq.toString(), options.limit ?? 1000, prefixes],
      rowMode: 'array',
    });
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
    const { rows } = await this.pool.query<Row>({ text: `SELECT ${COLUMNS} FROM events WHERE event_id = $1`, values: [id], rowMode: 'array' });
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

  async countEvents(streamPrefix: string): Promise<number> {
    // A stream's version is its event count, so the stream table answers without reading events.
    const { rows } = await this.pool.query<{ n: bigint }>(
      'SELECT coalesce(sum(version), 0)::bigint AS n FROM event_streams WHERE stream_id LIKE $1',
      [likePatterns([streamPrefix])![0]],
    );
    return Number(rows[0].n);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    while (this.inFlight > 0 || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    while (this.notifying) await this.notifying;
    if (this.listenerStarting) await this.listenerStarting;
    if (this.listener) {
      await this.listener.query(`UNLISTEN ${NOTIFY_CHANNEL}`).catch(() => undefined);
      this.listener.release();
      this.listener = undefined;
    }
  }
}
