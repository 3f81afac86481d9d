/**
 * SQL over the projects read model (migrations/010). Each row is its stream `project-<id>`
 * folded; written right after each append and only forward (a row with an older version than
 * the one written changes nothing).
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { ProjectState } from '../domain/project.decider';

export interface ProjectRecord {
  projectId: string;
  accountId: string;
  name: string;
  archivedAt: Date | null;
  createdAt: Date;
  version: bigint;
}

type Row = { project_id: string; account_id: string; name: string; archived_at: Date | null; created_at: Date; version: bigint };

const COLUMNS = 'project_id, account_id, name, archived_at, created_at, version';

const toRecord = (r: Row): ProjectRecord => ({
  projectId: r.project_id,
  accountId: r.account_id,
  name: r.name,
  archivedAt: r.archived_at,
  createdAt: r.created_at,
  version: r.version,
});

export interface ProjectPage {
  limit: number;
  after: { createdAt: Date; projectId: string } | null;
  archived: boolean;
}

@Injectable()
export class ProjectsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The row as the stream has it at `version`; false if the row was there already (or later). */
  async upsert(state: ProjectState, version: bigint, sameVersionToo = false): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO projects (${COLUMNS}) VALUES ($1, $2, $3, $4::timestamptz, $5::timestamptz, $6::bigint)
       ON CONFLICT (project_id) DO UPDATE SET
         account_id = EXCLUDED.account_id, name = EXCLUDED.name, archived_at = EXCLUDED.archived_at,
         created_at = EXCLUDED.created_at, version = EXCLUDED.version
       WHERE ${
         sameVersionToo
           ? `projects.version <= EXCLUDED.version AND (projects.account_id, projects.name, projects.archived_at, projects.created_at)
                IS DISTINCT FROM (EXCLUDED.account_id, EXCLUDED.name, EXCLUDED.archived_at, EXCLUDED.created_at)`
           : 'projects.version < EXCLUDED.version'
       }`,
      [state.projectId, state.accountId, state.name, state.archivedAt, state.createdAt, version.toString()],
    );
    return (rowCount ?? 0) > 0;
  }

  async findById(projectId: string): Promise<ProjectRecord | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM projects WHERE project_id = $1`, [projectId]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  /** The account's live project of this name, whatever its case. */
  async findLiveByName(accountId: string, name: string): Promise<ProjectRecord | null> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM projects WHERE account_id = $1 AND lower(name) = lower($2) AND archived_at IS NULL`,
      [accountId, name],
    );
    return rows.length ? toRecord(rows[0]) : null;
  }

  async list(accountId: string, page: ProjectPage): Promise<ProjectRecord[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${COLUMNS} FROM projects
        WHERE account_id = $1 AND ($2::boolean OR archived_at IS NULL)
          AND ($3::timestamptz IS NULL OR (created_at, project_id) > ($3::timestamptz, $4::uuid))
        ORDER BY created_at, project_id LIMIT $5`,
      [accountId, page.archived, page.after?.createdAt ?? null, page.after?.projectId ?? null, page.limit],
    );
    return rows.map(toRecord);
  }

  /** Archived projects that still have an active key (what a crash in the middle of archiving leaves). */
  async archivedWithActiveKeys(): Promise<string[]> {
    const { rows } = await this.pool.query<{ project_id: string }>(
      `SELECT DISTINCT p.project_id FROM projects p JOIN api_keys k ON k.project_id = p.project_id
        WHERE p.archived_at IS NOT NULL AND k.status = 'active'`,
    );
    return rows.map((r) => r.project_id);
  }

  async projectIds(): Promise<string[]> {
    const { rows } = await this.pool.query<{ project_id: string }>('SELECT project_id FROM projects');
    return rows.map((r) => r.project_id);
  }
}
