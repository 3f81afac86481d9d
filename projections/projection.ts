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
  bulk?(ctx: BulkContext): BulkLoad | Promise<BulkLoad>;
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
  /**
   * When it happened, as ISO-8601 UTC to the millisecond (what the ledger writes into every
   * event's metadata, taken as it is rather than parsed into a Date and formatted back again).
   */
  occurredAt: string;
  /** Its postings (src/ledger/domain/postings.ts), worked out once for every read model. */
  postings: Posting[];
}

// Every read model is handed the same page (the same array: see the runner's eventsOf), so
// the page's facts are worked out once and remembered by the array: one weak entry per page,
// where there was a bounded map entry per event. A different array is decoded again: only
// slower, never different.
const decodedPages = new WeakMap<RecordedEvent[], LedgerFact[]>();

const ISO_UTC_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The event's occurredAt in the one form read models write (normalised if written otherwise). */
function occurredAtOf(e: RecordedEvent): string {
  const at = e.metadata.occurredAt;
  if (typeof at !== 'string') return e.recordedAt.toISOString();
  return ISO_UTC_MILLIS.test(at) ? at : new Date(at).toISOString();
}

/** Decodes the ledger events of a batch (others are skipped: they belong to other read models). */
export function ledgerFacts(events: RecordedEvent[]): LedgerFact[] {
  let facts = decodedPages.get(events);
  if (!facts) {
    facts = [];
    for (const e of events) {
      if (!isLedgerEventType(e.type)) continue;
      const at = occurredAtOf(e);
      const accountId = accountIdOfStream(e.streamId);
      const event = decodeLedgerEvent(e.type, e.data);
      facts.push({ accountId, event, source: e, occurredAt: at, postings: postingsOf(accountId, event) });
    }
    decodedPages.set(events, facts);
  }
  return facts;
}
