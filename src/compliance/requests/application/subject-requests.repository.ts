/**
 * The subject_requests read table (migrations/024_subject_requests.sql): one row per request,
 * rewritten from the folded stream after each event the service appends. A row is written only
 * if it is not older than the one there (the version guard), so two writers racing after two
 * appends leave the newer state.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../../platform/database/pg';
import { SubjectRequest, SubjectRequestKind, SubjectRequestOutcome, SubjectRequestStatus } from '../domain/subject-request';

export type SubjectRequestRow = Omit<SubjectRequest, 'restrictionsApplied'>;

/** The sort key of lists: newest first. */
export interface SubjectRequestCursor {
  at: string;
  id: string;
}

export interface SubjectRequestFilter {
  userId?: string;
  status?: SubjectRequestStatus;
  /** Only open requests past their due date at this instant. */
  overdueAt?: Date;
}

interface DbRow {
  request_id: string;
  user_id: string;
  account_id: string;
  kind: SubjectRequestKind;
  details: string | null;
  opened_by: string;
  opened_at: Date;
  due_at: Date;
  status: SubjectRequestStatus;
  outcome: SubjectRequestOutcome | null;
  note: string | null;
  closed_by: string | null;
  closed_at: Date | null;
  restriction_id: string | null;
  version: string;
}

@Injectable()
export class SubjectRequestsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The row as the folded stream has it, unless a newer version is there already. */
  async write(r: SubjectRequest): Promise<void> {
    await this.pool.query(
      `INSERT INTO subject_requests (request_id, user_id, account_id, kind, details, opened_by, opened_at, due_at, status, outcome, note,
                                     closed_by, closed_at, restriction_id, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (request_id) DO UPDATE SET user_id = EXCLUDED.user_id, account_id = EXCLUDED.account_id, kind = EXCLUDED.kind,
         details = EXCLUDED.details, opened_by = EXCLUDED.opened_by, opened_at = EXCLUDED.opened_at, due_at = EXCLUDED.due_at,
         status = EXCLUDED.status, outcome = EXCLUDED.outcome, note = EXCLUDED.note, closed_by = EXCLUDED.closed_by,
         closed_at = EXCLUDED.closed_at, restriction_id = EXCLUDED.restriction_id, version = EXCLUDED.version
       WHERE subject_requests.version <= EXCLUDED.version`,
      [
        r.requestId,
        r.userId,
        r.accountId,
        r.kind,
        r.sealedDetails,
        r.openedBy,
        r.openedAt,
        r.dueAt,
        r.status,
        r.outcome,
        r.sealedNote,
        r.closedBy,
        r.closedAt,
        r.restrictionId,
        r.version.toString(),
      ],
    );
  }

  async find(requestId: string): Promise<SubjectRequestRow | null> {
    const { rows } = await this.pool.query<DbRow>('SELECT * FROM subject_requests WHERE request_id = $1', [requestId]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async ids(): Promise<string[]> {
    const { rows } = await this.pool.query<{ request_id: string }>('SELECT request_id FROM subject_requests');
    return rows.map((r) => r.request_id);
  }

  async remove(requestId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM subject_requests WHERE request_id = $1', [requestId]);
    return (rowCount ?? 0) > 0;
  }

  /** Newest first, `limit + 1` rows (the extra one says whether a page follows). */
  async list(filter: SubjectRequestFilter, limit: number, cursor: SubjectRequestCursor | null): Promise<SubjectRequestRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => {
      args.push(v);
      return `$${args.length}`;
    };
    if (filter.userId) where.push(`user_id = ${arg(filter.userId)}`);
    if (filter.status) where.push(`status = ${arg(filter.status)}`);
    if (filter.overdueAt) where.push(`status = 'open' AND due_at < ${arg(filter.overdueAt)}`);
    if (cursor) where.push(`(opened_at, request_id) < (${arg(cursor.at)}::timestamptz, ${arg(cursor.id)}::uuid)`);
    const { rows } = await this.pool.query<DbRow>(
      `SELECT * FROM subject_requests ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC, request_id DESC LIMIT ${arg(limit + 1)}`,
      args,
    );
    return rows.map(toRow);
  }

  /** Open requests, and of those how many are past due at `now`: for a summary line. */
  async openCounts(now: Date): Promise<{ open: number; overdue: number }> {
    const { rows } = await this.pool.query<{ open: string; overdue: string }>(
      `SELECT count(*) AS open, count(*) FILTER (WHERE due_at < $1) AS overdue FROM subject_requests WHERE status = 'open'`,
      [now],
    );
    return { open: Number(rows[0].open), overdue: Number(rows[0].overdue) };
  }
}

function toRow(r: DbRow): SubjectRequestRow {
  return {
    requestId: r.request_id,
    userId: r.user_id,
    accountId: r.account_id,
    kind: r.kind,
    sealedDetails: r.details,
    openedBy: r.opened_by,
    openedAt: r.opened_at,
    dueAt: r.due_at,
    status: r.status,
    outcome: r.outcome,
    sealedNote: r.note,
    closedBy: r.closed_by,
    closedAt: r.closed_at,
    restrictionId: r.restriction_id,
    version: BigInt(r.version),
  };
}
