/**
 * A read model: a Postgres schema of its own (tables from its folder's schema.sql, plus a
 * one-row checkpoint), and a projector that applies a batch of events to it. The runner sets
 * search_path to the schema, so projectors write unqualified table names, and a rebuild can
 * fill a fresh schema and swap it in by renaming.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PoolClient } from 'pg';
import { RecordedEvent } from '../src/platform/event-store/event-store.port';
import { LedgerEvent, accountIdOfStream, decodeLedgerEvent, isLedgerEventType } from '../src/ledger/domain/events';
import { Posting, postingsOf } from '../src/ledger/domain/postings';
import { repoRoot } from '../src/platform/paths';
import { BulkContext, BulkLoad } from './bulk';

export interface Projection {
  /** Short name, used in the CLI and for the schema `rm_<name>`. */
  readonly name: string;
  /** Stream prefixes whose events it reads. */
  readonly streamPrefixes: string[];
  /** DDL of its tables (unqualified names, idempotent: CREATE ... IF NOT EXISTS). */
  schemaSql(): string;
  /** Applies events (in log order) inside the runner's transaction. */
  apply(client: PoolClient, events: RecordedEvent[]): Promise<void>;
  /**
   * Optional fast path for a rebuild into an empty schema (see bulk.ts). It must leave exactly
   * the rows that `apply` over the same events would.
   */
  bulk?(ctx: BulkContext): Promise<BulkLoad>;
}

export const schemaOf = (p: Projection) => `rm_${p.name}`;

export function readSchemaFile(folder: string): string {
  return readFileSync(join(repoRoot(), 'projections', folder, 'schema.sql'), 'utf8');
}

/** A ledger event with where and when it happened, as projectors need it. */
export interface LedgerFact {
  accountId: string;
  event: LedgerEvent;
  source: RecordedEvent;
  occurredAt: Date;
  /** Its postings (src/ledger/domain/postings.ts), worked out once for every read model. */
  postings: Posting[];
}

// Every read model is handed the same page; decode each event once. A plain map, emptied when
// it grows (decoding again is only slower, never different): a WeakMap's entries cost the
// garbage collector far more when pages are large. Sized for a page or two (a rebuild reads
// 5,000 events a page): kept longer, facts outlive the young generation and every one of them
// is copied into the old one (at 100,000, a third of a replay's time was garbage collection).
const decoded = new Map<RecordedEvent, LedgerFact>();
const DECODED_MAX = 12_000;

/** Decodes the ledger events of a batch (others are skipped: they belong to other read models). */
export function ledgerFacts(events: RecordedEvent[]): LedgerFact[] {
  const out: LedgerFact[] = [];
  for (const e of events) {
    if (!isLedgerEventType(e.type)) continue;
    let fact = decoded.get(e);
    if (!fact) {
      const at = typeof e.metadata.occurredAt === 'string' ? new Date(e.metadata.occurredAt) : e.recordedAt;
      const accountId = accountIdOfStream(e.streamId);
      const event = decodeLedgerEvent(e.type, e.data);
      fact = { accountId, event, source: e, occurredAt: at, postings: postingsOf(accountId, event) };
      if (decoded.size >= DECODED_MAX) decoded.clear();
      decoded.set(e, fact);
    }
    out.push(fact);
  }
  return out;
}
