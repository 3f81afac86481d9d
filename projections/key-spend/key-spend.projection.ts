/**
 * Per-key daily spend: a hold placed for an API key (HoldPlaced.keyId) adds what it settled
 * for (HoldSettled, or HoldSettledLate after it expired) to the key's row of the settle's UTC
 * day. Settles name only their hold, so the key of each unresolved hold is kept in key_holds.
 * Holds without a key (placed before keys were recorded, or by no request) count for no key.
 *
 * New holds carry their key sealed with the day's key (compliance/retention). Once a day is
 * closed, its UsageDayClosed event (the day's spend per key, in plaintext) replaces the day's
 * rows of that account: live that changes nothing, and a replay after the day's key is gone
 * (when its holds' keys no longer open) still ends with the same rows.
 */
import { PoolClient } from 'pg';
import { RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { ACCOUNT_STREAM_PREFIX } from '../../src/ledger/domain/events';
import { Projection, ledgerFacts, readSchemaFile } from '../projection';
import { BulkContext, BulkLoad, chunks, withSchema } from '../bulk';
import { UsageUnsealer } from '../../src/compliance/retention/usage-unsealer';
import { USAGE_DAY_CLOSED, USAGE_DAY_STREAM_PREFIX, decodeUsageDayClosed } from '../../src/compliance/retention/usage-day-closed';

// (key, day) rows folded in memory before a rebuild writes them out.
const BULK_MAX_ROWS = 200_000;

interface HoldKey {
  keyId: string;
  accountId: string;
  /** The UTC day the hold was placed: the retention pass deletes the rows of holds placed before retention. */
  placedOn: string | null;
}

interface Sum {
  keyId: string;
  accountId: string;
  day: string;
  spent: bigint;
  requests: bigint;
}

/** What a run of events changes: holds whose key to keep or forget, and spend to add. */
class Changes {
  /** Placed in this run (not stored yet). */
  readonly placed = new Map<string, HoldKey>();
  /** Stored before this run, looked up for the run's settles and voids. */
  readonly stored = new Map<string, HoldKey>();
  /** Stored holds this run resolved: their rows go. */
  forgotten: string[] = [];
  spend = new Map<string, Sum>();
  /** The spend rows of each (account, day), so a closed day finds its own. */
  private byAccountDay = new Map<string, Set<string>>();
  /** (account, day)s whose stored rows a closed day replaces. */
  replaced = new Map<string, { accountId: string; day: string }>();

  add(hold: Pick<HoldKey, 'keyId' | 'accountId'>, day: string, spent: bigint, requests: bigint): void {
    const key = `${hold.keyId}\u0000${day}`;
    let s = this.spend.get(key);
    if (!s) {
      this.spend.set(key, (s = { keyId: hold.keyId, accountId: hold.accountId, day, spent: 0n, requests: 0n }));
      const at = `${hold.accountId}\u0000${day}`;
      let keys = this.byAccountDay.get(at);
      if (!keys) this.byAccountDay.set(at, (keys = new Set()));
      keys.add(key);
    }
    s.spent += spent;
    s.requests += requests;
  }

  /** The day's spend of the account is what the closed day says, whatever was folded or stored before. */
  replace(accountId: string, day: string): void {
    const at = `${accountId}\u0000${day}`;
    for (const key of this.byAccountDay.get(at) ?? []) this.spend.delete(key);
    this.byAccountDay.delete(at);
    this.replaced.set(at, { accountId, day });
  }

  /** Hands out the spend (and replacements) folded so far, for writing; the holds stay. */
  takeSpend(): { spend: Map<string, Sum>; replaced: Map<string, { accountId: string; day: string }> } {
    const out = { spend: this.spend, replaced: this.replaced };
    this.spend = new Map();
    this.byAccountDay = new Map();
    this.replaced = new Map();
    return out;
  }

  /** The key of a hold being resolved (settled or voided), which is then forgotten. */
  take(holdId: string): HoldKey | undefined {
    const placed = this.placed.get(holdId);
    if (placed) {
      this.placed.delete(holdId);
      return placed;
    }
    const stored = this.stored.get(holdId);
    if (stored) {
      this.stored.delete(holdId);
      this.forgotten.push(holdId);
    }
    return stored;
  }
}

function fold(c: Changes, events: RecordedEvent[], unsealer: UsageUnsealer): void {
  const facts = ledgerFacts(events);
  let next = 0;
  for (const e of events) {
    if (e.type === USAGE_DAY_CLOSED) {
      const closed = decodeUsageDayClosed(e.data);
      c.replace(closed.accountId, closed.day);
      for (const k of closed.byKey) c.add({ keyId: k.keyId, accountId: closed.accountId }, closed.day, k.spent, k.requests);
      continue;
    }
    if (facts[next]?.source !== e) continue; // not a ledger event
    const { accountId, event, occurredAt } = facts[next++];
    switch (event.type) {
      case 'HoldPlaced': {
        // A hold whose key was sealed with a day's key destroyed since counts for no key.
        const keyId = unsealer.keyIdOf(event);
        if (keyId !== undefined) c.placed.set(event.data.holdId, { keyId, accountId, placedOn: occurredAt.slice(0, 10) });
        break;
      }
      case 'HoldSettled':
      case 'HoldSettledLate': {
        const hold = c.take(event.data.holdId);
        if (hold) c.add(hold, occurredAt.slice(0, 10), event.data.amount, 1n);
        break;
      }
      case 'HoldVoided':
        c.take(event.data.holdId);
        break;
      // HoldExpired keeps the hold's key: a late settle may still follow it.
    }
  }
}

/** The holds this page resolves that were placed on an earlier page (the only ones key_holds must be asked about). */
function resolvedFromEarlierPages(events: RecordedEvent[]): string[] {
  const placedHere = new Set<string>();
  const ids: string[] = [];
  for (const { event } of ledgerFacts(events)) {
    if (event.type === 'HoldPlaced') placedHere.add(event.data.holdId);
    else if (event.type === 'HoldSettled' || event.type === 'HoldSettledLate' || event.type === 'HoldVoided') {
      if (!placedHere.has(event.data.holdId)) ids.push(event.data.holdId);
    }
  }
  return ids;
}

async function writeHolds(client: PoolClient, c: Changes): Promise<void> {
  if (c.placed.size) {
    for (const all of chunks([...c.placed])) {
      await client.query(
        `INSERT INTO key_holds (hold_id, key_id, account_id, placed_on)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[])
         ON CONFLICT (hold_id) DO NOTHING`,
        [all.map(([id]) => id), all.map(([, h]) => h.keyId), all.map(([, h]) => h.accountId), all.map(([, h]) => h.placedOn)],
      );
    }
  }
  if (c.forgotten.length) await client.query('DELETE FROM key_holds WHERE hold_id = ANY($1::text[])', [c.forgotten]);
}

/** Deletes the rows closed days replace, then adds the sums to the stored rows (one upsert per chunk). */
async function writeSpend(client: PoolClient, { spend, replaced }: ReturnType<Changes['takeSpend']>): Promise<void> {
  for (const some of chunks([...replaced.values()])) {
    await client.query(
      `DELETE FROM key_spend s USING unnest($1::text[], $2::date[]) AS r(account_id, day)
        WHERE s.account_id = r.account_id AND s.day = r.day`,
      [some.map((r) => r.accountId), some.map((r) => r.day)],
    );
  }
  for (const all of chunks([...spend.values()])) {
    await client.query(
      `INSERT INTO key_spend AS s (key_id, day, account_id, spent, requests)
       SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[])
       ON CONFLICT (key_id, day) DO UPDATE SET spent = s.spent + EXCLUDED.spent, requests = s.requests + EXCLUDED.requests`,
      [all.map((s) => s.keyId), all.map((s) => s.day), all.map((s) => s.accountId), all.map((s) => s.spent.toString()), all.map((s) => s.requests.toString())],
    );
  }
}

export class KeySpendProjection implements Projection {
  readonly name = 'key_spend';
  readonly streamPrefixes = [ACCOUNT_STREAM_PREFIX, USAGE_DAY_STREAM_PREFIX];

  schemaSql(): string {
    return readSchemaFile('key-spend');
  }

  /** What this model has learnt of day keys, kept while it runs (see UsageUnsealer). */
  private readonly unsealer = new UsageUnsealer();

  async apply(client: PoolClient, events: RecordedEvent[]): Promise<void> {
    const c = new Changes();
    const earlier = resolvedFromEarlierPages(events);
    if (earlier.length) {
      const { rows } = await client.query<{ hold_id: string; key_id: string; account_id: string; placed_on: string | null }>(
        `SELECT hold_id, key_id, account_id, to_char(placed_on, 'YYYY-MM-DD') AS placed_on FROM key_holds WHERE hold_id = ANY($1::text[])`,
        [earlier],
      );
      for (const r of rows) c.stored.set(r.hold_id, { keyId: r.key_id, accountId: r.account_id, placedOn: r.placed_on });
    }
    await this.unsealer.load(client, ledgerFacts(events).map((f) => f.event));
    fold(c, events, this.unsealer);
    await writeHolds(client, c);
    await writeSpend(client, c.takeSpend());
  }

  /**
   * A rebuild folds the whole log in memory: every hold placed since the first event is known
   * there, so nothing is looked up; the sums are written past BULK_MAX_ROWS (added to, not
   * overwritten, by the next write) and the holds still unresolved once, at the end.
   */
  bulk(ctx: BulkContext): BulkLoad {
    const c = new Changes();
    const unsealer = new UsageUnsealer();
    const flushSpend = async () => {
      const taken = c.takeSpend();
      if (taken.spend.size || taken.replaced.size) await withSchema(ctx, (client) => writeSpend(client, taken));
    };
    return {
      add: async (events) => {
        await unsealer.load(ctx.pool, ledgerFacts(events).map((f) => f.event));
        fold(c, events, unsealer);
        if (c.spend.size > BULK_MAX_ROWS) await flushSpend();
      },
      finish: async () => {
        await flushSpend();
        await withSchema(ctx, (client) => writeHolds(client, c));
      },
      abort: () => Promise.resolve(),
    };
  }
}
