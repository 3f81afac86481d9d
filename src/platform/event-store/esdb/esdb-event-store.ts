/**
 * EventStoreDB / KurrentDB adapter of the event store, over @eventstore/db-client 6.
 *
 * - Versions are event counts and ESDB revisions are 0-based: version n is revision n-1.
 * - Every write names the exact revision the stream was read at (NO_STREAM when empty), even
 *   for 'any' and 'stream_exists': the hash chain links to the event read as the last one, so
 *   a write that raced another must fail and chain again, never land on an unseen event.
 *   A lost race is retried for 'any' and 'stream_exists'; for an exact version it becomes
 *   VersionConflictError, once the batch is known not to be a retry of events already stored.
 * - Event ids are ours (the ESDB event id), unique across the log by claims (esdb-id-claims.ts).
 * - Each event's hash is kept in its metadata under HASH_KEY and taken out again on read.
 * - readAll filters by stream prefix on the client: in this client version readAll has no
 *   `filter` option (it always sends NoFilter; only subscribeToAll takes streamNameFilter), so
 *   the server cannot do it for a read. Subscriptions do filter on the server.
 * - Needs server 22.6 or later (stream reads carry positions).
 */
import {
  AllStreamRecordedEvent,
  BACKWARDS,
  END,
  FORWARDS,
  EventStoreDBClient,
  jsonEvent,
  NO_STREAM,
  Position,
  START,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import {
  AppendOptions,
  AppendResult,
  comparePositions,
  EventIdConflictError,
  EventStore,
  ExpectedVersion,
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
import { IdClaims } from './esdb-id-claims';
import { EsdbSubscription } from './esdb-subscription';
import {
  fromEsdbPosition,
  HASH_KEY,
  isStart,
  isTollgateEvent,
  lastRecord,
  readRecords,
  toEsdbPosition,
  toRecorded,
} from './esdb-records';

export interface EsdbEventStoreOptions {
  /** How long an append waits for another writer's claim on one of its ids to resolve. */
  claimWaitMs?: number;
  /** Lost races for a stream retried for 'any' / 'stream_exists' before giving up. */
  maxRaces?: number;
}

/** The config accepts KurrentDB's schemes; this client only knows esdb:// and esdb+discover://. */
function esdbUrl(url: string): string {
  return url.replace(/^(kurrentdb|kurrent)(\+discover)?:\/\//i, (_m, _s, discover = '') => `esdb${discover}://`);
}

function versionMatches(expected: ExpectedVersion, count: bigint): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return count === 0n;
  if (expected === 'stream_exists') return count > 0n;
  return expected === count;
}

/** WrongExpectedVersionError's actual revision as our version (an event count). */
function actualCount(err: WrongExpectedVersionError): bigint {
  return typeof err.actualVersion === 'bigint' ? err.actualVersion + 1n : 0n;
}

/** An append some of whose ids are stored: all the same → done already, else a conflict. */
function judgeRepeat(streamId: string, events: NewEvent[], prior: Array<RecordedEvent | undefined>): AppendResult {
  const differs = events.findIndex((e, i) => !prior[i] || !samePayload(prior[i], { streamId, ...e }));
  if (differs !== -1) throw new EventIdConflictError(events[differs].id);
  return { nextVersion: prior.reduce((m, p) => (p!.streamVersion > m ? p!.streamVersion : m), 0n), idempotent: true };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class EsdbEventStore implements EventStore {
  private readonly client: EventStoreDBClient;
  private readonly claims: IdClaims;
  private readonly subscriptions = new Set<EsdbSubscription>();
  private readonly claimWaitMs: number;
  private readonly maxRaces: number;
  private inFlight = 0;
  private closed = false;

  constructor(connectionString: string, options: EsdbEventStoreOptions = {}) {
    this.client = EventStoreDBClient.connectionString(esdbUrl(connectionString));
    this.claims = new IdClaims(this.client);
    this.claimWaitMs = options.claimWaitMs ?? 5_000;
    this.maxRaces = options.maxRaces ?? 20;
  }

  async append(streamId: string, events: NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.closed) throw new Error('event store is closed');
    validateAppend(streamId, events);
    for (const e of events) {
      if (e.metadata && HASH_KEY in e.metadata) throw new TypeError(`metadata key ${HASH_KEY} is reserved`);
    }
    // ESDB hands ids back lower-case; claims are keyed by the id, so one spelling throughout.
    const batch = events.map((e) => ({ ...e, id: e.id.toLowerCase(), metadata: e.metadata ?? {} }));
    this.inFlight++;
    try {
      return await this.write(streamId, batch, options.expectedVersion);
    } finally {
      this.inFlight--;
    }
  }

  private async write(streamId: string, batch: Required<NewEvent>[], expected: ExpectedVersion): Promise<AppendResult> {
    const waitUntil = Date.now() + this.claimWaitMs;
    let races = 0;
    for (;;) {
      const head = await lastRecord(this.client, streamId);
      const count = head ? head.revision + 1n : 0n;
      if (!versionMatches(expected, count)) return this.repeatOrConflict(streamId, batch, expected, count);

      const claimed = await this.claims.acquire(streamId, batch, count);
      if (claimed.kind === 'stored') return judgeRepeat(streamId, batch, claimed.prior);
      if (claimed.kind === 'wait') {
        if (Date.now() > waitUntil) {
          throw new Error(`an append of one of these event ids to ${streamId} is still in progress elsewhere; retry later`);
        }
        await sleep(20);
        continue;
      }

      let prev: Buffer = head ? Buffer.from(toRecorded(head).hash, 'hex') : GENESIS_HASH;
      const data = batch.map((e, i) => {
        const hash = chainHash(prev, { ...e, streamId, streamVersion: count + BigInt(i) + 1n });
        prev = hash;
        const metadata = { ...e.metadata, [HASH_KEY]: hash.toString('hex') };
        return jsonEvent({ id: e.id, type: e.type, data: e.data, metadata });
      });
      let lost: WrongExpectedVersionError | undefined;
      try {
        const result = await this.client.appendToStream(streamId, data, {
          expectedRevision: count === 0n ? NO_STREAM : count - 1n,
        });
        if (result.success) return { nextVersion: count + BigInt(batch.length), idempotent: false };
        // success: false only with throwOnAppendFailure=false in the connection string.
      } catch (err) {
        if (!(err instanceof WrongExpectedVersionError)) throw err;
        lost = err;
      }
      // Another writer got the stream first. 'any' and 'stream_exists' chain again on what it
      // wrote; an exact expectation has failed, unless these very events are what it wrote.
      if (typeof expected === 'bigint' || expected === 'no_stream' || ++races > this.maxRaces) {
        // (With throwOnAppendFailure=false the client reports no usable revision: read it.)
        const actual = lost ? actualCount(lost) : await this.streamVersion(streamId);
        return this.repeatOrConflict(streamId, batch, expected, actual);
      }
    }
  }

  /** A failed version check is still a success when every event is already stored (a retry). */
  private async repeatOrConflict(
    streamId: string,
    batch: NewEvent[],
    expected: ExpectedVersion,
    count: bigint,
  ): Promise<AppendResult> {
    const prior = await Promise.all(batch.map((e) => this.claims.stored(e.id)));
    if (prior.some((p) => p !== undefined)) return judgeRepeat(streamId, batch, prior);
    throw new VersionConflictError(streamId, expected, count);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    // Events after version v start at revision v.
    const from = options.afterVersion && options.afterVersion > 0n ? options.afterVersion : 0n;
    const records = await readRecords(this.client, streamId, from, options.limit ?? Number.MAX_SAFE_INTEGER);
    return records.map(toRecorded);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const limit = options.limit ?? 1000;
    if (limit <= 0) return [];
    const prefixes = options.streamPrefixes?.length ? options.streamPrefixes : undefined;
    const out: RecordedEvent[] = [];
    let after: LogPosition | undefined = isStart(options.after) ? undefined : options.after;
    let page = limit + 1; // +1: a read from a position includes the event at it
    while (out.length < limit) {
      const records = await this.readAllPage(after ? toEsdbPosition(after) : START, page, FORWARDS);
      for (const r of records) {
        const pos = fromEsdbPosition(r.position);
        if (after && comparePositions(pos, after) <= 0) continue;
        after = pos;
        if (isTollgateEvent(r, prefixes)) out.push(toRecorded(r));
      }
      if (records.length < page) break; // the end of the log
      page = Math.max(limit + 1, Math.min(page * 2, 4096)); // filtered out: read wider pages
    }
    return out.slice(0, limit);
  }

  /** A whole page at once: leaving a read half-consumed would leave its gRPC call open. */
  private async readAllPage(
    from: Position | typeof START | typeof END,
    maxCount: number,
    direction: typeof FORWARDS | typeof BACKWARDS,
  ): Promise<AllStreamRecordedEvent[]> {
    const out: AllStreamRecordedEvent[] = [];
    for await (const resolved of this.client.readAll({ fromPosition: from, maxCount, direction })) {
      if (resolved.event) out.push(resolved.event);
    }
    return out;
  }

  subscribe(options: SubscribeOptions): Subscription {
    if (this.closed) throw new Error('event store is closed');
    const sub = new EsdbSubscription(
      this.client,
      options,
      (prefixes, floor) => this.newestPosition(prefixes, floor),
      () => this.subscriptions.delete(sub),
    );
    this.subscriptions.add(sub);
    return sub;
  }

  async getEvent(id: string): Promise<RecordedEvent | null> {
    return (await this.claims.stored(id.toLowerCase())) ?? null;
  }

  async headPosition(streamPrefixes?: string[]): Promise<LogPosition> {
    return this.newestPosition(streamPrefixes?.length ? streamPrefixes : undefined, LOG_START);
  }

  /**
   * Scans `$all` backwards for the newest event under the prefixes, on the client (see the
   * header). A subscription passes how far it has delivered as `floor`: nothing at or below it
   * can be a reason to wait, so the scan stops there.
   */
  private async newestPosition(prefixes: string[] | undefined, floor: LogPosition): Promise<LogPosition> {
    let before: LogPosition | undefined;
    let page = 32;
    for (;;) {
      const records = await this.readAllPage(before ? toEsdbPosition(before) : END, page, BACKWARDS);
      for (const r of records) {
        const pos = fromEsdbPosition(r.position);
        if (before && comparePositions(pos, before) >= 0) continue;
        if (comparePositions(pos, floor) <= 0) return floor;
        if (isTollgateEvent(r, prefixes)) return pos;
        before = pos;
      }
      if (records.length < page) return floor;
      page = Math.min(page * 2, 4096);
    }
  }

  async streamVersion(streamId: string): Promise<bigint> {
    const last = await lastRecord(this.client, streamId);
    return last ? last.revision + 1n : 0n;
  }

  /**
   * An estimate: ESDB keeps no count per stream prefix, and counting by reading would cost as
   * much as the replay the count is for. A prefix that is a category (`account-`) is answered
   * by the last revision of the server's by-category stream (`$ce-account`), which counts
   * every event of the category; with that system projection off, or its stream not readable
   * by our user, the answer is 0, and a progress bar grows to fit (cli/progress.ts).
   */
  async countEvents(streamPrefix: string): Promise<number> {
    if (!streamPrefix.endsWith('-') || streamPrefix.indexOf('-') !== streamPrefix.length - 1) return 0;
    try {
      const last = await lastRecord(this.client, `$ce-${streamPrefix.slice(0, -1)}`);
      return last ? Number(last.revision + 1n) : 0;
    } catch {
      return 0;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    while (this.inFlight > 0) await sleep(5);
    await this.client.dispose();
  }
}
