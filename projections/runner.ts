/**
 * Runs the read models: each follows the event log from its checkpoint and writes its rows and
 * its new checkpoint in one transaction, so a crash never applies an event twice or skips one.
 *
 * Several runners (worker instances) may follow the same read model: every batch takes the
 * model's advisory lock and re-reads the stored checkpoint, and a runner whose position differs
 * from the stored one moves to it instead of writing. The same lock lets a rebuild fill a fresh
 * schema beside the live one while the system runs, then swap them by renaming.
 */
import { createHash } from 'node:crypto';
import { Pool, PoolClient, QueryResult } from 'pg';
import { EventStore, LOG_START, LogPosition, RecordedEvent, comparePositions } from '../src/platform/event-store/event-store.port';
import { inTransaction } from '../src/platform/database/pg';
import { Projection, schemaOf } from './projection';
import { BulkLoad } from './bulk';
import { HALT_COLUMNS_DDL, HaltedReadModel, ReadModelHaltedError, applyUpToFailure, errorText, haltedReadModels, isTransient, markHalted } from './halted';

const LOCK_NAMESPACE = 7_300_002;
// Events per page read by a rebuild. Measured: 5,000 beats 2,500 (statement overheads) and
// 10,000-20,000 (pages outlive the young generation, and the garbage collector pays for it).
const REBUILD_PAGE = 5_000;

export interface RebuildProgress {
  events: number;
  position: LogPosition;
  /** Models the rebuild found an event they cannot apply in: halted there again (see halted.ts). */
  halted?: HaltedReadModel[];
}

export interface RunnerOptions {
  pollMs?: number;
  batchSize?: number;
  onError?: (projection: string, err: Error) => void;
  /** A read model halted at an event it cannot apply (called once per halt, in the process that saw it). */
  onHalt?: (halted: HaltedReadModel) => void;
}

interface ModelState {
  position: LogPosition;
  halted: boolean;
}

const lockKey = (p: Projection) => createHash('sha1').update(p.name).digest().readInt32BE(0);
const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;
const schemaHash = (p: Projection) => createHash('sha256').update(p.schemaSql()).digest('hex').slice(0, 16);

export class ProjectionRunner {
  private readonly pollMs: number;
  private readonly batchSize: number;
  private running = false;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly projections: Projection[],
    private readonly options: RunnerOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 50;
    this.batchSize = options.batchSize ?? 2000;
  }

  /** Creates each read model's schema if missing; rebuilds those whose schema.sql changed. */
  async prepare(): Promise<void> {
    const stale: Projection[] = [];
    for (const p of this.projections) {
      const { hash } = await this.ensureSchema(p, schemaOf(p));
      if (hash !== schemaHash(p)) stale.push(p);
    }
    if (stale.length > 0) await this.rebuild(stale);
  }

  async start(): Promise<void> {
    await this.prepare();
    // Said again at every start, so a restarted worker does not hide a model that stopped.
    for (const h of await this.halted()) this.options.onHalt?.(h);
    this.running = true;
    this.loops = [this.follow()];
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakers.forEach((w) => w());
    await Promise.all(this.loops);
    this.loops = [];
  }

  /**
   * Resolves when every read model has applied everything committed to the log before the call.
   * A halted model never will: it fails at once naming it (ReadModelHaltedError), unless
   * `allowHalted`, when it waits for the others and returns the halted ones.
   */
  async caughtUp(timeoutMs = 30_000, { allowHalted = false } = {}): Promise<HaltedReadModel[]> {
    const deadline = Date.now() + timeoutMs;
    const fail = async () => {
      const halted = await this.halted();
      if (!allowHalted && halted.length > 0) throw new ReadModelHaltedError(halted);
      return halted;
    };
    await fail();
    const head = await this.store.headPosition(this.prefixes(this.projections));
    for (const p of this.projections) {
      for (;;) {
        const at = await this.state(p);
        if (at.halted) {
          await fail();
          break;
        }
        if (comparePositions(at.position, head) >= 0) break;
        if (Date.now() > deadline) throw new Error(`read model ${p.name} did not catch up in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    return fail();
  }

  /** The read models halted at an event they cannot apply (see halted.ts). */
  halted(): Promise<HaltedReadModel[]> {
    return haltedReadModels(this.pool, this.projections);
  }

  async checkpoint(p: Projection, schema = schemaOf(p)): Promise<LogPosition> {
    return (await this.state(p, schema)).position;
  }

  private async state(p: Projection, schema = schemaOf(p)): Promise<ModelState> {
    const { rows } = await this.pool.query<{ log_tx: bigint; log_seq: bigint; halted: boolean }>(
      `SELECT log_tx, log_seq, halted_at IS NOT NULL AS halted FROM ${quote(schema)}.checkpoint`,
    );
    return rows[0] ? { position: { tx: rows[0].log_tx, seq: rows[0].log_seq }, halted: rows[0].halted } : { position: LOG_START, halted: false };
  }

  /**
   * Rebuilds read models from the first event: fills `rm_<name>__next` while the live ones keep
   * serving, catches up under the models' locks, and swaps the schemas in one transaction.
   * A model that cannot apply some event is rebuilt up to it and swapped in halted there (the
   * others are rebuilt in full); the halted ones are in the result.
   */
  async rebuild(projections = this.projections, onProgress?: (p: RebuildProgress) => void): Promise<RebuildProgress> {
    const next = (p: Projection) => `${schemaOf(p)}__next`;
    for (const p of projections) {
      await this.pool.query(`DROP SCHEMA IF EXISTS ${quote(next(p))} CASCADE`);
      await this.ensureSchema(p, next(p));
    }
    const { progress, failed } = await this.bulkLoad(projections, next, onProgress);
    const halted = new Map<string, HaltedReadModel>();
    for (const p of failed) {
      const halt = await this.fillByPages(p, next(p), progress.position);
      if (halt) halted.set(p.name, halt);
    }
    const prefixes = this.prefixes(projections);
    await inTransaction(this.pool, async (client) => {
      for (const p of projections) await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, lockKey(p)]);
      for (;;) {
        const page = await this.store.readAll({ after: progress.position, limit: 5000, streamPrefixes: prefixes });
        if (page.length === 0) break;
        for (const p of projections) {
          if (halted.has(p.name)) continue;
          const { halt } = await this.applyBatch(client, p, next(p), page, progress.position, prefixes);
          if (halt) halted.set(p.name, halt);
        }
        progress.position = page[page.length - 1].position;
        progress.events += page.length;
      }
      for (const p of projections) {
        await client.query(`DROP SCHEMA IF EXISTS ${quote(`${schemaOf(p)}__old`)} CASCADE`);
        await client.query(`ALTER SCHEMA ${quote(schemaOf(p))} RENAME TO ${quote(`${schemaOf(p)}__old`)}`);
        await client.query(`ALTER SCHEMA ${quote(next(p))} RENAME TO ${quote(schemaOf(p))}`);
        await client.query(`DROP SCHEMA ${quote(`${schemaOf(p)}__old`)} CASCADE`);
      }
    });
    progress.halted = [...halted.values()];
    for (const h of progress.halted) this.options.onHalt?.(h);
    onProgress?.({ ...progress });
    this.wakers.forEach((w) => w());
    return progress;
  }

  /**
   * Fills the fresh schemas from the whole log through each model's bulk loader (bulk.ts), all
   * fed from one read, the next page read while the current one is loaded. Nothing here is
   * visible to anyone until the swap, which is why it needs no per-page transaction.
   * A model whose load fails on the data (not on a lost connection) is dropped from the load
   * and returned in `failed`, its schema made empty again, for fillByPages to find the event.
   */
  private async bulkLoad(
    projections: Projection[],
    schema: (p: Projection) => string,
    onProgress?: (p: RebuildProgress) => void,
  ): Promise<{ progress: RebuildProgress; failed: Projection[] }> {
    const progress: RebuildProgress = { events: 0, position: LOG_START };
    const prefixes = this.prefixes(projections);
    const read = (after: LogPosition) => this.store.readAll({ after, limit: REBUILD_PAGE, streamPrefixes: prefixes });
    const loads: BulkLoad[] = [];
    const failed = new Set<number>();
    // Runs one model's step; a failure on the data drops that model from the load.
    const step = async (i: number, fn: (l: BulkLoad) => Promise<void>) => {
      if (failed.has(i)) return;
      try {
        await fn(loads[i]);
      } catch (err) {
        if (isTransient(err)) throw err;
        failed.add(i);
        await loads[i].abort().catch(() => undefined);
      }
    };
    let pending: Promise<RecordedEvent[]> | undefined;
    try {
      for (const p of projections) loads.push(await this.bulkLoader(p, schema(p)));
      pending = read(LOG_START);
      for (;;) {
        const page = await pending;
        if (page.length === 0) break;
        progress.position = page[page.length - 1].position;
        pending = read(progress.position);
        await Promise.all(loads.map((_, i) => step(i, (l) => l.add(eventsOf(projections[i], page, prefixes)))));
        progress.events += page.length;
        onProgress?.({ ...progress });
      }
      await Promise.all(loads.map((_, i) => step(i, (l) => l.finish())));
    } catch (err) {
      pending?.catch(() => undefined);
      await Promise.all(loads.map((l) => l.abort().catch(() => undefined)));
      throw err;
    }
    for (const [i, p] of projections.entries()) {
      if (failed.has(i)) {
        await this.pool.query(`DROP SCHEMA IF EXISTS ${quote(schema(p))} CASCADE`);
        await this.ensureSchema(p, schema(p));
        continue;
      }
      await this.pool.query(`UPDATE ${quote(schema(p))}.checkpoint SET log_tx = $1, log_seq = $2, updated_at = now()`, [
        progress.position.tx.toString(),
        progress.position.seq.toString(),
      ]);
    }
    return { progress, failed: projections.filter((_, i) => failed.has(i)) };
  }

  /**
   * Fills a model's fresh schema page by page, as following does, up to `upTo`: the slow path
   * for a model whose bulk load failed, which finds the event it cannot apply and halts there.
   */
  private async fillByPages(p: Projection, schema: string, upTo: LogPosition): Promise<HaltedReadModel | undefined> {
    let at = LOG_START;
    for (;;) {
      const read = await this.store.readAll({ after: at, limit: REBUILD_PAGE, streamPrefixes: p.streamPrefixes });
      const page = read.filter((e) => comparePositions(e.position, upTo) <= 0);
      if (page.length === 0) return undefined;
      const { halt } = await inTransaction(this.pool, (client) => this.applyBatch(client, p, schema, page, at));
      if (halt) return halt;
      at = page[page.length - 1].position;
      if (page.length < read.length) return undefined;
    }
  }

  private async bulkLoader(p: Projection, schema: string): Promise<BulkLoad> {
    if (p.bulk) return p.bulk({ pool: this.pool, schema });
    // No fast path: apply page by page (a failure sends the model to fillByPages).
    return {
      add: async (events) => {
        if (events.length === 0) return;
        await inTransaction(this.pool, async (client) => {
          await client.query(`SET LOCAL search_path TO ${quote(schema)}, public`);
          await p.apply(client, events);
        });
      },
      finish: async () => undefined,
      abort: async () => undefined,
    };
  }

  private prefixes(projections: Projection[]): string[] {
    return [...new Set(projections.flatMap((p) => p.streamPrefixes))];
  }

  /**
   * One loop for every read model: one read of the log feeds them all, in one transaction.
   * Each applies only what lies past its own stored checkpoint, so models at different
   * positions (one just rebuilt, say) and several runners side by side all stay exact.
   */
  private async follow(): Promise<void> {
    const prefixes = this.prefixes(this.projections);
    let from = await this.lowestCheckpoint();
    while (this.running) {
      try {
        if (from === null) {
          // Every read model is halted: nothing to follow until a rebuild starts them over.
          await this.sleep(1000);
          from = await this.lowestCheckpoint();
          continue;
        }
        const page = await this.store.readAll({ after: from, limit: this.batchSize, streamPrefixes: prefixes });
        if (page.length > 0) {
          from = await this.applyPage(page, from);
        }
        if (page.length < this.batchSize) await this.sleep();
      } catch (err) {
        this.options.onError?.('runner', err as Error);
        await this.sleep(1000);
        from = await this.lowestCheckpoint().catch(() => from);
      }
    }
  }

  /**
   * Applies a page to every read model in one transaction. Statements without parameters go
   * together (BEGIN with the locks and checkpoints; the checkpoint updates with COMMIT), as the
   * round trips, not the work, were most of the cost of a small page.
   *
   * Each model applies under a savepoint of its own (declared with its search_path, so it costs
   * no round trip): one that cannot apply an event is rolled back alone, applies what precedes
   * the event and halts there (halted.ts), and the others commit as if nothing happened. A
   * halted model is skipped, and does not hold back where the follower reads from.
   */
  private async applyPage(page: RecordedEvent[], from: LogPosition): Promise<LogPosition | null> {
    const ps = this.projections;
    const client = await this.pool.connect();
    try {
      const locks = ps.map((p) => `pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${lockKey(p)})`).join(', ');
      const cps = ps.map((p, i) => `c${i} AS (SELECT ${i} AS i, log_tx, log_seq, halted_at IS NOT NULL AS halted FROM ${quote(schemaOf(p))}.checkpoint FOR UPDATE)`);
      // Read models are derived, and each page's rows commit with its checkpoint: a crash can
      // only lose whole pages, which are then read and applied again. So the commit need not
      // wait for its WAL to reach disk (the ledger's own appends always do).
      const results = (await client.query(
        `BEGIN; SET LOCAL synchronous_commit = off; SELECT ${locks}; WITH ${cps.join(', ')} ${ps.map((_, i) => `SELECT * FROM c${i}`).join(' UNION ALL ')}`,
      )) as unknown as QueryResult<{ i: number; log_tx: bigint; log_seq: bigint; halted: boolean }>[];
      const stored: ModelState[] = [];
      for (const r of results[3].rows) stored[r.i] = { position: { tx: r.log_tx, seq: r.log_seq }, halted: r.halted };
      const lowest = lowestOf(stored);
      // A model was moved back (rebuilt, reset) behind what we read: read again from there.
      if (lowest === null || comparePositions(lowest, from) < 0) {
        await client.query('COMMIT');
        return lowest;
      }
      const updates: string[] = [];
      const halts: HaltedReadModel[] = [];
      const prefixes = this.prefixes(ps);
      for (const [i, p] of ps.entries()) {
        if (stored[i].halted) continue;
        const at = stored[i].position;
        const fresh = comparePositions(page[0].position, at) > 0 ? page : page.filter((e) => comparePositions(e.position, at) > 0);
        if (fresh.length === 0) continue;
        const { last, halt } = await this.applyModel(client, p, schemaOf(p), fresh, at, prefixes);
        if (halt) halts.push(halt);
        updates.push(`UPDATE ${quote(schemaOf(p))}.checkpoint SET log_tx = ${last.tx}, log_seq = ${last.seq}, updated_at = now()`);
      }
      await client.query([...updates, 'COMMIT'].join('; '));
      for (const h of halts) this.options.onHalt?.(h);
      return page[page.length - 1].position;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Where the follower reads from: the lowest checkpoint of the models not halted (null: all are). */
  private async lowestCheckpoint(): Promise<LogPosition | null> {
    return lowestOf(await Promise.all(this.projections.map((p) => this.state(p))));
  }

  /**
   * Applies `fresh` (events past the model's checkpoint `at`) to one model's schema under a
   * savepoint of its own (declared with the search_path: no extra round trip). When the model
   * cannot apply an event, it applies what precedes it and is marked halted at it; the caller's
   * transaction goes on for the other models. Returns where the model's checkpoint goes.
   */
  private async applyModel(
    client: PoolClient,
    p: Projection,
    schema: string,
    fresh: RecordedEvent[],
    at: LogPosition,
    read?: string[],
  ): Promise<{ last: LogPosition; halt?: HaltedReadModel }> {
    const mine = eventsOf(p, fresh, read);
    const last = fresh[fresh.length - 1].position;
    if (mine.length === 0) return { last };
    await client.query(`SET LOCAL search_path TO ${quote(schema)}, public; SAVEPOINT apply_model`);
    try {
      await p.apply(client, mine);
      return { last };
    } catch (err) {
      if (isTransient(err)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT apply_model');
      const { failed, error } = await applyUpToFailure(client, p, mine, err);
      await markHalted(client, schema, failed.id, error);
      const before = fresh.indexOf(failed) - 1;
      return {
        last: before >= 0 ? fresh[before].position : at,
        halt: { name: p.name, eventId: failed.id, error: errorText(error), haltedAt: new Date() },
      };
    }
  }

  /** applyModel, and the model's checkpoint moved, for a rebuild's schema. */
  private async applyBatch(client: PoolClient, p: Projection, schema: string, page: RecordedEvent[], at: LogPosition, read?: string[]) {
    const result = await this.applyModel(client, p, schema, page, at, read);
    await client.query(`UPDATE ${quote(schema)}.checkpoint SET log_tx = $1, log_seq = $2, updated_at = now()`, [result.last.tx.toString(), result.last.seq.toString()]);
    return result;
  }

  private async ensureSchema(p: Projection, schema: string): Promise<{ hash: string | null }> {
    return inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, lockKey(p)]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quote(schema)}`);
      await client.query(`SET LOCAL search_path TO ${quote(schema)}, public`);
      await client.query(p.schemaSql());
      await client.query(`CREATE TABLE IF NOT EXISTS checkpoint (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        log_tx bigint NOT NULL, log_seq bigint NOT NULL, schema_hash text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())`);
      await client.query(HALT_COLUMNS_DDL);
      const { rows } = await client.query<{ schema_hash: string }>(
        `INSERT INTO checkpoint (log_tx, log_seq, schema_hash) VALUES (0, 0, $1)
         ON CONFLICT (only_row) DO UPDATE SET only_row = true RETURNING schema_hash`,
        [schemaHash(p)],
      );
      return { hash: rows[0]?.schema_hash ?? null };
    });
  }

  private sleep(ms = this.pollMs): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}

function lowestOf(states: ModelState[]): LogPosition | null {
  let lowest: LogPosition | null = null;
  for (const s of states) if (!s.halted && (lowest === null || comparePositions(s.position, lowest) < 0)) lowest = s.position;
  return lowest;
}

/**
 * The events of a page that a read model reads. The page was read for `read` (the prefixes of
 * every model it feeds); a model that reads all of those takes the page as it is.
 */
function eventsOf(p: Projection, page: RecordedEvent[], read?: string[]): RecordedEvent[] {
  if (read && read.every((x) => p.streamPrefixes.includes(x))) return page;
  return page.filter((e) => p.streamPrefixes.some((prefix) => e.streamId.startsWith(prefix)));
}
