/**
 * The request log (migrations/005_request_log.sql): metadata of every proxied request.
 *
 * Rows are written off the response path, batched: a request adds its row and goes on; one
 * multi-row INSERT takes whatever arrived within a few milliseconds. A receipt asked for on
 * this instance before its row is flushed waits for that flush, so a client that reads its
 * receipt right after the answer always finds it; asked of another instance, a receipt not
 * found yet is looked for again for a moment (RECEIPT_GRACE_MS) before the answer is 404.
 *
 * A request whose money ends in a ledger write (a settle, a void, a returned free request)
 * does not come here: its row rides with that write (requestLogAlongside), in the ledger's
 * group commit, so one commit carries both or neither; only when the ledger could not take it
 * with the write (refused, done already, or the store could not) is it recorded here after.
 *
 * While Postgres is unreachable, rows go to the settle journal (on disk, written when it
 * returns), like the settles that could not be written.
 */
import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import { WRITE_KEEPER, WriteKeeper } from '../billing/settle-journal.codec';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { storableText } from '../../platform/database/storable-text';
import { isDataError, isPgUnavailable } from '../../platform/database/pg-unavailable';
import { JsonObject, SideRows, SideWriter } from '../../platform/event-store/event-store.port';

export interface RequestLogRow {
  requestId: string;
  accountId: string;
  keyId: string;
  startedAt: Date;
  endpoint: string;
  model: string;
  provider: string | null;
  channelId: string | null;
  stream: boolean;
  status: number;
  errorCode: string | null;
  inputTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  estimated: boolean;
  freeRequest: boolean;
  heldMicros: bigint;
  costMicros: bigint;
  billing: 'settled' | 'voided' | 'free' | 'none' | 'unbilled';
  priceVersion: number | null;
  unitPrices: Record<string, string | number> | null;
  latencyMs: number;
  ttfbMs: number | null;
  attempts: number;
}

export const COLUMNS = [
  'request_id', 'account_id', 'key_id', 'started_at', 'endpoint', 'model', 'provider', 'channel_id', 'stream',
  'status', 'error_code', 'input_tokens', 'cached_tokens', 'cache_write_tokens', 'output_tokens', 'estimated',
  'free_request', 'held_micros', 'cost_micros', 'billing', 'price_version', 'unit_prices', 'latency_ms', 'ttfb_ms',
  'attempts',
] as const;

/** The longest model name a row keeps (a client may send any string as its model). */
export const MODEL_MAX_CHARS = 200;

const text = (s: string | null, max?: number): string | null => (s === null ? null : storableText(s, max));

/** A row's values in COLUMNS' order, as the batched INSERT sends them. */
export const values = (r: RequestLogRow): unknown[] => [
  r.requestId, r.accountId, r.keyId, r.startedAt, text(r.endpoint), text(r.model, MODEL_MAX_CHARS), text(r.provider), r.channelId, r.stream,
  r.status, text(r.errorCode), r.inputTokens, r.cachedTokens, r.cacheWriteTokens, r.outputTokens, r.estimated,
  r.freeRequest, r.heldMicros.toString(), r.costMicros.toString(), r.billing, r.priceVersion,
  r.unitPrices === null ? null : JSON.stringify(r.unitPrices), r.latencyMs, r.ttfbMs, r.attempts,
];

const MAX_BATCH = 500;
const FLUSH_DELAY_MS = 5;
const RETRY_MAX_MS = 500;
/**
 * How long a receipt not (yet) in the table is looked for before 404: its row is written a few
 * milliseconds after the answer's end, by the instance that served it, which may be another.
 */
export const RECEIPT_GRACE_MS = 1000;

interface Waiting {
  row: RequestLogRow;
  done: () => void;
}

@Injectable()
export class RequestLogRepository implements OnModuleDestroy {
  private readonly log = new Logger('RequestLog');
  private queue: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly pending = new Map<string, Promise<void>>();
  private readonly ends = new Map<string, () => void>();
  private flushing: Promise<void> = Promise.resolve();
  /** Rows Postgres refused for their data since start (each logged with its request id). */
  setAside = 0;
  private closing = false;
  private retryDelay = FLUSH_DELAY_MS;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    /** Where rows go while Postgres is unreachable (the settle journal); without one they wait in memory. */
    @Optional() @Inject(WRITE_KEEPER) private readonly keeper: WriteKeeper | null = null,
  ) {}

  /**
   * Marks a request as under way on this instance: a receipt asked for before its row is written
   * waits for it. `abandon` (or `record`) ends the wait.
   */
  expect(requestId: string): void {
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    this.pending.set(requestId, ended);
    this.ends.set(requestId, end);
  }

  /** The request ended without a row (refused before it had an account): nobody should wait. */
  abandon(requestId: string): void {
    const end = this.ends.get(requestId);
    if (!end) return; // recorded: the wait is now for its write
    end();
    this.ends.delete(requestId);
    this.pending.delete(requestId);
  }

  /** The row was committed with its ledger write (requestLogAlongside): a receipt waiting for it may look. */
  writtenWithLedger(requestId: string): void {
    this.abandon(requestId);
  }

  /** Queues the row; the promise settles once it is in the table (or its write failed and was logged). */
  record(row: RequestLogRow): Promise<void> {
    const written = new Promise<void>((done) => this.queue.push({ row, done }));
    const end = this.ends.get(row.requestId);
    this.ends.delete(row.requestId);
    this.pending.set(row.requestId, written);
    void written.then(() => {
      end?.();
      this.pending.delete(row.requestId);
    });
    if (this.queue.length >= MAX_BATCH) this.flushSoon(0);
    else this.flushSoon(FLUSH_DELAY_MS);
    return written;
  }

  /** The receipt of one request, only if it belongs to the account asking. */
  async find(requestId: string, accountId: string): Promise<RequestLogRow | null> {
    const until = Date.now() + RECEIPT_GRACE_MS;
    const ours = this.pending.get(requestId);
    // Ours and not written yet: wait for its write, but not through an outage (the query says so).
    if (ours) await Promise.race([ours, new Promise((r) => setTimeout(r, RECEIPT_GRACE_MS).unref())]);
    for (;;) {
      const { rows } = await this.pool.query<DbRow>(
        `SELECT * FROM request_log WHERE request_id = $1 AND account_id = $2`,
        [requestId, accountId],
      );
      if (rows.length) return fromRow(rows[0]);
      if (Date.now() >= until) return null;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing;
    if (this.queue.length) await this.flush();
  }

  private flushSoon(delay: number): void {
    if (this.closing) return;
    if (this.timer && delay > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, delay);
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, MAX_BATCH);
      if (!(await this.write(batch))) {
        if (this.keeper) {
          // Postgres is unreachable: the journal keeps the rows on disk and writes them when it returns.
          await this.keeper.keep(batch.map((w) => ({ id: w.row.requestId, accountId: w.row.accountId, command: null, row: w.row })));
          for (const w of batch) w.done();
          continue;
        }
        // No journal (a repository built on its own): the rows wait in memory, in order, backing off.
        this.queue.unshift(...batch);
        this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
        this.flushSoon(this.retryDelay);
        return;
      }
      this.retryDelay = FLUSH_DELAY_MS;
      for (const w of batch) w.done();
    }
  }

  /**
   * Writes a batch. A batch Postgres refuses for its data (SQLSTATE classes 22 and 23) is split
   * until the rows it refuses are found: those are set aside, logged by request id and counted,
   * and every other row is written. Postgres unreachable is not the rows' fault: false, and the
   * caller keeps them for a retry (on the way out, they are logged as lost, by request id). Any
   * other failure is logged for the whole batch.
   */
  private async write(batch: Waiting[]): Promise<boolean> {
    try {
      await insertRequestLogRows(this.pool, batch.map((w) => w.row));
    } catch (err) {
      if (isPgUnavailable(err)) {
        if (!this.closing || this.keeper) return false;
        this.log.error(`stopping while Postgres is unreachable: ${batch.length} request log rows are lost: ${batch.map((w) => w.row.requestId).join(', ')}`);
        return true;
      }
      if (!isDataError(err)) {
        this.log.error(`could not write ${batch.length} request log rows: ${(err as Error).message}`);
        return true;
      }
      if (batch.length === 1) {
        this.setAside++;
        const { code } = err as { code?: string };
        // The message may quote the offending value; the request id and SQLSTATE are enough.
        this.log.error(`request ${batch[0].row.requestId}: its request log row was refused by Postgres (SQLSTATE ${code}); set aside`);
        return true;
      }
      const half = Math.ceil(batch.length / 2);
      // Halves already written stay written if Postgres goes away in between: the retry skips them.
      return (await this.write(batch.slice(0, half))) && (await this.write(batch.slice(half)));
    }
    return true;
  }
}

/** One multi-row INSERT; a row already there (a replay) is left as it is. */
export async function insertRequestLogRows(pool: Pool, rows: RequestLogRow[]): Promise<void> {
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    const base = params.length;
    params.push(...values(row));
    return `(${COLUMNS.map((_, i) => `$${base + i + 1}`).join(',')})`;
  });
  await pool.query(
    `INSERT INTO request_log (${COLUMNS.join(',')}) VALUES ${tuples.join(',')} ON CONFLICT (request_id) DO NOTHING`,
    params,
  );
}

/**
 * Rows inserted by the event store in a ledger append's transaction (AppendOptions.alongside),
 * from JSON objects keyed by column: the same columns and the same ON CONFLICT as the batched
 * INSERT above, so a replay of either leaves the row as it is.
 */
const REQUEST_LOG_WRITER: SideWriter = {
  name: 'request_log',
  insert: (source) => `INSERT INTO request_log (${COLUMNS.join(',')})
  SELECT ${COLUMNS.map((c) => `r.${c}`).join(',')} FROM (${source}) AS src, json_populate_record(null::request_log, src.j) AS r
  ON CONFLICT (request_id) DO NOTHING`,
};

/** A request's log row, to be committed with its settle, void or returned free request. */
export function requestLogAlongside(row: RequestLogRow): SideRows[] {
  return [{ writer: REQUEST_LOG_WRITER, rows: [rowObject(row)] }];
}

/**
 * The row keyed by column, the values as values() gives them (but unit_prices: the object
 * itself, which the INSERT above takes as jsonb, not as a JSON string), keys in COLUMNS' order.
 * Written out rather than filled column by column: adding 25 keys one by one to an empty object
 * was ~0.75% of the gateway's CPU per request (test/unit/proxy/usage/request-log-row-object.spec.ts
 * holds the two forms equal).
 */
export function rowObject(r: RequestLogRow): JsonObject {
  return {
    request_id: r.requestId,
    account_id: r.accountId,
    key_id: r.keyId,
    started_at: r.startedAt, // a Date: in the JSON, its ISO text
    endpoint: text(r.endpoint),
    model: text(r.model, MODEL_MAX_CHARS),
    provider: text(r.provider),
    channel_id: r.channelId,
    stream: r.stream,
    status: r.status,
    error_code: text(r.errorCode),
    input_tokens: r.inputTokens,
    cached_tokens: r.cachedTokens,
    cache_write_tokens: r.cacheWriteTokens,
    output_tokens: r.outputTokens,
    estimated: r.estimated,
    free_request: r.freeRequest,
    held_micros: r.heldMicros.toString(),
    cost_micros: r.costMicros.toString(),
    billing: r.billing,
    price_version: r.priceVersion,
    unit_prices: r.unitPrices,
    latency_ms: r.latencyMs,
    ttfb_ms: r.ttfbMs,
    attempts: r.attempts,
  };
}

export { isDataError };

/** A request_log row as pg returns it (bigint columns as text or bigint, per the pool's type parsers). */
export interface DbRow {
  request_id: string;
  account_id: string;
  key_id: string;
  started_at: Date;
  endpoint: string;
  model: string;
  provider: string | null;
  channel_id: string | null;
  stream: boolean;
  status: number;
  error_code: string | null;
  input_tokens: string | bigint;
  cached_tokens: string | bigint;
  cache_write_tokens: string | bigint;
  output_tokens: string | bigint;
  estimated: boolean;
  free_request: boolean;
  held_micros: string | bigint;
  cost_micros: string | bigint;
  billing: RequestLogRow['billing'];
  price_version: number | null;
  unit_prices: Record<string, string | number> | null;
  latency_ms: number;
  ttfb_ms: number | null;
  attempts: number;
}

export function fromRow(r: DbRow): RequestLogRow {
  return {
    requestId: r.request_id,
    accountId: r.account_id,
    keyId: r.key_id,
    startedAt: r.started_at,
    endpoint: r.endpoint,
    model: r.model,
    provider: r.provider,
    channelId: r.channel_id,
    stream: r.stream,
    status: r.status,
    errorCode: r.error_code,
    inputTokens: Number(r.input_tokens),
    cachedTokens: Number(r.cached_tokens),
    cacheWriteTokens: Number(r.cache_write_tokens),
    outputTokens: Number(r.output_tokens),
    estimated: r.estimated,
    freeRequest: r.free_request,
    heldMicros: BigInt(r.held_micros),
    costMicros: BigInt(r.cost_micros),
    billing: r.billing,
    priceVersion: r.price_version,
    unitPrices: r.unit_prices,
    latencyMs: r.latency_ms,
    ttfbMs: r.ttfb_ms,
    attempts: r.attempts,
  };
}
