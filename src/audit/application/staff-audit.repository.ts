/**
 * SQL of the staff_audit read model (migrations/011_staff_audit.sql). A row is a copy of one
 * StaffActionRecorded event: the reason stays sealed here and is opened by StaffAudit.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { AuditDetails, StaffActionRecordedData } from '../domain/audit.events';

export interface AuditRow {
  auditId: string;
  occurredAt: Date;
  actor: string;
  action: string;
  subjectUserId: string | null;
  reason: string | null;
  reasonSealedFor: string | null;
  details: AuditDetails;
  streamId: string;
  streamVersion: bigint;
}

export interface AuditFilter {
  subjectUserId?: string;
  actor?: string;
  since?: Date;
  limit: number;
}

interface DbRow {
  audit_id: string;
  occurred_at: Date;
  actor: string;
  action: string;
  subject_user_id: string | null;
  reason: string | null;
  reason_sealed_for: string | null;
  details: AuditDetails;
  stream_id: string;
  stream_version: bigint;
}

const COLUMNS = 'audit_id, occurred_at, actor, action, subject_user_id, reason, reason_sealed_for, details, stream_id, stream_version';

const toRow = (r: DbRow): AuditRow => ({
  auditId: r.audit_id,
  occurredAt: r.occurred_at,
  actor: r.actor,
  action: r.action,
  subjectUserId: r.subject_user_id,
  reason: r.reason,
  reasonSealedFor: r.reason_sealed_for,
  details: r.details,
  streamId: r.stream_id,
  streamVersion: r.stream_version,
});

/** Where an event sits: its stream and its version there. */
export interface AuditPlace {
  streamId: string;
  streamVersion: bigint;
}

const valuesOf = (d: StaffActionRecordedData, at: AuditPlace) => [
  d.auditId,
  d.at,
  d.actor,
  d.action,
  d.subjectUserId,
  d.reason,
  d.reasonSealedFor,
  JSON.stringify(d.details),
  at.streamId,
  at.streamVersion.toString(),
];

@Injectable()
export class StaffAuditRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The row of an event; true when it was missing. */
  async insert(d: StaffActionRecordedData, at: AuditPlace): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO staff_audit (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10) ON CONFLICT (audit_id) DO NOTHING`,
      valuesOf(d, at),
    );
    return (rowCount ?? 0) > 0;
  }

  /** Writes the row as the event says; 'inserted' or 'rewritten' when it was missing or differed. */
  async rewrite(d: StaffActionRecordedData, at: AuditPlace): Promise<'inserted' | 'rewritten' | undefined> {
    const { rows } = await this.pool.query<{ inserted: boolean }>(
      `INSERT INTO staff_audit AS a (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
       ON CONFLICT (audit_id) DO UPDATE SET
         occurred_at = EXCLUDED.occurred_at, actor = EXCLUDED.actor, action = EXCLUDED.action,
         subject_user_id = EXCLUDED.subject_user_id, reason = EXCLUDED.reason,
         reason_sealed_for = EXCLUDED.reason_sealed_for, details = EXCLUDED.details, stream_id = EXCLUDED.stream_id,
         stream_version = EXCLUDED.stream_version
       WHERE (a.occurred_at, a.actor, a.action, a.subject_user_id, a.reason, a.reason_sealed_for, a.details, a.stream_id, a.stream_version)
             IS DISTINCT FROM
             (EXCLUDED.occurred_at, EXCLUDED.actor, EXCLUDED.action, EXCLUDED.subject_user_id, EXCLUDED.reason,
              EXCLUDED.reason_sealed_for, EXCLUDED.details, EXCLUDED.stream_id, EXCLUDED.stream_version)
       RETURNING (xmax = 0) AS inserted`,
      valuesOf(d, at),
    );
    if (rows.length === 0) return undefined;
    return rows[0].inserted ? 'inserted' : 'rewritten';
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM staff_audit');
    return rows[0].n;
  }

  /** Ids of the rows, a page at a time in id order (for the rebuild's sweep). */
  async idsAfter(after: string | null, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ audit_id: string }>(
      'SELECT audit_id FROM staff_audit WHERE ($1::uuid IS NULL OR audit_id > $1::uuid) ORDER BY audit_id LIMIT $2',
      [after, limit],
    );
    return rows.map((r) => r.audit_id);
  }

  async remove(auditId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM staff_audit WHERE audit_id = $1', [auditId]);
    return (rowCount ?? 0) > 0;
  }

  /**
   * Entries matching the filter, oldest first: from `since` onwards when given, else the
   * latest `limit` (as `tail` shows the end of a log).
   */
  async list(f: AuditFilter): Promise<AuditRow[]> {
    const where = `($1::uuid IS NULL OR subject_user_id = $1::uuid) AND ($2::text IS NULL OR actor = $2::text)`;
    const params = [f.subjectUserId ?? null, f.actor ?? null];
    if (f.since) {
      const { rows } = await this.pool.query<DbRow>(
        `SELECT ${COLUMNS} FROM staff_audit WHERE ${where} AND occurred_at >= $3 ORDER BY occurred_at, stream_id, stream_version LIMIT $4`,
        [...params, f.since, f.limit],
      );
      return rows.map(toRow);
    }
    const { rows } = await this.pool.query<DbRow>(
      `SELECT ${COLUMNS} FROM staff_audit WHERE ${where} ORDER BY occurred_at DESC, stream_id DESC, stream_version DESC LIMIT $3`,
      [...params, f.limit],
    );
    return rows.map(toRow).reverse();
  }
}
