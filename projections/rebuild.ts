/**
 * Rebuilds read models from the first event into fresh schemas (`rm_<name>__next`) beside the
 * live ones, which keep serving, and swaps them in by renaming under the models' locks. The
 * bulk loaders (bulk.ts) do most of the work; a model whose load fails on the data is refilled
 * page by page up to the event it cannot apply, and swapped in halted there (halted.ts).
 */
import { Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { EventStore, LOG_START, LogPosition, RecordedEvent, comparePositions } from '../src/platform/event-store/event-store.port';
import { inTransaction, quoteIdent } from '../src/platform/database/pg';
import { Projection, schemaOf } from './projection';
import { BulkLoad } from './bulk';
import { HaltedReadModel, isTransient } from './halted';
import type { RebuildProgress } from '../src/ledger/application/read-models';
import { LOCK_NAMESPACE, applyBatch, ensureSchema, eventsOf, lockKey, prefixesOf } from './model-writes';

// Events per page read by a rebuild. Measured: 5,000 beats 2,500 (statement overheads) and
// 10,000-20,000 (pages outlive the young generation, and the garbage collector pays for it).
const REBUILD_PAGE = 5_000;

// How long a rebuild waits for events committed before it began that the log does not serve yet
// (see reachHead), before it leaves them to the followers.
const HEAD_WAIT_MS = 30_000;

// Declared by the ledger's port (read-models.ts), which this folder implements.
export type { RebuildProgress };

export interface RebuildContext {
  pool: Pool;
  store: EventStore;
  onHalt?: (halted: HaltedReadModel) => void;
}

/**
 * Rebuilds read models from the first event: fills `rm_<name>__next` while the live ones keep
 * serving, catches up under the models' locks, and swaps the schemas in one transaction.
 * A model that cannot apply some event is rebuilt up to it and swapped in halted there (the
 * others are rebuilt in full); the halted ones are in the result.
 */
export async function rebuildModels(ctx: RebuildContext, projections: Projection[], onProgress?: (p: RebuildProgress) => void): Promise<RebuildProgress> {
  const next = (p: Projection) => `${schemaOf(p)}__next`;
  // Everything committed before the call is in the rebuilt models when it returns.
  const head = await ctx.store.headPosition(prefixesOf(projections));
  for (const p of projections) {
    await ctx.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(next(p))} CASCADE`);
    await ensureSchema(ctx.pool, p, next(p));
  }
  const { progress, failed } = await bulkLoad(ctx, projections, next, onProgress);
  const halted = new Map<string, HaltedReadModel>();
  for (const p of failed) {
    const halt = await fillByPages(ctx, p, next(p), progress.position);
    if (halt) halted.set(p.name, halt);
  }
  await reachHead(ctx, projections, next, halted, progress, head);
  const prefixes = prefixesOf(projections);
  await inTransaction(ctx.pool, async (client) => {
    for (const p of projections) await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, lockKey(p)]);
    for (;;) {
      const page = await ctx.store.readAll({ after: progress.position, limit: 5000, streamPrefixes: prefixes });
      if (page.length === 0) break;
      for (const p of projections) {
        if (halted.has(p.name)) continue;
        const { halt } = await applyBatch(client, p, next(p), page, progress.position, prefixes);
        if (halt) halted.set(p.name, halt);
      }
      progress.position = page[page.length - 1].position;
      progress.events += page.length;
    }
    for (const p of projections) {
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(`${schemaOf(p)}__old`)} CASCADE`);
      // A model no runner has created yet (a replay before any worker ran): nothing to swap out.
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schemaOf(p))}`);
      await client.query(`ALTER SCHEMA ${quoteIdent(schemaOf(p))} RENAME TO ${quoteIdent(`${schemaOf(p)}__old`)}`);
      await client.query(`ALTER SCHEMA ${quoteIdent(next(p))} RENAME TO ${quoteIdent(schemaOf(p))}`);
      await client.query(`DROP SCHEMA ${quoteIdent(`${schemaOf(p)}__old`)} CASCADE`);
    }
  });
  progress.halted = [...halted.values()];
  for (const h of progress.halted) ctx.onHalt?.(h);
  onProgress?.({ ...progress });
  return progress;
}

/**
 * Applies, outside the models' locks, what was committed before the rebuild began but the bulk
 * read did not get: the log serves only what lies below every open transaction's snapshot, and
 * that horizon is the whole cluster's, so a transaction open elsewhere (another database's, even)
 * can hide the newest events for a while. A rebuild that swapped in without them would answer
 * for a moment as if they had never been written (a closed usage day missing from a replay made
 * after its key was gone, say). Waits for them at most HEAD_WAIT_MS, then leaves the rest to the
 * followers, saying so.
 */
async function reachHead(
  ctx: RebuildContext,
  projections: Projection[],
  schema: (p: Projection) => string,
  halted: Map<string, HaltedReadModel>,
  progress: RebuildProgress,
  head: LogPosition,
): Promise<void> {
  const prefixes = prefixesOf(projections);
  const deadline = Date.now() + HEAD_WAIT_MS;
  while (comparePositions(progress.position, head) < 0) {
    const page = await ctx.store.readAll({ after: progress.position, limit: REBUILD_PAGE, streamPrefixes: prefixes });
    if (page.length === 0) {
      if (Date.now() > deadline) {
        new Logger('Rebuild').warn(`events committed before the rebuild were still not served after ${HEAD_WAIT_MS} ms (a long transaction open?): the read models' followers apply them`);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    for (const p of projections) {
      if (halted.has(p.name)) continue;
      const { halt } = await inTransaction(ctx.pool, (client) => applyBatch(client, p, schema(p), page, progress.position, prefixes));
      if (halt) halted.set(p.name, halt);
    }
    progress.position = page[page.length - 1].position;
    progress.events += page.length;
  }
}

/**
 * Fills the fresh schemas from the whole log through each model's bulk loader (bulk.ts), all
 * fed from one read, the next page read while the current one is loaded. Nothing here is
 * visible to anyone until the swap, which is why it needs no per-page transaction.
 * A model whose load fails on the data (not on a lost connection) is dropped from the load
 * and returned in `failed`, its schema made empty again, for fillByPages to find the event.
 */
async function bulkLoad(
  ctx: RebuildContext,
  projections: Projection[],
  schema: (p: Projection) => string,
  onProgress?: (p: RebuildProgress) => void,
): Promise<{ progress: RebuildProgress; failed: Projection[] }> {
  const progress: RebuildProgress = { events: 0, position: LOG_START };
  const prefixes = prefixesOf(projections);
  const read = (after: LogPosition) => ctx.store.readAll({ after, limit: REBUILD_PAGE, streamPrefixes: prefixes });
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
    for (const p of projections) loads.push(await bulkLoader(ctx, p, schema(p)));
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
      await ctx.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema(p))} CASCADE`);
      await ensureSchema(ctx.pool, p, schema(p));
      continue;
    }
    await ctx.pool.query(`UPDATE ${quoteIdent(schema(p))}.checkpoint SET log_tx = $1, log_seq = $2, updated_at = now()`, [
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
async function fillByPages(ctx: RebuildContext, p: Projection, schema: string, upTo: LogPosition): Promise<HaltedReadModel | undefined> {
  let at = LOG_START;
  for (;;) {
    const read = await ctx.store.readAll({ after: at, limit: REBUILD_PAGE, streamPrefixes: p.streamPrefixes });
    const page = read.filter((e) => comparePositions(e.position, upTo) <= 0);
    if (page.length === 0) return undefined;
    const { halt } = await inTransaction(ctx.pool, (client) => applyBatch(client, p, schema, page, at));
    if (halt) return halt;
    at = page[page.length - 1].position;
    if (page.length < read.length) return undefined;
  }
}

async function bulkLoader(ctx: RebuildContext, p: Projection, schema: string): Promise<BulkLoad> {
  if (p.bulk) return p.bulk({ pool: ctx.pool, schema });
  // No fast path: apply page by page (a failure sends the model to fillByPages).
  return {
    add: async (events) => {
      if (events.length === 0) return;
      await inTransaction(ctx.pool, async (client) => {
        await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}, public`);
        await p.apply(client, events);
      });
    },
    finish: () => Promise.resolve(),
    abort: () => Promise.resolve(),
  };
}
