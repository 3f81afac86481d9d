/** The data_exports rows (migrations/022_data_exports.sql): every statement on them, in full. */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../../platform/database/pg';
import { ExportError } from '../domain/export.errors';
import { StorageKind } from './export-storage';

export type ExportStatus = 'queued' | 'building' | 'ready' | 'failed' | 'expired';

export interface ExportRow {
  exportId: string;
  userId: string;
  accountId: string;
  requestedBy: string;
  status: ExportStatus;
  attempt: number;
  rowsDone: number;
  rowsTotal: number | null;
  storage: StorageKind | null;
  sizeBytes: number | null;
  sha256: string | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  expiresAt: Date | null;
  deletedAt: Date | null;
}

const COLUMNS = `export_id, user_id, account_id, requested_by, status, attempt, rows_done::text, rows_total::text, storage,
  size_bytes::text, sha256, error, created_at, started_at, finished_at, expires_at, deleted_at`;

interface DbRow {
  export_id: string;
  user_id: string;
  account_id: string;
  requested_by: string;
  status: ExportStatus;
  attempt: number;
  rows_done: string;
  rows_total: string | null;
  storage: StorageKind | null;
  size_bytes: string | null;
  sha256: string | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  expires_at: Date | null;
  deleted_at: Date | null;
}

function rowOf(r: DbRow): ExportRow {
  const num = (v: string | null) => (v === null ? null : Number(v));
  return {
    exportId: r.export_id,
    userId: r.user_id,
    accountId: r.account_id,
    requestedBy: r.requested_by,
    status: r.status,
    attempt: r.attempt,
    rowsDone: Number(r.rows_done),
    rowsTotal: num(r.rows_total),
    storage: r.storage,
    sizeBytes: num(r.size_bytes),
    sha256: r.sha256,
    error: r.error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    expiresAt: r.expires_at,
    deletedAt: r.deleted_at,
  };
}

@Injectable()
export class ExportsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** A new queued export; export_in_progress when the person has one queued or building. */
  async insert(e: { exportId: string; userId: string; accountId: string; requestedBy: string; createdAt: Date }): Promise<ExportRow> {
    try {
      const { rows } = await this.pool.query<DbRow>(
        `INSERT INTO data_exports (export_id, user_id, account_id, requested_by, status, created_at) VALUES ($1, $2, $3, $4, 'queued', $5) RETURNING ${COLUMNS}`,
        [e.exportId, e.userId, e.accountId, e.requestedBy, e.createdAt],
      );
      return rowOf(rows[0]);
    } catch (err) {
      if ((err as { code?: string; constraint?: string }).constraint === 'data_exports_one_open') {
        const open = await this.openOf(e.userId);
        throw new ExportError('export_in_progress', 'an export of this person is already under way: wait for it to finish', { exportId: open?.exportId });
      }
      throw err;
    }
  }

  async get(exportId: string): Promise<ExportRow | null> {
    const { rows } = await this.pool.query<DbRow>(`SELECT ${COLUMNS} FROM data_exports WHERE export_id = $1`, [exportId]);
    return rows[0] ? rowOf(rows[0]) : null;
  }

  async openOf(userId: string): Promise<ExportRow | null> {
    const { rows } = await this.pool.query<DbRow>(`SELECT ${COLUMNS} FROM data_exports WHERE user_id = $1 AND status IN ('queued', 'building')`, [userId]);
    return rows[0] ? rowOf(rows[0]) : null;
  }

  async listOf(userId: string, limit: number): Promise<ExportRow[]> {
    const { rows } = await this.pool.query<DbRow>(`SELECT ${COLUMNS} FROM data_exports WHERE user_id = $1 ORDER BY created_at DESC, export_id LIMIT $2`, [userId, limit]);
    return rows.map(rowOf);
  }

  /** Takes the export for a new build attempt (any earlier attempt is void from now on); null when it is no longer to build. */
  async claim(exportId: string, now: Date, storage: StorageKind): Promise<ExportRow | null> {
    const { rows } = await this.pool.query<DbRow>(
      `UPDATE data_exports SET status = 'building', attempt = attempt + 1, rows_done = 0, storage = $3, started_at = coalesce(started_at, $2)
        WHERE export_id = $1 AND status IN ('queued', 'building') RETURNING ${COLUMNS}`,
      [exportId, now, storage],
    );
    return rows[0] ? rowOf(rows[0]) : null;
  }

  async progress(exportId: string, attempt: number, rowsDone: number, rowsTotal: number): Promise<void> {
    await this.pool.query<DbRow>(`UPDATE data_exports SET rows_done = $3, rows_total = $4 WHERE export_id = $1 AND attempt = $2 AND status = 'building'`, [
      exportId,
      attempt,
      rowsDone,
      rowsTotal,
    ]);
  }

  /** The attempt's zip is whole: ready for 24 hours. False when another attempt has taken over. */
  async finish(exportId: string, attempt: number, r: { sizeBytes: number; sha256: string; rows: number; at: Date; expiresAt: Date }): Promise<boolean> {
    const { rowCount } = await this.pool.query<DbRow>(
      `UPDATE data_exports SET status = 'ready', size_bytes = $3, sha256 = $4, rows_done = $5, rows_total = $5, finished_at = $6, expires_at = $7, error = NULL
        WHERE export_id = $1 AND attempt = $2 AND status = 'building'`,
      [exportId, attempt, r.sizeBytes, r.sha256, r.rows, r.at, r.expiresAt],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Failed for good (every attempt used, or the job was lost): the person may ask again. */
  async fail(exportId: string, error: string, at: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query<DbRow>(
      `UPDATE data_exports SET status = 'failed', error = $2, finished_at = $3 WHERE export_id = $1 AND status IN ('queued', 'building')`,
      [exportId, error.slice(0, 500), at],
    );
    return (rowCount ?? 0) > 0;
  }

  async expiredReady(now: Date, limit: number): Promise<ExportRow[]> {
    const { rows } = await this.pool.query<DbRow>(`SELECT ${COLUMNS} FROM data_exports WHERE status = 'ready' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`, [now, limit]);
    return rows.map(rowOf);
  }

  async markExpired(exportId: string, at: Date): Promise<void> {
    await this.pool.query<DbRow>(`UPDATE data_exports SET status = 'expired', deleted_at = $2 WHERE export_id = $1 AND status = 'ready'`, [exportId, at]);
  }

  /** Queued or building exports, and failed ones whose bytes may still be kept (to delete). */
  async unfinished(limit: number): Promise<ExportRow[]> {
    const { rows } = await this.pool.query<DbRow>(
      `SELECT ${COLUMNS} FROM data_exports WHERE status IN ('queued', 'building', 'failed') AND deleted_at IS NULL ORDER BY created_at LIMIT $1`,
      [limit],
    );
    return rows.map(rowOf);
  }

  async markDeleted(exportId: string, at: Date): Promise<void> {
    await this.pool.query<DbRow>('UPDATE data_exports SET deleted_at = $2 WHERE export_id = $1', [exportId, at]);
  }
}
