/**
 * The incident tables (migrations/025_incidents.sql): `incidents`, one row per incident for lists,
 * and `incident_notices`, one row per incident and affected person, from which the worker sends.
 * Selection and queueing take a transaction client: the rows and the incident's event commit
 * together or not at all (the service appends inside that transaction).
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool, PoolClient } from 'pg';
import { PG_POOL } from '../../../platform/database/pg';
import { DataCategory, Incident, IncidentStatus } from '../domain/incident';

export interface IncidentRow {
  incidentId: string;
  title: string;
  status: IncidentStatus;
  openedAt: Date;
  confirmedAt: Date | null;
  closedAt: Date | null;
}

export interface NoticeCounts {
  selected: number;
  queued: number;
  sent: number;
  failed: number;
  /** Queued, neither sent nor given up. */
  pending: number;
  /** Selected, not sent (pending, given up, or not queued yet). */
  unsent: number;
}

/** What a selection did: people added, and erased people left out (not left out before). */
export interface Selected {
  added: number;
  leftOutErased: number;
}

export interface ClaimedNotice {
  incidentId: string;
  userId: string;
  attempts: number;
  at: Date;
}

/** A row whose latest outcome is not yet an event. */
export interface UnrecordedNotice {
  incidentId: string;
  userId: string;
  attempts: number;
  sentAt: Date | null;
  failedAt: Date | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
}

/** Which people hold each kind of data: the users whose rows in these tables name them. */
const BY_CATEGORY: Readonly<Record<DataCategory, string>> = {
  email: 'SELECT user_id FROM users WHERE email IS NOT NULL',
  display_name: 'SELECT user_id FROM users WHERE display_name IS NOT NULL',
  ip_address: 'SELECT DISTINCT user_id FROM sessions WHERE ip IS NOT NULL',
  wallet_address: 'SELECT u.user_id FROM users u WHERE EXISTS (SELECT 1 FROM crypto_deposits d WHERE d.account_id = u.account_id)',
  usage_metadata: 'SELECT u.user_id FROM users u WHERE EXISTS (SELECT 1 FROM request_log r WHERE r.account_id = u.account_id)',
  payment_records:
    'SELECT u.user_id FROM users u WHERE EXISTS (SELECT 1 FROM payment_receipts p WHERE p.account_id = u.account_id) OR EXISTS (SELECT 1 FROM crypto_deposits d WHERE d.account_id = u.account_id)',
  api_key_metadata: 'SELECT u.user_id FROM users u WHERE EXISTS (SELECT 1 FROM api_keys k WHERE k.account_id = u.account_id::text)',
};

@Injectable()
export class IncidentsRepository {
  constructor(@Inject(PG_POOL) readonly pool: Pool) {}

  async write(i: Incident): Promise<void> {
    await this.pool.query(
      `INSERT INTO incidents (incident_id, title, status, opened_at, confirmed_at, closed_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (incident_id) DO UPDATE SET title = EXCLUDED.title, status = EXCLUDED.status, opened_at = EXCLUDED.opened_at,
         confirmed_at = EXCLUDED.confirmed_at, closed_at = EXCLUDED.closed_at, version = EXCLUDED.version
       WHERE incidents.version < EXCLUDED.version`,
      [i.incidentId, i.facts.title, i.status, i.openedAt, i.confirmedAt, i.closedAt, i.version.toString()],
    );
  }

  async list(limit: number): Promise<IncidentRow[]> {
    const { rows } = await this.pool.query<{ incident_id: string; title: string; status: IncidentStatus; opened_at: Date; confirmed_at: Date | null; closed_at: Date | null }>(
      'SELECT * FROM incidents ORDER BY opened_at DESC, incident_id DESC LIMIT $1',
      [limit],
    );
    return rows.map((r) => ({ incidentId: r.incident_id, title: r.title, status: r.status, openedAt: r.opened_at, confirmedAt: r.confirmed_at, closedAt: r.closed_at }));
  }

  /** The listed ids that name nobody (not a user). */
  async unknownUsers(userIds: string[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      'SELECT id FROM unnest($1::uuid[]) AS ids(id) WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = ids.id)',
      [userIds],
    );
    return rows.map((r) => r.id);
  }

  /** The people listed (staff named them: an erased one among them is selected, and fails `no_address`). */
  async selectUsers(client: PoolClient, incidentId: string, userIds: string[], at: Date): Promise<Selected> {
    return this.insertFrom(client, incidentId, 'SELECT DISTINCT id FROM unnest($3::uuid[]) AS ids(id)', [userIds], at, false);
  }

  /** People active in [from, to): a proxied request of their account, or a session of theirs open then. */
  async selectByActivity(client: PoolClient, incidentId: string, from: Date, to: Date, at: Date): Promise<Selected> {
    return this.insertFrom(
      client,
      incidentId,
      `SELECT u.user_id FROM users u
        WHERE EXISTS (SELECT 1 FROM request_log r WHERE r.account_id = u.account_id AND r.started_at >= $3 AND r.started_at < $4)
           OR EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = u.user_id AND s.created_at < $4 AND s.last_seen_at >= $3)`,
      [from, to],
      at,
      true,
    );
  }

  async selectByCategory(client: PoolClient, incidentId: string, category: DataCategory, at: Date): Promise<Selected> {
    return this.insertFrom(client, incidentId, BY_CATEGORY[category], [], at, true);
  }

  /** Everyone: every person, and every erased one counted as left out (a finished erasure has no users row any more). */
  async selectEveryone(client: PoolClient, incidentId: string, at: Date): Promise<Selected> {
    return this.insertFrom(client, incidentId, 'SELECT user_id FROM users UNION SELECT user_id FROM erasures', [], at, true);
  }

  /**
   * Adds the people matched, each once per incident. With `leaveOutErased`, an erased person
   * (their data key destroyed, or an erasure under way: there is no address to notify) is not
   * selected but recorded in incident_left_out; `leftOutErased` counts those not left out before.
   */
  private async insertFrom(client: PoolClient, incidentId: string, people: string, args: unknown[], at: Date, leaveOutErased: boolean): Promise<Selected> {
    const erased = leaveOutErased
      ? 'EXISTS (SELECT 1 FROM person_erasures e WHERE e.person_id = p.user_id) OR EXISTS (SELECT 1 FROM erasures x WHERE x.user_id = p.user_id)'
      : 'false';
    const { rows } = await client.query<{ added: number; left_out: number }>(
      `WITH matched AS (SELECT DISTINCT p.user_id, (${erased}) AS erased FROM (${people}) AS p(user_id)),
            added AS (INSERT INTO incident_notices (incident_id, user_id, selected_at) SELECT $1, user_id, $2 FROM matched WHERE NOT erased
                      ON CONFLICT DO NOTHING RETURNING 1),
            left_out AS (INSERT INTO incident_left_out (incident_id, user_id, reason, left_out_at) SELECT $1, m.user_id, 'erased', $2 FROM matched m
                         WHERE m.erased AND NOT EXISTS (SELECT 1 FROM incident_notices n WHERE n.incident_id = $1 AND n.user_id = m.user_id)
                         ON CONFLICT DO NOTHING RETURNING 1)
       SELECT (SELECT count(*) FROM added)::int AS added, (SELECT count(*) FROM left_out)::int AS left_out`,
      [incidentId, at, ...args],
    );
    return { added: rows[0].added, leftOutErased: rows[0].left_out };
  }

  /** Queues every selected person not queued yet; how many. */
  async queue(client: PoolClient, incidentId: string, at: Date): Promise<number> {
    const { rowCount } = await client.query(
      // Due by the database's clock, which the senders compare with (an instance's clock may be off).
      'UPDATE incident_notices SET queued_at = $2, next_attempt_at = now() WHERE incident_id = $1 AND queued_at IS NULL',
      [incidentId, at],
    );
    return rowCount ?? 0;
  }

  async counts(incidentId: string): Promise<NoticeCounts> {
    const { rows } = await this.pool.query<Record<keyof NoticeCounts, string | bigint>>(
      `SELECT count(*) AS selected,
              count(*) FILTER (WHERE queued_at IS NOT NULL) AS queued,
              count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
              count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
              count(*) FILTER (WHERE queued_at IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL) AS pending,
              count(*) FILTER (WHERE sent_at IS NULL) AS unsent
         FROM incident_notices WHERE incident_id = $1`,
      [incidentId],
    );
    const r = rows[0];
    return { selected: Number(r.selected), queued: Number(r.queued), sent: Number(r.sent), failed: Number(r.failed), pending: Number(r.pending), unsent: Number(r.unsent) };
  }

  /** Incidents with a notice due now (the sweep's wake-up list). */
  async anyDue(): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `SELECT 1 FROM incident_notices WHERE queued_at IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
          AND (claimed_until IS NULL OR claimed_until < now()) LIMIT 1`,
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Claims up to `limit` due notices for `leaseSeconds` and counts the attempt. SKIP LOCKED: two
   * senders (two worker processes) claim different rows; a claim that lapsed (its sender died) is
   * due again.
   */
  async claimDue(limit: number, leaseSeconds: number): Promise<ClaimedNotice[]> {
    const { rows } = await this.pool.query<{ incident_id: string; user_id: string; attempts: number; last_attempt_at: Date }>(
      `UPDATE incident_notices n SET claimed_until = now() + make_interval(secs => $2), attempts = n.attempts + 1, last_attempt_at = now()
         FROM (SELECT incident_id, user_id FROM incident_notices
                WHERE queued_at IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
                  AND (claimed_until IS NULL OR claimed_until < now()) AND recorded
                ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
        WHERE n.incident_id = due.incident_id AND n.user_id = due.user_id
        RETURNING n.incident_id, n.user_id, n.attempts, n.last_attempt_at`,
      [limit, leaseSeconds],
    );
    return rows.map((r) => ({ incidentId: r.incident_id, userId: r.user_id, attempts: r.attempts, at: r.last_attempt_at }));
  }

  /** The SMTP server took it: the one statement between its acceptance and our record. */
  async markSent(n: ClaimedNotice, at: Date): Promise<void> {
    await this.pool.query(
      `UPDATE incident_notices SET sent_at = $3, claimed_until = NULL, last_error = NULL, recorded = false
        WHERE incident_id = $1 AND user_id = $2 AND sent_at IS NULL`,
      [n.incidentId, n.userId, at],
    );
  }

  /** A failed attempt: retried after `retryAfterSeconds`, or given up when `final`. */
  async markFailed(n: ClaimedNotice, error: string, final: boolean, retryAfterSeconds: number): Promise<void> {
    await this.pool.query(
      `UPDATE incident_notices SET last_error = $3, claimed_until = NULL, recorded = false,
              failed_at = CASE WHEN $4 THEN last_attempt_at ELSE NULL END,
              next_attempt_at = now() + make_interval(secs => $5)
        WHERE incident_id = $1 AND user_id = $2 AND sent_at IS NULL`,
      [n.incidentId, n.userId, error.slice(0, 200), final, retryAfterSeconds],
    );
  }

  async unrecorded(limit: number): Promise<UnrecordedNotice[]> {
    const { rows } = await this.pool.query<{
      incident_id: string;
      user_id: string;
      attempts: number;
      sent_at: Date | null;
      failed_at: Date | null;
      last_error: string | null;
      last_attempt_at: Date | null;
    }>('SELECT incident_id, user_id, attempts, sent_at, failed_at, last_error, last_attempt_at FROM incident_notices WHERE NOT recorded LIMIT $1', [limit]);
    return rows.map((r) => ({
      incidentId: r.incident_id,
      userId: r.user_id,
      attempts: r.attempts,
      sentAt: r.sent_at,
      failedAt: r.failed_at,
      lastError: r.last_error,
      lastAttemptAt: r.last_attempt_at,
    }));
  }

  /** The outcome events of these rows are in the log (only if the row did not move on meanwhile). */
  async markRecorded(incidentId: string, outcomes: Array<{ userId: string; attempts: number }>): Promise<void> {
    if (outcomes.length === 0) return;
    await this.pool.query(
      `UPDATE incident_notices n SET recorded = true FROM unnest($2::uuid[], $3::int[]) AS o(user_id, attempts)
        WHERE n.incident_id = $1 AND n.user_id = o.user_id AND n.attempts = o.attempts`,
      [incidentId, outcomes.map((o) => o.userId), outcomes.map((o) => o.attempts)],
    );
  }
}
