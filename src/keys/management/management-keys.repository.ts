/**
 * SQL over management_keys (migrations/010): each row its stream `mgmtkey-<id>` folded, written
 * forward only right after the append; last_used_at is operational (not from the stream).
 */
import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { PG_POOL } from '../../platform/database/pg';
import { ManagementKeyState } from './management-key';
import { ERASED_NAME, erasedAccountSql } from '../../compliance/account-names';

export interface ManagementKeyRecord {
  keyId: string;
  accountId: string;
  userId: string;
  name: string;
  /** The person `name` is sealed for; null: plain text (ManagementKeysService opens it). */
  nameOwner: string | null;
  prefix: string;
  last4: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  version: bigint;
}

type Row = {
  key_id: string;
  account_id: string;
  user_id: string;
  name: string;
  name_owner: string | null;
  prefix: string;
  last4: string;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  version: bigint;
};

// Never the hash: nothing read from here needs it.
const SELECTED = 'key_id, account_id, user_id, name, name_owner, prefix, last4, created_at, revoked_at, last_used_at, version';

const toRecord = (r: Row): ManagementKeyRecord => ({
  keyId: r.key_id,
  accountId: r.account_id,
  userId: r.user_id,
  name: r.name,
  nameOwner: r.name_owner,
  prefix: r.prefix,
  last4: r.last4,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
  lastUsedAt: r.last_used_at,
  version: r.version,
});

@Injectable()
export class ManagementKeysRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Once the account's erasure has started the name is written as the placeholder (see AccountNames). */
  async upsert(s: ManagementKeyState, version: bigint): Promise<void> {
    const erased = erasedAccountSql('$2', 'uuid');
    await this.pool.query(
      `INSERT INTO management_keys (key_id, account_id, user_id, name, hash, prefix, last4, created_at, revoked_at, version, name_owner)
       VALUES ($1, $2, $3, CASE WHEN ${erased} THEN $12::text ELSE $4 END, $5, $6, $7, $8::timestamptz, $9::timestamptz, $10::bigint,
               CASE WHEN ${erased} THEN NULL ELSE $11::uuid END)
       ON CONFLICT (key_id) DO UPDATE SET
         account_id = EXCLUDED.account_id, user_id = EXCLUDED.user_id, name = EXCLUDED.name, name_owner = EXCLUDED.name_owner, hash = EXCLUDED.hash,
         prefix = EXCLUDED.prefix, last4 = EXCLUDED.last4, created_at = EXCLUDED.created_at,
         revoked_at = EXCLUDED.revoked_at, version = EXCLUDED.version
       WHERE management_keys.version < EXCLUDED.version`,
      [s.keyId, s.accountId, s.userId, s.name, s.hash, s.prefix, s.last4, s.createdAt, s.revokedAt, version.toString(), s.nameOwner, ERASED_NAME],
    );
  }

  async findById(keyId: string): Promise<ManagementKeyRecord | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${SELECTED} FROM management_keys WHERE key_id = $1`, [keyId]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async findByHash(hash: string): Promise<ManagementKeyRecord | null> {
    const { rows } = await this.pool.query<Row>(`SELECT ${SELECTED} FROM management_keys WHERE hash = $1`, [hash]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async list(accountId: string, limit: number, after: { createdAt: Date; keyId: string } | null): Promise<ManagementKeyRecord[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT ${SELECTED} FROM management_keys
        WHERE account_id = $1 AND ($2::timestamptz IS NULL OR (created_at, key_id) > ($2::timestamptz, $3::uuid))
        ORDER BY created_at, key_id LIMIT $4`,
      [accountId, after?.createdAt ?? null, after?.keyId ?? null, limit],
    );
    return rows.map(toRecord);
  }

  /** At most one write a minute per key, whatever the number of instances. */
  async touch(keyId: string, at: Date): Promise<void> {
    await this.pool.query(
      `UPDATE management_keys SET last_used_at = $2
        WHERE key_id = $1 AND (last_used_at IS NULL OR last_used_at < $2::timestamptz - interval '1 minute')`,
      [keyId, at],
    );
  }
}
