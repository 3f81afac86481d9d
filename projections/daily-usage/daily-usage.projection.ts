import { PoolClient } from 'pg';
import { RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { ACCOUNT_STREAM_PREFIX } from '../../src/ledger/domain/events';
import { Projection, ledgerFacts, readSchemaFile } from '../projection';
import { BulkContext, BulkLoad, chunks, foldingBulkLoad } from '../bulk';

// (account, day, model) rows folded in memory before a rebuild writes them out.
const BULK_MAX_ROWS = 200_000;

interface Sum {
  accountId: string;
  day: string;
  model: string;
  requests: bigint;
  input: bigint;
  output: bigint;
  cached: bigint;
  cost: bigint;
  estimated: bigint;
}

/** Folds a batch's settled requests into one row per (account, day, model), then one upsert. */
export class DailyUsageProjection implements Projection {
  readonly name = 'daily_usage';
  readonly streamPrefixes = [ACCOUNT_STREAM_PREFIX];

  schemaSql(): string {
    return readSchemaFile('daily-usage');
  }

  async apply(client: PoolClient, events: RecordedEvent[]): Promise<void> {
    const sums = new Map<string, Sum>();
    fold(sums, events);
    await write(client, sums);
  }

  /** A rebuild folds every page in memory and writes each row once. */
  bulk(ctx: BulkContext): BulkLoad {
    return foldingBulkLoad(ctx, BULK_MAX_ROWS, fold, write);
  }
}

function fold(sums: Map<string, Sum>, events: RecordedEvent[]): void {
  for (const { accountId, event, occurredAt } of ledgerFacts(events)) {
    // A late settle (after its hold expired) is a request answered and charged, as a settle is.
    if (event.type !== 'HoldSettled' && event.type !== 'HoldSettledLate') continue;
    const day = occurredAt.slice(0, 10);
    const usage = event.data.usage;
    const model = usage?.model ?? '(unmetered)';
    const key = `${accountId}\u0000${day}\u0000${model}`;
    let s = sums.get(key);
    if (!s) sums.set(key, (s = { accountId, day, model, requests: 0n, input: 0n, output: 0n, cached: 0n, cost: 0n, estimated: 0n }));
    s.requests += 1n;
    s.cost += event.data.amount;
    if (usage) {
      s.input += BigInt(usage.inputTokens);
      s.output += BigInt(usage.outputTokens);
      s.cached += BigInt(usage.cachedTokens);
      if (usage.estimated) s.estimated += 1n;
    }
  }
}

/** Adds the sums to the stored rows (one upsert per chunk). */
async function write(client: PoolClient, sums: Map<string, Sum>): Promise<void> {
  for (const all of chunks([...sums.values()])) {
    const col = (f: (s: Sum) => bigint) => all.map((s) => f(s).toString());
    await client.query(
      `INSERT INTO daily_usage AS u (account_id, day, model, requests, input_tokens, output_tokens, cached_tokens, cost, estimated_requests)
       SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])
       ON CONFLICT (account_id, day, model) DO UPDATE SET
         requests = u.requests + EXCLUDED.requests,
         input_tokens = u.input_tokens + EXCLUDED.input_tokens,
         output_tokens = u.output_tokens + EXCLUDED.output_tokens,
         cached_tokens = u.cached_tokens + EXCLUDED.cached_tokens,
         cost = u.cost + EXCLUDED.cost,
         estimated_requests = u.estimated_requests + EXCLUDED.estimated_requests`,
      [
        all.map((s) => s.accountId),
        all.map((s) => s.day),
        all.map((s) => s.model),
        col((s) => s.requests),
        col((s) => s.input),
        col((s) => s.output),
        col((s) => s.cached),
        col((s) => s.cost),
        col((s) => s.estimated),
      ],
    );
  }
}
