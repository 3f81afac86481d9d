/**
 * The SQL of erasure: the `erasures` and `erased_addresses` tables (migration 023), `erased_identities` (026), and the
 * operational rows of other contexts that hold something of a person and are not events
 * (sessions, sign-in links, low-balance alerts), deleted outright: they are state, not history.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../../platform/database/pg';
import { Erasure, ErasureError } from '../domain/erasure';

export interface ErasureRow {
  userId: string;
  erasureId: string;
  accountId: string;
  actor: string;
  status: 'started' | 'completed';
  startedAt: Date;
  completedAt: Date | null;
  forfeited: bigint;
  refundRequests: string[];
}

interface DbRow {
  user_id: string;
  erasure_id: string;
  account_id: string;
  actor: string;
  status: 'started' | 'completed';
  started_at: Date;
  completed_at: Date | null;
  forfeited: string;
  refund_requests: string[];
}

const LOCK_NAMESPACE = 7_300_021; // advisory locks: one erasure of a person at a time
const LOCK_RETRY_MS = 50;

@Injectable()
export class ErasureRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Runs `fn` holding the person's erasure lock (a session advisory lock on a connection of its
   * own): two erasures of one person at once run one after the other, the second finding the
   * first's work done. A caller waiting for the lock holds no connection meanwhile (it tries
   * again every LOCK_RETRY_MS), so many callers at once cannot starve the pool the erasure under
   * way needs; past `waitMs` it gives up (erasure_in_progress).
   */
  async exclusively<T>(userId: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const client = await this.pool.connect();
      let locked = false;
      try {
        const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_NAMESPACE, userId.toLowerCase()]);
        locked = rows[0].ok;
        if (locked) return await fn();
      } finally {
        if (locked) await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, userId.toLowerCase()]).catch(() => undefined);
        client.release();
      }
      if (Date.now() >= deadline) throw new ErasureError('erasure_in_progress', `person ${userId} is being erased by another request; try again shortly`);
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
    }
  }

  /** When the session signed in (sessions are never extended: created_at is the sign-in), or null. */
  async sessionSignedInAt(sessionId: string): Promise<Date | null> {
    const { rows } = await this.pool.query<{ created_at: Date }>('SELECT created_at FROM sessions WHERE session_id = $1', [sessionId]);
    return rows[0]?.created_at ?? null;
  }

  /** Ends every session of the person; how many there were. */
  async endSessions(userId: string): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM sessions WHERE user_id = $1', [userId]);
    return rowCount ?? 0;
  }

  /** Sign-in links asked for the address (sealed with the server's key, not the person's: deleted). */
  async deleteSignInLinks(emailHash: string): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM magic_link_tokens WHERE email_hash = $1', [emailHash]);
    return rowCount ?? 0;
  }

  async deleteLowBalanceAlert(accountId: string): Promise<void> {
    await this.pool.query('DELETE FROM low_balance_alerts WHERE account_id = $1', [accountId]);
  }

  async recordErasedAddress(emailHash: string, at: Date): Promise<void> {
    await this.pool.query('INSERT INTO erased_addresses (email_hash, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [emailHash, at]);
  }

  /** The keyed hash of a sign-in identity (provider + subject) of an erased person. */
  async recordErasedIdentity(identityHash: string, at: Date): Promise<void> {
    await this.pool.query('INSERT INTO erased_identities (identity_hash, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [identityHash, at]);
  }

  async addressErasedAt(emailHash: string): Promise<Date | null> {
    const { rows } = await this.pool.query<{ erased_at: Date }>('SELECT erased_at FROM erased_addresses WHERE email_hash = $1', [emailHash]);
    return rows[0]?.erased_at ?? null;
  }

  async apiKeyIds(accountId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ key_id: string }>('SELECT key_id FROM api_keys WHERE account_id = $1 ORDER BY created_at, key_id', [accountId]);
    return rows.map((r) => r.key_id);
  }

  async managementKeyIds(accountId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ key_id: string }>('SELECT key_id FROM management_keys WHERE account_id = $1 ORDER BY created_at, key_id', [accountId]);
    return rows.map((r) => r.key_id);
  }

  /** Refund requests of the account still waiting for a decision (their amount is still available). */
  async requestedRefunds(accountId: string): Promise<Array<{ requestId: string; paymentId: string; amount: bigint }>> {
    const { rows } = await this.pool.query<{ request_id: string; payment_id: string; amount: string }>(
      `SELECT request_id, payment_id, amount FROM refund_requests WHERE account_id = $1 AND status = 'requested' ORDER BY requested_at, request_id`,
      [accountId],
    );
    return rows.map((r) => ({ requestId: r.request_id, paymentId: r.payment_id, amount: BigInt(r.amount) }));
  }

  async write(e: Erasure): Promise<void> {
    await this.pool.query(
      `INSERT INTO erasures (user_id, erasure_id, account_id, actor, status, started_at, completed_at, forfeited, refund_requests)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (user_id) DO UPDATE SET status = EXCLUDED.status, completed_at = EXCLUDED.completed_at,
         forfeited = EXCLUDED.forfeited, refund_requests = EXCLUDED.refund_requests`,
      [
        e.userId,
        e.erasureId,
        e.accountId,
        e.actor,
        e.completedAt ? 'completed' : 'started',
        e.startedAt,
        e.completedAt,
        (e.credit?.forfeited ?? 0n).toString(),
        (e.credit?.refundRequests ?? []).map((r) => r.requestId),
      ],
    );
  }

  async find(userId: string): Promise<ErasureRow | null> {
    const { rows } = await this.pool.query<DbRow>('SELECT * FROM erasures WHERE user_id = $1', [userId]);
    const r = rows[0];
    if (!r) return null;
    return {
      userId: r.user_id,
      erasureId: r.erasure_id,
      accountId: r.account_id,
      actor: r.actor,
      status: r.status,
      startedAt: r.started_at,
      completedAt: r.completed_at,
      forfeited: BigInt(r.forfeited),
      refundRequests: r.refund_requests,
    };
  }
}
