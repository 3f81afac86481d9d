/**
 * The SQL of low-balance alerts (migrations/019_low_balance_alerts.sql): the thresholds people
 * set, and the three steps of a check over them and the balances read model
 * (rm_balances.balances). What is compared is the balance: available plus held. A hold is
 * credit reserved for a request still running, most of it usually returned at settle; counting
 * it as gone would mail whenever one request's hold dips below the threshold and re-arm at its
 * settle: one mail per request. Each step is one conditional statement, so checks that run at once
 * (two workers, a run that overlaps the last) agree: a row is disarmed, marked pending,
 * leased for sending or re-armed by exactly one of them.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';

export interface PendingAlert {
  accountId: string;
  userId: string;
  threshold: bigint;
  attempts: number;
}

@Injectable()
export class LowBalanceAlertsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async thresholdOf(accountId: string): Promise<bigint | null> {
    const { rows } = await this.pool.query<{ threshold: string }>('SELECT threshold::text FROM low_balance_alerts WHERE account_id = $1', [accountId]);
    return rows.length ? BigInt(rows[0].threshold) : null;
  }

  /**
   * Sets the threshold, armed: the next check alerts at once if the balance is already below
   * it. `fromVersion` is the account's ledger version now: the read model's rows older than
   * it are not acted on (they show the balance before the threshold was set). The same threshold again changes nothing (saving a settings form twice is not a new
   * alert); a different one starts afresh, dropping an alert still unsent for the old one.
   */
  async set(accountId: string, userId: string, threshold: bigint, fromVersion: bigint, now: Date): Promise<void> {
    await this.pool.query(
      `INSERT INTO low_balance_alerts AS a (account_id, user_id, threshold, armed, from_version, updated_at)
       VALUES ($1, $2, $3, true, $5, $4)
       ON CONFLICT (account_id) DO UPDATE SET
         user_id = EXCLUDED.user_id, threshold = EXCLUDED.threshold, armed = true, from_version = EXCLUDED.from_version, pending_since = NULL,
         next_try_at = NULL, attempts = 0, last_error = NULL, lease_token = NULL, lease_until = NULL, updated_at = EXCLUDED.updated_at
       WHERE a.threshold <> EXCLUDED.threshold OR a.user_id <> EXCLUDED.user_id`,
      [accountId, userId, threshold.toString(), now, fromVersion.toString()],
    );
  }

  /** Turns the alert off (an unsent alert with it). */
  async clear(accountId: string): Promise<void> {
    await this.pool.query('DELETE FROM low_balance_alerts WHERE account_id = $1', [accountId]);
  }

  /**
   * Step 1: disarmed rows whose balance is back at or above the threshold are armed again. A
   * pending alert not sent yet is dropped with them (the balance it would report is gone). A row
   * leased to a sender waits for the next check, so a mail being sent is recorded first.
   */
  async rearm(now: Date): Promise<number> {
    const { rowCount } = await this.pool.query(
      `UPDATE low_balance_alerts a
          SET armed = true, pending_since = NULL, next_try_at = NULL, attempts = 0, last_error = NULL, updated_at = $1
         FROM rm_balances.balances b
        WHERE b.account_id = a.account_id::text AND b.version >= a.from_version
          AND NOT a.armed AND b.available + b.held >= a.threshold
          AND (a.lease_until IS NULL OR a.lease_until <= $1)`,
      [now],
    );
    return rowCount ?? 0;
  }

  /**
   * Step 2: armed rows whose balance is below the threshold are disarmed and marked pending in
   * the same statement. A concurrent check re-reads `armed` after the first one's commit and
   * finds nothing to do, so one fall is one alert.
   */
  async disarmBelow(now: Date): Promise<number> {
    const { rowCount } = await this.pool.query(
      `UPDATE low_balance_alerts a
          SET armed = false, pending_since = $1, next_try_at = NULL, attempts = 0, last_error = NULL, updated_at = $1
         FROM rm_balances.balances b
        WHERE b.account_id = a.account_id::text AND b.version >= a.from_version
          AND a.armed AND b.available + b.held < a.threshold`,
      [now],
    );
    return rowCount ?? 0;
  }

  /** Step 3, the list: pending alerts due for a try and not leased to a sender, oldest first. */
  async due(now: Date, maxAttempts: number, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ account_id: string }>(
      `SELECT account_id FROM low_balance_alerts
        WHERE pending_since IS NOT NULL AND attempts < $2 AND (next_try_at IS NULL OR next_try_at <= $1)
          AND (lease_until IS NULL OR lease_until <= $1)
        ORDER BY pending_since LIMIT $3`,
      [now, maxAttempts, limit],
    );
    return rows.map((r) => r.account_id);
  }

  /**
   * Step 3, one alert: leases it to this sender until `until`. One short
   * statement: a concurrent claim waits for it, then finds the lease taken. No transaction stays
   * open while the mail is sent: an open transaction with an id holds back every reader of the
   * event log (events_after reads below the oldest one), so a slow mail server would stall the
   * read models. Answers null when it is not pending, not due, or leased to another sender.
   */
  async claim(accountId: string, token: string, now: Date, until: Date, maxAttempts: number): Promise<PendingAlert | null> {
    const { rows } = await this.pool.query<{ user_id: string; threshold: string; attempts: number }>(
      `UPDATE low_balance_alerts SET lease_token = $2, lease_until = $4
        WHERE account_id = $1
          AND pending_since IS NOT NULL AND attempts < $5 AND (next_try_at IS NULL OR next_try_at <= $3)
          AND (lease_until IS NULL OR lease_until <= $3)
        RETURNING user_id, threshold::text, attempts`,
      [accountId, token, now, until, maxAttempts],
    );
    const r = rows[0];
    return r ? { accountId, userId: r.user_id, threshold: BigInt(r.threshold), attempts: r.attempts } : null;
  }

  /**
   * Records how a leased send went and ends the lease. Only under this sender's lease: if the
   * threshold was changed or cleared meanwhile, the row is not this alert's any more and
   * nothing is written. Answers whether it was recorded.
   */
  async finish(accountId: string, token: string, done: SendRecord, at: Date, maxAttempts: number): Promise<boolean> {
    const lease = 'lease_token = NULL, lease_until = NULL';
    let sql: string;
    let params: unknown[];
    switch (done.outcome) {
      case 'sent':
        sql = `UPDATE low_balance_alerts SET ${lease}, pending_since = NULL, next_try_at = NULL, last_error = NULL,
                      last_sent_at = $3, sent_count = sent_count + 1, updated_at = $3
                WHERE account_id = $1 AND lease_token = $2`;
        params = [accountId, token, at];
        break;
      case 'stale': // risen back meanwhile: armed again, nothing sent (as step 1 would do)
        sql = `UPDATE low_balance_alerts SET ${lease}, armed = true, pending_since = NULL, next_try_at = NULL, attempts = 0,
                      last_error = NULL, updated_at = $3
                WHERE account_id = $1 AND lease_token = $2`;
        params = [accountId, token, at];
        break;
      case 'dropped': // not to be sent (a restriction of processing): disarmed as if sent, nothing counted as sent
        sql = `UPDATE low_balance_alerts SET ${lease}, pending_since = NULL, next_try_at = NULL, attempts = 0, last_error = $4, updated_at = $3
                WHERE account_id = $1 AND lease_token = $2`;
        params = [accountId, token, at, (done.error ?? 'dropped').slice(0, 500)];
        break;
      case 'failed':
      case 'gave_up':
        sql = `UPDATE low_balance_alerts SET ${lease}, attempts = CASE WHEN $6 THEN $5 ELSE attempts + 1 END,
                      last_error = $4, next_try_at = $7, updated_at = $3
                WHERE account_id = $1 AND lease_token = $2`;
        params = [accountId, token, at, (done.error ?? 'unknown').slice(0, 500), maxAttempts, done.outcome === 'gave_up', done.retryAt ?? null];
        break;
    }
    const { rowCount } = await this.pool.query(sql, params);
    return rowCount === 1;
  }
}

export interface SendRecord {
  outcome: 'sent' | 'failed' | 'gave_up' | 'stale' | 'dropped';
  /** Why not sent: a code and reason, never an address or the mail's content. */
  error?: string;
  retryAt?: Date;
}
