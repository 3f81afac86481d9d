/**
 * Runs the read models: each follows the event log from its checkpoint and writes its rows and
 * its new checkpoint in one transaction, so a crash never applies an event twice or skips one.
 *
 * Several runners (worker instances) may follow the same read model: every batch takes the
 * model's advisory lock and re-reads the stored checkpoint, and a runner whose position differs
 * from the stored one moves to it instead of writing. The same lock lets a rebuild fill a fresh
 * schema beside the live one while the system runs, then swap them by renaming.
 */
import { Pool } from 'pg';
import { EventStore, LOG_START, LogPosition, RecordedEvent, comparePositions } from '../src/platform/event-store/event-store.port';
import { Projection, schemaOf } from './projection';
import { HaltedReadModel, ReadModelHaltedError, haltedReadModels } from './halted';
import { LOCK_NAMESPACE, applyModel, ensureSchema, lockKey, prefixesOf, schemaHash } from './model-writes';
import { queryStatements, quoteIdent } from '../src/platform/database/pg';
import { RebuildProgress, rebuildModels } from './rebuild';

export type { RebuildProgress };

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
      const { hash } = await ensureSchema(this.pool, p, schemaOf(p));
      if (hash !== schemaHash(p)) stale.push(p);
    }
    if (stale.length > 0) await this.rebuild(stale);
  }

  /** Whether it follows the log now (a worker started it): then a catch-up only waits, it never stops it. */
  get following(): boolean {
    return this.running;
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
    const head = await this.store.headPosition(prefixesOf(this.projections));
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
      `SELECT log_tx, log_seq, halted_at IS NOT NULL AS halted FROM ${quoteIdent(schema)}.checkpoint`,
    );
    return rows[0] ? { position: { tx: rows[0].log_tx, seq: rows[0].log_seq }, halted: rows[0].halted } : { position: LOG_START, halted: false };
  }

  /**
   * Rebuilds read models from the first event beside the live ones and swaps them in
   * (rebuild.ts); a model that cannot apply some event is swapped in halted at it.
   */
  async rebuild(projections = this.projections, onProgress?: (p: RebuildProgress) => void): Promise<RebuildProgress> {
    const progress = await rebuildModels({ pool: this.pool, store: this.store, onHalt: this.options.onHalt }, projections, onProgress);
    this.wakers.forEach((w) => w());
    return progress;
  }
  /**
   * One loop for every read model: one read of the log feeds them all, in one transaction.
   * Each applies only what lies past its own stored checkpoint, so models at different
   * positions (one just rebuilt, say) and several runners side by side all stay exact.
   */
  private async follow(): Promise<void> {
    const prefixes = prefixesOf(this.projections);
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
      const cps = ps.map((p, i) => `c${i} AS (SELECT ${i} AS i, log_tx, log_seq, halted_at IS NOT NULL AS halted FROM ${quoteIdent(schemaOf(p))}.checkpoint FOR UPDATE)`);
      // Read models are derived, and each page's rows commit with its checkpoint: a crash can
      // only lose whole pages, which are then read and applied again. So the commit need not
      // wait for its WAL to reach disk (the ledger's own appends always do).
      const results = await queryStatements<{ i: number; log_tx: bigint; log_seq: bigint; halted: boolean }>(
        client,
        `BEGIN; SET LOCAL synchronous_commit = off; SELECT ${locks}; WITH ${cps.join(', ')} ${ps.map((_, i) => `SELECT * FROM c${i}`).join(' UNION ALL ')}`,
      );
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
      const prefixes = prefixesOf(ps);
      for (const [i, p] of ps.entries()) {
        if (stored[i].halted) continue;
        const at = stored[i].position;
        const fresh = comparePositions(page[0].position, at) > 0 ? page : page.filter((e) => comparePositions(e.position, at) > 0);
        if (fresh.length === 0) continue;
        const { last, halt } = await applyModel(client, p, schemaOf(p), fresh, at, prefixes);
        if (halt) halts.push(halt);
        updates.push(`UPDATE ${quoteIdent(schemaOf(p))}.checkpoint SET log_tx = ${last.tx}, log_seq = ${last.seq}, updated_at = now()`);
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
