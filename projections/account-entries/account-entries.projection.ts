import { PoolClient } from 'pg';
import { RecordedEvent } from '../../src/platform/event-store/event-store.port';
import { ACCOUNT_STREAM_PREFIX } from '../../src/ledger/domain/events';
import { postingsOf } from '../../src/ledger/domain/postings';
import { Projection, ledgerFacts, readSchemaFile } from '../projection';

/** One row per posting, numbered per ledger account, with the running balance. */
export class AccountEntriesProjection implements Projection {
  readonly name = 'account_entries';
  readonly streamPrefixes = [ACCOUNT_STREAM_PREFIX];

  schemaSql(): string {
    return readSchemaFile('account-entries');
  }

  async apply(client: PoolClient, events: RecordedEvent[]): Promise<void> {
    const facts = ledgerFacts(events).map((f) => ({ ...f, postings: postingsOf(f.accountId, f.event) }));
    const touched = [...new Set(facts.flatMap((f) => f.postings.map((p) => p.account)))];
    if (touched.length === 0) return;

    const { rows } = await client.query<{ ledger_account: string; balance: bigint; entries: bigint }>(
      'SELECT ledger_account, balance, entries FROM ledger_accounts WHERE ledger_account = ANY($1::text[])',
      [touched],
    );
    const running = new Map(touched.map((a) => [a, { balance: 0n, entries: 0n }]));
    for (const r of rows) running.set(r.ledger_account, { balance: r.balance, entries: r.entries });

    const c = { acct: [] as string[], no: [] as string[], owner: [] as string[], id: [] as string[], type: [] as string[], amount: [] as string[], after: [] as string[], at: [] as Date[], tx: [] as string[], seq: [] as string[] };
    for (const f of facts) {
      for (const p of f.postings) {
        const r = running.get(p.account)!;
        r.balance += p.amount;
        r.entries += 1n;
        c.acct.push(p.account);
        c.no.push(r.entries.toString());
        c.owner.push(f.accountId);
        c.id.push(f.source.id);
        c.type.push(f.event.type);
        c.amount.push(p.amount.toString());
        c.after.push(r.balance.toString());
        c.at.push(f.occurredAt);
        c.tx.push(f.source.position.tx.toString());
        c.seq.push(f.source.position.seq.toString());
      }
    }
    await client.query(
      `INSERT INTO entries (ledger_account, entry_no, account_id, event_id, event_type, amount, balance_after, occurred_at, log_tx, log_seq)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::uuid[], $5::text[], $6::bigint[], $7::bigint[], $8::timestamptz[], $9::bigint[], $10::bigint[])`,
      [c.acct, c.no, c.owner, c.id, c.type, c.amount, c.after, c.at, c.tx, c.seq],
    );
    await client.query(
      `INSERT INTO ledger_accounts AS l (ledger_account, balance, entries)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
       ON CONFLICT (ledger_account) DO UPDATE SET balance = EXCLUDED.balance, entries = EXCLUDED.entries`,
      [touched, touched.map((a) => running.get(a)!.balance.toString()), touched.map((a) => running.get(a)!.entries.toString())],
    );
  }
}
