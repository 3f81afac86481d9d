import { PoolClient } from 'pg';
import { RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { ACCOUNT_STREAM_PREFIX } from '../../src/ledger/domain/events';
import { availableOf, frozenOf, heldOf } from '../../src/ledger/domain/postings';
import { Projection, ledgerFacts, readSchemaFile } from '../projection';
import { BulkContext, BulkLoad, chunks, foldingBulkLoad } from '../bulk';

// Accounts folded in memory before a rebuild writes them out (bounds its memory).
const BULK_MAX_ACCOUNTS = 200_000;

interface Delta {
  available: bigint;
  held: bigint;
  receivable: bigint;
  frozen: bigint;
  purchased: bigint;
  spent: bigint;
  free: number;
  version: bigint;
  at: string; // ISO-8601, as the fact has it
  /** The account's ledger accounts' names, made once per account rather than per event. */
  availableAccount: string;
  heldAccount: string;
  frozenAccount: string;
}

/** Balances per account. A batch is folded into one delta per account, then one upsert. */
export class BalancesProjection implements Projection {
  readonly name = 'balances';
  readonly streamPrefixes = [ACCOUNT_STREAM_PREFIX];

  schemaSql(): string {
    return readSchemaFile('balances');
  }

  async apply(client: PoolClient, events: RecordedEvent[]): Promise<void> {
    const deltas = new Map<string, Delta>();
    fold(deltas, events);
    await write(client, deltas);
  }

  /** A rebuild folds every page into one delta per account and writes each account once. */
  bulk(ctx: BulkContext): BulkLoad {
    return foldingBulkLoad(ctx, BULK_MAX_ACCOUNTS, fold, write);
  }
}

function fold(deltas: Map<string, Delta>, events: RecordedEvent[]): void {
  for (const { accountId, event, source, occurredAt, postings } of ledgerFacts(events)) {
    let d = deltas.get(accountId);
    if (!d) {
      d = { available: 0n, held: 0n, receivable: 0n, frozen: 0n, purchased: 0n, spent: 0n, free: 0, version: 0n, at: occurredAt, availableAccount: availableOf(accountId), heldAccount: heldOf(accountId), frozenAccount: frozenOf(accountId) };
      deltas.set(accountId, d);
    }
    d.version = source.streamVersion;
    d.at = occurredAt;
    // Available and held come from the postings, so this read model and the entries one
    // can never disagree about what an event does to a balance.
    for (const p of postings) {
      if (p.account === d.availableAccount) d.available += p.amount;
      else if (p.account === d.heldAccount) d.held += p.amount;
      else if (p.account === d.frozenAccount) d.frozen += p.amount;
      else if (p.account === 'receivables') d.receivable -= p.amount; // the house side: negative by what is owed
    }
    if (event.type === 'CreditsPurchased' || event.type === 'CryptoPaymentCredited') d.purchased += event.data.amount;
    else if (event.type === 'HoldSettled' || event.type === 'HoldSettledLate') d.spent += event.data.amount;
    else if (event.type === 'FreeRequestsGranted') d.free += event.data.count;
    else if (event.type === 'FreeRequestUsed') d.free -= 1;
  }
}

/** Adds the deltas to the stored balances (one upsert per chunk of accounts). */
async function write(client: PoolClient, deltas: Map<string, Delta>): Promise<void> {
  for (const ids of chunks([...deltas.keys()])) {
    const col = <T>(f: (d: Delta) => T) => ids.map((id) => f(deltas.get(id)!));
    await client.query(
      `INSERT INTO balances AS b (account_id, available, held, lifetime_purchased, lifetime_spent, free_requests, version, updated_at, receivable, frozen)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::int[], $7::bigint[], $8::timestamptz[], $9::bigint[], $10::bigint[])
       ON CONFLICT (account_id) DO UPDATE SET
         available = b.available + EXCLUDED.available,
         held = b.held + EXCLUDED.held,
         receivable = b.receivable + EXCLUDED.receivable,
         frozen = b.frozen + EXCLUDED.frozen,
         lifetime_purchased = b.lifetime_purchased + EXCLUDED.lifetime_purchased,
         lifetime_spent = b.lifetime_spent + EXCLUDED.lifetime_spent,
         free_requests = b.free_requests + EXCLUDED.free_requests,
         version = EXCLUDED.version,
         updated_at = EXCLUDED.updated_at`,
      [
        ids,
        col((d) => d.available.toString()),
        col((d) => d.held.toString()),
        col((d) => d.purchased.toString()),
        col((d) => d.spent.toString()),
        col((d) => d.free),
        col((d) => d.version.toString()),
        col((d) => d.at),
        col((d) => d.receivable.toString()),
        col((d) => d.frozen.toString()),
      ],
    );
  }
}
