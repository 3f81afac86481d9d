/**
 * SQL over the ledger's read models (projections/): balances now or as of any instant, the
 * trial balance, and the postings export. As-of figures sum the postings of every event that
 * occurred up to the instant, so each event counts wholly or not at all.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { LedgerError } from '../domain/errors';
import { availableOf, frozenOf, heldOf } from '../domain/postings';
import { microsFromDb } from '../../shared/money';

export interface AccountBalance {
  accountId: string;
  available: bigint;
  held: bigint;
  /** Set aside for an approved refund or a dispute. */
  frozen: bigint;
  /** Owed from late settles that available credit could not cover (repaid first from the next credit). */
  receivable: bigint;
  asOf: Date | null;
}

export interface TrialBalanceLine {
  ledgerAccount: string;
  balance: bigint;
}

export interface TrialBalance {
  asOf: Date | null;
  lines: TrialBalanceLine[];
  total: bigint;
}

export interface PostingRow {
  occurredAt: Date;
  eventId: string;
  eventType: string;
  accountId: string;
  ledgerAccount: string;
  amount: bigint;
  balanceAfter: bigint;
  logTx: bigint;
  logSeq: bigint;
}

@Injectable()
export class LedgerReadRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async balance(accountId: string, asOf?: Date): Promise<AccountBalance> {
    const known = await this.pool.query<{ available: bigint; held: bigint; receivable: bigint; frozen: bigint }>(
      'SELECT available, held, receivable, frozen FROM rm_balances.balances WHERE account_id = $1',
      [accountId],
    );
    if (known.rows.length === 0) throw new LedgerError('account_not_found', `no account ${accountId}`);
    if (!asOf) return { accountId, ...known.rows[0], asOf: null };
    // The receivable is this account's share of the house account `receivables` (negative by what
    // is owed): its entries carry the account id.
    const { rows } = await this.pool.query<{ ledger_account: string; balance: string }>(
      `SELECT ledger_account, coalesce(sum(amount), 0)::text AS balance
         FROM rm_account_entries.entries
        WHERE (ledger_account = ANY($1::text[]) OR (ledger_account = 'receivables' AND account_id = $3)) AND occurred_at <= $2
        GROUP BY ledger_account`,
      [[availableOf(accountId), heldOf(accountId), frozenOf(accountId)], asOf, accountId],
    );
    const of = (a: string) => microsFromDb(rows.find((r) => r.ledger_account === a)?.balance ?? 0n);
    return { accountId, available: of(availableOf(accountId)), held: of(heldOf(accountId)), frozen: of(frozenOf(accountId)), receivable: -of('receivables'), asOf };
  }

  async trialBalance(asOf?: Date): Promise<TrialBalance> {
    // Sums (numeric in Postgres) travel as text and become bigint exactly: a house account's
    // balance over all history can pass both 2^53 and 2^63.
    const { rows } = asOf
      ? await this.pool.query<{ ledger_account: string; balance: string }>(
          `SELECT ledger_account, sum(amount)::text AS balance FROM rm_account_entries.entries
            WHERE occurred_at <= $1 GROUP BY ledger_account ORDER BY ledger_account`,
          [asOf],
        )
      : await this.pool.query<{ ledger_account: string; balance: string }>(
          'SELECT ledger_account, balance::text AS balance FROM rm_account_entries.ledger_accounts ORDER BY ledger_account',
        );
    const lines = rows.map((r) => ({ ledgerAccount: r.ledger_account, balance: microsFromDb(r.balance) }));
    return { asOf: asOf ?? null, lines, total: lines.reduce((t, l) => t + l.balance, 0n) };
  }

  /** Each ledger account's balance from the events strictly before an instant: an export's opening balances. */
  async balancesBefore(before: Date): Promise<TrialBalanceLine[]> {
    const { rows } = await this.pool.query<{ ledger_account: string; balance: string }>(
      `SELECT ledger_account, sum(amount)::text AS balance FROM rm_account_entries.entries
        WHERE occurred_at < $1 GROUP BY ledger_account ORDER BY ledger_account`,
      [before],
    );
    return rows.map((r) => ({ ledgerAccount: r.ledger_account, balance: microsFromDb(r.balance) }));
  }

  /** When the first posting occurred (null for an empty ledger): where an export starts by default. */
  async firstPostingAt(): Promise<Date | null> {
    const { rows } = await this.pool.query<{ first: Date | null }>('SELECT min(occurred_at) AS first FROM rm_account_entries.entries');
    return rows[0].first;
  }

  /** Every posting that occurred in [from, to), in log order, a page at a time (keyset, never all in memory). */
  async *postings(from: Date, to: Date, pageSize = 5000): AsyncGenerator<PostingRow[]> {
    let after: [string, string, string] = ['-1', '-1', ''];
    for (;;) {
      const { rows } = await this.pool.query<{
        occurred_at: Date; event_id: string; event_type: string; account_id: string; ledger_account: string;
        amount: bigint; balance_after: string; log_tx: bigint; log_seq: bigint;
      }>(
        `SELECT occurred_at, event_id, event_type, account_id, ledger_account, amount, balance_after::text AS balance_after, log_tx, log_seq
           FROM rm_account_entries.entries
          WHERE (log_tx, log_seq, ledger_account) > ($1::bigint, $2::bigint, $3::text)
            AND occurred_at >= $4 AND occurred_at < $5
          ORDER BY log_tx, log_seq, ledger_account
          LIMIT $6`,
        [...after, from, to, pageSize],
      );
      if (rows.length === 0) return;
      yield rows.map((r) => ({
        occurredAt: r.occurred_at,
        eventId: r.event_id,
        eventType: r.event_type,
        accountId: r.account_id,
        ledgerAccount: r.ledger_account,
        amount: r.amount,
        balanceAfter: microsFromDb(r.balance_after),
        logTx: r.log_tx,
        logSeq: r.log_seq,
      }));
      const last = rows[rows.length - 1];
      after = [last.log_tx.toString(), last.log_seq.toString(), last.ledger_account];
      if (rows.length < pageSize) return;
    }
  }
}
