/**
 * SQL over the api_keys read model (migrations/003_api_keys.sql). The row is written only
 * from a key's folded stream, and only forward: an upsert carrying an older stream version
 * than the row changes nothing, so concurrent writers and a reconcile can never move it back.
 * last_used_at (migrations/010) is not from the stream: the proxy's authentication path sets
 * it (touch), and no write from the stream changes it.
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { ApiKeyState, KeyStatus } from '../domain/api-key.decider';
import { API_KEY_STREAM_PREFIX } from '../domain/api-key.events';
import { ERASED_NAME, StoredName, erasedAccountSql } from '../../compliance/account-names';

export interface ApiKeyRecord {
  keyId: string;
  accountId: string;
  project: string;
  projectId: string | null;
  name: string;
  /** The person `name` and `project` are sealed for; null: plain text (KeysService opens them). */
  nameOwner: string | null;
  hash: string;
  prefix: string;
  last4: string;
  status: KeyStatus;
  models: string[] | null;
  spendCapMicros: bigint | null;
  expiresAt: Date | null;
  rpm: number | null;
  tpm: number | null;
  version: bigint;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const COLUMNS = `key_id, account_id, project, name, hash, prefix, last4, status, models, spend_cap_micros,
  expires_at, rpm, tpm, version, created_at, revoked_at, project_id, name_owner`;
const SELECTED = `${COLUMNS}, last_used_at`;
// What a row says about its key, beside its id.
const DATA_COLUMNS = COLUMNS.split(',').map((c) => c.trim()).filter((c) => c !== 'key_id');

type Row = {
  key_id: string;
  account_id: string;
  project: string;
  name: string;
  hash: string;
  prefix: string;
  last4: string;
  status: KeyStatus;
  models: string[] | null;
  spend_cap_micros: bigint | null;
  expires_at: Date | null;
  rpm: number | null;
  tpm: number | null;
  version: bigint;
  created_at: Date;
  revoked_at: Date | null;
  project_id: string | null;
  name_owner: string | null;
  last_used_at: Date | null;
};

const toRecord = (r: Row): ApiKeyRecord => ({
  keyId: r.key_id,
  accountId: r.account_id,
  project: r.project,
  projectId: r.project_id,
  name: r.name,
  nameOwner: r.name_owner,
  hash: r.hash,
  prefix: r.prefix,
  last4: r.last4,
  status: r.status,
  models: r.models,
  spendCapMicros: r.spend_cap_micros,
  expiresAt: r.expires_at,
  rpm: r.rpm,
  tpm: r.tpm,
  version: r.version,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
});

@Injectable()
export class ApiKeysRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Writes the row of a key as its stream has it at `version`; false if the row was already there or later. */
  upsert(state: ApiKeyState, version: bigint): Promise<boolean> {
    return this.write(state, version, 'api_keys.version < EXCLUDED.version');
  }

  /**
   * Writes the row again from the stream even at the same version (a replay repairs a row whose
   * content was damaged); false when the row already says exactly that, or a later version.
   */
  rewrite(state: ApiKeyState, version: bigint): Promise<boolean> {
    return this.write(state, version, `api_keys.version <= EXCLUDED.version AND (${DATA_COLUMNS.map((c) => `api_keys.${c}`).join(', ')})
      IS DISTINCT FROM (${DATA_COLUMNS.map((c) => `EXCLUDED.${c}`).join(', ')})`);
  }

  /** Replaces a row that claims a version its stream never reached, unless it changed since it was read at `rowVersion`. */
  replace(state: ApiKeyState, version: bigint, rowVersion: bigint): Promise<boolean> {
    return this.write(state, version, 'api_keys.version = $20::bigint', [rowVersion.toString()]);
  }

  /**
   * Once the account's erasure has started, the names are written as the placeholder (a replay
   * of events from before names were sealed must not bring them back).
   */
  private async write(state: ApiKeyState, version: bigint, guard: string, extra: unknown[] = []): Promise<boolean> {
    const l = state.limits;
    const erased = erasedAccountSql('$2', 'text');
    const { rowCount } = await this.pool.query(
      `INSERT INTO api_keys (${COLUMNS})
       VALUES ($1, $2, CASE WHEN ${erased} THEN $19::text ELSE $3 END, CASE WHEN ${erased} THEN $19::text ELSE $4 END, $5, $6, $7, $8, $9::text[],
               $10::bigint, $11::timestamptz, $12, $13, $14::bigint, $15::timestamptz, $16::timestamptz, $17::uuid,
               CASE WHEN ${erased} THEN NULL ELSE $18::uuid END)
       ON CONFLICT (key_id) DO UPDATE SET
         account_id = EXCLUDED.account_id, project = EXCLUDED.project, name = EXCLUDED.name,
         hash = EXCLUDED.hash, prefix = EXCLUDED.prefix, last4 = EXCLUDED.last4, status = EXCLUDED.status,
         models = EXCLUDED.models, spend_cap_micros = EXCLUDED.spend_cap_micros, expires_at = EXCLUDED.expires_at,
         rpm = EXCLUDED.rpm, tpm = EXCLUDED.tpm, version = EXCLUDED.version,
         created_at = EXCLUDED.created_at, revoked_at = EXCLUDED.revoked_at, project_id = EXCLUDED.project_id,
         name_owner = EXCLUDED.name_owner
       WHERE ${guard}`,
      [
        state.keyId,
        state.accountId,
        state.project,
        state.name,
        state.hash,
        state.prefix,
        state.last4,
        state.status,
        l.models,
        l.spendCapMicros?.toString() ?? null,
        l.expiresAt,
        l.rpm,
        l.tpm,
        version.toString(),
        state.createdAt,
        state.revokedAt,
        state.projectId,
        state.nameOwner,
        ERASED_NAME,
        ...extra,
      ],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Every row's key (what a replay checks against the key streams). */
  async keyIds(): Promise<string[]> {
    const { rows } = await this.pool.query<{ key_id: string }>('SELECT key_id FROM api_keys');
    return rows.map((r) => r.key_id);
  }

  /** Removes a row that no key stream backs, unless it changed since it was read at `version`. */
  async remove(keyId: string, version: bigint): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM api_keys WHERE key_id = $1 AND version = $2::bigint', [keyId, version.toString()]);
    return (rowCount ?? 0) > 0;
  }

  async findByHash(hash: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${SELECTED} FROM api_keys WHERE hash = $1`, [hash]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async findById(keyId: string): Promise<ApiKeyRecord | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${SELECTED} FROM api_keys WHERE key_id = $1`, [keyId]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  /** A page of a project's keys, oldest first, after `after` (the last key of the previous page). */
  async listByProject(projectId: string, limit: number, after: { createdAt: Date; keyId: string } | null): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${SELECTED} FROM api_keys
        WHERE project_id = $1 AND ($2::timestamptz IS NULL OR (created_at, key_id) > ($2::timestamptz, $3::text))
        ORDER BY created_at, key_id LIMIT $4`,
      [projectId, after?.createdAt ?? null, after?.keyId ?? null, limit],
    );
    return rows.map(toRecord);
  }

  /** Active keys of a project (what archiving it revokes). */
  async activeKeyIdsOfProject(projectId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ key_id: string }>(
      `SELECT key_id FROM api_keys WHERE project_id = $1 AND status = 'active' ORDER BY created_at, key_id`,
      [projectId],
    );
    return rows.map((r) => r.key_id);
  }

  /** Keys without a project id (made before projects existed), oldest first; none of an erased account (its names are gone). */
  async keysWithoutProject(limit: number): Promise<Array<{ keyId: string; accountId: string; project: StoredName }>> {
    const { rows } = await this.pool.query<{ key_id: string; account_id: string; project: string; name_owner: string | null }>(
      `SELECT key_id, account_id, project, name_owner FROM api_keys
        WHERE project_id IS NULL AND NOT ${erasedAccountSql('api_keys.account_id', 'text')} ORDER BY created_at, key_id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ keyId: r.key_id, accountId: r.account_id, project: { value: r.project, owner: r.name_owner } }));
  }

  /**
   * Marks a key used at `at`, unless the row already says so within the last minute: at most
   * one write a minute per key, whatever the number of instances.
   */
  async touch(keyId: string, at: Date): Promise<void> {
    await this.pool.query(
      `UPDATE api_keys SET last_used_at = $2
        WHERE key_id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`,
      [keyId, at],
    );
  }

  async listByAccount(accountId: string): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${SELECTED} FROM api_keys WHERE account_id = $1 ORDER BY created_at, key_id`,
      [accountId],
    );
    return rows.map(toRecord);
  }

  /**
   * Keys whose stream is ahead of their row (or that have no row): what a crash between an
   * append and its upsert leaves behind. Reads the store's own stream table (Postgres store).
   */
  async keysBehindTheirStream(limit = 1000): Promise<string[]> {
    const { rows } = await this.pool.query<{ key_id: string }>(
      `SELECT substr(s.stream_id, $1::int + 1) AS key_id
         FROM event_streams s
         LEFT JOIN api_keys k ON k.key_id = substr(s.stream_id, $1::int + 1)
        WHERE s.stream_id LIKE $2 AND s.version > 0 AND (k.key_id IS NULL OR k.version < s.version)
        ORDER BY s.stream_id
        LIMIT $3`,
      [API_KEY_STREAM_PREFIX.length, `${API_KEY_STREAM_PREFIX}%`, limit],
    );
    return rows.map((r) => r.key_id);
  }
}
