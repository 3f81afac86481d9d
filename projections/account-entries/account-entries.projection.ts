import { PoolClient } from 'pg';
import { RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { ACCOUNT_STREAM_PREFIX } from '../../src/ledger/domain/events';
import { Posting } from '../../src/ledger/domain/postings';
import { microsFromDb } from '../../src/shared/money';
import { LedgerFact, Projection, ledgerFacts, readSchemaFile } from '../projection';
import { BulkContext, BulkLoad, CopyLoader, chunks, copyRows, copyValue, withSchema } from '../bulk';

interface Running {
  balance: bigint;
  entries: number; // a count of postings: a number (a bigint allocates on every increment)
}


// Ledger accounts whose running balances a rebuild keeps in memory before writing them out.
const BULK_MAX_ACCOUNTS = 1_000_000;

const ENTRY_COLUMNS = ['ledger_account', 'entry_no', 'account_id', 'event_id', 'event_type', 'amount', 'balance_after', 'occurred_at', 'log_tx', 'log_seq'];

/** One row per posting, numbered per ledger account, with the running balance. */
export class AccountEntriesProjection implements Projection {
  readonly name = 'account_entries';
  readonly streamPrefixes = [ACCOUNT_STREAM_PREFIX];

  schemaSql(): string {
    return readSchemaFile('account-entries');
  }

  async apply(client: PoolClient, events: RecordedEvent[]): Promise<void> {
    const facts = ledgerFacts(events);
    const touched = touchedBy(facts);
    if (touched.length === 0) return;
    const running = await stored(client, touched);
    // COPY, not INSERT ... SELECT unnest(arrays): a follower's page carries thousands of
    // entries, and arrays cost twice (quoted by the driver, parsed again by the server).
    await copyRows(client, 'entries', ENTRY_COLUMNS, entryLines(facts, running));
    await writeAccounts(client, touched, running);
  }

  /**
   * A rebuild streams entries with COPY and keeps running balances in memory across pages;
   * ledger accounts are written once at the end (or when too many to keep, and then read back
   * on their next posting).
   */
  async bulk(ctx: BulkContext): Promise<BulkLoad> {
    // Both indexes are kept while loading. The primary key is in log order, so it only ever
    // grows at its right edge. entries_as_of is not, but building it at the end was a sort of
    // every entry after node had finished (2.2-3.4 s of a 1,000,000-event replay, with one core
    // idle), while kept, Postgres maintains it on the core node leaves free during the load:
    // replays ran 5-10% faster in alternating runs.
    const copy = await CopyLoader.open(ctx, 'entries', ENTRY_COLUMNS, ['entries_pkey', 'entries_as_of']);
    let running = new Map<string, Running>();
    let spilled = false;
    const flush = async () => {
      const all = running;
      running = new Map();
      await withSchema(ctx, async (client) => {
        for (const ids of chunks([...all.keys()])) await writeAccounts(client, ids, all);
      });
    };
    return {
      add: async (events) => {
        const facts = ledgerFacts(events);
        if (spilled) {
          const missing = touchedBy(facts).filter((a) => !running.has(a));
          if (missing.length > 0) (await withSchema(ctx, (client) => stored(client, missing))).forEach((r, a) => running.set(a, r));
        }
        await copy.write(entryLines(facts, running));
        if (running.size > BULK_MAX_ACCOUNTS) {
          await flush();
          spilled = true;
        }
      },
      finish: async () => {
        await copy.end();
        await flush();
      },
      abort: () => copy.abort(),
    };
  }
}

/** The entries rows of these facts in COPY's text format, moving the running balances on. */
function entryLines(facts: LedgerFact[], running: Map<string, Running>): string {
  const lines: string[] = [];
  let fact: LedgerFact | undefined;
  let middle = '';
  let tail = '';
  post(facts, running, (f, p, r) => {
    if (f !== fact) {
      // The same for every posting of the event: formatted once.
      fact = f;
      middle = `\t${copyValue(f.accountId)}\t${f.source.id}\t${copyValue(f.event.type)}\t`;
      tail = `\t${f.occurredAt}\t${f.source.position.tx}\t${f.source.position.seq}\n`;
    }
    lines.push(copyValue(p.account) + '\t' + r.entries + middle + p.amount + '\t' + r.balance + tail);
  });
  return lines.join('');
}

function touchedBy(facts: LedgerFact[]): string[] {
  return [...new Set(facts.flatMap((f) => f.postings.map((p) => p.account)))];
}

/** Moves each posting's ledger account on (starting from zero when unknown) and emits its row. */
function post(facts: LedgerFact[], running: Map<string, Running>, emit: (f: LedgerFact, p: Posting, r: Running) => void): void {
  for (const f of facts) {
    for (const p of f.postings) {
      let r = running.get(p.account);
      if (!r) running.set(p.account, (r = { balance: 0n, entries: 0 }));
      r.balance += p.amount;
      r.entries += 1;
      emit(f, p, r);
    }
  }
}

/** The stored running balances of these ledger accounts (zero for new ones). */
async function stored(client: PoolClient, accounts: string[]): Promise<Map<string, Running>> {
  const { rows } = await client.query<{ ledger_account: string; balance: string; entries: bigint }>(
    'SELECT ledger_account, balance, entries FROM ledger_accounts WHERE ledger_account = ANY($1::text[])',
    [accounts],
  );
  const running = new Map(accounts.map((a) => [a, { balance: 0n, entries: 0 }]));
  for (const r of rows) running.set(r.ledger_account, { balance: microsFromDb(r.balance), entries: Number(r.entries) });
  return running;
}

async function writeAccounts(client: PoolClient, accounts: string[], running: Map<string, Running>): Promise<void> {
  await client.query(
    `INSERT INTO ledger_accounts AS l (ledger_account, balance, entries)
     SELECT * FROM unnest($1::text[], $2::numeric[], $3::bigint[])
     ON CONFLICT (ledger_account) DO UPDATE SET balance = EXCLUDED.balance, entries = EXCLUDED.entries`,
    [accounts, accounts.map((a) => running.get(a)!.balance.toString()), accounts.map((a) => running.get(a)!.entries.toString())],
  );
}
