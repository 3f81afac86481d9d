/**
 * SQL over the open-holds read model (projections/open-holds), for the hold expiry sweep. The
 * table is made by the read-model runner, possibly in another process and later than the sweep
 * starts, so both queries say "missing" rather than fail when it is not there (yet).
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';

export const OPEN_HOLDS_TABLE = 'rm_open_holds.open_holds';
const UNDEFINED_TABLE = '42P01';

export interface OverdueHold {
  holdId: string;
  accountId: string;
}

@Injectable()
export class OpenHoldsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** False when the table is missing, and when the database cannot answer yet (both: wait). */
  async exists(): Promise<boolean> {
    try {
      const { rows } = await this.pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [OPEN_HOLDS_TABLE]);
      return rows[0]?.t != null;
    } catch {
      return false;
    }
  }

  /** How many holds are open and the credit they hold (µcr), for the metrics; null when the table is missing. */
  async totals(): Promise<{ open: number; heldMicros: bigint } | null> {
    try {
      const { rows } = await this.pool.query<{ open: string; held: string }>(
        `SELECT count(*)::text AS open, coalesce(sum(amount), 0)::text AS held FROM ${OPEN_HOLDS_TABLE}`,
      );
      return { open: Number(rows[0].open), heldMicros: BigInt(rows[0].held) };
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return null;
      throw err;
    }
  }

  /** Up to `limit` open holds whose expiry is at or before `due`, soonest first; null when the table is missing. */
  async overdue(due: Date, limit: number): Promise<OverdueHold[] | null> {
    try {
      const { rows } = await this.pool.query<{ hold_id: string; account_id: string }>(
        `SELECT hold_id, account_id FROM ${OPEN_HOLDS_TABLE} WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2`,
        [due, limit],
      );
      return rows.map((r) => ({ holdId: r.hold_id, accountId: r.account_id }));
    } catch (err) {
      if ((err as { code?: string }).code === UNDEFINED_TABLE) return null;
      throw err;
    }
  }
}
