/**
 * SQL over the per-key spend read model (projections/key-spend/): what a key has spent, summed
 * from the settled holds placed for it. Built from events, so it outlives the request log's
 * retention; it follows the log a moment behind, as every read model does.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';

// The read model's schema is created by the first runner (the worker, or a CLI question):
// until then nothing has been projected, so nothing has been counted either.
const MISSING = new Set(['42P01', '3F000']); // undefined_table, invalid_schema_name

@Injectable()
export class KeySpendRepository {
  private readonly log = new Logger('KeySpend');
  private saidMissing = false;

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** µcr the key has spent over all its days (0 before the read model exists). */
  async totalSpent(keyId: string): Promise<bigint> {
    try {
      const { rows } = await this.pool.query<{ spent: bigint }>(
        'SELECT coalesce(sum(spent), 0)::bigint AS spent FROM rm_key_spend.key_spend WHERE key_id = $1',
        [keyId],
      );
      return rows[0].spent;
    } catch (err) {
      if (!MISSING.has((err as { code?: string }).code ?? '')) throw err;
      if (!this.saidMissing) {
        this.saidMissing = true;
        this.log.warn('the key_spend read model does not exist yet (no worker has run): spend caps start from 0');
      }
      return 0n;
    }
  }
}
