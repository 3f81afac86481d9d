/**
 * One account's request log with every receipt field, newest first, within a window of time, a
 * keyset page at a time (never OFFSET; the index request_log_account_keyset of migrations/013
 * serves it): what support staff read at GET /staff/users/{id}/requests.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { DbRow, RequestLogRow, fromRow } from './request-log.repository';

/** Where a newest-first page stopped: the last row's time (to the microsecond, as text) and id. */
export interface RequestLogKeyset {
  at: string;
  id: string;
}

export interface RequestLogWindow {
  /** Inclusive bounds on started_at; null for none. */
  from: Date | null;
  to: Date | null;
}

@Injectable()
export class RequestLogPages {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async page(accountId: string, window: RequestLogWindow, limit: number, after: RequestLogKeyset | null): Promise<Array<{ row: RequestLogRow; keyset: RequestLogKeyset }>> {
    const { rows } = await this.pool.query<DbRow & { at: string }>(
      `SELECT *, to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
         FROM request_log
        WHERE account_id = $1
          AND ($2::timestamptz IS NULL OR started_at >= $2::timestamptz)
          AND ($3::timestamptz IS NULL OR started_at <= $3::timestamptz)
          AND ($4::timestamptz IS NULL OR (started_at, request_id) < ($4::timestamptz, $5::text))
        ORDER BY started_at DESC, request_id DESC
        LIMIT $6`,
      [accountId, window.from, window.to, after?.at ?? null, after?.id ?? null, limit],
    );
    return rows.map((r) => ({ row: fromRow(r), keyset: { at: r.at, id: r.request_id } }));
  }
}
