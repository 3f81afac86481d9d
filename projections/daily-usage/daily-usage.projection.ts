/**
 * Settled requests per (account, UTC day, model). A day still open is folded from its settles
 * (their usage sealed with the day's key: compliance/retention); once the day is closed, its
 * UsageDayClosed event (the day's aggregates, in plaintext) replaces the day's rows of that
 * account. Live, that changes nothing (the event holds what the rows already say); in a replay
 * after the day's key is gone, it puts back what the sealed settles no longer tell.
 */
import { PoolClient } from 'pg';
import { RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { ACCOUNT_STREAM_PREFIX } from '../../src/ledger/domain/events';
import { Projection, ledgerFacts, readSchemaFile } from '../projection';
import { BulkContext, BulkLoad, chunks, withSchema } from '../bulk';
import { UsageUnsealer } from '../../src/compliance/retention/usage-unsealer';
import { USAGE_DAY_CLOSED, USAGE_DAY_STREAM_PREFIX, decodeUsageDayClosed } from '../../src/compliance/retention/usage-day-closed';

// (account, day, model) rows folded in memory before a rebuild writes them out.
const BULK_MAX_ROWS = 200_000;

/** The model a settle whose usage was sealed with a key destroyed since (the day is past retention) counts under until its day's aggregates replace it. */
export const FORGOTTEN_MODEL = '(past retention)';

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

/** What a run of events changes: sums to add, per (account, day), and the (account, day)s whose stored rows a closed day replaces. */
class Changes {
  days = new Map<string, Map<string, Sum>>();
  rows = 0;
  replaced = new Map<string, { accountId: string; day: string }>();

  sum(accountId: string, day: string, model: string): Sum {
    const at = `${accountId}\u0000${day}`;
    let models = this.days.get(at);
    if (!models) this.days.set(at, (models = new Map<string, Sum>()));
    let s = models.get(model);
    if (!s) {
      models.set(model, (s = { accountId, day, model, requests: 0n, input: 0n, output: 0n, cached: 0n, cost: 0n, estimated: 0n }));
      this.rows++;
    }
    return s;
  }

  /** The day's rows of the account are what the closed day says, whatever was folded or stored before. */
  replace(accountId: string, day: string): void {
    const at = `${accountId}\u0000${day}`;
    this.rows -= this.days.get(at)?.size ?? 0;
    this.days.delete(at);
    this.replaced.set(at, { accountId, day });
  }
}

export class DailyUsageProjection implements Projection {
  readonly name = 'daily_usage';
  readonly streamPrefixes = [ACCOUNT_STREAM_PREFIX, USAGE_DAY_STREAM_PREFIX];

  schemaSql(): string {
    return readSchemaFile('daily-usage');
  }

  /** What this model has learnt of day keys, kept while it runs (see UsageUnsealer). */
  private readonly unsealer = new UsageUnsealer();

  async apply(client: PoolClient, events: RecordedEvent[]): Promise<void> {
    const c = new Changes();
    await this.unsealer.load(client, ledgerFacts(events).map((f) => f.event));
    fold(c, events, this.unsealer);
    await write(client, c);
  }

  /**
   * A rebuild folds every page in memory and writes each row once (flushing early past
   * BULK_MAX_ROWS: a flushed row is added to, or replaced by a closed day, by the next write).
   */
  bulk(ctx: BulkContext): BulkLoad {
    let c = new Changes();
    const unsealer = new UsageUnsealer();
    const flush = async () => {
      const all = c;
      c = new Changes();
      await withSchema(ctx, (client) => write(client, all));
    };
    return {
      add: async (events) => {
        await unsealer.load(ctx.pool, ledgerFacts(events).map((f) => f.event));
        fold(c, events, unsealer);
        if (c.rows > BULK_MAX_ROWS) await flush();
      },
      finish: flush,
      abort: () => Promise.resolve(),
    };
  }
}

function fold(c: Changes, events: RecordedEvent[], unsealer: UsageUnsealer): void {
  const facts = ledgerFacts(events);
  let next = 0;
  for (const e of events) {
    if (e.type === USAGE_DAY_CLOSED) {
      const closed = decodeUsageDayClosed(e.data);
      c.replace(closed.accountId, closed.day);
      for (const m of closed.byModel) {
        const s = c.sum(closed.accountId, closed.day, m.model);
        s.requests += m.requests;
        s.input += m.inputTokens;
        s.output += m.outputTokens;
        s.cached += m.cachedTokens;
        s.cost += m.cost;
        s.estimated += m.estimatedRequests;
      }
      continue;
    }
    if (facts[next]?.source !== e) continue; // not a ledger event
    const { accountId, event, occurredAt } = facts[next++];
    // A late settle (after its hold expired) is a request answered and charged, as a settle is.
    if (event.type !== 'HoldSettled' && event.type !== 'HoldSettledLate') continue;
    const usage = unsealer.usageOf(event);
    const model = usage?.model ?? (unsealer.forgotten(event) ? FORGOTTEN_MODEL : '(unmetered)');
    const s = c.sum(accountId, occurredAt.slice(0, 10), model);
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

/** Deletes the rows closed days replace, then adds the sums to the stored rows (one upsert per chunk). */
async function write(client: PoolClient, c: Changes): Promise<void> {
  for (const some of chunks([...c.replaced.values()])) {
    await client.query(
      `DELETE FROM daily_usage u USING unnest($1::text[], $2::date[]) AS r(account_id, day)
        WHERE u.account_id = r.account_id AND u.day = r.day`,
      [some.map((r) => r.accountId), some.map((r) => r.day)],
    );
  }
  const sums = [...c.days.values()].flatMap((models) => [...models.values()]);
  for (const all of chunks(sums)) {
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
