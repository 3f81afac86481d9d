/**
 * SQL over the projects read model (migrations/010, 027). Each row is its stream `project-<id>`
 * folded; written right after each append and only forward (a row with an older version than
 * the one written changes nothing). `name` is as the events store it (sealed for `nameOwner`,
 * or plain text): ProjectsService opens it. Once the account's erasure has started, a write
 * stores the placeholder instead (AccountNames).
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { ProjectState } from '../domain/project.decider';
import { ERASED_NAME, StoredName, erasedAccountSql } from '../../compliance/account-names';

export interface ProjectRecord {
  projectId: string;
  accountId: string;
  name: string;
  /** The person `name` is sealed for; null: plain text. */
  nameOwner: string | null;
  archivedAt: Date | null;
  createdAt: Date;
  version: bigint;
}

type Row = { project_id: string; account_id: string; name: string; name_owner: string | null; archived_at: Date | null; created_at: Date; version: bigint };

const COLUMNS = 'project_id, account_id, name, archived_at, created_at, version, name_owner';

const toRecord = (r: Row): ProjectRecord => ({
  projectId: r.project_id,
  accountId: r.account_id,
  name: r.name,
  nameOwner: r.name_owner,
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
  async upsert(state: ProjectState, name: StoredName, version: bigint, sameVersionToo = false): Promise<boolean> {
    const erased = erasedAccountSql('$2', 'uuid');
    const { rowCount } = await this.pool.query(
      `INSERT INTO projects (${COLUMNS})
       VALUES ($1, $2, CASE WHEN ${erased} THEN $8::text ELSE $3 END, $4::timestamptz, $5::timestamptz, $6::bigint, CASE WHEN ${erased} THEN NULL ELSE $7::uuid END)
       ON CONFLICT (project_id) DO UPDATE SET
         account_id = EXCLUDED.account_id, name = EXCLUDED.name, name_owner = EXCLUDED.name_owner, archived_at = EXCLUDED.archived_at,
         created_at = EXCLUDED.created_at, version = EXCLUDED.version
       WHERE ${
         sameVersionToo
           ? `projects.version <= EXCLUDED.version AND (projects.account_id, projects.name, projects.name_owner, projects.archived_at, projects.created_at)
                IS DISTINCT FROM (EXCLUDED.account_id, EXCLUDED.name, EXCLUDED.name_owner, EXCLUDED.archived_at, EXCLUDED.created_at)`
           : 'projects.version < EXCLUDED.version'
       }`,
      [state.projectId, state.accountId, name.value, state.archivedAt, state.createdAt, version.toString(), name.owner, ERASED_NAME],
    );
    return (rowCount ?? 0) > 0;
  }

  async findById(projectId: string): Promise<ProjectRecord | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM projects WHERE project_id = $1`, [projectId]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  /** The account's live projects (names as stored: the service opens them to compare). */
  async live(accountId: string): Promise<ProjectRecord[]> {
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS} FROM projects WHERE account_id = $1 AND archived_at IS NULL ORDER BY created_at, project_id`, [
      accountId,
    ]);
    return rows.map(toRecord);
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
